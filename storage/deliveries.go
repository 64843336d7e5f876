package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Delivered reports whether the chat was told of the event already.
func (db *DB) Delivered(ctx context.Context, eventID uuid.UUID, chatUserID int64) (bool, error) {
	var ok bool
	err := db.pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notification_deliveries WHERE event_id = $1 AND chat_user_id = $2)`,
		eventID, chatUserID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("delivered: %w", err)
	}
	return ok, nil
}

// RecordDelivery notes that the chat was told of the event; recording it
// again changes nothing.
func (db *DB) RecordDelivery(ctx context.Context, eventID uuid.UUID, chatUserID int64, at time.Time) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO notification_deliveries (event_id, chat_user_id, delivered_at) VALUES ($1, $2, $3)
		ON CONFLICT (event_id, chat_user_id) DO NOTHING`, eventID, chatUserID, at)
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	return nil
}

// RecordDeliveryFailure notes that the messenger refused to tell the chat of
// the event for good, and why: the delivery counts as done and is not tried
// again. A delivery recorded before stays as it was.
func (db *DB) RecordDeliveryFailure(ctx context.Context, eventID uuid.UUID, chatUserID int64, reason string, at time.Time) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO notification_deliveries (event_id, chat_user_id, delivered_at, failure) VALUES ($1, $2, $3, $4)
		ON CONFLICT (event_id, chat_user_id) DO NOTHING`, eventID, chatUserID, at, reason)
	if err != nil {
		return fmt.Errorf("record delivery failure: %w", err)
	}
	return nil
}
