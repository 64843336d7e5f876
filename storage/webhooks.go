package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"edobot/core"
)

var _ core.WebhookStore = (*DB)(nil)

// SetWebhook stores or replaces an organisation's webhook.
func (db *DB) SetWebhook(ctx context.Context, h core.Webhook) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO webhooks (org_id, url, secret) VALUES ($1, $2, $3)
		ON CONFLICT (org_id) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret, created_at = now()`, h.OrgID, h.URL, h.Secret)
	if err != nil {
		return fmt.Errorf("set webhook: %w", err)
	}
	return nil
}

// Webhook reads an organisation's webhook.
func (db *DB) Webhook(ctx context.Context, orgID int64) (core.Webhook, error) {
	h := core.Webhook{OrgID: orgID}
	err := db.pool().QueryRow(ctx, `SELECT url, secret FROM webhooks WHERE org_id = $1`, orgID).Scan(&h.URL, &h.Secret)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, core.ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("webhook: %w", err)
	}
	return h, nil
}

// RemoveWebhook deletes an organisation's webhook; false when it had none.
func (db *DB) RemoveWebhook(ctx context.Context, orgID int64) (bool, error) {
	tag, err := db.pool().Exec(ctx, `DELETE FROM webhooks WHERE org_id = $1`, orgID)
	if err != nil {
		return false, fmt.Errorf("remove webhook: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
