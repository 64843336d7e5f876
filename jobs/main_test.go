package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/redis/go-redis/v9"

	"edobot/bot/flow"
	"edobot/bot/i18n"
	"edobot/bot/telegram/tgtest"
	"edobot/core"
	"edobot/core/coretest"
	"edobot/storage"
	"edobot/storage/storagetest"
)

var _ Store = (*storage.DB)(nil)

func TestMain(m *testing.M) { storagetest.Main(m) }

// testRedisDB is the shared Redis's database the jobs tests use; every test
// keeps to its own queue prefix within it, so nothing is flushed.
const testRedisDB = 7

func sharedRedis() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// testConfig is a fast configuration on the shared Redis with a prefix of
// the test's own, whose keys are deleted at the end.
func testConfig(tb testing.TB) Config {
	tb.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "jt" + hex.EncodeToString(b[:]) + "-"
	c := DefaultConfig()
	c.RedisAddr = sharedRedis()
	c.RedisDB = testRedisDB
	c.QueuePrefix = prefix
	c.RelayInterval = 50 * time.Millisecond
	c.QueuePoll = 50 * time.Millisecond
	c.DelayedPoll = 100 * time.Millisecond
	c.RetryBase = 100 * time.Millisecond
	c.RetryMax = time.Second
	c.ShutdownTimeout = 5 * time.Second
	c.Limits = map[string]RateLimit{core.ChannelTelegram: {PerSecond: 200, Burst: 1, PerChat: 50 * time.Millisecond}}
	// The periodic scans never fire by the wall clock during a test, at
	// whatever hour it runs: a test that needs one runs it directly.
	c.ReminderSpec, c.ExpirySpec = "@every 8760h", "@every 8760h"
	tb.Cleanup(func() { deleteKeys(tb, c.RedisAddr, c.RedisDB, prefix) })
	return c
}

func deleteKeys(tb testing.TB, addr string, db int, prefix string) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	defer rdb.Close()
	ctx := context.Background()
	for _, pattern := range []string{"asynq:{" + prefix + "*", "edobot:" + prefix + "*"} {
		iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	}
	for _, q := range []string{QueueNotify, QueueWebhooks, QueuePeriodic} {
		rdb.SRem(ctx, "asynq:queues", prefix+q)
	}
}

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// drainOutbox marks every earlier test's events sent, so that a test's relay
// carries only its own.
func drainOutbox(tb testing.TB, db *storage.DB) {
	tb.Helper()
	if _, err := db.Pool.Exec(context.Background(), `UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL`); err != nil {
		tb.Fatal(err)
	}
}

// chatFixture is a fixture whose outbox holds nothing yet, and a fake Bot
// API for its chats: what a test of telling chats starts with.
func chatFixture(tb testing.TB) (*storagetest.Fixture, *tgtest.Server) {
	tb.Helper()
	f := storagetest.NewFixture(tb)
	drainOutbox(tb, f.DB)
	return f, tgtest.New(tb)
}

// tgMessenger is a messenger on the real Telegram library: what the bot's
// own will do, reduced to one line of text naming the event.
type tgMessenger struct {
	b *bot.Bot
}

func newTGMessenger(tb testing.TB, srv *tgtest.Server) *tgMessenger {
	tb.Helper()
	b, err := bot.New(tgtest.Token, bot.WithServerURL(srv.URL), bot.WithSkipGetMe())
	if err != nil {
		tb.Fatal(err)
	}
	return &tgMessenger{b: b}
}

