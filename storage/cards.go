package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"edobot/core"
)

var _ core.DownloadCache = (*DB)(nil)

// CachedDownload returns the blob of a document's download of a kind
// ("card", "ezsigner") made in a final state.
func (db *DB) CachedDownload(ctx context.Context, documentID uuid.UUID, kind, state string) (string, bool, error) {
	var sum string
	err := db.pool().QueryRow(ctx, `SELECT sha256 FROM document_downloads WHERE document_id = $1 AND kind = $2 AND state = $3`,
		documentID, kind, state).Scan(&sum)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("%s of %s: %w", kind, documentID, err)
	}
	return sum, true, nil
}

// PutDownload records the blob of a document's download. Two requests may
// make the same one at once: the first recorded stays, so every later
// download gets the same bytes.
func (db *DB) PutDownload(ctx context.Context, documentID uuid.UUID, kind, state, sha256 string) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO document_downloads (document_id, kind, state, sha256) VALUES ($1, $2, $3, $4)
		ON CONFLICT (document_id, kind, state) DO NOTHING`, documentID, kind, state, sha256)
	if err != nil {
		return fmt.Errorf("record %s of %s: %w", kind, documentID, err)
	}
	return nil
}
