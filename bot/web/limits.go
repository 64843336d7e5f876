package web

import (
	"net/netip"
	"time"
)

// Limits bound what one client, and all of them together, may hold of the
// server: connections, time, requests and page renders. The zero value of a
// field is its default (DefaultLimits); the binary's configuration fills
// them from its variables.
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
