package signature_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"testing"

	"edobot/core"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
)

const ticket = `<authSign><timeMark>1767225600000</timeMark><state>3f1c</state><iin>850101100304</iin><ttlInMinutes>30</ttlInMinutes></authSign>`

// NCALayer's own output verifies: canonicalisation, Streebog digest and the
// GOST signature value's byte order are Kalkan's.
func TestXMLSignatureByNCALayer(t *testing.T) {
	xml, err := os.ReadFile("testdata/xmldsig/kalkan_gost2015.xml")
	if err != nil {
		t.Fatal(err)
	}
	cert, signed, err := signature.CheckXMLSignature(xml)
	if err != nil {
		t.Fatal(err)
	}
	if string(signed) != "<xml>test</xml>" {
		t.Fatalf("signed = %q", signed)
	}
	s, _, err := signature.Identity(cert)
	if err != nil || s.IIN != "123456789011" || s.KeyKind != core.KeyGOST2015 {
		t.Fatalf("signer %+v, %v", s, err)
	}
	tampered := bytes.Replace(xml, []byte("<xml>test"), []byte("<xml>tost"), 1)
	if _, _, err := signature.CheckXMLSignature(tampered); !errors.Is(err, signature.ErrContentMismatch) {
		t.Fatalf("tampered content: %v", err)
	}
}

func TestVerifyXML(t *testing.T) {
	p := newPKI(t)
	auth := p.nca.Issue(t, sigtest.Person{IIN: soloIIN, Surname: "ӘБІЛОВА", Name: "ҚАРЛЫҒАШ", Auth: true}, p.nca.Cert)
	g := newGOSTPKI(t, sigtest.GOST2015)
	gostVerifier := g.verifier
	// NCALayer puts the signer's certificate alone in KeyInfo: the
	// intermediate CA comes from trust (or AIA).
	p.verifier.Intermediates = []*x509.Certificate{p.nca.Cert}
	gostVerifier.Intermediates = []*x509.Certificate{g.nca.Cert}
	for _, tc := range []struct {
		name     string
		xml      []byte
		v        *signature.Verifier
		iin      string
		purposes signature.KeyPurposes
	}{
		{"RSA auth key", auth.SignXML(t, []byte(ticket)), p.verifier, soloIIN, signature.KeyPurposes{Auth: true}},
		{"RSA signing key", p.head.SignXML(t, []byte(ticket)), p.verifier, headIIN, signature.KeyPurposes{Sign: true}},
		{"GOST 2015", g.head.SignXML(t, []byte(ticket)), gostVerifier, headIIN, signature.KeyPurposes{Sign: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.v.VerifyXML(ctx, tc.xml, signature.PurposeAuth)
			if err != nil {
				t.Fatal(err)
			}
			if r.Signer.IIN != tc.iin || r.Purposes != tc.purposes || string(r.Signed) != ticket {
				t.Fatalf("result %+v", r)
			}
		})
	}
	signed := auth.SignXML(t, []byte(ticket))
	for _, tc := range []struct {
		name string
		xml  []byte
		want error
	}{
		{"unsigned", []byte(ticket), signature.ErrNoSigners},
		{"content changed", bytes.Replace(signed, []byte("850101100304"), []byte("850101100305"), 1), signature.ErrContentMismatch},
		{"signature value changed", tamperSignatureValue(signed), signature.ErrBadSignature},
		{"two signatures", bytes.Replace(signed, []byte("</authSign>"), append(sigOf(signed), "</authSign>"...), 1), signature.ErrSignerCount},
		{"not XML", []byte("<authSign>"), signature.ErrMalformed},
		{"document type", append([]byte("<!DOCTYPE authSign>"), signed...), signature.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := p.verifier.VerifyXML(ctx, tc.xml, signature.PurposeAuth); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := p.verifier.VerifyXML(ctx, signed, signature.PurposeSign); !errors.Is(err, signature.ErrWrongKeyPurpose) {
		t.Fatalf("auth key for signing: %v", err)
	}
	if _, err := gostVerifier.VerifyXML(ctx, signed, signature.PurposeAuth); !errors.Is(err, signature.ErrUntrusted) {
		t.Fatalf("untrusted root: %v", err)
	}
}

func tamperSignatureValue(xml []byte) []byte {
	s := string(xml)
	i := strings.Index(s, "<ds:SignatureValue>") + len("<ds:SignatureValue>")
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return []byte(s[:i] + string(c) + s[i+1:])
}

func sigOf(xml []byte) []byte {
	s := string(xml)
	return []byte(s[strings.Index(s, "<ds:Signature "):strings.Index(s, "</ds:Signature>")] + "</ds:Signature>")
}
