package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"edobot/bot/telegram/tgtest"
	"edobot/core"
	"edobot/core/coretest"
	"edobot/storage/storagetest"
)

func TestEveryChatToldOfEveryChangeOnce(t *testing.T) {
	f, srv := chatFixture(t)
	sender := newChatUser(t, f.DB, srv, f.Sender.OrgID, "ru")
	recipient := newChatUser(t, f.DB, srv, f.Recipient.OrgID, "kk")

	d := f.Create(t)
	f.Sign(t, d.ID, core.SideRecipient)
	f.Sign(t, d.ID, core.SideSender)
	events := outboxIDs(t, f.DB, d.ID)
	if len(events) != 3 {
		t.Fatalf("%d outbox events, want 3", len(events))
	}
	r := start(t, testConfig(t), f.DB, map[string]Messenger{core.ChannelTelegram: newTGMessenger(t, srv)})

	for _, u := range []chatUser{sender, recipient} {
		msgs := srv.WaitCount(t, u.TG.ID, 3)
		for _, ev := range events {
			if n := eventCount(msgs, ev); n != 1 {
				t.Errorf("chat %d got event %s %d times: %+v", u.TG.ID, ev, n, msgs)
			}
		}
		if last := msgs[len(msgs)-1].Text; last[len(last)-2:] != u.Language {
			t.Errorf("chat %d: %q not in %s", u.TG.ID, last, u.Language)
		}
	}
	waitIdle(t, r.Runner)
	if n := srv.Calls("sendMessage"); n != 6 {
		t.Fatalf("sendMessage called %d times, want 6", n)
	}
}

// The fake Telegram refuses with 429 retry_after, then fails with 500: the
// delivery waits as told, backs off, and the chat sees one message. The
// rate limiter's time is the test's clock, so "as told" is exact.
func TestRetryAfterThenServerErrorThenOneMessage(t *testing.T) {
	f, srv := chatFixture(t)
	u := newChatUser(t, f.DB, srv, f.Sender.OrgID, "ru")
	srv.FailNext("sendMessage",
		tgtest.Failure{Code: 429, Description: "Too Many Requests: retry after 1", RetryAfter: 1},
		tgtest.Failure{Code: 500, Description: "Internal Server Error"})
	cfg := testConfig(t)
	// The chat's turn is waited for within the task, on the clock, rather
	// than by putting the task back.
	cfg.ChatWaitMax = cfg.RateWaitMax
	clock := coretest.NewClock()
	tg := &timedMessenger{Messenger: newTGMessenger(t, srv), clock: clock}
	r := New(cfg, Deps{Store: f.DB, Messengers: map[string]Messenger{core.ChannelTelegram: tg}, Logger: quietLogger()})
	r.limiter.clock = clock
	startRunner(t, r)
	d := f.Create(t)

	// The retry after the 429 waits for the chat's turn: retry_after, a
	// second on the clock, and nothing more goes meanwhile.
	clock.BlockUntil(t, 1)
	if w := clock.LastWait(); w != time.Second {
		t.Fatalf("the retry after the 429 waits %v, want retry_after's 1s", w)
	}
	if n := srv.Calls("sendMessage"); n != 1 {
		t.Fatalf("sendMessage called %d times before retry_after was over, want 1", n)
	}
	clock.Advance(time.Second)
	// The retry after the 500 waits for the chat's spacing.
	clock.BlockUntil(t, 1)
	clock.Advance(clock.LastWait())

	msgs := srv.WaitCount(t, u.TG.ID, 1)
	waitIdle(t, r)
	msgs = srv.Messages(u.TG.ID)
	if len(msgs) != 1 || eventCount(msgs, outboxIDs(t, f.DB, d.ID)[0]) != 1 {
		t.Fatalf("messages: %+v", msgs)
	}
	if n := srv.Calls("sendMessage"); n != 3 {
		t.Fatalf("sendMessage called %d times, want 3 (429, 500, ok)", n)
	}
	if at := tg.times(); len(at) != 3 || at[1].Sub(at[0]) < time.Second {
		t.Errorf("attempts at %v: the one after the 429 should be a second or more after it", at)
	}
	if got := counterValue(t, r.metrics.failures.WithLabelValues(core.ChannelTelegram, "retry_after")); got != 1 {
		t.Errorf("retry_after failures: %v", got)
	}
}

// timedMessenger notes the clock's time of every attempt.
type timedMessenger struct {
	Messenger
	clock *coretest.Clock
	mu    sync.Mutex
	at    []time.Time
}

func (m *timedMessenger) Notify(ctx context.Context, chat core.DocumentChat, n core.Notification) error {
	m.mu.Lock()
	m.at = append(m.at, m.clock.Now())
	m.mu.Unlock()
	return m.Messenger.Notify(ctx, chat, n)
}

