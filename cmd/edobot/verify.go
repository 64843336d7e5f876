package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"edobot/bot/i18n"
	"edobot/core/nca"
	"edobot/core/signature"
)

// signerReport is one line of `edobot verify`'s answer.
type signerReport struct {
	File         string `json:"file"`
	Valid        bool   `json:"valid"`
	Error        string `json:"error"`
	Code         string `json:"code,omitempty"`
	IIN          string `json:"iin"`
	BIN          string `json:"bin"`
	Name         string `json:"name"`
	Organisation string `json:"organisation"`
	Role         string `json:"role"`
	Serial       string `json:"serial"`
	Issuer       string `json:"issuer"`
	Key          string `json:"key"`
	SignedAt     string `json:"signed_at"`
	NotBefore    string `json:"not_before"`
	NotAfter     string `json:"not_after"`
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// verifyFiles checks signature files over a document offline and prints a
// JSON array, one object per signer. It fails unless every signature is valid.
func verifyFiles(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "", "the signed document")
	var cas multiFlag
	fs.Var(&cas, "ca", "a PEM bundle of extra trusted CAs (repeatable)")
	purpose := fs.String("purpose", "sign", "sign (a signing key is required) or auth")
	// Flags may come after the signature files too.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return usageError("verify: " + err.Error())
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *data == "" || len(files) == 0 {
		return usageError("verify needs --data FILE and at least one signature file")
	}
	doc, err := os.ReadFile(*data)
	if err != nil {
		return err
	}
	v, err := newVerifier(cfg, cas...)
	if err != nil {
		return err
	}
	if err := withStoredTrust(ctx, cfg, v); err != nil {
		return err
	}
	p := signature.PurposeSign
	if *purpose == "auth" {
		p = signature.PurposeAuth
	}
	lang := i18n.Lang(cfg.Lang)
	cat := i18n.MustNew()
	content := signature.NewContent(doc) // hashed once for every file
	var reports []signerReport
	allValid := true
	for _, f := range files {
		cms, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		results, err := v.Verify(ctx, cms, content, p)
		if err != nil {
			allValid = false
			reports = append(reports, signerReport{File: f, Error: cat.Error(lang, err), Code: i18n.ErrorCode(err)})
			continue
		}
		for _, r := range results {
			rep := signerReport{File: f, Valid: r.Err == nil, IIN: r.Signer.IIN, BIN: r.Signer.BIN, Name: r.Signer.FullName,
				Organisation: r.Signer.Organisation, Role: string(r.Role), Serial: r.Signer.CertSerial, Issuer: r.Signer.Issuer,
				Key: string(r.Signer.KeyKind), SignedAt: stamp(r.SignedAt), NotBefore: stamp(r.Signer.NotBefore), NotAfter: stamp(r.Signer.NotAfter)}
			if r.Err != nil {
				allValid = false
				rep.Error, rep.Code = cat.Error(lang, r.Err), i18n.ErrorCode(r.Err)
			}
			reports = append(reports, rep)
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(reports); err != nil {
		return err
	}
	if !allValid {
		return errSilent
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// newVerifier trusts the CAs of EDOBOT_TRUSTED_CA and any extra bundles,
// and asks EDOBOT_OCSP_URL about revocation.
func newVerifier(cfg config, extra ...string) (*signature.Verifier, error) {
	roots, intermediates, err := signature.LoadTrust(strings.Join(extra, ","))
	if err != nil {
		return nil, fmt.Errorf("trusted CAs: %w", err)
	}
	for _, e := range cfg.trustedCAs { // self-signed ones are roots, as LoadTrust takes them
		if string(e.Cert.RawIssuer) == string(e.Cert.RawSubject) {
			roots = append(roots, e.Cert)
		} else {
			intermediates = append(intermediates, e.Cert)
		}
	}
	v := &signature.Verifier{Roots: roots, Intermediates: intermediates}
	// Revocation is checked by default, with NCA's responder (its test
	// PKI's with EDOBOT_NCA=test). When it
	// cannot be checked the signature is refused unless
	// EDOBOT_OCSP_UNREACHABLE=accept (see signature.FailurePolicy).
	onFailure := signature.RefuseOnFailure
	if cfg.OCSPUnreachable == "accept" {
		onFailure = signature.AcceptOnFailure
	}
	switch url := cfg.OCSPURL; url {
	case "off":
	case "":
		url = signature.NCAOCSPURL
		switch mode, _ := nca.ParseMode(cfg.NCA); mode {
		case nca.ModeTest:
			url = signature.NCATestOCSPURL // NCA's test PKI answers there
		case nca.ModeOff:
			// Without NCA's certificates the CAs are the operator's own
			// (EDOBOT_TRUSTED_CA), whose certificates NCA's responder does
			// not know: only a responder named in EDOBOT_OCSP_URL is asked.
			return v, nil
		}
		v.Revocation = &signature.OCSP{URL: url, OnFailure: onFailure}
	default:
		v.Revocation = &signature.OCSP{URL: url, OnFailure: onFailure}
	}
	return v, nil
}
