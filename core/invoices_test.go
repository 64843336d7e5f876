package core_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/esf"
	"edobot/core/esf/esftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// esfWorld is an organisation with a manager, the fake ИС ЭСФ on a test
// clock, and the manager's keys.
type esfWorld struct {
	f       *storagetest.Fixture
	clock   *coretest.Clock
	fake    *esftest.Server
	client  *esf.Client
	iv      *core.Invoices
	manager *core.ChatUser
	auth    *sigtest.Key // the manager's AUTH key
	signing *sigtest.Key // the manager's signing key
	other   *sigtest.Key // another person's AUTH key for the same organisation
	foreign *sigtest.Key // the manager's AUTH key of another organisation
	seller  string
}

const esfPassword = "кабинет-пароль"

func newESFWorld(t *testing.T) *esfWorld {
	t.Helper()
	f := storagetest.NewFixture(t)
	clock := coretest.NewClock()
	fake := esftest.New(t, clock)
	fake.ReusableTickets = true
	root := sigtest.NewRoot(t, "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (TEST ROOT)")
	nca := root.Intermediate(t, "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA TEST)")
	verifier := &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Intermediates: []*x509.Certificate{nca.Cert}}
	manager := newChatUser(t, f)
	iin := storagetest.RandomIIN()
	if err := f.DB.BindChatUser(context.Background(), manager.ID, iin, f.Sender.OrgID, clock.Now()); err != nil {
		t.Fatal(err)
	}
	manager.IIN, manager.OrgID = iin, f.Sender.OrgID
	fake.AddUser(iin, esfPassword)
	person := sigtest.Person{IIN: iin, BIN: f.Sender.Number, Surname: "ИВАНОВ", Name: "ИВАН", Organisation: "ТОО «Отправитель»"}
	auth := person
	auth.Auth = true
	foreign := auth
	foreign.BIN = f.Recipient.Number
	client := esf.New(http.DefaultClient, fake.BaseURL())
	sealer, err := core.NewSecretSealer("0123456789abcdef0123456789abcdef-test")
	if err != nil {
		t.Fatal(err)
	}
	iv, err := core.NewInvoices(core.InvoicesDeps{Store: f.DB, Links: f.DB, Client: &esf.Gateway{Client: client, Verifier: verifier, PageSize: 2},
		Verifier: &esf.Gateway{Client: client, Verifier: verifier}, Sealer: sealer, Clock: clock, TicketTTL: 3 * time.Hour,
		WarnBefore: time.Hour, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	return &esfWorld{f: f, clock: clock, fake: fake, client: client, iv: iv, manager: manager,
		auth: nca.Issue(t, auth, nca.Cert), signing: nca.Issue(t, person, nca.Cert),
		other:   nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Sender.Number, Surname: "ПЕТРОВ", Name: "ПЁТР", Auth: true}, nca.Cert),
		foreign: nca.Issue(t, foreign, nca.Cert), seller: storagetest.RandomBIN()}
}

// connect keeps the password and a ticket the manager signs with key.
func (w *esfWorld) connect(t *testing.T, key *sigtest.Key) (core.ESFTicket, error) {
	t.Helper()
	ctx := context.Background()
	if err := w.iv.SetPassword(ctx, w.manager, esfPassword); err != nil {
		t.Fatal(err)
	}
	xml, err := w.iv.StartTicket(ctx, w.manager)
	if err != nil {
		t.Fatal(err)
	}
	return w.iv.CompleteTicket(ctx, w.manager, key.SignXML(t, []byte(xml)))
}

type outboxRow struct {
	Kind   string
	Notice core.ESFNotice
}

