package core_test

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"

	"edobot/core"
	"edobot/storage"
	"edobot/storage/storagetest"
)

// countingBlobs counts the reads and writes of the files it keeps.
type countingBlobs struct {
	core.BlobStore
	opens, puts atomic.Int32
}

func (b *countingBlobs) Put(ctx context.Context, sha256Hex string, size int64, r io.Reader) error {
	b.puts.Add(1)
	return b.BlobStore.Put(ctx, sha256Hex, size, r)
}

func (b *countingBlobs) Open(ctx context.Context, sha256Hex string) (io.ReadCloser, error) {
	b.opens.Add(1)
	return b.BlobStore.Open(ctx, sha256Hex)
}

// A chat's file is checked and stored once, when it comes: the document
// made from it steps later neither reads nor stores it again.
func TestStagedFileIsCheckedAndStoredOnce(t *testing.T) {
	f := storagetest.NewFixture(t)
	blobs := &countingBlobs{BlobStore: storage.Blobs{DB: f.DB}}
	f.Wire(func(deps *core.Deps) { deps.Blobs = blobs })
	ctx := context.Background()
	info, _, err := f.Svc.StageDocument(ctx, f.Sender, bytes.NewReader(f.PDF))
	if err != nil {
		t.Fatal(err)
	}
	if n := blobs.puts.Load(); n != 1 {
		t.Fatalf("staging stored the file %d times", n)
	}
	in := f.NewDocument()
	in.IdempotencyKey = "staged-once"
	d, err := f.Svc.CreateStagedDocument(ctx, f.Sender, in, info)
	if err != nil {
		t.Fatal(err)
	}
	if d.File != info || d.Status != core.StatusCreated {
		t.Fatalf("document %+v from staged %+v", d.File, info)
	}
	if opens, puts := blobs.opens.Load(), blobs.puts.Load(); opens != 0 || puts != 1 {
		t.Fatalf("creating from the staged file read it %d and stored it %d more times", opens, puts-1)
	}
	// The same confirm again is the same document.
	again, err := f.Svc.CreateStagedDocument(ctx, f.Sender, in, info)
	if err != nil || again.ID != d.ID {
		t.Fatalf("repeated confirm: %v %v", again, err)
	}
	if _, err := f.Svc.CreateStagedDocument(ctx, f.Sender, f.NewDocument(), core.FileInfo{}); err == nil {
		t.Fatal("a document without a staged file was created")
	}
}
