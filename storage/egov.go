package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"edobot/core"
)

var _ core.EgovStore = (*DB)(nil)

// InsertEgovSession stores a new signing session.
func (db *DB) InsertEgovSession(ctx context.Context, idHash []byte, documentID uuid.UUID, createdAt, expiresAt time.Time, backURL string) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO egov_sessions (id_hash, document_id, created_at, expires_at, back_url) VALUES ($1, $2, $3, $4, $5)`,
		idHash, documentID, createdAt, expiresAt, backURL)
	if err != nil {
		return fmt.Errorf("insert egov session: %w", err)
	}
	return nil
}

// EgovSessionByHash reads a session.
func (db *DB) EgovSessionByHash(ctx context.Context, idHash []byte) (uuid.UUID, []byte, time.Time, bool, error) {
	var docID uuid.UUID
	var token []byte
	var expires time.Time
	var used bool
	err := db.pool().QueryRow(ctx, `SELECT document_id, token_hash, expires_at, used_at IS NOT NULL FROM egov_sessions WHERE id_hash = $1`,
		idHash).Scan(&docID, &token, &expires, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, nil, time.Time{}, false, core.ErrEgovSession
	}
	if err != nil {
		return uuid.Nil, nil, time.Time{}, false, fmt.Errorf("egov session: %w", err)
	}
	return docID, token, expires, used, nil
}

// SetEgovToken replaces the session's one-time token.
func (db *DB) SetEgovToken(ctx context.Context, idHash, tokenHash []byte) error {
	return egovSessions.setToken(ctx, db, idHash, tokenHash)
}

// UseEgovSession marks the session used, once, and returns where the
// person goes back to.
func (db *DB) UseEgovSession(ctx context.Context, idHash []byte, now time.Time) (string, bool, error) {
	var back string
	err := db.pool().QueryRow(ctx, `UPDATE egov_sessions SET used_at = $2 WHERE id_hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING back_url`, idHash, now).Scan(&back)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("use egov session: %w", err)
	}
	return back, true, nil
}
