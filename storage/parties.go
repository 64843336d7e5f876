package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"edobot/core"
)

// UpsertParty adds the party to the organisation's directory or refreshes the
// entry with the same IIN/BIN; a phone given once is not erased by an upload
// that omits it.
func (t *tx) UpsertParty(ctx context.Context, p *core.Party) error {
	err := t.tx.QueryRow(ctx, `
		INSERT INTO parties (org_id, kind, number, name, phone, telegram) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (org_id, number) DO UPDATE SET
			kind = EXCLUDED.kind, name = EXCLUDED.name,
			phone = CASE WHEN EXCLUDED.phone <> '' THEN EXCLUDED.phone ELSE parties.phone END,
			telegram = CASE WHEN EXCLUDED.telegram <> '' THEN EXCLUDED.telegram ELSE parties.telegram END,
			updated_at = now(), last_used_at = now()
		RETURNING id, phone, telegram, whatsapp, updated_at, last_used_at`,
		p.OrgID, p.Kind, p.Number, p.Name, p.Phone, p.Telegram).
		Scan(&p.ID, &p.Phone, &p.Telegram, &p.WhatsApp, &p.UpdatedAt, &p.LastUsedAt)
	if err != nil {
		return fmt.Errorf("upsert party: %w", err)
	}
	return nil
}

// Parties lists an organisation's directory, the most recently used first.
func (db *DB) Parties(ctx context.Context, orgID int64, limit int) ([]core.Party, error) {
	rows, err := db.pool().Query(ctx, `
		SELECT id, org_id, kind, number, name, phone, telegram, whatsapp, updated_at, last_used_at
		FROM parties WHERE org_id = $1 ORDER BY last_used_at DESC, id DESC LIMIT $2`, orgID, limit)
	if err != nil {
		return nil, fmt.Errorf("parties: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.Party, error) {
		var p core.Party
		err := r.Scan(&p.ID, &p.OrgID, &p.Kind, &p.Number, &p.Name, &p.Phone, &p.Telegram, &p.WhatsApp, &p.UpdatedAt, &p.LastUsedAt)
		return p, err
	})
}

// PartiesByNumbers reads the entries of an organisation's directory with
// these IINs/BINs.
func (db *DB) PartiesByNumbers(ctx context.Context, orgID int64, numbers []string) ([]core.Party, error) {
	rows, err := db.pool().Query(ctx, `
		SELECT id, org_id, kind, number, name, phone, telegram, whatsapp, updated_at, last_used_at
		FROM parties WHERE org_id = $1 AND number = ANY($2) ORDER BY last_used_at DESC, id DESC`, orgID, numbers)
	if err != nil {
		return nil, fmt.Errorf("parties by numbers: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.Party, error) {
		var p core.Party
		err := r.Scan(&p.ID, &p.OrgID, &p.Kind, &p.Number, &p.Name, &p.Phone, &p.Telegram, &p.WhatsApp, &p.UpdatedAt, &p.LastUsedAt)
		return p, err
	})
}

// Party reads one entry of an organisation's directory.
func (db *DB) Party(ctx context.Context, orgID, id int64) (*core.Party, error) {
	var p core.Party
	err := db.pool().QueryRow(ctx, `
		SELECT id, org_id, kind, number, name, phone, telegram, whatsapp, updated_at, last_used_at
		FROM parties WHERE org_id = $1 AND id = $2`, orgID, id).
		Scan(&p.ID, &p.OrgID, &p.Kind, &p.Number, &p.Name, &p.Phone, &p.Telegram, &p.WhatsApp, &p.UpdatedAt, &p.LastUsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("party: %w", err)
	}
	return &p, nil
}
