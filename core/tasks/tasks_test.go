package tasks_test

import (
	"testing"

	"edobot/core/tasks"
)

// Close waits for the work running and refuses new work.
func TestGroupClose(t *testing.T) {
	var g tasks.Group
	started, release := make(chan struct{}), make(chan struct{})
	finished := false
	if !g.Go(func() { close(started); <-release; finished = true }) {
		t.Fatal("an open group refused work")
	}
	<-started
	if !g.Enter() {
		t.Fatal("an open group refused to count work")
	}
	g.Leave()
	closed := make(chan struct{})
	go func() { g.Close(); close(closed) }()
	close(release)
	<-closed
	if !finished {
		t.Fatal("Close returned before the work did")
	}
	if g.Go(func() { t.Error("ran after Close") }) || g.Enter() {
		t.Fatal("a closed group took work")
	}
	g.Close() // again: nothing to wait for
}
