package whatsapp_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"edobot/bot/flow"
	"edobot/bot/i18n"
	"edobot/bot/whatsapp"
	"edobot/core"
	"edobot/core/coretest"
	"edobot/storage/storagetest"
)

// clockAt is a test clock at hour:00 today in Kazakhstan.
func clockAt(hour int) *coretest.Clock {
	c := coretest.NewClock()
	k := c.Now().In(core.KazakhstanTime)
	at := time.Date(k.Year(), k.Month(), k.Day(), hour, 0, 0, 0, core.KazakhstanTime)
	if at.Before(c.Now()) {
		at = at.AddDate(0, 0, 1) // the clock only goes forward
	}
	c.Advance(at.Sub(c.Now()))
	return c
}

// coldBot runs a bot of an account of its own (the budgets count per
// account in the shared database) with a cold-outreach policy.
func coldBot(t testing.TB, f *storagetest.Fixture, fc *fakeClient, clock *coretest.Clock, cold whatsapp.Cold) *whatsapp.Bot {
	t.Helper()
	keepOutreach(f)
	b := whatsapp.New(fc, whatsapp.Config{Phone: newPhone()[1:], Workers: 4, Clock: clock, Cold: cold},
		flow.Flow{Service: f.Svc, Cat: i18n.MustNew(), Log: quiet, PublicURL: "http://edobot.test"})
	run(t, b)
	return b
}

// offline is a fake that starts disconnected, as whatsmeow does.
func offline() *fakeClient {
	fc := newFake()
	fc.connected = false
	return fc
}

func screen(text string) []flow.Screen { return []flow.Screen{{Text: text}} }

// TestReadyOnlyConnectedAndLoggedIn: not ready before the first connect;
// ready once connected, and the bot then tells WhatsApp it is available,
// after every connect.
func TestReadyOnlyConnectedAndLoggedIn(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := offline()
	b := whatsapp.New(fc, whatsapp.Config{Phone: newPhone()[1:], Workers: 2, Clock: coretest.NewClock()},
		flow.Flow{Service: f.Svc, Cat: i18n.MustNew(), Log: quiet})
	ctx := context.Background()
	if err := b.Ready(ctx); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("ready before connecting: %v", err)
	}
	run(t, b)
	fc.until(t, "presence after the connect", func(c *fakeClient) bool {
		return c.connects == 1 && len(c.presences) == 1 && c.presences[0] == types.PresenceAvailable
	})
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("ready once connected: %v", err)
	}
	// A connection that is up but not logged in is not ready.
	fc.dropConnection()
	if err := b.Ready(ctx); err == nil {
		t.Fatal("ready while not connected")
	}
	fc.emit(&events.Disconnected{})
	fc.mu.Lock()
	fc.connected = true
	fc.mu.Unlock()
	fc.emit(&events.Connected{})
	fc.until(t, "presence after the reconnect", func(c *fakeClient) bool { return len(c.presences) == 2 })
}

// TestReadMarks: a message the bot handled is marked read.
func TestReadMarks(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := newFake()
	startBot(t, f, fc, "http://edobot.test")
	p := newPerson(newPhone(), "Ержан")
	msg := p.text("/start")
	fc.emit(msg)
	fc.until(t, "the read mark", func(c *fakeClient) bool {
		for _, id := range c.reads {
			if id == msg.Info.ID {
				return true
			}
		}
		return false
	})
}

// TestTemporaryBanPausesAndResumes: a ban stops sending until it ends; the
// bot then connects again by itself.
func TestTemporaryBanPausesAndResumes(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := offline()
	clock := coretest.NewClock()
	b := whatsapp.New(fc, whatsapp.Config{Phone: newPhone()[1:], Workers: 2, Clock: clock},
		flow.Flow{Service: f.Svc, Cat: i18n.MustNew(), Log: quiet})
	run(t, b)
	ctx := context.Background()
	fc.until(t, "connected", func(c *fakeClient) bool { return c.connects == 1 })
	p := newPerson(newPhone(), "Ержан")
	u, err := f.Svc.ChatUser(ctx, core.ChannelWhatsApp, p.JID.String(), "Ержан", "ru")
	if err != nil {
		t.Fatal(err)
	}

	fc.dropConnection()
	fc.emit(&events.TemporaryBan{Code: events.TempBanSentToTooManyPeople, Expire: time.Hour})
	if err := b.Ready(ctx); err == nil || !strings.Contains(err.Error(), "banned") {
		t.Fatalf("ready while banned: %v", err)
	}
	var ra *core.RetryAfterError
	if err := b.Deliver(ctx, u, screen("во время бана")); !errors.As(err, &ra) || ra.Delay != time.Hour {
		t.Fatalf("deliver while banned: %v", err)
	}
	fc.mu.Lock()
	tried := fc.attempts[p.JID.User]
	fc.mu.Unlock()
	if tried != 0 {
		t.Fatalf("%d sends tried while banned", tried)
	}
	clock.BlockUntil(t, 1) // the supervisor waits for the ban's end
	clock.Advance(time.Hour)
	fc.until(t, "the reconnect after the ban", func(c *fakeClient) bool { return c.connects == 2 && len(c.presences) == 2 })
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("ready after the ban: %v", err)
	}
	if err := b.Deliver(ctx, u, screen("после бана")); err != nil {
		t.Fatalf("deliver after the ban: %v", err)
	}
}

