package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"edobot/core"
	"edobot/storage"
	"edobot/storage/storagetest"
)

// A server that cannot be reached, or that ended the connection, is told
// apart from every other failure: the store's error is
// core.ErrStoreUnavailable.
func TestUnavailableTellsAServerOutOfReach(t *testing.T) {
	ctx := context.Background()
	down := storagetest.Unreachable(t)
	_, err := down.OrganisationByID(ctx, 1)
	if !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("closed port, read: %v", err)
	}
	err = down.InTx(ctx, func(core.Tx) error { return nil })
	if !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("closed port, transaction: %v", err)
	}

	one := storagetest.OneConnection(t)
	if _, err := one.Document(ctx, [16]byte{1}); !errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("a live server: %v", err)
	}
	storagetest.Terminate(t, one)
	_, err = one.Document(ctx, [16]byte{1})
	if !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("terminated backend: %v (%T)", err, errors.Unwrap(err))
	}
	// The pool dials afresh: the next request is served.
	if _, err := one.Document(ctx, [16]byte{1}); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("after the reconnect: %v", err)
	}

	// What is not about reaching the server is not unavailability.
	db := storagetest.DB(t)
	_, syntax := db.Pool.Exec(ctx, `SELEC 1`)
	_, text := db.Pool.Exec(ctx, `SELECT $1::text`, "a\x00b")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, gaveUp := db.Document(cancelled, [16]byte{1})
	for _, err := range []error{syntax, text, gaveUp, core.ErrNotFound, fmt.Errorf("wrapped: %w", core.ErrStale)} {
		if err == nil || errors.Is(storage.MarkUnavailable(err), core.ErrStoreUnavailable) {
			t.Errorf("%v counted as the server out of reach", err)
		}
	}
}
