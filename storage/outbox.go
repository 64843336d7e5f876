package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"edobot/core"
)

// RelayOutbox hands up to limit unsent outbox rows, oldest first, to send and
// marks sent the ones it returns, in one transaction. The rows stay locked
// (FOR UPDATE SKIP LOCKED) while send runs, so several relays share the work
// without handing out a row twice; when send fails nothing is marked and the
// rows wait for the next round.
func (db *DB) RelayOutbox(ctx context.Context, limit int, at time.Time, send func(ctx context.Context, batch []core.OutboxMessage) ([]uuid.UUID, error)) (int, error) {
	t, err := db.pool().Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("relay outbox: begin: %w", err)
	}
	defer t.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	rows, err := t.Query(ctx, `SELECT id, document_id, chat_user_id, org_id, kind, payload, created_at FROM outbox
		WHERE sent_at IS NULL ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
	if err != nil {
		return 0, fmt.Errorf("relay outbox: %w", err)
	}
	batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.OutboxMessage, error) {
		var m core.OutboxMessage
		var doc *uuid.UUID
		var chat, org *int64
		err := r.Scan(&m.ID, &doc, &chat, &org, &m.Kind, &m.Payload, &m.CreatedAt)
		if org != nil {
			m.OrgID = *org
		}
		if doc != nil {
			m.DocumentID = *doc
		}
		if chat != nil {
			m.ChatUserID = *chat
		}
		return m, err
	})
	if err != nil {
		return 0, fmt.Errorf("relay outbox: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}
	sent, err := send(ctx, batch)
	if len(sent) > 0 {
		// What reached the queue is marked even when a later row failed, so
		// the next round does not enqueue it again.
		if _, uerr := t.Exec(ctx, `UPDATE outbox SET sent_at = $2 WHERE id = ANY($1)`, sent, at); uerr != nil {
			return 0, fmt.Errorf("relay outbox: mark sent: %w", uerr)
		}
		if cerr := t.Commit(ctx); cerr != nil {
			return 0, fmt.Errorf("relay outbox: commit: %w", cerr)
		}
	}
	if err != nil {
		return len(sent), err
	}
	return len(sent), nil
}

// OutboxPending counts the events not relayed yet.
func (db *DB) OutboxPending(ctx context.Context) (int64, error) {
	var n int64
	if err := db.pool().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox pending: %w", err)
	}
	return n, nil
}
