// Package coretest has test helpers for core that need no database: a
// fake clock that notes how long each wait on it is for, and a buffer that
// running code writes while the test reads it.
package coretest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// Patience bounds a test's wait for something that must happen. It only
// costs time when the test fails anyway, so it is generous: a loaded
// machine running the race detector is slow.
const Patience = time.Minute

// Clock is a clock for tests: it stands still until the test advances it
// (clockwork's fake clock), and it notes how long each wait on it is for, so
// that a test checks what the code waited for instead of timing it.
type Clock struct {
	*clockwork.FakeClock
	mu    sync.Mutex
	waits []time.Duration
}

// NewClock starts a test clock at the real time, to the microsecond (what
// PostgreSQL and Redis keep).
func NewClock() *Clock {
	return &Clock{FakeClock: clockwork.NewFakeClockAt(time.Now().Truncate(time.Microsecond))}
}

// NewTimer notes d and starts a timer that fires when the clock reaches it.
func (c *Clock) NewTimer(d time.Duration) clockwork.Timer {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	return c.FakeClock.NewTimer(d)
}

// After is NewTimer's channel.
func (c *Clock) After(d time.Duration) <-chan time.Time { return c.NewTimer(d).Chan() }

// Sleep waits until the clock is advanced by d.
func (c *Clock) Sleep(d time.Duration) { <-c.After(d) }

// LastWait is how long the latest wait on the clock is for.
func (c *Clock) LastWait() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waits) == 0 {
		return 0
	}
	return c.waits[len(c.waits)-1]
}

// BlockUntil returns once n timers wait on the clock, and fails the test
// if that does not happen within Patience.
func (c *Clock) BlockUntil(tb testing.TB, n int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Patience)
	defer cancel()
	if err := c.BlockUntilContext(ctx, n); err != nil {
		tb.Fatalf("no %d waits on the test clock after %v", n, Patience)
	}
}
