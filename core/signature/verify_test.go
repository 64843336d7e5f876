package signature_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"edobot/core"
	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
)

var ctx = context.Background()

type pki struct {
	root, nca  *sigtest.CA
	head, solo *sigtest.Key
	verifier   *signature.Verifier
}

const headIIN, headBIN, soloIIN = "850101100002", "990140000806", "850101100304"

func newPKI(t testing.TB) *pki {
	root := sigtest.NewRoot(t, "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (TEST ROOT)")
	nca := root.Intermediate(t, "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA TEST)")
	return &pki{
		root: root, nca: nca,
		head: nca.Issue(t, sigtest.Person{IIN: headIIN, BIN: headBIN, Surname: "ИВАНОВ", Name: "ИВАН",
			Patronymic: "ИВАНОВИЧ", Organisation: "ТОО «Ромашка»"}, nca.Cert),
		solo:     nca.Issue(t, sigtest.Person{IIN: soloIIN, Surname: "ӘБІЛОВА", Name: "ҚАРЛЫҒАШ", Patronymic: "СЕРІКҚЫЗЫ"}, nca.Cert),
		verifier: &signature.Verifier{Roots: []*x509.Certificate{root.Cert}},
	}
}

func TestVerifyIdentity(t *testing.T) {
	p := newPKI(t)
	doc := pdftest.PDF(3)
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	cms := p.head.SignCMS(t, doc, sigtest.CMSOptions{SigningTime: at})
	v, err := p.verifier.VerifyOne(ctx, cms, doc, signature.PurposeSign)
	if err != nil {
		t.Fatal(err)
	}
	s := v.Signer
	if s.IIN != headIIN || s.BIN != headBIN || s.FullName != "ИВАНОВ ИВАН ИВАНОВИЧ" || s.Organisation != "ТОО «Ромашка»" ||
		s.KeyKind != core.KeyRSA || s.CertSerial == "" || !strings.Contains(s.Issuer, "RSA TEST") || !v.SignedAt.Equal(at) {
		t.Fatalf("signer = %+v, signed at %v", s, v.SignedAt)
	}
	results, err := p.verifier.Verify(ctx, p.solo.SignCMS(t, doc, sigtest.CMSOptions{}), signature.NewContent(doc), signature.PurposeSign)
	if err != nil || len(results) != 1 || results[0].Err != nil {
		t.Fatalf("personal key: %v %+v", err, results)
	}
	if r := results[0]; r.Signer.BIN != "" || r.Signer.IIN != soloIIN || r.Role != signature.RoleIndividual || r.Signer.FullName != "ӘБІЛОВА ҚАРЛЫҒАШ СЕРІКҚЫЗЫ" {
		t.Fatalf("personal key identity: %+v role %s", r.Signer, r.Role)
	}
}

