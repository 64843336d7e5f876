package jobs

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

// TestESFSyncToldToTheManagers: the scheduled sync of an organisation with
// an active ticket brings three incoming invoices to both its managers'
// chats, each in the chat's language with «✅ Получено»; another
// organisation's chat hears nothing; a second schedule in the same slot
// queues nothing more; the day's calls show in /metrics.
func TestESFSyncToldToTheManagers(t *testing.T) {
	f, srv := chatFixture(t)
	ctx := context.Background()
	ru := newChatUser(t, f.DB, srv, f.Sender.OrgID, "ru")
	kk := newChatUser(t, f.DB, srv, f.Sender.OrgID, "kk")
	outsider := newChatUser(t, f.DB, srv, f.Recipient.OrgID, "ru")
	bound, err := f.DB.ChatUserByID(ctx, ru.ID)
	if err != nil {
		t.Fatal(err)
	}
	ru.ChatUser = *bound

	clock := coretest.NewClock()
	fake := esftest.New(t, clock)
	fake.ReusableTickets = true
	fake.AddUser(ru.IIN, "пароль")
	root := sigtest.NewRoot(t, "TEST ROOT")
	nca := root.Intermediate(t, "NCA TEST")
	var sealer *core.AESSealer
	gw := &esf.Gateway{Client: esf.New(http.DefaultClient, fake.BaseURL()),
		Verifier: &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Intermediates: []*x509.Certificate{nca.Cert}}}
	sealer, err = core.NewSecretSealer(strings.Repeat("k", core.MinSecretKey))
	if err != nil {
		t.Fatal(err)
	}
	iv, err := core.NewInvoices(core.InvoicesDeps{Store: f.DB, Client: gw, Verifier: gw, Sealer: sealer, Clock: clock, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	key := nca.Issue(t, sigtest.Person{IIN: ru.IIN, BIN: f.Sender.Number, Surname: "ИВАНОВ", Name: "ИВАН", Auth: true}, nca.Cert)
	if err := iv.SetPassword(ctx, &ru.ChatUser, "пароль"); err != nil {
		t.Fatal(err)
	}
	xml, err := iv.StartTicket(ctx, &ru.ChatUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iv.CompleteTicket(ctx, &ru.ChatUser, key.SignXML(t, []byte(xml))); err != nil {
		t.Fatal(err)
	}
	seller := storagetest.RandomBIN()
	for range 3 {
		fake.AddInvoice(seller, f.Sender.Number)
	}
	clock.Advance(core.ESFSessionGap)

	r := New(testConfig(t), Deps{Store: f.DB, Messengers: map[string]Messenger{core.ChannelTelegram: newTGMessenger(t, srv)},
		Logger: quietLogger(), Now: clock.Now, ESF: iv, ESFOrgs: f.DB})
	rr := startRunner(t, r)
	if err := r.scheduleESF(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.scheduleESF(ctx, nil); err != nil { // the same slot: queued once
		t.Fatal(err)
	}
	srv.WaitCount(t, ru.TG.ID, 3)
	srv.WaitCount(t, kk.TG.ID, 3)
	waitIdle(t, rr.Runner)

	for _, c := range []struct {
		chat int64
		head string
	}{{ru.TG.ID, "📥 ЭСФ №"}, {kk.TG.ID, "📥 "}} {
		n := 0
		for _, m := range srv.Messages(c.chat) {
			if strings.Contains(m.Text, core.OutboxESFInvoice+" "+c.head) {
				n++
				if !strings.Contains(m.Text, "|"+"esf.c.") || !strings.Contains(m.Text, "₸") {
					t.Errorf("chat %d: %q", c.chat, m.Text)
				}
			}
		}
		if n != 3 {
			t.Errorf("chat %d told of %d invoices, want 3: %v", c.chat, n, srv.Messages(c.chat))
		}
	}
	if strings.Contains(srv.Messages(kk.TG.ID)[0].Text, "ЭСФ №") {
		t.Errorf("the Kazakh chat got Russian: %q", srv.Messages(kk.TG.ID)[0].Text)
	}
	if got := len(srv.Messages(outsider.TG.ID)); got != 0 {
		t.Errorf("another organisation's chat got %d messages", got)
	}
	if fake.Calls(esf.OpQueryUpdates) != 2 { // the first session's and the sync's
		t.Errorf("queryUpdates called %d times", fake.Calls(esf.OpQueryUpdates))
	}
	calls, err := iv.CallsToday(ctx)
	if err != nil || calls[f.Sender.Number] < 6 {
		t.Errorf("calls today %v, %v", calls, err)
	}
	found := false
	for _, c := range r.Collectors() {
		if _, ok := c.(esfCallsCollector); ok {
			found = true
		}
	}
	if !found {
		t.Error("no ИС ЭСФ calls metric")
	}
}
