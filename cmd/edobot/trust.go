package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"edobot/core/nca"
	"edobot/core/signature"
	"edobot/storage"
)

// newTrust builds the trust the configuration asks for: NCA's list for
// EDOBOT_NCA, and EDOBOT_TRUSTED_CA's certificates (loadConfig checked and
// read them).
func newTrust(cfg config, store nca.Store, log *slog.Logger) (*nca.Trust, error) {
	mode, _ := nca.ParseMode(cfg.NCA)
	sources, err := nca.Sources(mode, cfg.NCACertURL, cfg.NCACerts)
	if err != nil {
		return nil, err
	}
	return &nca.Trust{Sources: sources, Store: store, Client: &http.Client{Timeout: nca.DownloadTimeout}, Extra: cfg.trustedCAs,
		Log: log, Interval: cfg.NCARefresh}, nil
}

// openTrust is newTrust with what is stored loaded.
func openTrust(ctx context.Context, cfg config, store nca.Store, log *slog.Logger) (*nca.Trust, error) {
	t, err := newTrust(cfg, store, log)
	if err != nil {
		return nil, err
	}
	if err := t.Load(ctx); err != nil {
		return nil, fmt.Errorf("trusted certificates: %w", err)
	}
	return t, nil
}

// trustedFiles reads EDOBOT_TRUSTED_CA's PEM bundles.
func trustedFiles(paths string) ([]nca.Extra, error) {
	var out []nca.Extra
	for _, p := range strings.Split(paths, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		certs, err := signature.ParsePEMCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, c := range certs {
			out = append(out, nca.Extra{Cert: c, Source: p})
		}
	}
	return out, nil
}

// serveTrust loads the trust for serve, which keeps it fresh by running
// its Run. serve does not wait for the first download: a restart trusts
// what is stored at once, and a fresh start without internet serves
// everything but signatures, which are refused with their own message,
// while the download is retried and /readyz says nca_trust is down.
func serveTrust(ctx context.Context, cfg config, db *storage.DB, log *slog.Logger) (*nca.Trust, error) {
	trust, err := openTrust(ctx, cfg, db, log)
	if err != nil {
		return nil, err
	}
	roots, intermediates := trust.TrustedCAs()
	switch {
	case len(roots) > 0:
		log.Info("trusted CAs loaded", "nca", cfg.NCA, "roots", len(roots), "intermediates", len(intermediates))
	case len(trust.Sources) == 0:
		log.Error("nothing is trusted: EDOBOT_NCA is off and EDOBOT_TRUSTED_CA names no CA, so every signature is refused")
	default:
		log.Error("nothing is trusted yet: no NCA certificate is stored; signatures are refused until they are downloaded",
			"nca", cfg.NCA, "from", trust.Sources[0].URL)
	}
	return trust, nil
}

// withStoredTrust adds to v NCA's certificates as serve or `trust update`
// stored them, when the database answers; `verify` works offline without.
func withStoredTrust(ctx context.Context, cfg config, v *signature.Verifier) error {
	cfg.trustedCAs = nil // they are on v already
	trust, err := newTrust(cfg, nil, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	db, err := storage.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil
	}
	defer db.Close()
	trust.Store = db
	if trust.Load(ctx) == nil { // no table: a database serve never migrated
		v.Trust = trust
	}
	return nil
}

func trustCommand(ctx context.Context, cfg config, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("trust", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return usageError("trust " + args[0] + " takes no arguments")
	}
	db, _, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	trust, err := openTrust(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	if args[0] == "show" {
		printTrust(stdout, cfg, trust)
		return nil
	}
	rep, err := trust.Update(ctx)
	if err != nil {
		return err
	}
	for _, c := range rep.Changes {
		switch {
		case c.Outcome == nca.Failed && c.Kept:
			fmt.Fprintf(stdout, "%-9s %s: %v; the certificate stored before is still trusted\n", c.Outcome, c.URL, c.Err)
		case c.Outcome == nca.Failed:
			fmt.Fprintf(stdout, "%-9s %s: %v\n", c.Outcome, c.URL, c.Err)
		default:
			fmt.Fprintf(stdout, "%-9s %s %s\n          %s\n", c.Outcome, c.Kind, c.URL, c.Subject)
		}
	}
	roots, intermediates := trust.TrustedCAs()
	fmt.Fprintf(stdout, "trusted now: %d roots, %d intermediates\n", len(roots), len(intermediates))
	if rep.Count(nca.Failed) > 0 {
		return errSilent
	}
	return nil
}

// printTrust lists what is trusted, one block per certificate.
func printTrust(w io.Writer, cfg config, trust *nca.Trust) {
	certs := trust.Certificates()
	if len(certs) == 0 {
		fmt.Fprintf(w, "nothing is trusted (EDOBOT_NCA=%s): run `edobot trust update`, or name CA files in EDOBOT_TRUSTED_CA\n", cfg.NCA)
		return
	}
	const day = "2006-01-02"
	for _, c := range certs {
		fetched := "from a file of EDOBOT_TRUSTED_CA"
		if !c.FetchedAt.IsZero() {
			fetched = c.FetchedAt.UTC().Format("2006-01-02 15:04 MST")
			if c.Origin == nca.OriginAIA {
				fetched += ", from a certificate's AIA"
			}
		}
		fmt.Fprintf(w, "%s  %s\n  subject  %s\n  valid    %s to %s\n  source   %s\n  fetched  %s\n  sha256   %s\n\n",
			c.Kind, c.Algorithm, c.Subject, c.NotBefore.UTC().Format(day), c.NotAfter.UTC().Format(day), c.SourceURL, fetched, c.SHA256)
	}
}
