package jobs

import (
	"slices"
	"testing"
	"time"

	"edobot/bot/telegram/tgtest"
	"edobot/core"
	"edobot/storage/storagetest"
)

// benchConfig keeps the production timings on a test's own queues.
func benchConfig(b *testing.B) Config {
	c := testConfig(b)
	d := DefaultConfig()
	c.RelayInterval, c.QueuePoll, c.DelayedPoll, c.RetryBase = d.RelayInterval, d.QueuePoll, d.DelayedPoll, d.RetryBase
	c.Limits = map[string]RateLimit{core.ChannelTelegram: TelegramLimit}
	return c
}

// A backlog of 5,000 notifications (five events, each to 1,000 chats) with
// Telegram's per-chat limit of one a second and an overall limit of 300/s,
// ten times Telegram's so that the benchmark takes seconds, not minutes:
// the rate reached between the first and the last message, and its share
// of the limit.
func BenchmarkBacklog5000To1000Chats(b *testing.B) {
	const chats, events, rate = 1000, 5, 300.0
	f := storagetest.NewFixture(b)
	srv := tgtest.New(b)
	users := make([]chatUser, chats)
	for i := range users {
		users[i] = newChatUser(b, f.DB, srv, f.Sender.OrgID, "ru")
	}
	cfg := benchConfig(b)
	cfg.Limits[core.ChannelTelegram] = RateLimit{PerSecond: rate, Burst: 5, PerChat: time.Second}
	cfg.Concurrency = 60
	tg := newTGMessenger(b, srv)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		drainOutbox(b, f.DB)
		base := srv.Calls("sendMessage")
		for range events {
			f.Create(b)
		}
		b.StartTimer()
		began := time.Now()
		run := start(b, cfg, f.DB, map[string]Messenger{core.ChannelTelegram: tg})
		deadline := time.Now().Add(2 * time.Minute)
		for srv.Calls("sendMessage")-base < chats*events {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d sent in 2 minutes", srv.Calls("sendMessage")-base, chats*events)
			}
			time.Sleep(10 * time.Millisecond)
		}
		total := time.Since(began)
		b.StopTimer()
		run.stop()
		var first, last time.Time
		sent := 0
		for _, u := range users {
			for _, m := range srv.Messages(u.TG.ID) {
				if m.At.Before(began) {
					continue // an earlier iteration's
				}
				if first.IsZero() || m.At.Before(first) {
					first = m.At
				}
				if m.At.After(last) {
					last = m.At
				}
				sent++
			}
		}
		got := float64(sent-1) / last.Sub(first).Seconds()
		b.ReportMetric(got, "msgs/s")
		b.ReportMetric(got/rate, "of-limit")
		b.ReportMetric(float64(chats*events)/total.Seconds(), "msgs/s-incl-startup")
		b.ReportMetric(counterValue(b, run.metrics.failures.WithLabelValues(core.ChannelTelegram, "rate_limited")), "put-backs")
		if n := srv.Calls("sendMessage") - base; n != chats*events {
			b.Errorf("sendMessage called %d times, want %d", n, chats*events)
		}
		b.StartTimer()
	}
}

// With nothing queued, the time from a signature committing through the
// use case to its message reaching the fake Telegram server.
func BenchmarkNotifyLatency(b *testing.B) {
	const samples = 40
	srv := tgtest.New(b)
	tg := newTGMessenger(b, srv)
	for range b.N {
		b.StopTimer()
		type sample struct {
			f *storagetest.Fixture
			u chatUser
			d *core.Document
		}
		ss := make([]sample, samples)
		for i := range ss {
			f := storagetest.NewFixture(b)
			ss[i] = sample{f: f, u: newChatUser(b, f.DB, srv, f.Recipient.OrgID, "ru")}
		}
		drainOutbox(b, ss[0].f.DB)
		run := start(b, benchConfig(b), ss[0].f.DB, map[string]Messenger{core.ChannelTelegram: tg})
		for i := range ss {
			ss[i].d = ss[i].f.Create(b)
		}
		for _, s := range ss {
			srv.WaitCount(b, s.u.TG.ID, 1)
		}
		time.Sleep(1100 * time.Millisecond) // past each chat's one-a-second spacing: no backlog
		b.StartTimer()
		lat := make([]time.Duration, 0, samples)
		for _, s := range ss {
			t0 := time.Now()
			s.f.Sign(b, s.d.ID, core.SideSender)
			m := srv.WaitCount(b, s.u.TG.ID, 2)[1]
			lat = append(lat, m.At.Sub(t0))
		}
		b.StopTimer()
		run.stop()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
		b.StartTimer()
	}
}
