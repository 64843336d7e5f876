package web

import (
	"crypto/sha256"
	"errors"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The anonymous endpoints (everything behind a link) are limited per client
// address and per link, in this process, by token buckets of
// golang.org/x/time/rate. In-process, not in Redis: the limits guard this
// process's database connections and CPU, a request pays no Redis round trip
// and the pages keep working while Redis is down; with several instances
// each one allows its own share, which is still a bound.

// Rate is a token bucket: PerSecond on average, Burst at once. The zero
// Rate is no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

func (r Rate) off() bool { return r.PerSecond <= 0 }

// RateLimit limits one kind of anonymous request per client address and
// per link.
type RateLimit struct {
	PerAddr, PerLink Rate
	set              bool // parsed or given, even as "off"
}

// RateLimits are the kinds: page views and downloads, status long polls,
// and starting a signature (an eGov session, an NCALayer CMS).
type RateLimits struct {
	View, Status, Sign RateLimit
}

// DefaultRates let a person open a document, page through it on a phone
// and sign it many times over, an office behind one address open it
// together, and a crowd of a few hundred open one link at once (a page and
// a few page images each); a script hammering a link or the server is
// turned away.
func DefaultRates() RateLimits {
	return RateLimits{
		View:   RateLimit{PerAddr: Rate{50, 200}, PerLink: Rate{300, 1000}, set: true},
		Status: RateLimit{PerAddr: Rate{2, 20}, PerLink: Rate{100, 400}, set: true},
		Sign:   RateLimit{PerAddr: Rate{0.2, 10}, PerLink: Rate{1, 20}, set: true},
	}
}

func (r RateLimits) withDefaults() RateLimits {
	d := DefaultRates()
	for _, p := range []struct{ v, def *RateLimit }{{&r.View, &d.View}, {&r.Status, &d.Status}, {&r.Sign, &d.Sign}} {
		if !p.v.set && p.v.PerAddr == (Rate{}) && p.v.PerLink == (Rate{}) {
			*p.v = *p.def
		}
	}
	return r
}

// NoRateLimits turns every rate limit off (benchmarks, trusted setups).
func NoRateLimits() RateLimits {
	off := RateLimit{set: true}
	return RateLimits{View: off, Status: off, Sign: off}
}

// ParseRateLimit reads "20/s:100,200/s:400": per client address, then per
// link, each a rate per second (/s) or minute (/m) and, after a colon, the
// burst (default: one second's worth, at least 1). "off" is no limit, and
// so is "off" in either place.
func ParseRateLimit(v string) (RateLimit, error) {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "off") {
		return RateLimit{set: true}, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) != 2 {
		return RateLimit{}, errors.New(`want "PER_ADDRESS,PER_LINK" like "20/s:100,200/s:400", or "off"`)
	}
	addr, err := parseRate(parts[0])
	if err != nil {
		return RateLimit{}, err
	}
	link, err := parseRate(parts[1])
	if err != nil {
		return RateLimit{}, err
	}
	return RateLimit{PerAddr: addr, PerLink: link, set: true}, nil
}

func parseRate(v string) (Rate, error) {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "off") {
		return Rate{}, nil
	}
	bad := errors.New(`a rate is like "20/s", "30/m" or "20/s:100" (with a burst of 100)`)
	spec, burstText, hasBurst := strings.Cut(v, ":")
	n, unit, ok := strings.Cut(spec, "/")
	count, err := strconv.ParseFloat(n, 64)
	if !ok || err != nil || count <= 0 || math.IsInf(count, 0) {
		return Rate{}, bad
	}
	r := Rate{}
	switch unit {
	case "s":
		r.PerSecond = count
	case "m":
		r.PerSecond = count / 60
	default:
		return Rate{}, bad
	}
	r.Burst = max(1, int(math.Ceil(r.PerSecond)))
	if hasBurst {
		b, err := strconv.Atoi(burstText)
		if err != nil || b < 1 {
			return Rate{}, bad
		}
		r.Burst = b
	}
	return r, nil
}