// TestLoggedOutStopsLinksAndPairsAgain: a logout stops the wa.me links to
// the dead number and offers a new pairing at once; a new link brings them
// back.
func TestLoggedOutStopsLinksAndPairsAgain(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := newFake()
	paired := make(chan struct{}, 1)
	b := whatsapp.New(fc, whatsapp.Config{Phone: newPhone()[1:], Workers: 2, Clock: coretest.NewClock(),
		Pair: func(ctx context.Context) { paired <- struct{}{} }},
		flow.Flow{Service: f.Svc, Cat: i18n.MustNew(), Log: quiet})
	run(t, b)
	fc.emit(&events.Connected{})
	if b.StartLink("tok") == "" {
		t.Fatal("no start link while linked")
	}
	fc.dropConnection()
	fc.emit(&events.LoggedOut{Reason: events.ConnectFailureLoggedOut})
	if got := b.StartLink("tok"); got != "" || b.Phone() != "" {
		t.Fatalf("start link after logout: %q", got)
	}
	if err := b.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "logged out") {
		t.Fatalf("ready after logout: %v", err)
	}
	select {
	case <-paired:
	case <-time.After(coretest.Patience):
		t.Fatal("no new pairing after the logout")
	}
	phone := newPhone()[1:]
	fc.emit(&events.PairSuccess{ID: types.NewJID(phone, types.DefaultUserServer)})
	if got := b.StartLink("tok"); got != "https://wa.me/"+phone+"?text=%2Fstart+tok" {
		t.Fatalf("start link after a new pairing: %q", got)
	}
}

// TestStreamReplacedAndOutdatedAreShown: each signal is on /readyz.
func TestStreamReplacedAndOutdatedAreShown(t *testing.T) {
	f := storagetest.NewFixture(t)
	for _, tt := range []struct {
		evt  any
		want string
	}{
		{&events.StreamReplaced{}, "another process"},
		{&events.ClientOutdated{}, "update go.mau.fi/whatsmeow"},
		{&events.ConnectFailure{Reason: events.ConnectFailureBadUserAgent, Message: "bad ua"}, "connect failure 409"},
	} {
		fc := newFake()
		b := whatsapp.New(fc, whatsapp.Config{Phone: newPhone()[1:], Workers: 1, Clock: coretest.NewClock()},
			flow.Flow{Service: f.Svc, Cat: i18n.MustNew(), Log: quiet})
		fc.emit(&events.Connected{})
		fc.emit(tt.evt)
		if err := b.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%T: ready = %v", tt.evt, err)
		}
	}
}

