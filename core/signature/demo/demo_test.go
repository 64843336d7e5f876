package demo_test

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"edobot/core/signature"
	"edobot/core/signature/demo"
)

// The demo CA's signatures are NCA-shaped: a verifier that trusts the CA
// reads the signer's IIN, and the BIN and organisation of a head; one
// that does not trust it refuses them.
func TestDemoSignaturesVerify(t *testing.T) {
	ca, err := demo.New()
	if err != nil {
		t.Fatal(err)
	}
	v := &signature.Verifier{Roots: []*x509.Certificate{ca.Certificate()}, Freshness: time.Minute}
	data := []byte("%PDF-1.4 demo")
	for _, p := range []demo.Person{
		{IIN: "900101300019", Surname: "ДЕМО", Name: "Демо", Patronymic: "Демоевич"},
		{IIN: "900101300019", BIN: "991240000014", Surname: "ДЕМО", Name: "Демо", Organisation: "ТОО «Демо»"},
	} {
		cms, err := ca.SignCMS(p, data)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := v.VerifyDocument(context.Background(), cms, data)
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		if s := sig.Signer; s.IIN != p.IIN || s.BIN != p.BIN || s.Organisation != p.Organisation || s.Issuer == "" {
			t.Fatalf("signed as %+v, verified as %+v", p, s)
		}
		again, err := ca.SignCMS(p, data)
		if err != nil {
			t.Fatal(err)
		}
		if sig2, err := v.VerifyDocument(context.Background(), again, data); err != nil || sig2.Signer.CertSerial != sig.Signer.CertSerial {
			t.Fatalf("a person's second signature: %+v %v, want the same certificate %s", sig2.Signer, err, sig.Signer.CertSerial)
		}
	}
	other, err := demo.New()
	if err != nil {
		t.Fatal(err)
	}
	cms, err := other.SignCMS(demo.Person{IIN: "900101300019", Surname: "ДЕМО", Name: "Демо"}, data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyDocument(context.Background(), cms, data); err == nil {
		t.Fatal("a demo CA trusted another process's demo signature")
	}
}
