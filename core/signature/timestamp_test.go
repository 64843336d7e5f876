package signature_test

import (
	"errors"
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
