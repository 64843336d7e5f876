package jobs

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"edobot/core"
	"edobot/core/coretest"
)

// ownRedis is a redis-server of the test's own, which the test may stop and
// start again on the same port.
type ownRedis struct {
	tb   testing.TB
	port int
	cmd  *exec.Cmd
}

func newOwnRedis(tb testing.TB) *ownRedis {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Skip("redis-server not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &ownRedis{tb: tb, port: port}
	r.start()
	tb.Cleanup(r.stop)
	return r
}

func (r *ownRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *ownRedis) start() {
	r.tb.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := r.cmd.Start(); err != nil {
		r.tb.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr()})
	defer c.Close()
	eventually(r.tb, "redis-server up", func() bool { return c.Ping(context.Background()).Err() == nil })
}

func (r *ownRedis) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Redis goes away while documents are signed: the signatures commit, the
// events wait in the outbox, and once Redis is back every chat is told of
// every change once.
func TestRedisDownWhileSigning(t *testing.T) {
	f, srv := chatFixture(t)
	a := newChatUser(t, f.DB, srv, f.Sender.OrgID, "ru")
	b := newChatUser(t, f.DB, srv, f.Recipient.OrgID, "kk")
	rds := newOwnRedis(t)
	cfg := testConfig(t)
	cfg.RedisAddr, cfg.RedisDB = rds.addr(), 0
	r := start(t, cfg, f.DB, map[string]Messenger{core.ChannelTelegram: newTGMessenger(t, srv)})

	docs := []*core.Document{f.Create(t), f.Create(t)}
	srv.WaitCount(t, a.TG.ID, 2)
	srv.WaitCount(t, b.TG.ID, 2)

	rds.stop()
	for _, d := range docs {
		f.Sign(t, d.ID, core.SideRecipient)
		f.Sign(t, d.ID, core.SideSender)
	}
	// Two more failed relay rounds: the second began after the first ended,
	// so after the signatures had committed, and it left them.
	failed := counterValue(t, r.metrics.relayErrors)
	eventually(t, "two relay rounds failing on Redis", func() bool { return counterValue(t, r.metrics.relayErrors) >= failed+2 })
	if n, err := f.DB.OutboxPending(context.Background()); err != nil || n != 4 {
		t.Fatalf("%d events wait in the outbox (%v), want 4", n, err)
	}
	rds.start()

	var events []string
	for _, d := range docs {
		events = append(events, outboxIDs(t, f.DB, d.ID)...)
	}
	for _, u := range []chatUser{a, b} {
		srv.WaitCount(t, u.TG.ID, 6)
	}
	waitIdle(t, r.Runner)
	for _, u := range []chatUser{a, b} {
		msgs := srv.Messages(u.TG.ID)
		for _, ev := range events {
			if n := eventCount(msgs, ev); n != 1 {
				t.Errorf("chat %d got event %s %d times", u.TG.ID, ev, n)
			}
		}
		if len(msgs) != 6 {
			t.Errorf("chat %d: %d messages, want 6", u.TG.ID, len(msgs))
		}
	}
}

// Two limiters on one Redis, as two instances would have, hold the overall
// rate between them, and a chat's own spacing. Time is the test's clock: it
// moves only when the test moves it.
func TestLimiterSharedAcrossInstances(t *testing.T) {
	cfg := testConfig(t)
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, DB: cfg.RedisDB})
	defer rdb.Close()
	rdb2 := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, DB: cfg.RedisDB})
	defer rdb2.Close()
	prefix := "edobot:" + cfg.QueuePrefix
	clock := coretest.NewClock()
	l1, l2 := NewLimiter(rdb, prefix), NewLimiter(rdb2, prefix)
	l1.clock, l2.clock = clock, clock
	lim := RateLimit{PerSecond: 100, Burst: 1, PerChat: 300 * time.Millisecond}
	ctx := context.Background()

	// 101 sends to as many chats through both limiters at one moment: each
	// gets a slot of its own, 10 ms after the one before, the first at once.
	const sends = 101
	began := clock.Now()
	slots := make(chan time.Time, sends)
	errs := make(chan error, sends)
	for i := range sends {
		l := l1
		if i%2 == 1 {
			l = l2
		}
		go func() {
			wait, reserved, _, err := l.Reserve(ctx, core.ChannelTelegram, fmt.Sprint("chat", i), lim, 5*time.Second)
			if err == nil && !reserved {
				err = fmt.Errorf("send %d not reserved, wait %v", i, wait)
			}
			errs <- err
			slots <- began.Add(wait)
		}()
	}
	var at []time.Time
	for range sends {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		at = append(at, <-slots)
	}
	slices.SortFunc(at, time.Time.Compare)
	for i, slot := range at {
		if want := began.Add(time.Duration(i) * 10 * time.Millisecond); !slot.Equal(want) {
			t.Fatalf("slot %d at %v after the start, want %v", i, slot.Sub(began), want.Sub(began))
		}
	}

	// One chat: the second message waits its turn, 300 ms on the clock.
	clock.Advance(2 * time.Second) // past the slots above
	if later, err := l1.Wait(ctx, core.ChannelTelegram, "one", lim, time.Second, time.Second); err != nil || later != 0 {
		t.Fatalf("the chat's first message: %v, %v", later, err)
	}
	turn := clock.Now()
	waited := make(chan error, 1)
	go func() {
		later, err := l2.Wait(ctx, core.ChannelTelegram, "one", lim, time.Second, time.Second)
		if err == nil && later != 0 {
			err = fmt.Errorf("put back for %v", later)
		}
		waited <- err
	}()
	clock.BlockUntil(t, 1)
	if w := clock.LastWait(); w != lim.PerChat {
		t.Fatalf("the chat's second message waits %v, want %v", w, lim.PerChat)
	}
	clock.Advance(lim.PerChat)
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(patience):
		t.Fatal("the chat's second message did not go on its turn")
	}
	if went := clock.Now().Sub(turn); went != lim.PerChat {
		t.Errorf("the chat's second message went %v after the first, want %v", went, lim.PerChat)
	}

	// A wait longer than the budget is not reserved, and says how long.
	later, err := l1.Wait(ctx, core.ChannelTelegram, "one", lim, 10*time.Millisecond, 10*time.Millisecond)
	if err != nil || later != lim.PerChat {
		t.Errorf("over budget: %v, %v; want %v", later, err, lim.PerChat)
	}
}

// Ping answers through the Runner's own client: with its address and its
// database (and password).
func TestPingUsesTheRunnersConnection(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	if err := New(cfg, Deps{}).Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	wrong := cfg
	wrong.RedisDB = 100000 // beyond any Redis's databases
	if err := New(wrong, Deps{}).Ping(ctx); err == nil {
		t.Error("ping of a database the Redis does not have: no error")
	}
}
