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
	// A responder that is down is a refusal, never a silent "good".
	srv.Close()
	if _, err := v.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{}), doc, signature.PurposeSign); !errors.Is(err, signature.ErrRevocationUnknown) {
		t.Fatalf("verification with the OCSP responder down: %v", err)
	}
}

// GOST-signed answers, as NCA's responder gives them for GOST certificates,
// from a responder the CA appointed or the CA itself.
func TestOCSPGOST(t *testing.T) {
	doc := pdftest.PDF(1)
	for _, kind := range []sigtest.GOSTKind{sigtest.GOST2004, sigtest.GOST2015} {
		p := newGOSTPKI(t, kind)
		revoked := p.nca.Issue(t, sigtest.Person{IIN: soloIIN, Surname: "X", Name: "Y"}, kind, p.nca.Cert)
		revokedLater := p.nca.Issue(t, sigtest.Person{IIN: soloIIN, Surname: "X", Name: "Z"}, kind, p.nca.Cert)
		unknown := p.nca.Issue(t, sigtest.Person{IIN: soloIIN, Surname: "X", Name: "W"}, kind, p.nca.Cert)
		serve := func(o sigtest.OCSPOptions) (*sigtest.OCSPResponder, *signature.Verifier) {
			r := p.nca.OCSPResponder(t, o)
			r.Revoke(revoked.Cert, time.Now().Add(-time.Hour))
			r.Revoke(revokedLater.Cert, time.Now().Add(time.Hour))
			r.Disown(unknown.Cert)
			srv := httptest.NewServer(r)
			t.Cleanup(srv.Close)
			return r, &signature.Verifier{Roots: []*x509.Certificate{p.root.Cert}, Revocation: &signature.OCSP{URL: srv.URL}}
		}
		verify := func(v *signature.Verifier, k *sigtest.GOSTKey) error {
			_, err := v.VerifyOne(ctx, k.SignCMS(t, doc, sigtest.CMSOptions{}), doc, signature.PurposeSign)
			return err
		}
		responder, v := serve(sigtest.OCSPOptions{Delegated: true})
		if err := verify(v, p.head); err != nil {
			t.Fatalf("%v: good: %v", kind, err)
		}
		if err := verify(v, revoked); !errors.Is(err, signature.ErrRevoked) {
			t.Fatalf("%v: revoked: %v", kind, err)
		}
		if err := verify(v, revokedLater); err != nil {
			t.Fatalf("%v: revoked after signing: %v", kind, err)
		}
		if err := verify(v, unknown); !errors.Is(err, signature.ErrRevocationUnknown) {
			t.Fatalf("%v: unknown to the responder: %v", kind, err)
		}
		if responder.Requests() != 4 {
			t.Fatalf("%v: %d requests", kind, responder.Requests())
		}
		if _, v := serve(sigtest.OCSPOptions{}); verify(v, p.head) != nil || verify(v, revoked) == nil {
			t.Fatalf("%v: the CA answering itself", kind)
		}
		if _, v := serve(sigtest.OCSPOptions{Delegated: true, NotForOCSP: true}); !errors.Is(verify(v, p.head), signature.ErrRevocationUnknown) {
			t.Fatalf("%v: a responder certificate not for OCSP signing was trusted", kind)
		}
		// An answer without our nonce is taken while fresh, not an hour on.
		_, v = serve(sigtest.OCSPOptions{Delegated: true, NoNonce: true})
		if err := verify(v, p.head); err != nil {
			t.Fatalf("%v: a fresh answer without the nonce: %v", kind, err)
		}
		v.Revocation.(*signature.OCSP).Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		if err := verify(v, p.head); !errors.Is(err, signature.ErrRevocationUnknown) {
			t.Fatalf("%v: a stale answer without the nonce: %v", kind, err)
		}
		// Another CA's responder cannot answer for this CA's certificates.
		stranger := newGOSTPKI(t, kind).nca.OCSPResponder(t, sigtest.OCSPOptions{Delegated: true})
		srv := httptest.NewServer(stranger)
		t.Cleanup(srv.Close)
		v = &signature.Verifier{Roots: []*x509.Certificate{p.root.Cert}, Revocation: &signature.OCSP{URL: srv.URL}}
		if err := verify(v, p.head); !errors.Is(err, signature.ErrRevocationUnknown) {
			t.Fatalf("%v: another CA's responder: %v", kind, err)
		}
	}
}

// When no trustworthy answer can be had, the signature is refused unless
// the installation chose to accept it; a revoked answer always refuses.
func TestOCSPFailurePolicy(t *testing.T) {
	p := newPKI(t)
	doc := pdftest.PDF(1)
	good := p.nca.OCSPResponder(t, sigtest.OCSPOptions{Delegated: true})
	revoked := p.nca.Issue(t, sigtest.Person{IIN: soloIIN, Surname: "X", Name: "Y"}, p.nca.Cert)
	good.Revoke(revoked.Cert, time.Now().Add(-time.Hour))
	tamper := func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		good.ServeHTTP(rec, r)
		b := rec.Body.Bytes()
		b[len(b)/3] ^= 0x01 // inside the signed answer
		_, _ = w.Write(b)
	}
	down := httptest.NewServer(good)
	down.Close()
	for name, h := range map[string]http.HandlerFunc{
		"HTTP 500":        func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) },
		"garbage":         func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>not OCSP</html>")) },
		"tryLater":        func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte{0x30, 0x03, 0x0a, 0x01, 0x03}) },
		"tampered answer": tamper,
		"unreachable":     nil,
	} {
		t.Run(name, func(t *testing.T) {
			url := down.URL
			if h != nil {
				srv := httptest.NewServer(h)
				t.Cleanup(srv.Close)
				url = srv.URL
			}
			o := &signature.OCSP{URL: url}
			v := &signature.Verifier{Roots: []*x509.Certificate{p.root.Cert}, Revocation: o}
			cms := p.head.SignCMS(t, doc, sigtest.CMSOptions{})
			if _, err := v.VerifyOne(ctx, cms, doc, signature.PurposeSign); !errors.Is(err, signature.ErrRevocationUnknown) {
				t.Fatalf("refuse on failure (the default): %v", err)
			}
			o.OnFailure = signature.AcceptOnFailure
			if _, err := v.VerifyOne(ctx, cms, doc, signature.PurposeSign); err != nil {
				t.Fatalf("accept on failure: %v", err)
			}
		})
	}
	srv := httptest.NewServer(good)
	t.Cleanup(srv.Close)
	v := &signature.Verifier{Roots: []*x509.Certificate{p.root.Cert}, Revocation: &signature.OCSP{URL: srv.URL, OnFailure: signature.AcceptOnFailure}}
	if _, err := v.VerifyOne(ctx, revoked.SignCMS(t, doc, sigtest.CMSOptions{}), doc, signature.PurposeSign); !errors.Is(err, signature.ErrRevoked) {
		t.Fatalf("revoked, accepting failures: %v", err)
	}
	// Neither a configured responder nor one named in the certificate.
	v = &signature.Verifier{Roots: []*x509.Certificate{p.root.Cert}, Revocation: &signature.OCSP{}}
	if _, err := v.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{}), doc, signature.PurposeSign); !errors.Is(err, signature.ErrRevocationUnknown) {
		t.Fatalf("no responder at all: %v", err)
	}
}
