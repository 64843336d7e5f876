package signature_test

import (
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
)

// An OCSP responder in the test speaks the real protocol, signed by the CA.
func TestOCSP(t *testing.T) {
	p := newPKI(t)
	revoked := p.nca.Issue(t, sigtest.Person{IIN: headIIN, BIN: headBIN, Surname: "X", Name: "Y"}, p.nca.Cert)
	revokedLater := p.nca.Issue(t, sigtest.Person{IIN: headIIN, BIN: headBIN, Surname: "X", Name: "Z"}, p.nca.Cert)
	revokedAt := map[string]time.Time{
		revoked.Cert.SerialNumber.String():      time.Now().Add(-48 * time.Hour),
		revokedLater.Cert.SerialNumber.String(): time.Now().Add(48 * time.Hour),
	}
	var asked []*big.Int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		asked = append(asked, req.SerialNumber)
		tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: time.Now().Add(-time.Minute),
			NextUpdate: time.Now().Add(time.Hour)}
		if at, ok := revokedAt[req.SerialNumber.String()]; ok {
			tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at, ocsp.KeyCompromise
		}
		resp, err := ocsp.CreateResponse(p.nca.Cert, p.nca.Cert, tmpl, p.nca.Key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(resp)
	}))
	defer srv.Close()
	v := &signature.Verifier{Roots: []*x509.Certificate{p.root.Cert}, Revocation: &signature.OCSP{URL: srv.URL}}
	doc := pdftest.PDF(1)
	if _, err := v.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{}), doc, signature.PurposeSign); err != nil {
		t.Fatalf("good certificate: %v", err)
	}
	if _, err := v.VerifyOne(ctx, revoked.SignCMS(t, doc, sigtest.CMSOptions{}), doc, signature.PurposeSign); !errors.Is(err, signature.ErrRevoked) {
		t.Fatalf("revoked certificate: %v", err)
	}
	// Revoked after the signature was made: the signature stands.
	if _, err := v.VerifyOne(ctx, revokedLater.SignCMS(t, doc, sigtest.CMSOptions{}), doc, signature.PurposeSign); err != nil {
		t.Fatalf("revoked after signing: %v", err)
	}
	if len(asked) != 3 {
		t.Fatalf("the responder was asked %d times", len(asked))
	}
	// A responder that is down is an error, never a silent "good".
	srv.Close()
	if _, err := v.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{}), doc, signature.PurposeSign); err == nil {
		t.Fatal("verification passed with the OCSP responder down")
	}
}
