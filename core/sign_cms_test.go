package core_test

import (
	"crypto/x509"
	"errors"
	"testing"

	"edobot/core"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// TestSignWithRealCMS drives real signatures through verification and the
// database: the recipient signs with a GOST 2015 key through the link, the
// sender with RSA, and the stored signatures combine into one valid CMS.
func TestSignWithRealCMS(t *testing.T) {
	f := storagetest.NewFixture(t)
	rsaRoot := sigtest.NewRoot(t, "NCA RSA TEST ROOT")
	rsaNCA := rsaRoot.Intermediate(t, "NCA RSA TEST")
	gostRoot := sigtest.NewGOSTRoot(t, "NCA GOST TEST ROOT", sigtest.GOST2015)
	gostNCA := gostRoot.IssueCA(t, "NCA GOST TEST", sigtest.GOST2015)
	verifier := &signature.Verifier{Roots: []*x509.Certificate{rsaRoot.Cert, gostRoot.Cert}}
	f.Wire(func(deps *core.Deps) { deps.Verifier = verifier })

	sender := rsaNCA.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Sender.Number, Surname: "АХМЕТОВ", Name: "БОЛАТ",
		Organisation: "ТОО «Отправитель»"}, rsaNCA.Cert)
	recipient := gostNCA.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Recipient.Number, Surname: "СЕРІКОВА", Name: "ДАНА",
		Organisation: "ТОО «Контрагент»"}, sigtest.GOST2015, gostNCA.Cert)
	stranger := gostNCA.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: storagetest.RandomBIN(), Surname: "X", Name: "Y"}, sigtest.GOST2015, gostNCA.Cert)

	d := f.Create(t)
	if _, _, err := f.Svc.SignCMSByLink(ctx, d.LinkToken, stranger.SignCMS(t, f.PDF, sigtest.CMSOptions{}), "link"); !errors.Is(err, core.ErrIDNumberMismatch) {
		t.Fatalf("a third party's certificate: %v", err)
	}
	if _, _, err := f.Svc.SignCMS(ctx, d.ID, recipient.SignCMS(t, []byte("another file"), sigtest.CMSOptions{}), "link"); !errors.Is(err, signature.ErrContentMismatch) {
		t.Fatalf("a signature over another file: %v", err)
	}
	if got := take(t, f, d.ID); got.status != core.StatusCreated || got.auditSeq != 1 {
		t.Fatalf("a refused signature changed the document: %+v", got)
	}

	got, side, err := f.Svc.SignCMSByLink(ctx, d.LinkToken, recipient.SignCMS(t, f.PDF, sigtest.CMSOptions{}), "link")
	if err != nil || side != core.SideRecipient || got.Status != core.StatusSigning {
		t.Fatalf("recipient's GOST signature: %v %s %v", got, side, err)
	}
	got, side, err = f.Svc.SignCMS(ctx, d.ID, sender.SignCMS(t, f.PDF, sigtest.CMSOptions{}), "chat")
	if err != nil || side != core.SideSender || got.Status != core.StatusSigned {
		t.Fatalf("sender's RSA signature: %v %s %v", got, side, err)
	}

	sigs, err := f.DB.Signatures(ctx, d.ID)
	if err != nil || len(sigs) != 2 {
		t.Fatalf("signatures: %v %v", sigs, err)
	}
	var cmss [][]byte
	for _, s := range sigs {
		cmss = append(cmss, s.CMS)
		want := map[core.Side]core.KeyKind{core.SideSender: core.KeyRSA, core.SideRecipient: core.KeyGOST2015}[s.Side]
		if s.Signer.KeyKind != want || s.Signer.CertSerial == "" || s.Signer.FullName == "" {
			t.Fatalf("%s signature recorded as %+v", s.Side, s.Signer)
		}
	}
	combined, err := signature.Combine(f.PDF, cmss...)
	if err != nil {
		t.Fatal(err)
	}
	results, err := verifier.Verify(ctx, combined, nil, signature.PurposeSign)
	if err != nil || len(results) != 2 || results[0].Err != nil || results[1].Err != nil {
		t.Fatalf("combined CMS: %v %+v", err, results)
	}
}
