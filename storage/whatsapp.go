package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// MenuChoice is one numbered line of a WhatsApp screen: the label the person
// may type instead of its number, and what choosing it means to the flow.
type MenuChoice struct {
	Label string `json:"label"`
	Data  string `json:"data"`
}

// SaveMenu replaces the last menu a WhatsApp chat was shown.
func (db *DB) SaveMenu(ctx context.Context, chatUserID int64, choices []MenuChoice) error {
	if choices == nil {
		choices = []MenuChoice{}
	}
	data, err := json.Marshal(choices)
	if err != nil {
		return fmt.Errorf("save menu: %w", err)
	}
	_, err = db.Pool.Exec(ctx, `INSERT INTO whatsapp_menus (chat_user_id, choices, updated_at) VALUES ($1, $2, now())
		ON CONFLICT (chat_user_id) DO UPDATE SET choices = EXCLUDED.choices, updated_at = now()`, chatUserID, data)
	if err != nil {
		return fmt.Errorf("save menu: %w", err)
	}
	return nil
}

// Menu reads the last menu a WhatsApp chat was shown; none yet is an empty
// one.
func (db *DB) Menu(ctx context.Context, chatUserID int64) ([]MenuChoice, error) {
	var data []byte
	err := db.Pool.QueryRow(ctx, `SELECT choices FROM whatsapp_menus WHERE chat_user_id = $1`, chatUserID).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("menu: %w", err)
	}
	var out []MenuChoice
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("menu %d: %w", chatUserID, err)
	}
	return out, nil
}
