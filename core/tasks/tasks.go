// Package tasks has Group, a set of goroutines that can be closed: closing
// refuses new ones and waits for those running. serve's owners of work
// (the HTTP requests, the jobs' handlers, the bots' updates, the brokered
// signings) are each one.
package tasks

import "sync"

// Group counts the work running in it. The zero Group is open.
type Group struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Enter counts one more piece of work, which must Leave; false (and
// nothing counted) once the group is closed.
func (g *Group) Enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	return true
}

// Leave ends a piece of work Enter counted.
func (g *Group) Leave() { g.wg.Done() }

// Go runs f in a goroutine of the group; false once the group is closed.
func (g *Group) Go(f func()) bool {
	if !g.Enter() {
		return false
	}
	go func() {
		defer g.Leave()
		f()
	}()
	return true
}

// Wait blocks until no work is running.
func (g *Group) Wait() { g.wg.Wait() }

// Refuse makes the group refuse new work, without waiting: the owner may
// then tell the running work to stop before it waits.
func (g *Group) Refuse() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// Close refuses new work and waits for the work running. It may be called
// more than once.
func (g *Group) Close() {
	g.Refuse()
	g.wg.Wait()
}
