package web

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Limits bound what one client, and all of them together, may hold of the
// server: connections, time, requests and page renders. The zero value of a
// field is its default (DefaultLimits); LimitsFromEnv reads them from the
// environment, README's configuration table lists the variables.
type Limits struct {
	// MaxConns caps open connections; further ones wait in the listen
	// backlog until one closes.
	MaxConns int
	// HeaderTimeout bounds reading a request's headers; IdleTimeout a
	// keep-alive connection between requests.
	HeaderTimeout, IdleTimeout time.Duration
	// RequestTimeout is what any request gets to send its body and to start
	// its answer. Bodies and answers beyond it must keep to MinRate bytes a
	// second on average (a 15 MB upload or download on a slow phone), and
	// none may take longer than TransferMax. A route that waits before it
	// answers (the status long poll, a page render) adds its wait.
	RequestTimeout time.Duration
	MinRate        int64
	TransferMax    time.Duration

	// Rate limits of the anonymous endpoints, per client address and per
	// link; see RateLimits.
	Rates RateLimits
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; without any, the client is the connection's address.
	TrustedProxies []netip.Prefix

	// Page images: at most RenderConcurrency pdftoppm at once, each for at
	// most RenderTimeout, RenderCPU seconds of CPU and RenderMemory bytes of
	// address space; the rendered pages kept on disk stay under
	// PageCacheSize bytes, the oldest removed first.
	RenderConcurrency int
	RenderTimeout     time.Duration
	RenderCPU         time.Duration
	RenderMemory      int64
	PageCacheSize     int64
}

// DefaultLimits fit one modest machine behind a reverse proxy.
func DefaultLimits() Limits {
	return Limits{
		MaxConns:          1024,
		HeaderTimeout:     10 * time.Second,
		IdleTimeout:       60 * time.Second,
		RequestTimeout:    30 * time.Second,
		MinRate:           16 << 10,
		TransferMax:       15 * time.Minute,
		Rates:             DefaultRates(),
		RenderConcurrency: 2,
		RenderTimeout:     20 * time.Second,
		RenderCPU:         10 * time.Second,
		RenderMemory:      1 << 30,
		PageCacheSize:     512 << 20,
	}
}

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	pick := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	if l.MaxConns == 0 {
		l.MaxConns = d.MaxConns
	}
	pick(&l.HeaderTimeout, d.HeaderTimeout)
	pick(&l.IdleTimeout, d.IdleTimeout)
	pick(&l.RequestTimeout, d.RequestTimeout)
	pick(&l.TransferMax, d.TransferMax)
	pick(&l.RenderTimeout, d.RenderTimeout)
	pick(&l.RenderCPU, d.RenderCPU)
	if l.MinRate == 0 {
		l.MinRate = d.MinRate
	}
	if l.RenderConcurrency == 0 {
		l.RenderConcurrency = d.RenderConcurrency
	}
	if l.RenderMemory == 0 {
		l.RenderMemory = d.RenderMemory
	}
	if l.PageCacheSize == 0 {
		l.PageCacheSize = d.PageCacheSize
	}
	l.Rates = l.Rates.withDefaults()
	return l
}

// LimitsFromEnv reads the limits; a bad value is an error naming its
// variable, and an unset one keeps its default.
func LimitsFromEnv(getenv func(string) string) (Limits, error) {
	l := DefaultLimits()
	var errs []error
	num := func(name string, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: not a whole number above 0", name, v))
				return
			}
			*dst = n
		}
	}
	size := func(name string, dst *int64) {
		if v := getenv(name); v != "" {
			n, err := parseSize(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
				return
			}
			*dst = n
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: not a duration like 30s or 15m", name, v))
				return
			}
			*dst = d
		}
	}
	rate := func(name string, dst *RateLimit) {
		if v := getenv(name); v != "" {
			r, err := ParseRateLimit(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
				return
			}
			*dst = r
		}
	}
	num("EDOBOT_HTTP_MAX_CONNS", &l.MaxConns)
	dur("EDOBOT_HTTP_HEADER_TIMEOUT", &l.HeaderTimeout)
	dur("EDOBOT_HTTP_IDLE_TIMEOUT", &l.IdleTimeout)
	dur("EDOBOT_HTTP_REQUEST_TIMEOUT", &l.RequestTimeout)
	size("EDOBOT_HTTP_MIN_RATE", &l.MinRate)
	dur("EDOBOT_HTTP_TRANSFER_MAX", &l.TransferMax)
	rate("EDOBOT_RATE_VIEW", &l.Rates.View)
	rate("EDOBOT_RATE_STATUS", &l.Rates.Status)
	rate("EDOBOT_RATE_SIGN", &l.Rates.Sign)
	if v := getenv("EDOBOT_TRUSTED_PROXIES"); v != "" {
		p, err := parseProxies(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("EDOBOT_TRUSTED_PROXIES=%q: %w", v, err))
		}
		l.TrustedProxies = p
	}
	num("EDOBOT_RENDER_CONCURRENCY", &l.RenderConcurrency)
	dur("EDOBOT_RENDER_TIMEOUT", &l.RenderTimeout)
	dur("EDOBOT_RENDER_CPU", &l.RenderCPU)
	size("EDOBOT_RENDER_MEMORY", &l.RenderMemory)
	size("EDOBOT_PAGE_CACHE_SIZE", &l.PageCacheSize)
	return l, errors.Join(errs...)
}

// parseSize reads bytes: "16384", "16K", "512M", "1G" (powers of 1024).
func parseSize(v string) (int64, error) {
	mult := int64(1)
	s := strings.ToUpper(strings.TrimSpace(v))
	s = strings.TrimSuffix(s, "B")
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'K':
			mult, s = 1<<10, s[:n-1]
		case 'M':
			mult, s = 1<<20, s[:n-1]
		case 'G':
			mult, s = 1<<30, s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, errors.New("not a size like 16384, 64K, 512M or 1G")
	}
	return n * mult, nil
}

// parseProxies reads comma-separated addresses or CIDR prefixes.
func parseProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a prefix like 10.0.0.0/8", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
