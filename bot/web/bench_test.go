package web

import (
	"context"
	"edobot/storage/storagetest"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BenchmarkLinkPageCrowd: 200 visitors (each its own user agent) open one
// document's link page at once, over and over, on loopback through the
// server serve runs; then the same crowd asks the REST API for the same
// document. It reports each one's 99th percentile latency and their ratio:
// a view must cost about what a plain read does (target: link p99 under
// 50 ms, at most twice the API's). It also reports how long taking the
// document's row lock, as a signature does, takes while the crowd views.
// Rate limits are off: they would turn a crowd from one address away.
func BenchmarkLinkPageCrowd(b *testing.B) {
	f := storagetest.NewFixture(b)
	d := f.Create(b)
	key, _, err := f.Svc.CreateAPIKey(context.Background(), f.Sender.Number)
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc, Limits: Limits{Rates: NoRateLimits()}}
	url, _ := liveServer(b, s)
	const crowd = 200
	tr := &http.Transport{MaxIdleConns: 2 * crowd, MaxIdleConnsPerHost: 2 * crowd}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	link := func(i int) *http.Request {
		r, _ := http.NewRequest("GET", url+"/d/"+d.LinkToken, nil)
		r.Header.Set("User-Agent", fmt.Sprintf("viewer-%d", i))
		return r
	}
	api := func(i int) *http.Request {
		r, _ := http.NewRequest("GET", url+"/api/v1/documents/"+d.ID.String(), nil)
		r.Header.Set("Authorization", "Bearer "+key)
		r.Header.Set("User-Agent", fmt.Sprintf("accounting-%d", i))
		return r
	}
	do := func(r *http.Request) time.Duration {
		start := time.Now()
		resp, err := client.Do(r)
		if err != nil {
			b.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Errorf("%s: %d", r.URL.Path, resp.StatusCode)
		}
		return time.Since(start)
	}
	// run has the crowd make n requests in all, as fast as each is answered.
	run := func(n int, req func(int) *http.Request) []time.Duration {
		var next atomic.Int64
		lat := make([]time.Duration, n)
		var wg sync.WaitGroup
		for c := range crowd {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					lat[i] = do(req(c))
				}
			})
		}
		wg.Wait()
		slices.Sort(lat)
		return lat
	}
	p := func(lat []time.Duration, q float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*q))]) / float64(time.Millisecond)
	}
	// Every visitor's first view of the day (an audit event each) and the
	// connections come first; the measured views are a crowd's next ones.
	run(2*crowd, link)
	run(2*crowd, api)
	// While the crowd views, what a signature waits for: the document's
	// row lock, taken and given back over and over on a connection of its
	// own (not waiting for one of the pool's).
	conn, err := pgx.ConnectConfig(context.Background(), f.DB.Pool.Config().ConnConfig.Copy())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	lockWait := func(stop <-chan struct{}) []time.Duration {
		var out []time.Duration
		for {
			select {
			case <-stop:
				slices.Sort(out)
				return out
			default:
			}
			start := time.Now()
			tx, err := conn.Begin(context.Background())
			if err != nil {
				b.Error(err)
				return out
			}
			if _, err := tx.Exec(context.Background(), `SELECT 1 FROM documents WHERE id = $1 FOR UPDATE`, d.ID); err != nil {
				b.Error(err)
			}
			_ = tx.Commit(context.Background())
			out = append(out, time.Since(start))
		}
	}
	n := max(b.N, crowd)
	b.ResetTimer()
	stop, locked := make(chan struct{}), make(chan []time.Duration)
	go func() { locked <- lockWait(stop) }()
	views := run(n, link)
	close(stop)
	locks := <-locked
	reads := run(n, api)
	b.StopTimer()
	b.ReportMetric(p(views, 0.5), "link-p50-ms")
	b.ReportMetric(p(views, 0.99), "link-p99-ms")
	b.ReportMetric(p(reads, 0.5), "api-p50-ms")
	b.ReportMetric(p(reads, 0.99), "api-p99-ms")
	b.ReportMetric(p(views, 0.99)/p(reads, 0.99), "link/api-p99")
	if len(locks) > 0 {
		b.ReportMetric(p(locks, 0.99), "lock-p99-ms")
	}
}