func (m *timedMessenger) times() []time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.at)
}

// A person who blocked the bot is marked, and the delivery is not retried;
// the others are still told.
func TestBlockedChatIsMarkedAndNotRetried(t *testing.T) {
	f, srv := chatFixture(t)
	blocked := newChatUser(t, f.DB, srv, f.Sender.OrgID, "ru")
	other := newChatUser(t, f.DB, srv, f.Recipient.OrgID, "ru")
	srv.Block(blocked.TG.ID)
	r := start(t, testConfig(t), f.DB, map[string]Messenger{core.ChannelTelegram: newTGMessenger(t, srv)})
	f.Create(t)

	srv.WaitCount(t, other.TG.ID, 1)
	eventually(t, "the chat marked blocked", func() bool {
		u, err := f.DB.ChatUserByID(context.Background(), blocked.ID)
		return err == nil && u.BlockedAt != nil
	})
	// Nothing is left to retry.
	waitIdle(t, r.Runner)
	if n := srv.Calls("sendMessage"); n != 2 {
		t.Fatalf("sendMessage called %d times, want 2 (one refused, one sent)", n)
	}
	// The next change is not even tried on the blocked chat.
	f.Create(t)
	srv.WaitCount(t, other.TG.ID, 2)
	waitIdle(t, r.Runner)
	if n := srv.Calls("sendMessage"); n != 3 {
		t.Fatalf("sendMessage called %d times after the block, want 3", n)
	}
}

