package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SwapLiveScreen stores a chat's live screen and returns the one before it.
// The row is locked while it is read and written, so of two instances
// drawing screens into one chat each takes the buttons off the one the
// other drew before.
func (db *DB) SwapLiveScreen(ctx context.Context, channel, externalID string, messageID int64) (int64, error) {
	for {
		var prev int64
		err := db.pool().QueryRow(ctx, `
			UPDATE chat_screens c SET message_id = $3, updated_at = now()
			FROM (SELECT channel, external_id, message_id FROM chat_screens
				WHERE channel = $1 AND external_id = $2 FOR UPDATE) old
			WHERE c.channel = old.channel AND c.external_id = old.external_id
			RETURNING old.message_id`, channel, externalID, messageID).Scan(&prev)
		if err == nil {
			return prev, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("swap live screen: %w", err)
		}
		tag, err := db.pool().Exec(ctx, `INSERT INTO chat_screens (channel, external_id, message_id) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, channel, externalID, messageID)
		if err != nil {
			return 0, fmt.Errorf("insert live screen: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return 0, nil
		}
		// Another instance inserted the row first: swap with it.
	}
}