// TestColdOutreach: off, the sender gets the bot's link to forward; on,
// only in the day, within the account's warming budget and the
// organisation's, never one text to two numbers.
func TestColdOutreach(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	orgA := flow.Outreach{OrgID: f.Sender.OrgID, Token: "tokA"}
	orgB := flow.Outreach{OrgID: f.Recipient.OrgID, Token: "tokB"}

	off := coldBot(t, f, newFake(), clockAt(10), whatsapp.Cold{})
	var inv *flow.Invitation
	if _, _, err := off.Reach(ctx, newPhone(), orgA); !errors.As(err, &inv) || inv.Link != off.StartLink("tokA") || inv.Link == "" {
		t.Fatalf("cold outreach off: %v", err)
	}

	fc := newFake()
	clock := clockAt(8) // before 09:00
	b := coldBot(t, f, fc, clock, whatsapp.Cold{On: true, Start: 2, Full: 4, WarmUp: 48 * time.Hour, PerOrg: 2})
	send := func(o flow.Outreach, text string) (string, error) {
		phone := newPhone()
		u, deliver, err := b.Reach(ctx, phone, o)
		if err == nil {
			err = deliver(ctx, u, screen(text))
		}
		if errors.As(err, &inv) {
			return inv.Why, nil
		}
		return "sent", err
	}
	expect := func(o flow.Outreach, text, want string) {
		t.Helper()
		if got, err := send(o, text); err != nil || got != want {
			t.Fatalf("%q: %s, %v; want %s", text, got, err, want)
		}
	}
	expect(orgA, "утро 1", "night")
	clock.Advance(time.Hour) // 09:00
	expect(orgA, "первый", "sent")
	expect(orgA, "первый", "same_text")
	expect(orgB, "второй", "sent")
	expect(orgB, "третий", "account_budget") // 2 on the first day
	clock.Advance(11 * time.Hour)            // 20:00
	expect(orgB, "вечер", "night")

	clock.Advance(13 * time.Hour) // the next day, 09:00: 3 after a day of two of warm-up
	expect(orgA, "день 2, 1", "sent")
	expect(orgA, "день 2, 2", "sent")
	expect(orgA, "день 2, 3", "org_budget")
	expect(orgB, "день 2, 4", "sent")
	expect(orgB, "день 2, 5", "account_budget")
	clock.Advance(48 * time.Hour) // warmed up: 4
	for i := range 2 {
		expect(orgA, "день 4, A"+string(rune('0'+i)), "sent")
		expect(orgB, "день 4, B"+string(rune('0'+i)), "sent")
	}
	expect(orgB, "день 4, B2", "account_budget")
}

// TestRestrictedIsOneAttemptAndPausesColdSends: WhatsApp's 463 is not
// retried and asks nothing more about the number; the organisation's first
// messages pause, and /readyz says so while the service stays ready.
func TestRestrictedIsOneAttemptAndPausesColdSends(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	fc := newFake()
	b := coldBot(t, f, fc, clockAt(10), whatsapp.Cold{On: true})
	fc.emit(&events.Connected{})
	o := flow.Outreach{OrgID: f.Sender.OrgID, Token: "tok"}
	phone := newPhone()
	fc.mu.Lock()
	fc.refuse[phone[1:]] = 463
	fc.mu.Unlock()
	u, deliver, err := b.Reach(ctx, phone, o)
	if err != nil {
		t.Fatal(err)
	}
	var inv *flow.Invitation
	if err := deliver(ctx, u, screen("первое сообщение")); !errors.As(err, &inv) || inv.Why != "restricted" {
		t.Fatalf("deliver refused with 463: %v", err)
	}
	fc.mu.Lock()
	attempts, lookups := fc.attempts[phone[1:]], fc.lookups
	fc.mu.Unlock()
	if attempts != 1 || lookups != 1 {
		t.Fatalf("%d attempts, %d lookups; want 1 and 1 (the one before the send)", attempts, lookups)
	}
	// The notification path: the error says restricted, for the jobs.
	var r *core.RestrictedError
	if err := b.Deliver(ctx, u, screen("уведомление")); !errors.As(err, &r) || r.Code != 463 {
		t.Fatalf("deliver: %v", err)
	}
	// The organisation's next first message is held back.
	u2, deliver2, err := b.Reach(ctx, newPhone(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := deliver2(ctx, u2, screen("другое сообщение")); !errors.As(err, &inv) || inv.Why != "paused" {
		t.Fatalf("after the 463: %v", err)
	}
	err = b.Ready(ctx)
	var d interface{ Degraded() bool }
	if !errors.As(err, &d) || !d.Degraded() || !strings.Contains(err.Error(), "463") {
		t.Fatalf("ready after a 463: %v", err)
	}
}

// TestAnnounceVersion: WhatsApp Web's current version is announced; the
// compiled one stays when it cannot be asked.
func TestAnnounceVersion(t *testing.T) {
	compiled := store.GetWAVersion()
	t.Cleanup(func() { store.SetWAVersion(compiled) })
	failing := func(context.Context) (*store.WAVersionContainer, error) { return nil, errors.New("offline") }
	if got := whatsapp.AnnounceVersion(context.Background(), failing, quiet); got != compiled || store.GetWAVersion() != compiled {
		t.Fatalf("without an answer: %v", got)
	}
	newer := store.WAVersionContainer{compiled[0], compiled[1], compiled[2] + 7}
	latest := func(context.Context) (*store.WAVersionContainer, error) { return &newer, nil }
	if got := whatsapp.AnnounceVersion(context.Background(), latest, quiet); got != newer || store.GetWAVersion() != newer {
		t.Fatalf("announced %v, want %v", store.GetWAVersion(), newer)
	}
}
