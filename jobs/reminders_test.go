package jobs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strings"
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

	now := time.Now()
	cfg := testConfig(t)
	cfg.ReminderAfterDays = 2
	r := New(cfg, Deps{Store: f.DB, Messengers: map[string]Messenger{core.ChannelTelegram: newTGMessenger(t, srv)},
		Logger: quietLogger(), Now: func() time.Time { return now }})
	ctx := context.Background()
	// Only count this fixture's documents: the database is shared by the tests.
	due := func() int {
		day := now.In(core.KazakhstanTime)
		ids, err := f.DB.DocumentsDueForReminder(ctx, now.AddDate(0, 0, -2), day, 10000)
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
		{"10/s,3s,2", WhatsAppLimit, true},
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
