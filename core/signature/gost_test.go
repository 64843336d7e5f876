package signature_test

import (
	"crypto/x509"
	"errors"
	"testing"

	"edobot/core"
	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
)

type gostPKI struct {
	root, nca *sigtest.GOSTKey
	head      *sigtest.GOSTKey
	verifier  *signature.Verifier
}

func newGOSTPKI(t testing.TB, kind sigtest.GOSTKind) *gostPKI {
	root := sigtest.NewGOSTRoot(t, "НЕГІЗГІ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST", kind)
	nca := root.IssueCA(t, "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST", kind)
	head := nca.Issue(t, sigtest.Person{IIN: headIIN, BIN: headBIN, Surname: "ТЕСТОВ", Name: "ТЕСТ", Patronymic: "ТЕСТОВИЧ",
		Organisation: "АО «ТЕСТ»"}, kind, nca.Cert)
	return &gostPKI{root: root, nca: nca, head: head, verifier: &signature.Verifier{Roots: []*x509.Certificate{root.Cert}}}
}

func TestGOST(t *testing.T) {
	doc := pdftest.PDF(2)
	for _, tc := range []struct {
		name string
		kind sigtest.GOSTKind
		key  core.KeyKind
	}{{"GOST 34.310-2004", sigtest.GOST2004, core.KeyGOST2004}, {"GOST 34.10-2015 512", sigtest.GOST2015, core.KeyGOST2015}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newGOSTPKI(t, tc.kind)
			cms := p.head.SignCMS(t, doc, sigtest.CMSOptions{})
			v, err := p.verifier.VerifyOne(ctx, cms, doc, signature.PurposeSign)
			if err != nil {
				t.Fatal(err)
			}
			if v.Signer.KeyKind != tc.key || v.Signer.IIN != headIIN || v.Signer.BIN != headBIN || v.Signer.FullName != "ТЕСТОВ ТЕСТ ТЕСТОВИЧ" {
				t.Fatalf("signer = %+v", v.Signer)
			}
			if _, err := p.verifier.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{Attached: true}), doc, signature.PurposeSign); err != nil {
				t.Fatalf("attached: %v", err)
			}
			forged := append([]byte(nil), cms...)
			forged[len(forged)-3] ^= 0x01
			if _, err := p.verifier.VerifyOne(ctx, forged, doc, signature.PurposeSign); !errors.Is(err, signature.ErrBadSignature) {
				t.Fatalf("forged: %v", err)
			}
			if _, err := p.verifier.VerifyOne(ctx, p.head.SignCMS(t, []byte("other"), sigtest.CMSOptions{}), doc, signature.PurposeSign); !errors.Is(err, signature.ErrContentMismatch) {
				t.Fatalf("other data: %v", err)
			}
			stranger := newGOSTPKI(t, tc.kind)
			if _, err := p.verifier.VerifyOne(ctx, stranger.head.SignCMS(t, doc, sigtest.CMSOptions{}), doc, signature.PurposeSign); !errors.Is(err, signature.ErrUntrusted) {
				t.Fatalf("a GOST chain to another root: %v", err)
			}
		})
	}
}

// A document signed with GOST by one side and RSA by the other combines into
// one CMS in which both signatures verify.
func TestCombineGOSTAndRSA(t *testing.T) {
	g := newGOSTPKI(t, sigtest.GOST2015)
	r := newPKI(t)
	doc := pdftest.PDF(1)
	combined, err := signature.Combine(doc, g.head.SignCMS(t, doc, sigtest.CMSOptions{}), r.solo.SignCMS(t, doc, sigtest.CMSOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	v := &signature.Verifier{Roots: []*x509.Certificate{g.root.Cert, r.root.Cert}}
	results, err := v.Verify(ctx, combined, signature.NewContent(doc), signature.PurposeSign)
	if err != nil || len(results) != 2 {
		t.Fatalf("%v %+v", err, results)
	}
	kinds := map[core.KeyKind]bool{}
	for _, res := range results {
		if res.Err != nil {
			t.Fatalf("%+v", res)
		}
		kinds[res.Signer.KeyKind] = true
	}
	if !kinds[core.KeyGOST2015] || !kinds[core.KeyRSA] {
		t.Fatalf("kinds = %v", kinds)
	}
}

// BenchmarkVerifyGOST verifies a whole CMS (the signature and the two
// certificate signatures of its chain) over a small document.
func BenchmarkVerifyGOST(b *testing.B) {
	doc := pdftest.PDF(1)
	for _, tc := range []struct {
		name string
		kind sigtest.GOSTKind
	}{{"gost2004", sigtest.GOST2004}, {"gost2015-512", sigtest.GOST2015}} {
		b.Run(tc.name, func(b *testing.B) {
			p := newGOSTPKI(b, tc.kind)
			cms := p.head.SignCMS(b, doc, sigtest.CMSOptions{})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := p.verifier.VerifyOne(ctx, cms, doc, signature.PurposeSign); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cms/s")
		})
	}
}
