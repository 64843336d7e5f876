package web

import (
	"context"
	"edobot/core"
	"edobot/storage/storagetest"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestParseRateLimit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want RateLimit
		ok   bool
	}{
		{"20/s:100,200/s:400", RateLimit{PerAddr: Rate{20, 100}, PerLink: Rate{200, 400}, set: true}, true},
		{"30/m,2/s", RateLimit{PerAddr: Rate{0.5, 1}, PerLink: Rate{2, 2}, set: true}, true},
		{"off", RateLimit{set: true}, true},
		{"off,5/s:9", RateLimit{PerLink: Rate{5, 9}, set: true}, true},
		{"20/s", RateLimit{}, false},
		{"20/h,1/s", RateLimit{}, false},
		{"-1/s,1/s", RateLimit{}, false},
		{"1/s:0,1/s", RateLimit{}, false},
	} {
		got, err := ParseRateLimit(tt.in)
		if (err == nil) != tt.ok || tt.ok && got != tt.want {
			t.Errorf("ParseRateLimit(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	for _, tt := range []struct {
		remote, xff string
		trusted     []netip.Prefix
		want        string
	}{
		{"203.0.113.7:5000", "", nil, "203.0.113.7"},
		{"127.0.0.1:5000", "198.51.100.1", nil, "127.0.0.1"}, // no trusted proxy: the header is anyone's to write
		{"203.0.113.7:5000", "198.51.100.1", proxies, "203.0.113.7"},
		{"127.0.0.1:5000", "198.51.100.1", proxies, "198.51.100.1"},
		{"127.0.0.1:5000", "6.6.6.6, 198.51.100.1, 10.1.2.3", proxies, "198.51.100.1"}, // the client wrote the first
		{"127.0.0.1:5000", "garbage, 10.1.2.3", proxies, "10.1.2.3"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", nil, "2001:db8:1:2::/64"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := clientAddr(r, tt.trusted); got != tt.want {
			t.Errorf("%s via %q: %s, want %s", tt.remote, tt.xff, got, tt.want)
		}
	}
}

// TestRateLimits drives the limits with a clock of its own.
func TestRateLimits(t *testing.T) {
	f := storagetest.NewFixture(t)
	f.Wire(func(deps *core.Deps) { deps.Egov = f.DB })
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc, Clock: clock,
		Limits: Limits{Rates: RateLimits{
			View:   RateLimit{PerAddr: Rate{1, 2}, PerLink: Rate{1, 4}, set: true},
			Status: RateLimit{PerAddr: Rate{1, 1}, PerLink: Rate{100, 100}, set: true},
			Sign:   RateLimit{PerAddr: Rate{1.0 / 60, 1}, PerLink: Rate{100, 100}, set: true},
		}, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}}}
	var pings atomic.Int32
	s.Checks = []Check{{Name: "postgres", Ping: func(context.Context) error { pings.Add(1); return nil }}}
	h := s.Handler()
	d := f.Create(t)
	do := func(method, path, from, xff string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = from + ":40000"
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	view := "/d/" + d.LinkToken

	// One address: its burst of 2, then 429 with the time until the next.
	for i := range 2 {
		if w := do("GET", view, "203.0.113.1", ""); w.Code != 200 {
			t.Fatalf("view %d: %d", i, w.Code)
		}
	}
	w := do("GET", view, "203.0.113.1", "")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" ||
		!strings.Contains(w.Body.String(), "Слишком много запросов") || !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("over the address's limit: %d %q %.300s", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
	// X-Forwarded-For from an untrusted peer changes nothing.
	if w := do("GET", view, "203.0.113.1", "198.51.100.9"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("a forged X-Forwarded-For: %d", w.Code)
	}
	// Another address still gets in, until the link's own limit (4) is used.
	if w := do("GET", view, "203.0.113.2", ""); w.Code != 200 {
		t.Fatalf("another address: %d", w.Code)
	}
	// Behind the trusted proxy each forwarded client counts for itself.
	if w := do("GET", view, "10.0.0.1", "198.51.100.7"); w.Code != 200 {
		t.Fatalf("through the proxy: %d", w.Code)
	}
	if w := do("GET", view, "10.0.0.1", "198.51.100.8"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("the link's limit of 4: %d", w.Code)
	}
	// A second later every bucket has a token again.
	clock.Advance(time.Second)
	if w := do("GET", view, "203.0.113.1", ""); w.Code != 200 {
		t.Fatalf("a second later: %d", w.Code)
	}

	// Status polls: JSON, with the code and the message in the caller's language.
	if w := do("GET", view+"/status?version=0", "203.0.113.3", ""); w.Code != 200 {
		t.Fatalf("status: %d", w.Code)
	}
	w = do("GET", view+"/status?version=0", "203.0.113.3", "")
	var body struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusTooManyRequests || body.Error.Code != "too_many_requests" || body.Error.Message == "" || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("status over the limit: %d %s", w.Code, w.Body.String())
	}

	// eGov sessions: one a minute per address here.
	if w := do("POST", view+"/egov", "203.0.113.4", ""); w.Code != http.StatusCreated {
		t.Fatalf("egov: %d %s", w.Code, w.Body.String())
	}
	w = do("POST", view+"/egov", "203.0.113.4", "")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
		t.Fatalf("a second eGov session at once: %d %q", w.Code, w.Header().Get("Retry-After"))
	}
	clock.Advance(time.Minute)
	if w := do("POST", view+"/egov", "203.0.113.4", ""); w.Code != http.StatusCreated {
		t.Fatalf("egov a minute later: %d", w.Code)
	}

	// The home page runs the readiness checks: limited as a page view.
	for i := range 2 {
		if w := do("GET", "/", "203.0.113.5", ""); w.Code != 200 {
			t.Fatalf("home %d: %d", i, w.Code)
		}
	}
	if w := do("GET", "/", "203.0.113.5", ""); w.Code != http.StatusTooManyRequests {
		t.Fatalf("the home page over the address's limit: %d", w.Code)
	}
	if n := pings.Load(); n != 2 {
		t.Fatalf("the readiness checks ran %d times for 2 home pages", n)
	}
}

func TestBucketsForgetFullBuckets(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	b := newBuckets(Rate{10, 10})
	for i := range 5000 {
		b.take(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}).String(), now)
		if i%100 == 0 {
			now = now.Add(time.Second) // the older buckets refill
		}
	}
	if n := len(b.m); n > 2048 {
		t.Fatalf("%d buckets kept for 5000 clients, most of them long refilled", n)
	}
}
