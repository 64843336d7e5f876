package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"edobot/core"
)

var _ core.CardStore = (*DB)(nil)

// CardFor returns the blob of a document's card in a final state.
func (db *DB) CardFor(ctx context.Context, documentID uuid.UUID, state string) (string, bool, error) {
	var sum string
	err := db.Pool.QueryRow(ctx, `SELECT sha256 FROM document_cards WHERE document_id = $1 AND state = $2`, documentID, state).Scan(&sum)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("card of %s: %w", documentID, err)
	}
	return sum, true, nil
}

// PutCard records the blob of a document's card. Two requests may draw the
// same card at once: the first recorded stays, so every later download gets
// the same bytes.
func (db *DB) PutCard(ctx context.Context, documentID uuid.UUID, state, sha256 string) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO document_cards (document_id, state, sha256) VALUES ($1, $2, $3)
		ON CONFLICT (document_id, state) DO NOTHING`, documentID, state, sha256)
	if err != nil {
		return fmt.Errorf("record card of %s: %w", documentID, err)
	}
	return nil
}
