package signature_test

import (
	"crypto/sha256"
	"net/http/httptest"
	"testing"
	"time"

	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
)

// BenchmarkVerifyRSA15MB measures, side by side in each iteration, hashing a
// 15 MiB PDF once and verifying one RSA-2048 signature over it, and reports
// their ratio (target ≤ 1.3). The three-signer case shows the file is
// hashed once however many signatures are checked.
func BenchmarkVerifyRSA15MB(b *testing.B) {
	p := newPKI(b)
	doc := pdftest.PDFOfSize(200, 15<<20)
	one := p.head.SignCMS(b, doc, sigtest.CMSOptions{})
	three, err := signature.Combine(doc, one, p.solo.SignCMS(b, doc, sigtest.CMSOptions{}), p.head.SignCMS(b, doc, sigtest.CMSOptions{SigningTime: time.Now().Add(-time.Minute)}))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("one-signature", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		var hashing, verifying time.Duration
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			sha256.Sum256(doc)
			t1 := time.Now()
			if _, err := p.verifier.VerifyOne(ctx, one, doc, signature.PurposeSign); err != nil {
				b.Fatal(err)
			}
			hashing += t1.Sub(t0)
			verifying += time.Since(t1)
		}
		b.ReportMetric(float64(verifying)/float64(hashing), "verify/hash")
	})
	b.Run("three-signatures", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		var hashing, verifying time.Duration
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			sha256.Sum256(doc)
			t1 := time.Now()
			results, err := p.verifier.Verify(ctx, three, signature.NewContent(doc), signature.PurposeSign)
			if err != nil || len(results) != 3 || results[2].Err != nil {
				b.Fatal(err, results)
			}
			hashing += t1.Sub(t0)
			verifying += time.Since(t1)
		}
		b.ReportMetric(float64(verifying)/float64(hashing), "verify/hash")
	})
}

// BenchmarkVerifyGOST2015WithOCSP verifies what a live eGov or NCALayer
// signature costs: a GOST 2015-512 CMS, its chain (two GOST certificate
// signatures) and an OCSP answer fetched from a local responder (HTTP, the
// responder's GOST certificate checked against the CA, the answer's GOST
// signature). The responder serves a pre-signed answer, so the figure is
// the verifier's.
func BenchmarkVerifyGOST2015WithOCSP(b *testing.B) {
	p := newGOSTPKI(b, sigtest.GOST2015)
	srv := httptest.NewServer(p.nca.OCSPResponder(b, sigtest.OCSPOptions{Delegated: true, Cached: true}))
	defer srv.Close()
	v := &signature.Verifier{Roots: p.verifier.Roots, Revocation: &signature.OCSP{URL: srv.URL}}
	doc := pdftest.PDF(1)
	cms := p.head.SignCMS(b, doc, sigtest.CMSOptions{})
	if _, err := v.VerifyOne(ctx, cms, doc, signature.PurposeSign); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.VerifyOne(ctx, cms, doc, signature.PurposeSign); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cms/s")
}