func (m *tgMessenger) Notify(ctx context.Context, chat core.DocumentChat, n core.Notification) error {
	id, err := strconv.ParseInt(chat.User.ExternalID, 10, 64)
	if err != nil {
		return fmt.Errorf("telegram chat %q: %w", chat.User.ExternalID, err)
	}
	var what string
	switch {
	case n.ESF != nil: // an organisation's ИС ЭСФ event, as the flow draws it
		screens, err := (&flow.Flow{Cat: i18n.MustNew()}).Notification(ctx, chat, n)
		if err != nil || len(screens) == 0 {
			return err
		}
		what = screens[0].Text
		for _, row := range screens[0].Buttons {
			for _, b := range row {
				what += " [" + b.Label + "|" + b.Data + "]"
			}
		}
	case n.Document == nil: // a sign-in
		what = fmt.Sprintf("%s %d", n.Org.Number, n.Chat.ID)
	case n.Status != "": // what the event did, even when later ones moved it on
		what = fmt.Sprintf("%s %s", n.Document.Number, n.Status)
	default:
		what = fmt.Sprintf("%s %s", n.Document.Number, n.Document.Status)
	}
	_, err = m.b.SendMessage(ctx, &bot.SendMessageParams{ChatID: id,
		Text: fmt.Sprintf("%s %s %s %s", n.EventID, n.Kind, what, chat.User.Language)})
	var tooMany *bot.TooManyRequestsError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooMany):
		return &core.RetryAfterError{Delay: time.Duration(tooMany.RetryAfter) * time.Second}
	case errors.Is(err, bot.ErrorForbidden):
		return fmt.Errorf("%w: %v", core.ErrChatBlocked, err)
	}
	return err
}

// chatUser is a Telegram user bound to an organisation, known to the fake
// server.
type chatUser struct {
	core.ChatUser
	TG tgtest.User
}

func newChatUser(tb testing.TB, db *storage.DB, srv *tgtest.Server, orgID int64, lang string) chatUser {
	tb.Helper()
	ctx := context.Background()
	tg := tgtest.User{ID: 1_000_000 + mrand.Int64N(1<<40), FirstName: "Тест", LanguageCode: lang}
	u := core.ChatUser{Channel: core.ChannelTelegram, ExternalID: strconv.FormatInt(tg.ID, 10), Name: "Тест", Language: lang}
	if err := db.EnsureChatUser(ctx, &u); err != nil {
		tb.Fatal(err)
	}
	if err := db.BindChatUser(ctx, u.ID, storagetest.RandomIIN(), orgID, time.Now()); err != nil {
		tb.Fatal(err)
	}
	if srv != nil {
		srv.SendText(tg, "/start")
	}
	return chatUser{ChatUser: u, TG: tg}
}

// running is a Runner working in the background.
type running struct {
	*Runner
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func start(tb testing.TB, cfg Config, db *storage.DB, msgs map[string]Messenger) *running {
	tb.Helper()
	r := New(cfg, Deps{Store: db, Messengers: msgs, Logger: quietLogger()})
	return startRunner(tb, r)
}

func startRunner(tb testing.TB, r *Runner) *running {
	ctx, cancel := context.WithCancel(context.Background())
	rr := &running{Runner: r, cancel: cancel, done: make(chan error, 1)}
	go func() { rr.done <- r.Run(ctx) }()
	tb.Cleanup(rr.stop)
	return rr
}

func (r *running) stop() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
	})
}

// texts are the messages of a chat that name the event.
func eventCount(msgs []tgtest.Message, eventID string) int {
	n := 0
	for _, m := range msgs {
		if strings.HasPrefix(m.Text, eventID+" ") {
			n++
		}
	}
	return n
}

// outboxIDs lists a document's events in order.
func outboxIDs(tb testing.TB, db *storage.DB, documentID any) []string {
	tb.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT id::text FROM outbox WHERE document_id = $1 ORDER BY created_at`, documentID)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// patience bounds every wait for something that must happen.
const patience = coretest.Patience

// eventually polls cond until it holds or patience runs out.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", patience, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitIdle waits until r has nothing left to do, so that what was sent is
// all that will be: the barrier before counting messages.
func waitIdle(tb testing.TB, r *Runner) {
	tb.Helper()
	var err error
	eventually(tb, "the jobs to finish", func() bool {
		var idle bool
		idle, err = r.Idle(context.Background())
		return idle || err != nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}
