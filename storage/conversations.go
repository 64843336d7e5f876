package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"edobot/core"
)

// Conversation reads where a person is; a person never seen in a flow is at
// the empty step, version 0.
func (db *DB) Conversation(ctx context.Context, chatUserID int64) (core.Conversation, error) {
	c := core.Conversation{ChatUserID: chatUserID}
	err := db.pool().QueryRow(ctx, `SELECT step, data, version FROM conversations WHERE chat_user_id = $1`, chatUserID).
		Scan(&c.Step, &c.Data, &c.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("conversation: %w", err)
	}
	return c, nil
}

// SaveConversation writes the next state if nobody moved the conversation
// since c was read, and bumps c.Version.
func (db *DB) SaveConversation(ctx context.Context, c *core.Conversation) (bool, error) {
	data := c.Data
	if len(data) == 0 {
		data = []byte("{}")
	}
	var tag interface{ RowsAffected() int64 }
	var err error
	if c.Version == 0 {
		tag, err = db.pool().Exec(ctx, `INSERT INTO conversations (chat_user_id, step, data, version) VALUES ($1, $2, $3, 1)
			ON CONFLICT (chat_user_id) DO NOTHING`, c.ChatUserID, c.Step, data)
	} else {
		tag, err = db.pool().Exec(ctx, `UPDATE conversations SET step = $2, data = $3, version = version + 1, updated_at = now()
			WHERE chat_user_id = $1 AND version = $4`, c.ChatUserID, c.Step, data, c.Version)
	}
	if err != nil {
		return false, fmt.Errorf("save conversation: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return false, nil
	}
	c.Version++
	return true, nil
}

// InsertAuthChallenge stores a new identity challenge.
func (db *DB) InsertAuthChallenge(ctx context.Context, idHash []byte, chatUserID int64, challenge []byte, createdAt, expiresAt time.Time) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO auth_challenges (id_hash, chat_user_id, challenge, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		idHash, chatUserID, challenge, createdAt, expiresAt)
	if err != nil {
		return fmt.Errorf("insert auth challenge: %w", err)
	}
	return nil
}

// AuthChallengeByHash reads a challenge.
func (db *DB) AuthChallengeByHash(ctx context.Context, idHash []byte) (int64, []byte, []byte, time.Time, bool, error) {
	var user int64
	var challenge, token []byte
	var expires time.Time
	var used bool
	err := db.pool().QueryRow(ctx, `SELECT chat_user_id, challenge, token_hash, expires_at, used_at IS NOT NULL FROM auth_challenges WHERE id_hash = $1`,
		idHash).Scan(&user, &challenge, &token, &expires, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, nil, time.Time{}, false, core.ErrEgovSession
	}
	if err != nil {
		return 0, nil, nil, time.Time{}, false, fmt.Errorf("auth challenge: %w", err)
	}
	return user, challenge, token, expires, used, nil
}

// SetAuthToken replaces the challenge's one-time eGov token.
func (db *DB) SetAuthToken(ctx context.Context, idHash, tokenHash []byte) error {
	return authChallenges.setToken(ctx, db, idHash, tokenHash)
}

// UseAuthChallenge marks the challenge used, once.
func (db *DB) UseAuthChallenge(ctx context.Context, idHash []byte, now time.Time) (bool, error) {
	return authChallenges.use(ctx, db, idHash, now)
}
