package signature_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"

	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
)

// trustSource is a TrustSource whose CAs a test changes between verifications.
type trustSource struct {
	mu                   sync.Mutex
	roots, intermediates []*x509.Certificate
}

func (s *trustSource) set(roots, intermediates []*x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roots, s.intermediates = roots, intermediates
}

func (s *trustSource) TrustedCAs() ([]*x509.Certificate, []*x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roots, s.intermediates
}

// TestVerifyReadsTrustEachTime: trust that changes while the verifier lives
// applies to the next verification; with nothing trusted at all the refusal
// says so instead of blaming the certificate.
func TestVerifyReadsTrustEachTime(t *testing.T) {
	p := newPKI(t)
	doc := pdftest.PDF(1)
	cms := p.head.SignCMS(t, doc, sigtest.CMSOptions{NoChain: true})
	src := &trustSource{}
	v := &signature.Verifier{Trust: src}

	if _, err := v.VerifyOne(ctx, cms, doc, signature.PurposeSign); !errors.Is(err, signature.ErrNoTrust) {
		t.Fatalf("nothing trusted: %v, want %v", err, signature.ErrNoTrust)
	}
	src.set([]*x509.Certificate{p.root.Cert}, []*x509.Certificate{p.nca.Cert})
	if _, err := v.VerifyOne(ctx, cms, doc, signature.PurposeSign); err != nil {
		t.Fatalf("trust arrived: %v", err)
	}
	other := sigtest.NewRoot(t, "ANOTHER ROOT")
	src.set([]*x509.Certificate{other.Cert}, nil)
	if _, err := v.VerifyOne(ctx, cms, doc, signature.PurposeSign); !errors.Is(err, signature.ErrUntrusted) {
		t.Fatalf("trust replaced: %v, want %v", err, signature.ErrUntrusted)
	}
	// The static fields still count, on top of the source.
	v.Roots, v.Intermediates = []*x509.Certificate{p.root.Cert}, []*x509.Certificate{p.nca.Cert}
	if _, err := v.VerifyOne(ctx, cms, doc, signature.PurposeSign); err != nil {
		t.Fatalf("static roots with a source: %v", err)
	}
}

// issuerFetcher answers FetchIssuer from a table and counts the calls.
type issuerFetcher struct {
	mu     sync.Mutex
	issuer *x509.Certificate
	err    error
	asked  []string
}

func (f *issuerFetcher) FetchIssuer(_ context.Context, c *x509.Certificate) (*x509.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, c.Subject.CommonName)
	return f.issuer, f.err
}

// TestVerifyFetchesMissingIssuer: a signer whose issuer is neither trusted
// nor carried is checked through the issuer the fetcher finds; an issuer
// that did not sign the certificate, or a failed fetch, leaves it untrusted
// with the reason kept for the logs.
func TestVerifyFetchesMissingIssuer(t *testing.T) {
	p := newPKI(t)
	doc := pdftest.PDF(1)
	cms := p.head.SignCMS(t, doc, sigtest.CMSOptions{NoChain: true})

	f := &issuerFetcher{issuer: p.nca.Cert}
	v := &signature.Verifier{Roots: []*x509.Certificate{p.root.Cert}, Issuers: f}
	if _, err := v.VerifyOne(ctx, cms, doc, signature.PurposeSign); err != nil {
		t.Fatalf("issuer fetched: %v", err)
	}
	if len(f.asked) != 1 || f.asked[0] != p.head.Cert.Subject.CommonName {
		t.Fatalf("fetcher asked about %q, want only the signer's certificate", f.asked)
	}
	// The chain carried: nothing to fetch.
	f.asked = nil
	if _, err := v.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{}), doc, signature.PurposeSign); err != nil || len(f.asked) != 0 {
		t.Fatalf("chain carried: %v, fetcher asked %q", err, f.asked)
	}

	impostor := p.root.Intermediate(t, p.nca.Cert.Subject.CommonName) // same name, other key
	f.issuer = impostor.Cert
	if _, err := v.VerifyOne(ctx, cms, doc, signature.PurposeSign); !errors.Is(err, signature.ErrUntrusted) || !strings.Contains(err.Error(), "did not issue it") {
		t.Fatalf("an issuer that did not sign the certificate: %v", err)
	}
	f.issuer, f.err = nil, errors.New("connection refused")
	_, err := v.VerifyOne(ctx, cms, doc, signature.PurposeSign)
	if !errors.Is(err, signature.ErrUntrusted) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("fetch failed: %v", err)
	}
}

func TestKeyAlgorithmAndParseCertificate(t *testing.T) {
	rsaRoot := sigtest.NewRoot(t, "RSA ROOT")
	for _, tt := range []struct {
		cert *x509.Certificate
		want string
	}{
		{rsaRoot.Cert, "RSA 2048"},
		{sigtest.NewGOSTRoot(t, "GOST 2004 ROOT", sigtest.GOST2004).Cert, "GOST 34.310-2004"},
		{sigtest.NewGOSTRoot(t, "GOST 2015 ROOT", sigtest.GOST2015).Cert, "GOST 34.10-2015 512"},
	} {
		if got := signature.KeyAlgorithm(tt.cert); got != tt.want {
			t.Errorf("%s: KeyAlgorithm = %q, want %q", tt.cert.Subject.CommonName, got, tt.want)
		}
		if !signature.IssuedBy(tt.cert, tt.cert) {
			t.Errorf("%s: a root is not IssuedBy itself", tt.cert.Subject.CommonName)
		}
	}
	for name, data := range map[string][]byte{"DER": rsaRoot.Cert.Raw, "PEM": rsaRoot.PEM()} {
		c, err := signature.ParseCertificate(data)
		if err != nil || !c.Equal(rsaRoot.Cert) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, data := range map[string][]byte{
		"HTML":       []byte("<html><body>Not found</body></html>"),
		"PEM key":    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
		"two PEM":    append(rsaRoot.PEM(), rsaRoot.PEM()...),
		"truncated":  rsaRoot.Cert.Raw[:len(rsaRoot.Cert.Raw)/2],
		"empty body": nil,
	} {
		if _, err := signature.ParseCertificate(data); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
