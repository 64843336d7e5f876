package signature_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
	"time"

	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
)

func TestTimestampToken(t *testing.T) {
	p := newPKI(t)
	tsa := p.nca.IssueTSA(t, "TSA TEST")
	doc := pdftest.PDF(1)
	stamped := time.Now().Add(-3 * time.Minute).Truncate(time.Second)
	v, err := p.verifier.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{TSA: tsa, TSATime: stamped}), doc, signature.PurposeSign)
	if err != nil {
		t.Fatal(err)
	}
	if !v.SignedAt.Equal(stamped) {
		t.Fatalf("signed at %v, the token says %v", v.SignedAt, stamped)
	}
	// A backdated signingTime does not help an expired certificate when a
	// timestamp says when the signature really existed.
	expired := p.nca.Issue(t, sigtest.Person{IIN: headIIN, Surname: "X", Name: "Y",
		NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)}, p.nca.Cert)
	backdated := expired.SignCMS(t, doc, sigtest.CMSOptions{SigningTime: expired.Cert.NotBefore.Add(time.Hour), TSA: tsa, TSATime: time.Now()})
	if _, err := p.verifier.VerifyOne(ctx, backdated, doc, signature.PurposeSign); !errors.Is(err, signature.ErrExpired) {
		t.Fatalf("backdated with a timestamp: %v", err)
	}
	// A token from a key that is not a TSA's is refused.
	notTSA := p.head.SignCMS(t, doc, sigtest.CMSOptions{TSA: p.solo, TSATime: time.Now()})
	if _, err := p.verifier.VerifyOne(ctx, notTSA, doc, signature.PurposeSign); !errors.Is(err, signature.ErrBadTimestamp) {
		t.Fatalf("token by a non-TSA: %v", err)
	}
	// A token from an untrusted TSA is refused.
	rogue := sigtest.NewRoot(t, "ROGUE").IssueTSA(t, "ROGUE TSA")
	if _, err := p.verifier.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{TSA: rogue, TSATime: time.Now()}), doc, signature.PurposeSign); !errors.Is(err, signature.ErrBadTimestamp) {
		t.Fatalf("token by an untrusted TSA: %v", err)
	}
}

// A GOST signature carrying a GOST TSA's token, as eGov Mobile returns it
// with NCA's timestamp: valid when the TSA chains to the trusted root, the
// token's time taken as the signing time; refused when the TSA does not
// chain, or the token stamps another signature.
func TestTimestampTokenGOST(t *testing.T) {
	p := newGOSTPKI(t, sigtest.GOST2015)
	tsa := p.nca.IssueTSA(t, "СЕРВИС МЕТКИ ВРЕМЕНИ TEST")
	doc := pdftest.PDF(1)
	stamped := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	v, err := p.verifier.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{TSA: tsa, TSATime: stamped}), doc, signature.PurposeSign)
	if err != nil || !v.SignedAt.Equal(stamped) {
		t.Fatalf("GOST TSA under the trusted root: %v at %v", err, v.SignedAt)
	}
	// The TSA's certificate must chain: a GOST TSA of another root, or one
	// whose CA is neither carried nor configured, is refused.
	rogue := sigtest.NewGOSTRoot(t, "ROGUE", sigtest.GOST2015).IssueTSA(t, "ROGUE TSA")
	if _, err := p.verifier.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{TSA: rogue, TSATime: stamped}), doc, signature.PurposeSign); !errors.Is(err, signature.ErrBadTimestamp) {
		t.Fatalf("a TSA of another root: %v", err)
	}
	other := p.root.IssueCA(t, "ANOTHER CA", sigtest.GOST2015)
	orphan := other.IssueTSA(t, "TSA OF A CA NOBODY CARRIES")
	if _, err := p.verifier.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{TSA: orphan, TSATime: stamped}), doc, signature.PurposeSign); !errors.Is(err, signature.ErrBadTimestamp) {
		t.Fatalf("a TSA whose CA is unknown: %v", err)
	}
	withCA := &signature.Verifier{Roots: p.verifier.Roots, Intermediates: []*x509.Certificate{other.Cert}}
	if _, err := withCA.VerifyOne(ctx, p.head.SignCMS(t, doc, sigtest.CMSOptions{TSA: orphan, TSATime: stamped}), doc, signature.PurposeSign); err != nil {
		t.Fatalf("the same TSA, its CA configured: %v", err)
	}
	// A token lifted from another signature stamps that signature's value.
	first := p.head.SignCMS(t, doc, sigtest.CMSOptions{TSA: tsa, TSATime: stamped})
	second := p.head.SignCMS(t, doc, sigtest.CMSOptions{})
	si, err := swapUnsignedAttrs(first, second)
	if err != nil {
		t.Fatal(err)
	}
	swapped, err := signature.BuildSignedData(nil, nil, true, []pkix.AlgorithmIdentifier{{Algorithm: asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 3, 3}}},
		[][]byte{p.head.Cert.Raw, p.nca.Cert.Raw}, [][]byte{si})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.verifier.VerifyOne(ctx, swapped, doc, signature.PurposeSign); !errors.Is(err, signature.ErrBadTimestamp) ||
		!strings.Contains(err.Error(), "stamps other data") {
		t.Fatalf("a token of another signature: %v", err)
	}
}

// swapUnsignedAttrs is to's SignerInfo with the unsigned attributes (the
// timestamp token) of from's.
func swapUnsignedAttrs(from, to []byte) ([]byte, error) {
	type signerInfo struct {
		Version       int
		SID           asn1.RawValue
		Digest        asn1.RawValue
		SignedAttrs   asn1.RawValue `asn1:"optional,tag:0"`
		SigAlg        asn1.RawValue
		Signature     []byte
		UnsignedAttrs asn1.RawValue `asn1:"optional,tag:1"`
	}
	siOf := func(cms []byte) (signerInfo, error) {
		var ci struct {
			Type    asn1.ObjectIdentifier
			Content asn1.RawValue `asn1:"explicit,tag:0"`
		}
		var sd struct {
			Version               int
			Digests, Encap, Certs asn1.RawValue
			SignerInfos           asn1.RawValue
		}
		var si signerInfo
		if _, err := asn1.Unmarshal(cms, &ci); err != nil {
			return si, err
		}
		if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
			return si, err
		}
		var raw asn1.RawValue
		if _, err := asn1.Unmarshal(sd.SignerInfos.Bytes, &raw); err != nil {
			return si, err
		}
		_, err := asn1.Unmarshal(raw.FullBytes, &si)
		return si, err
	}
	a, err := siOf(from)
	if err != nil {
		return nil, err
	}
	b, err := siOf(to)
	if err != nil {
		return nil, err
	}
	b.UnsignedAttrs = a.UnsignedAttrs
	return asn1.Marshal(b)
}