// events are the organisation's esf.* outbox events, oldest first.
func (w *esfWorld) events(t *testing.T) []outboxRow {
	t.Helper()
	rows, err := w.f.DB.Pool.Query(context.Background(), `SELECT kind, payload FROM outbox WHERE org_id = $1 ORDER BY created_at, kind`, w.f.Sender.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var payload []byte
		if err := rows.Scan(&r.Kind, &payload); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(payload, &r.Notice); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func count(rows []outboxRow, kind string) int {
	n := 0
	for _, r := range rows {
		if r.Kind == kind {
			n++
		}
	}
	return n
}

func (w *esfWorld) sync(t *testing.T) core.ESFSyncResult {
	t.Helper()
	w.clock.Advance(core.ESFSessionGap)
	res, err := w.iv.Sync(context.Background(), w.f.Sender.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestInvoicesSync: a connected organisation gets its incoming invoices
// (over several pages), a status change, «Получено» reaches ИС ЭСФ; the
// ticket expires and the chats are told once; a new ticket resumes from
// the cursor with nothing missed or repeated.
func TestInvoicesSync(t *testing.T) {
	w := newESFWorld(t)
	ctx := context.Background()
	tk, err := w.connect(t, w.auth)
	if err != nil {
		t.Fatal(err)
	}
	if tk.State != core.ESFTicketActive || tk.IIN != w.manager.IIN || !tk.ExpiresAt.After(w.clock.Now().Add(2*time.Hour)) {
		t.Fatalf("ticket %+v", tk)
	}
	if ts, err := w.iv.ActiveTickets(ctx, w.manager); err != nil || len(ts) != 1 || ts[0].KeySerial == "" {
		t.Fatalf("active tickets %+v, %v", ts, err)
	}
	ids := []int64{w.fake.AddInvoice(w.seller, w.f.Sender.Number), w.fake.AddInvoice(w.seller, w.f.Sender.Number), w.fake.AddInvoice(w.seller, w.f.Sender.Number)}
	w.fake.AddInvoice(w.seller, w.f.Recipient.Number) // not ours
	if res := w.sync(t); res.New != 3 || res.Changed != 0 {
		t.Fatalf("first sync %+v", res)
	}
	ev := w.events(t)
	if count(ev, core.OutboxESFInvoice) != 3 || len(ev) != 3 {
		t.Fatalf("events %+v", ev)
	}
	inv := ev[0].Notice.Invoice
	if inv == nil || inv.SellerBIN != w.seller || inv.Total == "" || inv.Number == "" || inv.Status != core.ESFStatusCreated || !inv.Confirmable() {
		t.Fatalf("invoice %+v", inv)
	}
	if w.fake.OpenSessions(w.manager.IIN) != 0 {
		t.Fatal("the session was left open")
	}

	w.clock.Advance(core.ESFSessionGap)
	if err := w.iv.Confirm(ctx, w.manager, ids[0]); err != nil {
		t.Fatal(err)
	}
	if w.fake.Status(ids[0]) != esf.StatusDelivered || w.fake.Calls(esf.OpConfirmInvoiceByID) != 1 {
		t.Fatalf("confirm: %s", w.fake.Status(ids[0]))
	}
	if res := w.sync(t); res.New != 0 || res.Changed != 1 {
		t.Fatalf("after confirm %+v %+v", res, w.events(t))
	}
	ev = w.events(t)
	if last := ev[len(ev)-1]; last.Kind != core.OutboxESFStatus || last.Notice.Invoice.ESFID != ids[0] ||
		last.Notice.PreviousStatus != core.ESFStatusCreated || last.Notice.Invoice.Status != core.ESFStatusDelivered {
		t.Fatalf("status event %+v", last)
	}

	// Within WarnBefore of the expiry: announced once.
	w.clock.Advance(tk.ExpiresAt.Sub(w.clock.Now()) - 30*time.Minute - core.ESFSessionGap)
	w.sync(t)
	w.sync(t)
	if n := count(w.events(t), core.OutboxESFExpiring); n != 1 {
		t.Fatalf("%d expiry notices", n)
	}
	// Expired: paused, told once however many polls.
	w.clock.Advance(time.Hour)
	for range 3 {
		if res := w.sync(t); !res.Paused {
			t.Fatalf("expired ticket: %+v", res)
		}
	}
	ev = w.events(t)
	if count(ev, core.OutboxESFPaused) != 1 || ev[len(ev)-1].Notice.Reason != core.ESFPausedNoTicket {
		t.Fatalf("paused events %+v", ev)
	}

	// While paused, two invoices come; a new ticket reads them in its first
	// session, from the cursor.
	ids = append(ids, w.fake.AddInvoice(w.seller, w.f.Sender.Number), w.fake.AddInvoice(w.seller, w.f.Sender.Number))
	if _, err := w.connect(t, w.auth); err != nil {
		t.Fatal(err)
	}
	w.sync(t)
	seen := map[int64]int{}
	for _, r := range w.events(t) {
		if r.Kind == core.OutboxESFInvoice {
			seen[r.Notice.Invoice.ESFID]++
		}
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("invoice %d announced %d times", id, seen[id])
		}
	}
	if len(seen) != len(ids) {
		t.Errorf("announced %v, want %v", seen, ids)
	}
	if calls, err := w.iv.CallsToday(ctx); err != nil || calls[w.f.Sender.Number] == 0 {
		t.Fatalf("calls %v, %v", calls, err)
	}
}

// TestInvoicesRefusals: every bad input is a typed refusal, nothing kept,
// no cursor moved past an invoice whose event is not kept.
func TestInvoicesRefusals(t *testing.T) {
	w := newESFWorld(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		key  *sigtest.Key
		want error
	}{
		{"another person's key", w.other, core.ErrESFTicketWrongSigner},
		{"a signing key instead of AUTH", w.signing, core.ErrESFTicketNotAuth},
		{"a key of another organisation", w.foreign, core.ErrESFTicketWrongOrg},
	} {
		if _, err := w.connect(t, tc.key); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// A wrong password: ИС ЭСФ refuses the session, nothing is kept.
	xml, err := w.iv.StartTicket(ctx, w.manager)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.iv.SetPassword(ctx, w.manager, "не тот"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.iv.CompleteTicket(ctx, w.manager, w.auth.SignXML(t, []byte(xml))); !errors.Is(err, core.ErrESFPasswordInvalid) {
		t.Fatalf("wrong password: %v", err)
	}
	if ts, _ := w.iv.ActiveTickets(ctx, w.manager); len(ts) != 0 || len(w.events(t)) != 0 {
		t.Fatalf("kept %+v", ts)
	}
	if _, err := w.connect(t, w.auth); err != nil {
		t.Fatal(err)
	}
	w.fake.AddInvoice(w.seller, w.f.Sender.Number)
	w.fake.AddInvoice(w.seller, w.f.Sender.Number)
	w.fake.AddInvoice(w.seller, w.f.Sender.Number)
	before, _ := w.f.DB.ESFSyncState(ctx, w.f.Sender.OrgID)

	// Down for an hour: every poll fails retryably; nothing moves.
	for i := 0; i < 12; i++ {
		w.clock.Advance(core.ESFSessionGap)
		switch i % 3 {
		case 0:
			w.fake.FailNext(esf.OpQueryUpdates, esftest.Failure{Down: true})
		case 1:
			w.fake.FailNext(esf.OpCreateSessionSigned, esftest.Failure{Code: esf.CodeSystemDown})
		case 2:
			w.fake.FailNext(esf.OpQueryUpdates, esftest.Failure{Malformed: true})
		}
		_, err := w.iv.Sync(ctx, w.f.Sender.OrgID)
		if f := core.ESFFaultOf(err); f == nil || !f.Retryable() {
			t.Fatalf("poll %d: %v", i, err)
		}
		if s, _ := w.f.DB.ESFSyncState(ctx, w.f.Sender.OrgID); s.Cursor != before.Cursor || len(w.events(t)) != 0 {
			t.Fatalf("poll %d moved the cursor to %+v", i, s.Cursor)
		}
	}
	// A malformed answer.
	w.fake.FailNext(esf.OpQueryUpdates, esftest.Failure{Malformed: true})
	// A session left open is closed by credentials first.
	w.clock.Advance(core.ESFSessionGap)
	if _, err := w.client.CreateSessionSigned(ctx, esf.Credentials{IIN: w.manager.IIN, Password: esfPassword}, w.f.Sender.Number,
		string(w.auth.SignXML(t, []byte(mustTicket(t, w))))); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(core.ESFSessionGap)
	if _, err := w.iv.Sync(ctx, w.f.Sender.OrgID); core.ESFFaultOf(err) == nil {
		t.Fatalf("a fault in the pages: %v", err)
	}
	// Failing for more than an hour now: the chats were told so, once.
	if ev := w.events(t); count(ev, core.OutboxESFInvoice) != 0 || count(ev, core.OutboxESFUnavailable) != 1 || len(ev) != 1 {
		t.Fatalf("events of a failed read: %+v", ev)
	}
	if res := w.sync(t); res.New != 3 {
		t.Fatalf("after the outage %+v", res)
	}
	if count(w.events(t), core.OutboxESFRestored) != 1 {
		t.Fatalf("back after the outage: %+v", w.events(t))
	}
	if w.fake.Calls(esf.OpCloseSessionByCredentials) != 1 || w.fake.OpenSessions(w.manager.IIN) != 0 {
		t.Fatalf("close by credentials %d, open %d", w.fake.Calls(esf.OpCloseSessionByCredentials), w.fake.OpenSessions(w.manager.IIN))
	}

	// The password changed in the cabinet: paused once, asking for it.
	w.fake.AddUser(w.manager.IIN, "новый")
	w.sync(t)
	w.sync(t)
	ev := w.events(t)
	if count(ev, core.OutboxESFPaused) != 1 || ev[len(ev)-1].Notice.Reason != core.ESFPausedPassword {
		t.Fatalf("password events %+v", ev)
	}
	// Single-use tickets: ИС ЭСФ refuses the kept one; it is dead at once.
	w.fake.AddUser(w.manager.IIN, esfPassword)
	w.fake.ReusableTickets = false
	if err := w.iv.SetPassword(ctx, w.manager, esfPassword); err != nil {
		t.Fatal(err)
	}
	if res := w.sync(t); !res.Paused {
		t.Fatalf("refused ticket %+v", res)
	}
	if ts, _ := w.iv.ActiveTickets(ctx, w.manager); len(ts) != 0 {
		t.Fatalf("refused ticket still active: %+v", ts)
	}
	if ev := w.events(t); count(ev, core.OutboxESFPaused) != 2 || ev[len(ev)-1].Notice.Reason != core.ESFPausedNoTicket {
		t.Fatalf("events %+v", ev)
	}
}

// TestInvoicesOutage: syncs that fail for reasons that pass tell the
// chats that ИС ЭСФ is unavailable once they have failed for an hour, once
// however long the outage lasts, and that it is back once at the next sync
// that succeeds, with the invoices of the outage; a later outage is told
// anew.
// TestESFLinkTakesItsOwnTicket: a signing link takes only the ticket it
// gave; a ticket the same person signed before, replayed, is refused and
// uses the link up, nothing kept.
func TestESFLinkTakesItsOwnTicket(t *testing.T) {
	w := newESFWorld(t)
	ctx := context.Background()
	if err := w.iv.SetPassword(ctx, w.manager, esfPassword); err != nil {
		t.Fatal(err)
	}
	first, err := w.iv.StartTicketSigning(ctx, w.manager)
	if err != nil {
		t.Fatal(err)
	}
	ticket, _, _, err := w.iv.TicketToSign(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	signed := w.auth.SignXML(t, []byte(ticket))
	if _, _, err := w.iv.SignTicketPage(ctx, first.ID, signed); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(core.ESFSessionGap)
	second, err := w.iv.StartTicketSigning(ctx, w.manager)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.iv.SignTicketPage(ctx, second.ID, signed); !errors.Is(err, core.ErrESFTicketNotIssued) {
		t.Fatalf("an older ticket on a new link: %v, want %v", err, core.ErrESFTicketNotIssued)
	}
	if ts, _ := w.iv.ActiveTickets(ctx, w.manager); len(ts) != 1 {
		t.Fatalf("%d active tickets, want the first only", len(ts))
	}
	if _, _, err := w.iv.SignTicketPage(ctx, second.ID, signed); !errors.Is(err, core.ErrESFLinkGone) {
		t.Fatalf("the link again: %v, want %v", err, core.ErrESFLinkGone)
	}
}

func TestInvoicesOutage(t *testing.T) {
	w := newESFWorld(t)
	ctx := context.Background()
	if _, err := w.connect(t, w.auth); err != nil {
		t.Fatal(err)
	}
	failures := []struct {
		op string
		f  esftest.Failure
	}{
		{esf.OpQueryUpdates, esftest.Failure{Down: true}},
		{esf.OpCreateSessionSigned, esftest.Failure{Code: esf.CodeSystemDown}},
		{esf.OpQueryUpdates, esftest.Failure{Malformed: true}},
	}
	polls, next := 0, 0
	// fail runs a sync after step that fails as ИС ЭСФ does when it is
	// down, each in turn.
	fail := func(step time.Duration) {
		t.Helper()
		w.clock.Advance(step)
		f := failures[next%len(failures)]
		polls, next = polls+1, next+1
		w.fake.FailNext(f.op, f.f)
		if res, err := w.iv.Sync(ctx, w.f.Sender.OrgID); core.ESFFaultOf(err) == nil || !core.ESFFaultOf(err).Retryable() {
			t.Fatalf("poll %d: %+v %v", polls, res, err)
		}
	}
	told := func(unavailable, restored int) []outboxRow {
		t.Helper()
		ev := w.events(t)
		if count(ev, core.OutboxESFUnavailable) != unavailable || count(ev, core.OutboxESFRestored) != restored {
			t.Fatalf("after %d polls: %d unavailable, %d restored; want %d, %d: %+v", polls,
				count(ev, core.OutboxESFUnavailable), count(ev, core.OutboxESFRestored), unavailable, restored, ev)
		}
		return ev
	}
	var ids []int64
	for range 3 {
		ids = append(ids, w.fake.AddInvoice(w.seller, w.f.Sender.Number))
	}

	before, err := w.f.DB.ESFSyncState(ctx, w.f.Sender.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(core.ESFSessionGap)
	start := w.clock.Now()
	fail(0)
	for range 5 {
		fail(10 * time.Minute) // to 50 minutes
	}
	// The last poll before the hour fails at the opening, so that the next
	// may open a session a minute later.
	next = 1
	fail(9 * time.Minute)
	if got := w.clock.Now().Sub(start); got != 59*time.Minute {
		t.Fatalf("the clock at %s", got)
	}
	told(0, 0)
	fail(time.Minute) // an hour
	ev := told(1, 0)
	if n := ev[len(ev)-1].Notice; n.Since == nil || !n.Since.Equal(start) || n.OrgID != w.f.Sender.OrgID {
		t.Fatalf("the notice %+v, want since %s", n, start)
	}
	for range 3 {
		fail(10 * time.Minute)
	}
	told(1, 0)
	if s, _ := w.f.DB.ESFSyncState(ctx, w.f.Sender.OrgID); s.Cursor != before.Cursor {
		t.Fatalf("the outage moved the cursor to %+v", s.Cursor)
	}

	// Back: told once, with the invoices of the outage.
	if res := w.sync(t); res.New != 3 {
		t.Fatalf("after the outage %+v", res)
	}
	if ev := told(1, 1); count(ev, core.OutboxESFInvoice) != 3 {
		t.Fatalf("events %+v", ev)
	}
	w.sync(t)
	told(1, 1)

	// A new ticket, to outlive the next outage. A failure after successes
	// starts an outage afresh: no notice for it alone.
	w.clock.Advance(core.ESFSessionGap)
	if _, err := w.connect(t, w.auth); err != nil {
		t.Fatal(err)
	}
	fail(10 * time.Minute)
	told(1, 1)
	// Down again for an hour: one more notice; back: one more.
	for range 6 {
		fail(10 * time.Minute)
	}
	told(2, 1)
	fail(10 * time.Minute)
	told(2, 1)
	w.sync(t)
	told(2, 2)
}

func mustTicket(t *testing.T, w *esfWorld) string {
	x, err := w.client.CreateAuthTicket(context.Background(), w.manager.IIN, 60)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
