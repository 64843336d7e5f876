package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"edobot/core"
)

// RecordLinkVisit counts a visit in one statement, outside any transaction
// on the document. Its visitor's row of the day is created or counted up;
// settled is true when that row and every other of the document are in the
// audit trail (the partial index link_visits_pending answers that).
//
// The statement commits without waiting for the WAL to reach the disk
// (synchronous_commit off for its transaction alone): a crash may lose the
// last fraction of a second of counts, never an audit event, and a crowd
// of views does not queue on fsync.
func (db *DB) RecordLinkVisit(ctx context.Context, v *core.LinkVisit) (bool, error) {
	var settled bool
	err := db.pool().QueryRow(ctx, `
		WITH counted AS (
			INSERT INTO link_visits (document_id, day, visitor, what, count, first_at, last_at)
			SELECT $1::uuid, $2::date, $3::bytea, $4::text, $5::bigint, $6::timestamptz, $7::timestamptz
			FROM (SELECT set_config('synchronous_commit', 'off', true)) AS nowait
			ON CONFLICT (document_id, day, visitor, what)
				DO UPDATE SET count = link_visits.count + EXCLUDED.count, last_at = EXCLUDED.last_at
			RETURNING audited)
		SELECT (SELECT audited FROM counted)
			AND NOT EXISTS (SELECT 1 FROM link_visits WHERE document_id = $1 AND NOT audited)`,
		v.DocumentID, v.Day, v.Visitor, v.What, v.Count, v.FirstAt, v.LastAt).Scan(&settled)
	if err != nil {
		return false, fmt.Errorf("record link visit: %w", err)
	}
	return settled, nil
}

func (t *tx) TryLockDocument(ctx context.Context, id uuid.UUID) (*core.Document, bool, error) {
	d, err := scanDocument(t.tx.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = $1 FOR UPDATE SKIP LOCKED`, id))
	if errors.Is(err, core.ErrNotFound) {
		return nil, false, nil // locked (or gone): skipped
	}
	if err != nil {
		return nil, false, err
	}
	return d, true, nil
}

func (t *tx) PendingLinkVisits(ctx context.Context, documentID uuid.UUID) ([]core.LinkVisit, error) {
	rows, err := t.tx.Query(ctx, `SELECT document_id, day, visitor, what, count, first_at, last_at
		FROM link_visits WHERE document_id = $1 AND NOT audited ORDER BY first_at, visitor, what`, documentID)
	if err != nil {
		return nil, fmt.Errorf("pending link visits: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.LinkVisit, error) {
		var v core.LinkVisit
		err := r.Scan(&v.DocumentID, &v.Day, &v.Visitor, &v.What, &v.Count, &v.FirstAt, &v.LastAt)
		return v, err
	})
}

func (t *tx) MarkLinkVisitsAudited(ctx context.Context, visits []core.LinkVisit) error {
	b := &pgx.Batch{}
	for _, v := range visits {
		b.Queue(`UPDATE link_visits SET audited = true WHERE document_id = $1 AND day = $2 AND visitor = $3 AND what = $4`,
			v.DocumentID, v.Day, v.Visitor, v.What)
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("mark link visits audited: %w", err)
	}
	return nil
}