func TestVerifyEncodings(t *testing.T) {
	p := newPKI(t)
	doc := pdftest.PDF(1)
	der := p.head.SignCMS(t, doc, sigtest.CMSOptions{})
	attached := p.head.SignCMS(t, doc, sigtest.CMSOptions{Attached: true})
	forms := map[string][]byte{
		"DER":                der,
		"PEM":                pem.EncodeToMemory(&pem.Block{Type: "CMS", Bytes: der}),
		"base64 (NCALayer)":  []byte(base64.StdEncoding.EncodeToString(der)),
		"base64 with breaks": []byte(strings.Join(chunk(base64.StdEncoding.EncodeToString(der), 64), "\r\n")),
		"attached":           attached,
	}
	for name, cms := range forms {
		if _, err := p.verifier.VerifyOne(ctx, cms, doc, signature.PurposeSign); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An attached CMS verifies over what it carries.
	results, err := p.verifier.Verify(ctx, attached, nil, signature.PurposeSign)
	if err != nil || results[0].Err != nil {
		t.Fatalf("attached, no document given: %v %+v", err, results)
	}
}

func chunk(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func TestVerifyRefusals(t *testing.T) {
	p := newPKI(t)
	doc := pdftest.PDF(2)
	good := p.head.SignCMS(t, doc, sigtest.CMSOptions{})
	other := sigtest.NewRoot(t, "SOMEONE ELSE")
	stranger := other.Issue(t, sigtest.Person{IIN: headIIN, BIN: headBIN, Surname: "X", Name: "Y"})
	expired := p.nca.Issue(t, sigtest.Person{IIN: headIIN, Surname: "X", Name: "Y",
		NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)}, p.nca.Cert)
	future := p.nca.Issue(t, sigtest.Person{IIN: headIIN, Surname: "X", Name: "Y",
		NotBefore: time.Now().AddDate(0, 1, 0), NotAfter: time.Now().AddDate(1, 0, 0)}, p.nca.Cert)
	auth := p.nca.Issue(t, sigtest.Person{IIN: headIIN, BIN: headBIN, Surname: "X", Name: "Y", Auth: true}, p.nca.Cert)
	forged := append([]byte(nil), good...)
	forged[len(forged)-10] ^= 0x01 // inside the signature value, the last field
	attrTampered := bytes.Replace(good, sha256Of(doc), sha256Of([]byte("other")), 1)
	twoSigners, err := signature.Combine(doc, good, p.solo.SignCMS(t, doc, sigtest.CMSOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cms     []byte
		purpose signature.Purpose
		want    error
	}{
		{"garbage", []byte("this is not a signature at all"), signature.PurposeSign, signature.ErrMalformed},
		{"empty", nil, signature.PurposeSign, signature.ErrMalformed},
		{"truncated DER", good[:len(good)/2], signature.PurposeSign, signature.ErrMalformed},
		{"trailing bytes", append(append([]byte{}, good...), 0, 1, 2), signature.PurposeSign, signature.ErrMalformed},
		{"PEM with junk", append(pem.EncodeToMemory(&pem.Block{Type: "CMS", Bytes: good}), "junk"...), signature.PurposeSign, signature.ErrMalformed},
		{"PEM of junk", pem.EncodeToMemory(&pem.Block{Type: "CMS", Bytes: []byte{0x30, 0x03, 1, 2}}), signature.PurposeSign, signature.ErrMalformed},
		{"a CMS over other data", p.head.SignCMS(t, []byte("another document"), sigtest.CMSOptions{}), signature.PurposeSign, signature.ErrContentMismatch},
		{"attached with other data", p.head.SignCMS(t, []byte("another document"), sigtest.CMSOptions{Attached: true}), signature.PurposeSign, signature.ErrContentMismatch},
		{"certificate that does not chain", stranger.SignCMS(t, doc, sigtest.CMSOptions{}), signature.PurposeSign, signature.ErrUntrusted},
		{"chain not carried and not configured", p.head.SignCMS(t, doc, sigtest.CMSOptions{NoChain: true}), signature.PurposeSign, signature.ErrUntrusted},
		{"expired certificate", expired.SignCMS(t, doc, sigtest.CMSOptions{}), signature.PurposeSign, signature.ErrExpired},
		{"not yet valid certificate", future.SignCMS(t, doc, sigtest.CMSOptions{}), signature.PurposeSign, signature.ErrNotYetValid},
		{"authentication key for a document", auth.SignCMS(t, doc, sigtest.CMSOptions{}), signature.PurposeSign, signature.ErrWrongKeyPurpose},
		{"forged signature (one flipped bit)", forged, signature.PurposeSign, signature.ErrBadSignature},
		{"message digest attribute swapped", attrTampered, signature.PurposeSign, signature.ErrContentMismatch},
		{"no certificate", p.head.SignCMS(t, doc, sigtest.CMSOptions{NoSigner: true}), signature.PurposeSign, signature.ErrNoCertificate},
		{"two signers where one was expected", twoSigners, signature.PurposeSign, signature.ErrSignerCount},
		{"larger than the limit", append([]byte{0x30}, make([]byte, signature.MaxCMSSize)...), signature.PurposeSign, signature.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.verifier.VerifyOne(ctx, tt.cms, doc, tt.purpose)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyOne = %v, want %v", err, tt.want)
			}
		})
	}
	// The identity challenge accepts an authentication key.
	if _, err := p.verifier.VerifyOne(ctx, auth.SignCMS(t, doc, sigtest.CMSOptions{}), doc, signature.PurposeAuth); err != nil {
		t.Fatalf("auth key for the identity challenge: %v", err)
	}
	// A live signature must be fresh: a backdated signing time inside an
	// expired certificate's validity is refused.
	live := &signature.Verifier{Roots: []*x509.Certificate{p.root.Cert}, Freshness: 15 * time.Minute}
	backdated := expired.SignCMS(t, doc, sigtest.CMSOptions{SigningTime: expired.Cert.NotBefore.Add(time.Hour)})
	if _, err := p.verifier.VerifyOne(ctx, backdated, doc, signature.PurposeSign); err != nil {
		t.Fatalf("offline check of an old signature: %v", err)
	}
	if _, err := live.VerifyOne(ctx, backdated, doc, signature.PurposeSign); !errors.Is(err, signature.ErrStale) {
		t.Fatalf("backdated live signature: %v", err)
	}
	if _, err := live.VerifyOne(ctx, good, doc, signature.PurposeSign); err != nil {
		t.Fatalf("fresh live signature: %v", err)
	}
	// The chain configured instead of carried.
	v := &signature.Verifier{Roots: []*x509.Certificate{p.root.Cert}, Intermediates: []*x509.Certificate{p.nca.Cert}}
	if _, err := v.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{NoChain: true}), doc, signature.PurposeSign); err != nil {
		t.Fatalf("configured intermediate: %v", err)
	}
}

