package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"edobot/core"
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

// SaveInbound keeps a message WhatsApp delivered until it is handled; fresh
// is false when it was kept before (WhatsApp delivered it again).
func (db *DB) SaveInbound(ctx context.Context, m *core.InboundMessage) (fresh bool, err error) {
	err = db.pool().QueryRow(ctx, `INSERT INTO whatsapp_inbox (id, person, alias, name, message, edit, received_at, chat, sender, message_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING RETURNING seq`,
		m.ID, m.Person, m.Alias, m.Name, m.Payload, m.Edit, m.ReceivedAt, m.Chat, m.Sender, m.MessageID).Scan(&m.Seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("save inbound message: %w", err)
	}
	return true, nil
}

// PendingInbound lists the kept messages not handled yet that arrived after
// seq, in the order they arrived.
func (db *DB) PendingInbound(ctx context.Context, after int64, limit int) ([]core.InboundMessage, error) {
	rows, err := db.pool().Query(ctx, `SELECT seq, id, person, alias, name, message, edit, received_at, chat, sender, message_id FROM whatsapp_inbox
		WHERE handled_at IS NULL AND seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("pending inbound messages: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.InboundMessage, error) {
		var m core.InboundMessage
		err := r.Scan(&m.Seq, &m.ID, &m.Person, &m.Alias, &m.Name, &m.Payload, &m.Edit, &m.ReceivedAt, &m.Chat, &m.Sender, &m.MessageID)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("pending inbound messages: %w", err)
	}
	return out, nil
}

// InboundHandled records that a kept message was handled; DeleteExpired
// forgets it later.
func (db *DB) InboundHandled(ctx context.Context, seq int64, at time.Time) error {
	if _, err := db.pool().Exec(ctx, `UPDATE whatsapp_inbox SET handled_at = $2 WHERE seq = $1`, seq, at); err != nil {
		return fmt.Errorf("inbound message handled: %w", err)
	}
	return nil
}
