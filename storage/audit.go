package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"edobot/core"
)

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (t *tx) AppendEvent(ctx context.Context, e *core.Event) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO audit_events (document_id, seq, kind, actor, at, details, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.DocumentID, e.Seq, e.Kind, e.Actor, e.At, string(e.Details), e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return nil
}

// Events reads a document's audit trail in order.
func (db *DB) Events(ctx context.Context, documentID uuid.UUID) ([]core.Event, error) {
	rows, err := db.pool().Query(ctx, `SELECT document_id, seq, kind, actor, at, details, prev_hash, hash
		FROM audit_events WHERE document_id = $1 ORDER BY seq`, documentID)
	if err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.Event, error) {
		var e core.Event
		var details string
		err := r.Scan(&e.DocumentID, &e.Seq, &e.Kind, &e.Actor, &e.At, &details, &e.PrevHash, &e.Hash)
		e.Details = []byte(details)
		return e, err
	})
}

func (t *tx) AddOutbox(ctx context.Context, m *core.OutboxMessage) error {
	var doc *uuid.UUID
	var chat *int64
	if m.DocumentID != uuid.Nil {
		doc = &m.DocumentID
	}
	if m.ChatUserID != 0 {
		chat = &m.ChatUserID
	}
	var org *int64
	if m.OrgID != 0 {
		org = &m.OrgID
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO outbox (id, document_id, chat_user_id, org_id, kind, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		m.ID, doc, chat, org, m.Kind, m.Payload, m.CreatedAt)
	if err != nil {
		return fmt.Errorf("add outbox: %w", err)
	}
	return nil
}
