package nca

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"edobot/core/signature"
)

// Outcome is what an update did with one URL.
type Outcome string

const (
	Added     Outcome = "added"     // a certificate where there was none
	Changed   Outcome = "changed"   // another certificate than before
	Unchanged Outcome = "unchanged" // the same bytes again
	Failed    Outcome = "failed"    // not downloaded, or refused: what was trusted before stays
)

// Change is one line of an update's report.
type Change struct {
	URL      string
	Outcome  Outcome
	Kind     Kind
	Subject  string
	SHA256   string
	Previous string // the SHA-256 before a change
	Err      error  // why it failed
	Kept     bool   // failed, and the certificate stored before is still trusted
}

// Report is what an update did, URL by URL.
type Report struct {
	At      time.Time
	Changes []Change
}

// Count is how many changes had the outcome.
func (r Report) Count(o Outcome) int {
	n := 0
	for _, c := range r.Changes {
		if c.Outcome == o {
			n++
		}
	}
	return n
}

// download is one source's answer.
type download struct {
	src    Source
	origin Origin
	cert   *x509.Certificate
	err    error
}

// Update downloads every source, checks each certificate and stores those
// that pass: a root must be a CA certificate that signed itself; an
// intermediate must be a CA certificate that chains to a root trusted now
// or in this download; a URL with a pinned key must serve that key. A URL
// whose download fails or is refused keeps the certificate stored before.
// The issuers fetched from AIA URLs before are downloaded again alike, and
// must still be intermediates that chain to a trusted root.
// Then the trust in force becomes what is stored. Nothing is deleted: the
// stored certificates of URLs no longer listed (another EDOBOT_NCA, say)
// are left aside by Load, not lost. The error is the store's; refusals are
// in the report.
func (t *Trust) Update(ctx context.Context) (Report, error) {
	t.updating.Lock()
	defer t.updating.Unlock()
	now := t.now()
	rep := Report{At: now}
	stored, err := t.Store.TrustedCertificates(ctx)
	if err != nil {
		return rep, err
	}
	previous := map[string]Record{}
	got := make([]download, 0, len(t.Sources))
	for _, s := range t.Sources {
		got = append(got, download{src: s, origin: OriginList})
	}
	for _, r := range stored {
		previous[r.SourceURL] = r
		if r.Origin == OriginAIA && t.aiaAllowed(r.SourceURL) == nil && !slices.ContainsFunc(t.Sources, func(s Source) bool { return s.URL == r.SourceURL }) {
			got = append(got, download{src: Source{URL: r.SourceURL}, origin: OriginAIA})
		}
	}
	t.downloadAll(ctx, got)

	// The roots first: the intermediates are judged against them.
	var roots, intermediates []*x509.Certificate
	for _, e := range t.Extra {
		if selfSigned(e.Cert) {
			roots = append(roots, e.Cert)
		} else {
			intermediates = append(intermediates, e.Cert)
		}
	}
	// What a failed URL had stays trusted, and may vouch for the others.
	fallback := func(url string) {
		if r, ok := previous[url]; ok {
			if c, err := x509.ParseCertificate(r.DER); err == nil {
				if r.Kind == KindRoot {
					roots = append(roots, c)
				} else {
					intermediates = append(intermediates, c)
				}
			}
		}
	}
	var pending []*download
	for i := range got {
		d := &got[i]
		if d.err == nil {
			d.err = checkPin(d.src, d.cert)
		}
		switch {
		case d.err != nil:
			fallback(d.src.URL)
		case selfSigned(d.cert) && d.origin == OriginAIA:
			d.err = errors.New("a root: roots come only from the trust list")
			fallback(d.src.URL)
		case selfSigned(d.cert):
			if d.err = checkRoot(d.cert); d.err == nil {
				roots = append(roots, d.cert)
			} else {
				fallback(d.src.URL)
			}
		default:
			if d.err = checkCA(d.cert); d.err == nil {
				pending = append(pending, d)
			} else {
				fallback(d.src.URL)
			}
		}
	}
	// An intermediate may chain through another of the same download.
	for progress := true; progress; {
		progress = false
		for i, d := range pending {
			if d != nil && chainsTo(d.cert, roots, intermediates) {
				intermediates = append(intermediates, d.cert)
				pending[i], progress = nil, true
			}
		}
	}
	for _, d := range pending {
		if d != nil {
			d.err = fmt.Errorf("does not chain to a trusted root: its issuer %q is not trusted", d.cert.Issuer.CommonName)
			fallback(d.src.URL)
		}
	}

	for _, d := range got {
		old, had := previous[d.src.URL]
		had = had && old.Origin == d.origin
		if d.err != nil {
			rep.Changes = append(rep.Changes, Change{URL: d.src.URL, Outcome: Failed, Err: d.err, Kept: had,
				Kind: old.Kind, Subject: old.Subject, SHA256: old.SHA256})
			continue
		}
		r := recordOf(d.cert, d.src.URL, d.origin, now)
		ch := Change{URL: d.src.URL, Outcome: Added, Kind: r.Kind, Subject: r.Subject, SHA256: r.SHA256}
		switch {
		case had && old.SHA256 == r.SHA256:
			ch.Outcome, r.ChangedAt = Unchanged, old.ChangedAt
		case had:
			ch.Outcome, ch.Previous = Changed, old.SHA256
		}
		if err := t.Store.SaveTrustedCertificate(ctx, r); err != nil {
			return rep, fmt.Errorf("nca: store %s: %w", d.src.URL, err)
		}
		rep.Changes = append(rep.Changes, ch)
	}

	if err := t.Load(ctx); err != nil {
		return rep, err
	}
	return rep, nil
}

// checkRoot refuses a self-signed certificate that is not a CA's or whose
// signature does not verify.
func checkRoot(c *x509.Certificate) error {
	if err := checkCA(c); err != nil {
		return err
	}
	if !signature.IssuedBy(c, c) {
		return errors.New("self-signed, but its signature does not verify")
	}
	return nil
}

// checkPin refuses a certificate without the key pinned for its URL.
func checkPin(src Source, c *x509.Certificate) error {
	if src.Key == "" {
		return nil
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	if hex.EncodeToString(sum[:]) != src.Key {
		return errors.New("its key is not the one pinned for this URL")
	}
	return nil
}

// downloadAll fetches every source at once; a slow host delays the update
// by one timeout, not one per certificate.
func (t *Trust) downloadAll(ctx context.Context, got []download) {
	var wg sync.WaitGroup
	for i := range got {
		client := t.client()
		if got[i].origin == OriginAIA {
			client = t.aiaClient()
		}
		wg.Go(func() {
			got[i].cert, got[i].err = t.fetchCertificate(ctx, client, got[i].src.URL)
		})
	}
	wg.Wait()
}

// fetchCertificate downloads and parses one certificate, DER or PEM.
func (t *Trust) fetchCertificate(ctx context.Context, client *http.Client, url string) (*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, DownloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/pkix-cert, application/x-x509-ca-cert, */*")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxCertificateSize+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxCertificateSize {
		return nil, fmt.Errorf("larger than %d bytes: not a certificate", MaxCertificateSize)
	}
	c, err := signature.ParseCertificate(body)
	if err != nil {
		return nil, fmt.Errorf("not a certificate: %w", err)
	}
	return c, nil
}
