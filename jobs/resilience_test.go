package jobs

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"edobot/bot/telegram/tgtest"
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
	eventually(r.tb, 5*time.Second, "redis-server up", func() bool { return c.Ping(context.Background()).Err() == nil })
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
	f := coretest.New(t)
	drainOutbox(t, f.DB)
	srv := tgtest.New(t)
	a := newChatUser(t, f.DB, srv, f.Sender.OrgID, "ru")
	b := newChatUser(t, f.DB, srv, f.Recipient.OrgID, "kk")
	rds := newOwnRedis(t)
	cfg := testConfig(t)
	cfg.RedisAddr, cfg.RedisDB = rds.addr(), 0
	start(t, cfg, f.DB, map[string]Messenger{core.ChannelTelegram: newTGMessenger(t, srv)})

	docs := []*core.Document{f.Create(t), f.Create(t)}
	srv.WaitCount(t, a.TG.ID, 2)
	srv.WaitCount(t, b.TG.ID, 2)

	rds.stop()
	for _, d := range docs {
		f.Sign(t, d.ID, core.SideRecipient)
		f.Sign(t, d.ID, core.SideSender)
	}
	time.Sleep(500 * time.Millisecond)
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
	time.Sleep(500 * time.Millisecond)
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
// rate between them, and a chat's own spacing.
func TestLimiterSharedAcrossInstances(t *testing.T) {
	cfg := testConfig(t)
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, DB: cfg.RedisDB})
	defer rdb.Close()
	prefix := "edobot:" + cfg.QueuePrefix
	l1, l2 := NewLimiter(rdb, prefix), NewLimiter(redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, DB: cfg.RedisDB}), prefix)
	lim := RateLimit{PerSecond: 100, Burst: 1, PerChat: 300 * time.Millisecond}
	ctx := context.Background()
	const sends = 101
	began := time.Now()
	done := make(chan error, sends)
	for i := range sends {
		l := l1
		if i%2 == 1 {
			l = l2
		}
		go func() {
			later, err := l.Wait(ctx, core.ChannelTelegram, fmt.Sprint("chat", i), lim, 5*time.Second, 5*time.Second)
			if err == nil && later > 0 {
				err = fmt.Errorf("put back for %v", later)
			}
			done <- err
		}()
	}
	for range sends {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// 101 sends at 100/s take a second: the first goes at once.
	if took := time.Since(began); took < 950*time.Millisecond || took > 1500*time.Millisecond {
		t.Errorf("%d sends at %v/s took %v", sends, lim.PerSecond, took)
	}
	// One chat: the second message waits its turn.
	if _, err := l1.Wait(ctx, core.ChannelTelegram, "one", lim, time.Second, time.Second); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	if _, err := l2.Wait(ctx, core.ChannelTelegram, "one", lim, time.Second, time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 250*time.Millisecond {
		t.Errorf("the chat's second message went after %v", took)
	}
	// A wait longer than the budget is not reserved, and says how long.
	later, err := l1.Wait(ctx, core.ChannelTelegram, "one", lim, 10*time.Millisecond, 10*time.Millisecond)
	if err != nil || later <= 0 {
		t.Errorf("over budget: %v, %v", later, err)
	}
}
