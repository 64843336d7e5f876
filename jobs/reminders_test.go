package jobs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"sync"
	"testing"
	"time"

	"edobot/bot/telegram/tgtest"
	"edobot/core"
	"edobot/storage"
	"edobot/storage/storagetest"
)

func age(tb testing.TB, db *storage.DB, d *core.Document, by time.Duration) {
	tb.Helper()
	if _, err := db.Pool.Exec(context.Background(), `UPDATE documents SET created_at = created_at - $2::interval WHERE id = $1`,
		d.ID, by.String()); err != nil {
		tb.Fatal(err)
	}
}

// A document left unsigned for the configured days reminds the chats of the
// sides that have not signed, once a day.
func TestRemindersOncePerDayToTheSidesThatHaveNotSigned(t *testing.T) {
	f := storagetest.NewFixture(t)
	srv := tgtest.New(t)
	sender := newChatUser(t, f.DB, srv, f.Sender.OrgID, "ru")
	recipient := newChatUser(t, f.DB, srv, f.Recipient.OrgID, "ru")
	signing := f.InStatus(t, core.StatusSigning, core.SideRecipient)
	fresh := f.Create(t)
	signed := f.InStatus(t, core.StatusSigned, core.SideSender)
	for _, d := range []*core.Document{signing, signed} {
		age(t, f.DB, d, 72*time.Hour)
	}
	drainOutbox(t, f.DB)

	now := morning(time.Now())
	cfg := testConfig(t)
	cfg.ReminderAfterDays = 2
	r := New(cfg, Deps{Store: f.DB, Messengers: map[string]Messenger{core.ChannelTelegram: newTGMessenger(t, srv)},
		Logger: quietLogger(), Now: func() time.Time { return now }})
	ctx := context.Background()
	// Only count this fixture's documents: the database is shared by the tests.
	due := func() int {
		day := now.In(core.KazakhstanTime)
		ids, err := f.DB.DocumentsDueForReminder(ctx, now.AddDate(0, 0, -2), day, 3, 10000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, id := range ids {
			if id == signing.ID || id == fresh.ID || id == signed.ID {
				n++
			}
		}
		return n
	}
	if n := due(); n != 1 {
		t.Fatalf("%d of the fixture's documents due, want 1 (the one in «На подписании»)", n)
	}
	if _, err := r.Remind(ctx); err != nil {
		t.Fatal(err)
	}
	if n := due(); n != 0 {
		t.Fatalf("still due after reminding: %d", n)
	}
	if n, err := r.Remind(ctx); err != nil || n != 0 {
		t.Fatalf("a second scan the same day queued %d (%v)", n, err)
	}
	run := startRunner(t, r)
	msgs := srv.WaitCount(t, sender.TG.ID, 1)
	ev := ReminderEventID(signing.ID, now.In(core.KazakhstanTime)).String()
	if !strings.HasPrefix(msgs[0].Text, ev+" "+core.NotifyReminder) {
		t.Fatalf("reminder: %q", msgs[0].Text)
	}
	waitIdle(t, run.Runner)
	if got := srv.Messages(recipient.TG.ID); len(got) != 0 {
		t.Fatalf("the side that signed was reminded: %+v", got)
	}
	run.stop()

	// The next day reminds again.
	now = now.Add(24 * time.Hour)
	if n := due(); n != 1 {
		t.Fatalf("next day: %d due, want 1", n)
	}
}

// morning is 10:00 in Kazakhstan on the day of t there.
func morning(t time.Time) time.Time {
	k := t.In(core.KazakhstanTime)
	return time.Date(k.Year(), k.Month(), k.Day(), 10, 0, 0, 0, core.KazakhstanTime)
}

// waMessenger records the WhatsApp chats it was asked to tell.
type waMessenger struct {
	mu   sync.Mutex
	told map[int64][]string
	sig  chan struct{}
}

func (m *waMessenger) Notify(_ context.Context, chat core.DocumentChat, n core.Notification) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.told[chat.User.ID] = append(m.told[chat.User.ID], n.Kind)
	select {
	case m.sig <- struct{}{}:
	default:
	}
	return nil
}

func (m *waMessenger) count(id int64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.told[id])
}