func sha256Of(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// TestOpenSSLInterop signs with `openssl cms` and verifies here, then
// combines signatures here and verifies the result with `openssl cms`.
func TestOpenSSLInterop(t *testing.T) {
	p := newPKI(t)
	dir, write := opensslDir(t)
	doc := pdftest.PDF(2)
	docPath := write("doc.pdf", doc)
	out := filepath.Join(dir, "sig.der")
	cmd := exec.Command("openssl", "cms", "-sign", "-binary", "-in", docPath, "-signer", write("cert.pem", p.solo.CertPEM()),
		"-inkey", write("key.pem", p.solo.KeyPEM(t)), "-certfile", write("nca.pem", p.nca.PEM()), "-md", "sha256",
		"-outform", "DER", "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -sign: %v\n%s", err, b)
	}
	opensslCMS, _ := os.ReadFile(out)
	v, err := p.verifier.VerifyOne(ctx, opensslCMS, doc, signature.PurposeSign)
	if err != nil || v.Signer.IIN != soloIIN {
		t.Fatalf("openssl's CMS: %+v, %v", v.Signer, err)
	}

	combined, err := signature.Combine(doc, opensslCMS, p.head.SignCMS(t, doc, sigtest.CMSOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	results, err := p.verifier.Verify(ctx, combined, nil, signature.PurposeSign)
	if err != nil || len(results) != 2 || results[0].Err != nil || results[1].Err != nil {
		t.Fatalf("combined, here: %v %+v", err, results)
	}
	cmd = exec.Command("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", write("combined.cms", combined),
		"-CAfile", write("root.pem", p.root.PEM()), "-purpose", "any", "-out", filepath.Join(dir, "content.pdf"))
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "Verification successful") {
		t.Fatalf("openssl cms -verify of the combined CMS: %v\n%s", err, b)
	}
	content, _ := os.ReadFile(filepath.Join(dir, "content.pdf"))
	if !bytes.Equal(content, doc) {
		t.Fatal("the combined CMS does not carry the document byte for byte")
	}
	// A combined CMS with a forged signer fails openssl too: the test above can fail.
	bad := append([]byte(nil), combined...)
	bad[len(bad)-5] ^= 0xff
	cmd = exec.Command("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", write("bad.cms", bad),
		"-CAfile", write("root.pem", p.root.PEM()), "-purpose", "any", "-out", os.DevNull)
	if err := cmd.Run(); err == nil {
		t.Fatal("openssl accepted a forged combined CMS")
	}
}

func FuzzVerify(f *testing.F) {
	p := newPKI(f)
	doc := pdftest.PDF(1)
	// One signing time for both seeds: the attached one then carries good's
	// signature value, whichever second each is made in.
	at := time.Now()
	good := p.head.SignCMS(f, doc, sigtest.CMSOptions{SigningTime: at})
	f.Add(good)
	f.Add(p.head.SignCMS(f, doc, sigtest.CMSOptions{Attached: true, SigningTime: at}))
	f.Add(good[:len(good)/3])
	f.Add([]byte("-----BEGIN CMS-----\nMAA=\n-----END CMS-----\n"))
	f.Add([]byte{0x30, 0x80, 0x06, 0x09})
	f.Fuzz(func(t *testing.T, cms []byte) {
		results, err := p.verifier.Verify(ctx, cms, signature.NewContent(doc), signature.PurposeSign)
		if err != nil {
			var se *signature.Error
			if !errors.As(err, &se) {
				t.Fatalf("non-refusal error %v", err)
			}
			return
		}
		// BER is accepted: a mutation into another encoding of the same
		// value may verify, so compare DER forms.
		if der, err := signature.ToDER(cms); err == nil {
			cms = der
		}
		for _, r := range results {
			if r.Err == nil && !bytes.Equal(cms, good) && !bytes.Contains(cms, good[len(good)-256:]) {
				t.Fatalf("a mutated CMS verified")
			}
		}
	})
}

// A system's key (a Treasury client's) names a BIN and no person: it can
// neither sign a document (the signature must name who signed for the
// side) nor sign a person in.
func TestSystemKey(t *testing.T) {
	p := newPKI(t)
	system := p.nca.Issue(t, sigtest.Person{BIN: headBIN, Surname: "", Name: `ИС "Тест"`, Organisation: "ТОО «Ромашка»",
		Role: sigtest.RoleTreasuryClient}, p.nca.Cert)
	doc := pdftest.PDF(1)
	results, err := p.verifier.Verify(ctx, system.SignCMS(t, doc, sigtest.CMSOptions{}), signature.NewContent(doc), signature.PurposeSign)
	if err != nil || len(results) != 1 || !errors.Is(results[0].Err, signature.ErrNoIdentity) ||
		results[0].Signer.BIN != headBIN || results[0].Signer.FullName != `ИС "Тест"` {
		t.Fatalf("a system's key on a document: %+v %v", results, err)
	}
	if _, err := p.verifier.VerifyChallenge(ctx, system.SignCMS(t, doc, sigtest.CMSOptions{}), doc); !errors.Is(err, signature.ErrNoIdentity) {
		t.Fatalf("a system's key signing in: %v", err)
	}
}

// opensslDir is a folder for files `openssl cms` reads and writes, and a
// writer of them; openssl must be installed (scripts/setup.sh does).
func opensslDir(t *testing.T) (string, func(name string, b []byte) string) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is required (scripts/setup.sh installs it)")
	}
	dir := t.TempDir()
	return dir, func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
}
