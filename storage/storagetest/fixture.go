// Fixture and its helpers build what integration tests of the use cases
// need: a service on the real test database, organisations with valid random numbers,
// and documents brought to any status through the use cases themselves.
package storagetest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"edobot/core"
	"edobot/core/iinbin"
	"edobot/core/pdfintake/pdftest"
	"edobot/storage"
)

// RandomBIN returns a valid BIN of a resident legal entity's head office.
func RandomBIN() string {
	for {
		var d [11]int
		p := fmt.Sprintf("%02d%02d40%05d", rand.IntN(100), 1+rand.IntN(12), rand.IntN(100000))
		for i := range d {
			d[i] = int(p[i] - '0')
		}
		if c, ok := iinbin.CheckDigit(d); ok {
			return p + fmt.Sprint(c)
		}
	}
}

// RandomIIN returns a valid IIN of a person born in the 20th century.
func RandomIIN() string {
	for {
		var d [11]int
		p := fmt.Sprintf("%02d%02d%02d%d%04d", rand.IntN(100), 1+rand.IntN(12), 1+rand.IntN(28), 3+rand.IntN(2), rand.IntN(10000))
		for i := range d {
			d[i] = int(p[i] - '0')
		}
		if c, ok := iinbin.CheckDigit(d); ok {
			return p + fmt.Sprint(c)
		}
	}
}

// Fixture is a sender organisation and a counterparty organisation, both
// registered, on a service over the test database.
type Fixture struct {
	Svc *core.Service
	// Deps is what Svc was built from; Wire changes it and rebuilds Svc.
	Deps      core.Deps
	DB        *storage.DB
	Sender    core.Actor
	Recipient core.Actor
	PDF       []byte
	seq       atomic.Int64
}

// NewFixture registers two organisations with an active subscription.
func NewFixture(tb testing.TB) *Fixture {
	tb.Helper()
	db := DB(tb)
	deps := core.Deps{Store: db, Blobs: storage.Blobs{DB: db}, Chats: db, TempDir: tb.TempDir()}
	f := &Fixture{Svc: core.New(deps), Deps: deps, DB: db, PDF: pdftest.PDF(2)}
	until := time.Now().AddDate(1, 0, 0)
	ctx := context.Background()
	s, _, err := f.Svc.RegisterOrganisation(ctx, RandomBIN(), "ТОО «Отправитель»", &until)
	if err != nil {
		tb.Fatal(err)
	}
	r, _, err := f.Svc.RegisterOrganisation(ctx, RandomBIN(), "ТОО «Контрагент»", &until)
	if err != nil {
		tb.Fatal(err)
	}
	f.Sender = core.Actor{OrgID: s.ID, Number: s.Number, Label: "test:sender"}
	f.Recipient = core.Actor{OrgID: r.ID, Number: r.Number, Label: "test:recipient"}
	return f
}

// Wire changes what the service is built from (a verifier, a clock, a
// store of eGov sessions…) and rebuilds it in place, so that whatever
// holds f.Svc already sees the change.
func (f *Fixture) Wire(change func(d *core.Deps)) {
	change(&f.Deps)
	*f.Svc = *core.New(f.Deps)
}

// NewDocument is a valid document for the fixture's counterparty.
func (f *Fixture) NewDocument() core.NewDocument {
	return core.NewDocument{
		Recipient: core.PartyInput{Kind: core.PartyCounterparty, Number: f.Recipient.Number, Name: "ТОО «Контрагент»"},
		Type:      core.TypeContract,
		Number:    fmt.Sprintf("Д-%d", f.seq.Add(1)),
		Date:      time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	}
}

// Create creates a document in «Создан».
func (f *Fixture) Create(tb testing.TB) *core.Document {
	tb.Helper()
	d, err := f.Svc.CreateDocument(context.Background(), f.Sender, f.NewDocument(), bytes.NewReader(f.PDF))
	if err != nil {
		tb.Fatalf("create document: %v", err)
	}
	return d
}

// Signature is a signature by the organisation's head with the given number.
// The CMS is opaque to the use cases; verification happens before them.
func Signature(number string) core.VerifiedSignature {
	now := time.Now()
	return core.VerifiedSignature{
		Signer: core.Signer{IIN: RandomIIN(), BIN: number, FullName: "ИВАНОВ ИВАН", Organisation: "ТОО",
			CertSerial: uuid.NewString(), Issuer: "CN=ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST)", NotBefore: now.AddDate(-1, 0, 0),
			NotAfter: now.AddDate(1, 0, 0), KeyKind: core.KeyGOST2015},
		CMS:      []byte("cms:" + number + ":" + uuid.NewString()),
		SignedAt: now,
	}
}

// Sign signs d as side.
func (f *Fixture) Sign(tb testing.TB, id uuid.UUID, side core.Side) *core.Document {
	tb.Helper()
	number := f.Sender.Number
	if side == core.SideRecipient {
		number = f.Recipient.Number
	}
	d, got, err := f.Svc.Sign(context.Background(), id, Signature(number), "test")
	if err != nil {
		tb.Fatalf("sign as %s: %v", side, err)
	}
	if got != side {
		tb.Fatalf("signed as %s, want %s", got, side)
	}
	return d
}

// InStatus creates a document and brings it to status through the use cases.
// For «На подписании», firstSigner says which side has signed.
func (f *Fixture) InStatus(tb testing.TB, status core.Status, firstSigner core.Side) *core.Document {
	tb.Helper()
	d := f.Create(tb)
	switch status {
	case core.StatusCreated:
	case core.StatusSigning:
		d = f.Sign(tb, d.ID, firstSigner)
	case core.StatusSigned:
		f.Sign(tb, d.ID, firstSigner)
		d = f.Sign(tb, d.ID, firstSigner.Other())
	case core.StatusRevoked:
		f.Sign(tb, d.ID, firstSigner)
		var err error
		if d, err = f.Svc.Revoke(context.Background(), f.Sender, d.ID); err != nil {
			tb.Fatalf("revoke: %v", err)
		}
	}
	if d.Status != status {
		tb.Fatalf("document is %s, want %s", d.Status, status)
	}
	return d
}

// Actor returns the fixture's actor for a side.
func (f *Fixture) Actor(side core.Side) core.Actor {
	if side == core.SideSender {
		return f.Sender
	}
	return f.Recipient
}
