package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"edobot/core"
)

// chunkSize bounds what one row, and so one buffer, holds of a file.
const chunkSize = 1 << 20

// Blobs keeps files in PostgreSQL in 1 MiB chunks, keyed by SHA-256.
type Blobs struct {
	DB *DB
}

var _ core.BlobStore = Blobs{}

// ErrBlobMissing is returned by Open for a hash that was never stored.
var ErrBlobMissing = errors.New("storage: blob missing")

// Put stores the content under its hash, streaming it in chunks within one
// transaction: a file is there whole or not at all. Content already stored is
// not written again.
func (b Blobs) Put(ctx context.Context, sha256Hex string, size int64, r io.Reader) error {
	t, err := b.DB.pool().Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer t.Rollback(ctx) //nolint:errcheck // no-op after commit
	tag, err := t.Exec(ctx, `INSERT INTO blobs (sha256, size) VALUES ($1, $2) ON CONFLICT DO NOTHING`, sha256Hex, size)
	if err != nil {
		return fmt.Errorf("insert blob: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil // stored before (or by a concurrent upload that committed first)
	}
	buf := make([]byte, chunkSize)
	var written int64
	for seq := 0; ; seq++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if _, err := t.Exec(ctx, `INSERT INTO blob_chunks (sha256, seq, data) VALUES ($1, $2, $3)`, sha256Hex, seq, buf[:n]); err != nil {
				return fmt.Errorf("insert chunk %d: %w", seq, err)
			}
			written += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read file: %w", err)
		}
	}
	if written != size {
		return fmt.Errorf("blob %s: read %d bytes, expected %d", sha256Hex, written, size)
	}
	return t.Commit(ctx)
}

// Open streams a stored file, one chunk in memory at a time.
func (b Blobs) Open(ctx context.Context, sha256Hex string) (io.ReadCloser, error) {
	var size int64
	err := b.DB.pool().QueryRow(ctx, `SELECT size FROM blobs WHERE sha256 = $1`, sha256Hex).Scan(&size)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrBlobMissing, sha256Hex)
	}
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", sha256Hex, err)
	}
	return &blobReader{ctx: ctx, db: b.DB, sha: sha256Hex, size: size}, nil
}

type blobReader struct {
	ctx  context.Context
	db   *DB
	sha  string
	size int64
	seq  int
	read int64
	cur  bytes.Reader
}

func (r *blobReader) Read(p []byte) (int, error) {
	for r.cur.Len() == 0 {
		if r.read >= r.size {
			return 0, io.EOF
		}
		var data []byte
		err := r.db.pool().QueryRow(r.ctx, `SELECT data FROM blob_chunks WHERE sha256 = $1 AND seq = $2`, r.sha, r.seq).Scan(&data)
		if err != nil {
			return 0, fmt.Errorf("blob %s chunk %d: %w", r.sha, r.seq, err)
		}
		r.seq++
		r.read += int64(len(data))
		r.cur.Reset(data)
	}
	return r.cur.Read(p)
}

func (r *blobReader) Close() error { return nil }
