package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"edobot/core"
)

var _ core.ESFLinkStore = (*DB)(nil)

func (db *DB) InsertESFLink(ctx context.Context, idHash []byte, l core.ESFLink, now time.Time) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO esf_links (id_hash, kind, chat_user_id, data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		idHash, string(l.Kind), l.ChatUserID, l.Data, now, l.ExpiresAt)
	if err != nil {
		return fmt.Errorf("insert esf link: %w", err)
	}
	return nil
}

func (db *DB) ESFLink(ctx context.Context, idHash []byte) (core.ESFLink, error) {
	var l core.ESFLink
	var kind string
	err := db.pool().QueryRow(ctx, `SELECT kind, chat_user_id, data, token_hash, expires_at, used_at IS NOT NULL FROM esf_links WHERE id_hash = $1`,
		idHash).Scan(&kind, &l.ChatUserID, &l.Data, &l.TokenHash, &l.ExpiresAt, &l.Used)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, core.ErrNotFound
	}
	if err != nil {
		return l, fmt.Errorf("esf link: %w", err)
	}
	l.Kind = core.ESFLinkKind(kind)
	return l, nil
}

func (db *DB) SetESFLinkToken(ctx context.Context, idHash, tokenHash []byte) error {
	return esfLinks.setToken(ctx, db, idHash, tokenHash)
}

func (db *DB) UseESFLink(ctx context.Context, idHash []byte, now time.Time) (bool, error) {
	return esfLinks.use(ctx, db, idHash, now)
}