// A delivery WhatsApp refuses because the bot's account is restricted (its
// 463) is tried once, not retried, and recorded as failed with the reason;
// the other chats are still told.
func TestRestrictedDeliveryIsTriedOnceAndRecorded(t *testing.T) {
	f, srv := chatFixture(t)
	refused := newChatUser(t, f.DB, srv, f.Sender.OrgID, "ru")
	other := newChatUser(t, f.DB, srv, f.Recipient.OrgID, "ru")
	var mu sync.Mutex
	attempts := 0
	m := hookMessenger{Messenger: newTGMessenger(t, srv), before: func(_ context.Context, chat core.DocumentChat) error {
		if chat.User.ID != refused.ID {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		attempts++
		return fmt.Errorf("whatsapp send: %w", &core.RestrictedError{Code: 463, Reason: "reach-out time-locked"})
	}}
	r := start(t, testConfig(t), f.DB, map[string]Messenger{core.ChannelTelegram: m})
	d := f.Create(t)

	srv.WaitCount(t, other.TG.ID, 1)
	eventually(t, "the failure recorded", func() bool {
		var why *string
		_ = f.DB.Pool.QueryRow(context.Background(), `SELECT failure FROM notification_deliveries
			WHERE chat_user_id = $1 AND event_id IN (SELECT id FROM outbox WHERE document_id = $2)`, refused.ID, d.ID).Scan(&why)
		return why != nil && strings.Contains(*why, "463")
	})
	waitIdle(t, r.Runner)
	mu.Lock()
	defer mu.Unlock()
	if attempts != 1 {
		t.Fatalf("%d attempts, want 1", attempts)
	}
	if got := counterValue(t, r.metrics.failures.WithLabelValues(core.ChannelTelegram, "restricted")); got != 1 {
		t.Errorf("restricted failures: %v", got)
	}
}

// hookMessenger runs before a send and may stop it.
type hookMessenger struct {
	Messenger
	before func(ctx context.Context, chat core.DocumentChat) error
}

func (h hookMessenger) Notify(ctx context.Context, chat core.DocumentChat, n core.Notification) error {
	if err := h.before(ctx, chat); err != nil {
		return err
	}
	return h.Messenger.Notify(ctx, chat, n)
}

// A worker dies (its server shut down without waiting for it, the task put
// back) in the middle of delivering; the next worker finishes the job
// without telling any chat twice. Two moments: after the message was sent
// and recorded but before the task was acknowledged, and before the message
// was sent.
func TestWorkerKilledMidTaskRerunSendsNothingTwice(t *testing.T) {
	for _, when := range []string{"after the send was recorded", "before the send"} {
		t.Run(when, func(t *testing.T) {
			f, srv := chatFixture(t)
			a := newChatUser(t, f.DB, srv, f.Sender.OrgID, "ru")
			b := newChatUser(t, f.DB, srv, f.Recipient.OrgID, "en")
			cfg := testConfig(t)
			cfg.ShutdownTimeout = 200 * time.Millisecond
			tg := newTGMessenger(t, srv)
			// The dead worker's goroutine stays stuck until asynq gives up on
			// it and its context ends; Run waits for it to return.
			stuck := make(chan struct{}, 1)
			var first atomic.Bool
			hang := func(ctx context.Context) error {
				if first.CompareAndSwap(false, true) {
					stuck <- struct{}{}
					<-ctx.Done()
					return errors.New("worker killed")
				}
				return nil
			}

			var m Messenger = tg
			r1 := New(cfg, Deps{Store: f.DB, Messengers: map[string]Messenger{core.ChannelTelegram: m}, Logger: quietLogger()})
			if when == "before the send" {
				r1.msgs = map[string]Messenger{core.ChannelTelegram: hookMessenger{tg, func(ctx context.Context, _ core.DocumentChat) error { return hang(ctx) }}}
			} else {
				r1.afterDelivery = func(ctx context.Context) { _ = hang(ctx) }
			}
			run1 := startRunner(t, r1)
			d := f.Create(t)
			select {
			case <-stuck:
			case <-time.After(patience):
				t.Fatal("no delivery started")
			}
			run1.stop() // the stuck task goes back to the queue

			run2 := start(t, cfg, f.DB, map[string]Messenger{core.ChannelTelegram: tg})
			ev := outboxIDs(t, f.DB, d.ID)[0]
			for _, u := range []chatUser{a, b} {
				srv.WaitCount(t, u.TG.ID, 1)
			}
			waitIdle(t, run2.Runner)
			for _, u := range []chatUser{a, b} {
				if msgs := srv.Messages(u.TG.ID); len(msgs) != 1 || eventCount(msgs, ev) != 1 {
					t.Errorf("chat %d: %+v", u.TG.ID, msgs)
				}
			}
			if n := srv.Calls("sendMessage"); n != 2 {
				t.Errorf("sendMessage called %d times, want 2", n)
			}
		})
	}
}

// Two relays over one outbox queue each event once.
func TestRelayTwoInstancesEnqueueEachEventOnce(t *testing.T) {
	f := storagetest.NewFixture(t)
	drainOutbox(t, f.DB)
	cfg := testConfig(t)
	cfg.RelayBatch = 3
	const docs = 30
	for range docs {
		f.Create(t)
	}
	r1 := New(cfg, Deps{Store: f.DB, Logger: quietLogger()})
	r2 := New(cfg, Deps{Store: f.DB, Logger: quietLogger()})
	defer r1.rdb.Close()
	defer r2.rdb.Close()
	var wg sync.WaitGroup
	for _, r := range []*Runner{r1, r2} {
		wg.Go(func() {
			for {
				n, err := r.relayOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	relayed := counterValue(t, r1.metrics.relayed) + counterValue(t, r2.metrics.relayed)
	if relayed != docs || counterValue(t, r1.metrics.relayed) == 0 || counterValue(t, r2.metrics.relayed) == 0 {
		t.Errorf("relayed %v + %v, want %d between both", counterValue(t, r1.metrics.relayed), counterValue(t, r2.metrics.relayed), docs)
	}
	if n, _ := f.DB.OutboxPending(context.Background()); n != 0 {
		t.Errorf("%d events left in the outbox", n)
	}
	insp := asynq.NewInspectorFromRedisClient(r1.rdb)
	for _, q := range []string{QueueNotify, QueueWebhooks} {
		info, err := insp.GetQueueInfo(cfg.QueuePrefix + q)
		if err != nil {
			t.Fatal(err)
		}
		if info.Pending != docs {
			t.Errorf("queue %s holds %d tasks, want %d", q, info.Pending, docs)
		}
	}
	// Relaying a row again (an instance died before marking it) adds nothing.
	if _, err := f.DB.Pool.Exec(context.Background(), `UPDATE outbox SET sent_at = NULL WHERE document_id IN (SELECT id FROM documents WHERE sender_org_id = $1)`, f.Sender.OrgID); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := r1.relayOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if info, _ := insp.GetQueueInfo(cfg.QueuePrefix + QueueNotify); info.Pending != docs {
		t.Errorf("after relaying again the queue holds %d tasks, want %d", info.Pending, docs)
	}
}

func TestWebhookDeliveredWithRetries(t *testing.T) {
	f := storagetest.NewFixture(t)
	drainOutbox(t, f.DB)
	var calls, ok atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		ok.Add(1)
	}))
	defer hook.Close()
	if err := f.DB.SetWebhook(context.Background(), core.Webhook{OrgID: f.Sender.OrgID, URL: hook.URL, Secret: core.NewToken()}); err != nil {
		t.Fatal(err)
	}
	r := start(t, testConfig(t), f.DB, nil)
	f.Create(t)
	eventually(t, "the webhook delivered", func() bool { return ok.Load() == 1 })
	waitIdle(t, r.Runner)
	if calls.Load() != 2 || ok.Load() != 1 {
		t.Fatalf("%d calls, %d accepted", calls.Load(), ok.Load())
	}
}
