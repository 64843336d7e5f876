package storage

import (
	"context"
	"fmt"

	"edobot/core"
)

// EnsureChatUser finds the person by channel and external id, creating the
// row on first contact; a later contact refreshes the display name only.
func (db *DB) EnsureChatUser(ctx context.Context, u *core.ChatUser) error {
	var iin *string
	var orgID *int64
	err := db.Pool.QueryRow(ctx, `
		INSERT INTO chat_users (channel, external_id, name, language) VALUES ($1, $2, $3, $4)
		ON CONFLICT (channel, external_id) DO UPDATE SET name = EXCLUDED.name
		RETURNING id, iin, org_id, language, created_at`,
		u.Channel, u.ExternalID, u.Name, u.Language).Scan(&u.ID, &iin, &orgID, &u.Language, &u.CreatedAt)
	if err != nil {
		return fmt.Errorf("chat user: %w", err)
	}
	u.IIN, u.OrgID = "", 0
	if iin != nil {
		u.IIN = *iin
	}
	if orgID != nil {
		u.OrgID = *orgID
	}
	return nil
}

// SetChatLanguage stores the language the person chose.
func (db *DB) SetChatLanguage(ctx context.Context, id int64, lang string) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE chat_users SET language = $2 WHERE id = $1`, id, lang)
	if err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return core.ErrNotFound
	}
	return nil
}