// Reminders go out in the day only, at most three times a document, and
// never to a WhatsApp chat the bot opened itself and that never wrote back.
func TestRemindersInTheDayAtMostThreeAndOnlyToChatsThatWrote(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	d := f.InStatus(t, core.StatusSigning, core.SideSender)
	age(t, f.DB, d, 72*time.Hour)
	drainOutbox(t, f.DB)
	wa := func(wrote bool) *core.ChatUser {
		u := &core.ChatUser{Channel: core.ChannelWhatsApp, ExternalID: storagetest.RandomIIN() + "@s.whatsapp.net", Language: "ru"}
		if wrote {
			at := time.Now()
			u.WroteAt = &at
		}
		if err := f.DB.EnsureChatUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := f.DB.FollowDocument(ctx, d.ID, u.ID, core.SideRecipient); err != nil {
			t.Fatal(err)
		}
		return u
	}
	warm, cold := wa(true), wa(false)
	if !cold.NeverWrote() || warm.NeverWrote() {
		t.Fatal("wrote_at not kept")
	}

	var clock sync.Mutex
	now := morning(time.Now())
	setNow := func(t time.Time) {
		clock.Lock()
		now = t
		clock.Unlock()
	}
	cfg := testConfig(t)
	cfg.Limits[core.ChannelWhatsApp] = RateLimit{PerSecond: 200, Burst: 1}
	msgr := &waMessenger{told: map[int64][]string{}, sig: make(chan struct{}, 1)}
	r := New(cfg, Deps{Store: f.DB, Messengers: map[string]Messenger{core.ChannelWhatsApp: msgr},
		Logger: quietLogger(), Now: func() time.Time {
			clock.Lock()
			defer clock.Unlock()
			return now
		}})
	reminded := func() int {
		var n int
		if err := f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM document_reminders WHERE document_id = $1`, d.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	today := morning(time.Now())
	for _, h := range []int{0, 3, 8, 20, 23} {
		setNow(today.Add(time.Duration(h-10) * time.Hour))
		if _, err := r.Remind(ctx); err != nil {
			t.Fatal(err)
		}
		if n := reminded(); n != 0 {
			t.Fatalf("reminded at %02d:00 in Kazakhstan", h)
		}
	}
	run := startRunner(t, r)
	stopWhatsApp := serveWhatsApp(t, r) // this instance holds the session
	for day := range 5 {
		setNow(today.AddDate(0, 0, day))
		if _, err := r.Remind(ctx); err != nil {
			t.Fatal(err)
		}
		want := min(day+1, 3)
		if n := reminded(); n != want {
			t.Fatalf("day %d: %d reminders in all, want %d", day+1, n, want)
		}
		if day < 3 {
			eventually(t, "the chat that wrote reminded", func() bool { return msgr.count(warm.ID) == want })
		}
	}
	waitIdle(t, run.Runner)
	stopWhatsApp()
	run.stop()
	if n := msgr.count(warm.ID); n != 3 {
		t.Fatalf("the chat that wrote was reminded %d times, want 3", n)
	}
	if n := msgr.count(cold.ID); n != 0 {
		t.Fatalf("a chat that never wrote was reminded %d times", n)
	}
}

func TestExpiryDeletesOldSessionsAndChallenges(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	d := f.Create(t)
	u := newChatUser(t, f.DB, nil, f.Sender.OrgID, "ru")
	now := time.Now()
	hash := func() []byte {
		var b [16]byte
		_, _ = rand.Read(b[:])
		h := sha256.Sum256(b[:])
		return h[:]
	}
	oldS, newS, oldC, newC := hash(), hash(), hash(), hash()
	for _, s := range []struct {
		h   []byte
		exp time.Time
	}{{oldS, now.Add(-48 * time.Hour)}, {newS, now.Add(-time.Hour)}} {
		if err := f.DB.InsertEgovSession(ctx, s.h, d.ID, s.exp.Add(-10*time.Minute), s.exp, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		h   []byte
		exp time.Time
	}{{oldC, now.Add(-48 * time.Hour)}, {newC, now.Add(-time.Hour)}} {
		if err := f.DB.InsertAuthChallenge(ctx, c.h, u.ID, []byte("challenge"), c.exp.Add(-10*time.Minute), c.exp); err != nil {
			t.Fatal(err)
		}
	}
	// A signing through a broker of the old challenge goes with it; one of
	// the live challenge stays.
	oldB, newB := hash(), hash()
	for _, b := range []struct {
		h, challenge []byte
		exp          time.Time
	}{{oldB, oldC, now.Add(-48 * time.Hour)}, {newB, newC, now.Add(-time.Hour)}} {
		bs := &core.BrokerSession{ChallengeHash: b.challenge, State: core.BrokerWaiting, CreatedAt: b.exp.Add(-10 * time.Minute),
			Registration: core.BrokerRegistration{DataURL: "https://sigex.test/d", SignURL: "https://sigex.test/s", QRPNG: []byte("png"),
				ExpiresAt: b.exp}}
		if err := f.DB.InsertBrokerSession(ctx, b.h, bs, b.exp); err != nil {
			t.Fatal(err)
		}
	}
	r := New(testConfig(t), Deps{Store: f.DB, Logger: quietLogger()})
	defer r.rdb.Close()
	if err := r.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if exists := func(h []byte) (ok bool) {
		_ = f.DB.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM egov_broker_sessions WHERE id_hash = $1)`, h).Scan(&ok)
		return ok
	}; exists(oldB) || !exists(newB) {
		t.Fatal("expiry kept the old broker session or deleted the live one")
	}
	exists := func(table string, h []byte) bool {
		var ok bool
		if err := f.DB.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id_hash = $1)`, h).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if exists("egov_sessions", oldS) || !exists("egov_sessions", newS) || exists("auth_challenges", oldC) || !exists("auth_challenges", newC) {
		t.Fatal("expiry deleted the wrong rows")
	}
}

// TestParseRateLimit: a messenger's limit as the configuration gives it.
func TestParseRateLimit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want RateLimit
		ok   bool
	}{
		{"25/s,2s", RateLimit{PerSecond: 25, Burst: 1, PerChat: 2 * time.Second}, true},
		{"5/s,4s,3", RateLimit{PerSecond: 5, Burst: 3, PerChat: 4 * time.Second}, true},
		{"30/s,1s,5", TelegramLimit, true},
		{"10/s,3s,2", RateLimit{PerSecond: 10, Burst: 2, PerChat: 3 * time.Second}, true},
		{"20/m,3s,1,3s", WhatsAppLimit, true},
		{"30/m,0s", RateLimit{PerSecond: 0.5, Burst: 1}, true},
		{"20/m,3s,1,-1s", RateLimit{}, false},
		{"20/h,3s", RateLimit{}, false},
		{"30/s,1s,0", RateLimit{}, false},
		{"fast", RateLimit{}, false},
		{"0/s,1s", RateLimit{}, false},
		{"30/s,-1s", RateLimit{}, false},
		{"30/s,1s,5,6", RateLimit{}, false},
	} {
		got, err := ParseRateLimit(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRateLimit(%q) = %+v, %v", tt.in, got, err)
		}
	}
}
