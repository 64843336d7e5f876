package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SaveMenu replaces the last menu a WhatsApp chat was shown: a JSON array
// the WhatsApp adapter owns, like a conversation's data is the flow's own.
func (db *DB) SaveMenu(ctx context.Context, chatUserID int64, choices []byte) error {
	if len(choices) == 0 {
		choices = []byte("[]")
	}
	if !json.Valid(choices) {
		return fmt.Errorf("save menu %d: not JSON", chatUserID)
	}
	_, err := db.pool().Exec(ctx, `INSERT INTO whatsapp_menus (chat_user_id, choices, updated_at) VALUES ($1, $2, now())
		ON CONFLICT (chat_user_id) DO UPDATE SET choices = EXCLUDED.choices, updated_at = now()`, chatUserID, choices)
	if err != nil {
		return fmt.Errorf("save menu: %w", err)
	}
	return nil
}

// Menu reads the last menu a WhatsApp chat was shown; nil when none was.
func (db *DB) Menu(ctx context.Context, chatUserID int64) ([]byte, error) {
	var data []byte
	err := db.pool().QueryRow(ctx, `SELECT choices FROM whatsapp_menus WHERE chat_user_id = $1`, chatUserID).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("menu: %w", err)
	}
	return data, nil
}
