package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// DocumentsDueForReminder lists up to limit documents still waiting for a
// signature («Создан», «На подписании»), not deleted, created before
// createdBefore, not reminded of on day (a calendar date) and reminded of
// fewer than most times in all, oldest first.
func (db *DB) DocumentsDueForReminder(ctx context.Context, createdBefore, day time.Time, most, limit int) ([]uuid.UUID, error) {
	rows, err := db.pool().Query(ctx, `SELECT d.id FROM documents d
		WHERE d.status IN ('created', 'signing') AND d.deleted_at IS NULL AND d.created_at < $1
		AND NOT EXISTS (SELECT 1 FROM document_reminders r WHERE r.document_id = d.id AND r.day = $2)
		AND (SELECT count(*) FROM document_reminders r WHERE r.document_id = d.id) < $4
		ORDER BY d.created_at LIMIT $3`, createdBefore, dateOnly(day), limit, most)
	if err != nil {
		return nil, fmt.Errorf("documents due for reminder: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("documents due for reminder: %w", err)
	}
	return ids, nil
}

// RecordReminder notes that the document was reminded of on day; recording
// it again changes nothing.
func (db *DB) RecordReminder(ctx context.Context, documentID uuid.UUID, day time.Time) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO document_reminders (document_id, day) VALUES ($1, $2)
		ON CONFLICT (document_id, day) DO NOTHING`, documentID, dateOnly(day))
	if err != nil {
		return fmt.Errorf("record reminder: %w", err)
	}
	return nil
}

// DeleteExpired deletes eGov signing sessions and identity challenges (the
// ИС ЭСФ one-time links among them) that expired before the given time:
// they can no longer be used, and their hashes are worthless to keep. It
// returns how many rows of each went. The WhatsApp messages handled before
// that time go too, uncounted.
func (db *DB) DeleteExpired(ctx context.Context, before time.Time) (sessions, challenges int64, err error) {
	tag, err := db.pool().Exec(ctx, `DELETE FROM egov_sessions WHERE expires_at < $1`, before)
	if err != nil {
		return 0, 0, fmt.Errorf("delete expired egov sessions: %w", err)
	}
	sessions = tag.RowsAffected()
	// Signings through a broker hold a QR image each; past their expiry they
	// can only be read, never used. Those of a challenge go with it too.
	tag, err = db.pool().Exec(ctx, `DELETE FROM egov_broker_sessions WHERE expires_at < $1`, before)
	if err != nil {
		return sessions, 0, fmt.Errorf("delete expired broker sessions: %w", err)
	}
	sessions += tag.RowsAffected()
	tag, err = db.pool().Exec(ctx, `DELETE FROM auth_challenges WHERE expires_at < $1`, before)
	if err != nil {
		return sessions, 0, fmt.Errorf("delete expired auth challenges: %w", err)
	}
	challenges = tag.RowsAffected()
	// The ИС ЭСФ password pages and ticket signings likewise.
	tag, err = db.pool().Exec(ctx, `DELETE FROM esf_links WHERE expires_at < $1`, before)
	if err != nil {
		return sessions, challenges, fmt.Errorf("delete expired esf links: %w", err)
	}
	challenges += tag.RowsAffected()
	// WhatsApp messages handled before: WhatsApp delivers a message again
	// only within minutes, so a kept one serves no more.
	if _, err := db.pool().Exec(ctx, `DELETE FROM whatsapp_inbox WHERE handled_at < $1`, before); err != nil {
		return sessions, challenges, fmt.Errorf("forget handled whatsapp messages: %w", err)
	}
	return sessions, challenges, nil
}

// dateOnly keeps the calendar date of t in t's own zone, so a Kazakhstan day
// is not shifted by a conversion to UTC on the way to a date column.
func dateOnly(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
