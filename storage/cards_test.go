package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"edobot/core"
	"edobot/storage"
	"edobot/storage/storagetest"
)

func putBlob(t *testing.T, db *storage.DB, content []byte) string {
	t.Helper()
	sum := sha256.Sum256(content)
	h := hex.EncodeToString(sum[:])
	if err := (storage.Blobs{DB: db}).Put(context.Background(), h, int64(len(content)), bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestCardCache(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	d := f.InStatus(t, core.StatusSigned, core.SideSender)

	if _, ok, err := f.DB.CachedDownload(ctx, d.ID, "card", "signed"); err != nil || ok {
		t.Fatalf("a card before any was drawn: %v %v", ok, err)
	}
	first := putBlob(t, f.DB, []byte("%PDF card one"))
	if err := f.DB.PutDownload(ctx, d.ID, "card", "signed", first); err != nil {
		t.Fatal(err)
	}
	// A card drawn at the same time by another request does not replace it.
	if err := f.DB.PutDownload(ctx, d.ID, "card", "signed", putBlob(t, f.DB, []byte("%PDF card two"))); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := f.DB.CachedDownload(ctx, d.ID, "card", "signed"); err != nil || !ok || got != first {
		t.Fatalf("CachedDownload = %q %v %v, want %q", got, ok, err, first)
	}
	if _, ok, _ := f.DB.CachedDownload(ctx, d.ID, "card", "revoked"); ok {
		t.Fatal("the signed card answers for the revoked state")
	}
	// Only final states are kept, and only cards that are stored blobs.
	if err := f.DB.PutDownload(ctx, d.ID, "card", "signing", first); err == nil {
		t.Error("a card of a non-final state was kept")
	}
	if err := f.DB.PutDownload(ctx, d.ID, "card", "revoked", "0000000000000000000000000000000000000000000000000000000000000000"); err == nil {
		t.Error("a card without its blob was recorded")
	}
}
