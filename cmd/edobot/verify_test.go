package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

func TestVerifyCommand(t *testing.T) {
	root := sigtest.NewRoot(t, "TEST ROOT")
	nca := root.Intermediate(t, "NCA TEST")
	head := nca.Issue(t, sigtest.Person{IIN: "850101100002", BIN: "990140000806", Surname: "ИВАНОВ", Name: "ИВАН",
		Patronymic: "ИВАНОВИЧ", Organisation: "ТОО «Ромашка»"}, nca.Cert)
	person := nca.Issue(t, sigtest.Person{IIN: "850101100304", Surname: "СЕРІКОВ", Name: "АЙБЕК"}, nca.Cert)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	doc := pdftest.PDF(2)
	docPath := write("doc.pdf", doc)
	s1 := write("a.cms", head.SignCMS(t, doc, sigtest.CMSOptions{}))
	s2 := write("b.cms", person.SignCMS(t, doc, sigtest.CMSOptions{}))
	ca := write("root.pem", root.PEM())
	t.Setenv("EDOBOT_LANG", "ru")
	responder := nca.OCSPResponder(t, sigtest.OCSPOptions{Delegated: true})
	ocsp := httptest.NewServer(responder)
	defer ocsp.Close()
	t.Setenv("EDOBOT_OCSP_URL", ocsp.URL)

	out, errOut, code := runCmd(t, "verify", "--data", docPath, "--ca", ca, s1, s2)
	var reports []signerReport
	if err := json.Unmarshal([]byte(out), &reports); err != nil || code != 0 {
		t.Fatalf("verify: %d %q %q %v", code, out, errOut, err)
	}
	if len(reports) != 2 || !reports[0].Valid || reports[0].IIN != "850101100002" || reports[0].BIN != "990140000806" ||
		reports[0].Key != "rsa" || reports[0].Name != "ИВАНОВ ИВАН ИВАНОВИЧ" || reports[1].IIN != "850101100304" || reports[1].SignedAt == "" {
		t.Fatalf("reports = %+v", reports)
	}

	// Flags after the files work too; a signature over another document fails the run.
	other := write("c.cms", head.SignCMS(t, []byte("other"), sigtest.CMSOptions{}))
	out, _, code = runCmd(t, "verify", s1, other, "--data", docPath, "--ca", ca)
	reports = nil
	if err := json.Unmarshal([]byte(out), &reports); err != nil || code != 1 {
		t.Fatalf("verify with a bad file: %d %q", code, out)
	}
	if len(reports) != 2 || !reports[0].Valid || reports[1].Valid || reports[1].Code != "cms_content_mismatch" ||
		reports[1].Error != "Подпись сделана не под этим документом." {
		t.Fatalf("reports = %+v", reports)
	}

	// Another CA does not vouch for the signer.
	otherCA := write("other.pem", sigtest.NewRoot(t, "OTHER ROOT").PEM())
	out, _, code = runCmd(t, "verify", "--data", docPath, "--ca", otherCA, s1)
	if code != 1 || json.Unmarshal([]byte(out), &reports) != nil || reports[0].Valid || reports[0].Code != "cert_untrusted" {
		t.Fatalf("untrusted: %d %s", code, out)
	}
	// Without any CA nothing is trusted, and the answer says so.
	t.Setenv("DATABASE_URL", storagetest.URL(t))
	t.Setenv("EDOBOT_NCA", "off")
	out, _, code = runCmd(t, "verify", "--data", docPath, s1)
	if code != 1 || json.Unmarshal([]byte(out), &reports) != nil || reports[0].Valid || reports[0].Code != "trust_not_loaded" ||
		!strings.Contains(reports[0].Error, "НУЦ РК") {
		t.Fatalf("nothing trusted: %d %s", code, out)
	}
	if _, _, code := runCmd(t, "verify", s1); code != 2 {
		t.Fatalf("verify without --data: %d", code)
	}
	asked := responder.Requests()
	if asked == 0 {
		t.Fatal("the OCSP responder was never asked")
	}

	// A revoked certificate; a responder that cannot be reached, refused or
	// accepted as EDOBOT_OCSP_UNREACHABLE says; OCSP off.
	responder.Revoke(person.Cert, time.Now().Add(-time.Hour))
	report := func(env ...string) signerReport {
		t.Helper()
		for i := 0; i < len(env); i += 2 {
			t.Setenv(env[i], env[i+1])
		}
		out, _, _ := runCmd(t, "verify", "--data", docPath, "--ca", ca, s2)
		var reports []signerReport
		if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 1 {
			t.Fatalf("verify %v: %q", env, out)
		}
		return reports[0]
	}
	if r := report(); r.Valid || r.Code != "cert_revoked" {
		t.Fatalf("revoked: %+v", r)
	}
	down := httptest.NewServer(responder)
	down.Close()
	if r := report("EDOBOT_OCSP_URL", down.URL); r.Valid || r.Code != "cert_revocation_unknown" || !strings.Contains(r.Error, "НУЦ РК не ответила") {
		t.Fatalf("responder down: %+v", r)
	}
	if r := report("EDOBOT_OCSP_UNREACHABLE", "accept"); !r.Valid {
		t.Fatalf("responder down, accepted: %+v", r)
	}
	asked = responder.Requests()
	if r := report("EDOBOT_OCSP_URL", "off", "EDOBOT_OCSP_UNREACHABLE", "refuse"); !r.Valid || responder.Requests() != asked {
		t.Fatalf("OCSP off: %+v", r)
	}
	t.Setenv("EDOBOT_OCSP_UNREACHABLE", "maybe")
	if _, errOut, code := runCmd(t, "verify", "--data", docPath, "--ca", ca, s2); code == 0 || !strings.Contains(errOut, "EDOBOT_OCSP_UNREACHABLE") {
		t.Fatalf("a bad EDOBOT_OCSP_UNREACHABLE: %d %q", code, errOut)
	}
}

// By default revocation is asked of NCA's responder, and refused when it
// cannot be checked.
func TestOCSPDefault(t *testing.T) {
	t.Setenv("EDOBOT_OCSP_URL", "")
	t.Setenv("EDOBOT_OCSP_UNREACHABLE", "")
	v, err := newVerifier(mustConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	o, ok := v.Revocation.(*signature.OCSP)
	if !ok || o.URL != "http://ocsp.pki.gov.kz" || o.OnFailure != signature.RefuseOnFailure {
		t.Fatalf("revocation = %#v", v.Revocation)
	}
	t.Setenv("EDOBOT_NCA", "test")
	if v, err := newVerifier(mustConfig(t)); err != nil || v.Revocation.(*signature.OCSP).URL != "http://test.pki.gov.kz/ocsp/" {
		t.Fatalf("with NCA's test PKI: %v", err)
	}
	// Without NCA's certificates, the operator's own CAs: NCA's responder
	// does not know them, so only a named responder is asked.
	t.Setenv("EDOBOT_NCA", "off")
	if v, err := newVerifier(mustConfig(t)); err != nil || v.Revocation != nil {
		t.Fatalf("with EDOBOT_NCA=off: %#v %v", v.Revocation, err)
	}
	t.Setenv("EDOBOT_OCSP_URL", "http://ocsp.example.kz")
	if v, err := newVerifier(mustConfig(t)); err != nil || v.Revocation.(*signature.OCSP).URL != "http://ocsp.example.kz" {
		t.Fatalf("with EDOBOT_NCA=off and a responder: %v", err)
	}
}
