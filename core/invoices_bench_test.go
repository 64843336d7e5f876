package core_test

import (
	"context"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"

	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/esf"
	"edobot/core/esf/esftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// BenchmarkInvoicesSync1000 is one scheduled synchronisation of an
// organisation as the jobs run it: a session opened with the kept ticket,
// 1,000 new incoming invoices read in 10 pages of 100 from the cursor, the
// session closed, the invoices, their 1,000 events and the cursor committed
// in one transaction — against the fake ИС ЭСФ on the real database. Run
// with -benchtime=1x -benchmem for the figure of one sync.
func BenchmarkInvoicesSync1000(b *testing.B) {
	f := storagetest.NewFixture(b)
	ctx := context.Background()
	clock := coretest.NewClock()
	fake := esftest.New(b, clock)
	fake.ReusableTickets = true
	root := sigtest.NewRoot(b, "BENCH ROOT")
	nca := root.Intermediate(b, "BENCH NCA")
	gw := &esf.Gateway{Client: esf.New(http.DefaultClient, fake.BaseURL()), PageSize: 100,
		Verifier: &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Intermediates: []*x509.Certificate{nca.Cert}}}
	sealer, err := core.NewSecretSealer(strings.Repeat("b", core.MinSecretKey))
	if err != nil {
		b.Fatal(err)
	}
	iv, err := core.NewInvoices(core.InvoicesDeps{Store: f.DB, Client: gw, Verifier: gw, Sealer: sealer, Clock: clock, Logger: quietLog()})
	if err != nil {
		b.Fatal(err)
	}
	u, err := f.Svc.ChatUser(ctx, core.ChannelTelegram, core.NewToken()[:12], "Бенчмарк", "ru")
	if err != nil {
		b.Fatal(err)
	}
	iin := storagetest.RandomIIN()
	if err := f.DB.BindChatUser(ctx, u.ID, iin, f.Sender.OrgID, clock.Now()); err != nil {
		b.Fatal(err)
	}
	u.IIN, u.OrgID = iin, f.Sender.OrgID
	fake.AddUser(iin, esfPassword)
	if err := iv.SetPassword(ctx, u, esfPassword); err != nil {
		b.Fatal(err)
	}
	ticket, err := iv.StartTicket(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	key := nca.Issue(b, sigtest.Person{IIN: iin, BIN: f.Sender.Number, Surname: "БЕНЧ", Name: "МАРК", Auth: true}, nca.Cert)
	if _, err := iv.CompleteTicket(ctx, u, key.SignXML(b, []byte(ticket))); err != nil {
		b.Fatal(err)
	}
	seller := storagetest.RandomBIN()
	before := fake.Calls(esf.OpQueryUpdates)
	syncs := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for range 1000 {
			fake.AddInvoice(seller, f.Sender.Number)
		}
		clock.Advance(core.DefaultESFPoll)
		b.StartTimer()
		res, err := iv.Sync(ctx, f.Sender.OrgID)
		if err != nil || res.New != 1000 {
			b.Fatalf("sync: %+v, %v", res, err)
		}
		syncs++
	}
	if pages := fake.Calls(esf.OpQueryUpdates) - before; pages != 10*syncs {
		b.Fatalf("%d pages for %d syncs, want 10 each", pages, syncs)
	}
}