// buckets are token buckets by key. A bucket that has refilled is the same
// as none, so sweeping drops those: memory follows the clients of the last
// few seconds, not every client ever seen.
type buckets struct {
	rate  Rate
	mu    sync.Mutex
	m     map[string]*rate.Limiter
	sweep int // sweep when the map reaches this size
}

func newBuckets(r Rate) *buckets {
	return &buckets{rate: r, m: map[string]*rate.Limiter{}, sweep: 1024}
}

// take takes one token for key at now, or says how long until one is there.
func (b *buckets) take(key string, now time.Time) (bool, time.Duration) {
	if b == nil || b.rate.off() {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.m[key]
	if !ok {
		if len(b.m) >= b.sweep {
			b.drop(now)
		}
		l = rate.NewLimiter(rate.Limit(b.rate.PerSecond), b.rate.Burst)
		b.m[key] = l
	}
	r := l.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute
	}
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return false, wait
	}
	return true, 0
}

// drop forgets full buckets; the next sweep waits until the map doubles.
func (b *buckets) drop(now time.Time) {
	for k, l := range b.m {
		if l.TokensAt(now) >= float64(b.rate.Burst) {
			delete(b.m, k)
		}
	}
	b.sweep = max(1024, 2*len(b.m))
}

// limiter holds the buckets of one kind of request.
type limiter struct {
	addr, link *buckets
}

func newLimiter(r RateLimit) *limiter {
	return &limiter{addr: newBuckets(r.PerAddr), link: newBuckets(r.PerLink)}
}

// allow takes a token from the client's bucket and then the link's; a
// client turned away takes nothing from the link, so one client cannot use
// up a link's allowance for everyone else.
func (l *limiter) allow(client, link string, now time.Time) (bool, time.Duration) {
	if ok, wait := l.addr.take(client, now); !ok {
		return false, wait
	}
	return l.link.take(link, now)
}

// clientAddr is the address a request comes from: the connection's, or,
// when the connection is from a trusted proxy, the last address in
// X-Forwarded-For that is not one of the trusted proxies.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	addr := remoteAddr(r)
	if !addr.IsValid() {
		return r.RemoteAddr
	}
	if !isTrusted(addr, trusted) {
		return clientKey(addr)
	}
	hops := r.Header.Values("X-Forwarded-For")
	var list []string
	for _, h := range hops {
		list = append(list, strings.Split(h, ",")...)
	}
	for i := len(list) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(list[i]))
		if err != nil {
			break // a forged or garbled entry: trust nothing before it
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return clientKey(a)
		}
		addr = a
	}
	return clientKey(addr)
}

// clientKey is what a client is counted by: its IPv4 address, or its IPv6
// /64, the least an IPv6 subscriber is given.
func clientKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// rateKind names a RateLimits field.
type rateKind int

const (
	rateView rateKind = iota
	rateStatus
	rateSign
)

func newLimiters(r RateLimits) map[rateKind]*limiter {
	return map[rateKind]*limiter{rateView: newLimiter(r.View), rateStatus: newLimiter(r.Status), rateSign: newLimiter(r.Sign)}
}

// pathSecret is what a request's link (or session) is counted by: a hash of
// the path's token or id, so that a key is small whatever length a caller
// sends.
func pathSecret(r *http.Request) string {
	v := r.PathValue("token")
	if v == "" {
		v = r.PathValue("id")
	}
	h := sha256.Sum256([]byte(v))
	return string(h[:16])
}

// limited turns away, with 429 and Retry-After, a request over its kind's
// limit for the client's address or for the link in its path.
func (s *Server) limited(kind rateKind, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ok, wait := s.limiters[kind].allow(clientAddr(r, s.Limits.TrustedProxies), pathSecret(r), s.now())
		if ok {
			h(w, r)
			return
		}
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		if kind == rateView && r.PathValue("page") == "" { // a page or a download a person opened
			s.noticePage(w, http.StatusTooManyRequests, errTooManyRequests)
			return
		}
		s.refuse(w, r, http.StatusTooManyRequests, errTooManyRequests)
	}
}
