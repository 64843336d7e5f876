package main

import (
	"context"
	"edobot/core/tasks"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/sync/errgroup"
)

// stage is a set of serve's loops that stop together: its context ends
// when serve's shutdown reaches it, and stop waits for every loop of it.
// The loops run in serve's errgroup, so one that fails ends serve.
type stage struct {
	g      *errgroup.Group
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newStage takes parent's values, not its end: a stage ends when stopped.
func newStage(g *errgroup.Group, parent context.Context) *stage {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	return &stage{g: g, ctx: ctx, cancel: cancel}
}

// run starts a loop. Its error, named by what, ends serve; the context's
// own error after stop does not.
func (s *stage) run(what string, loop func(context.Context) error) {
	s.wg.Add(1)
	s.g.Go(func() error {
		defer s.wg.Done()
		err := loop(s.ctx)
		if err == nil || (s.ctx.Err() != nil && errors.Is(err, context.Canceled)) {
			return nil
		}
		return fmt.Errorf("%s: %w", what, err)
	})
}

// stop ends the stage's context and waits for its loops.
func (s *stage) stop() {
	s.cancel()
	s.wg.Wait()
}

// requests owns the goroutines the HTTP server handles requests in:
// http.Server.Shutdown stops waiting for them at its deadline, but they go
// on until they return. close refuses new ones and waits for the rest.
type requests struct{ tasks.Group }

func (q *requests) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !q.Enter() {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		defer q.Leave()
		next.ServeHTTP(w, r)
	})
}

func (q *requests) close() { q.Close() }
