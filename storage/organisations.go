package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"edobot/core"
)

const orgColumns = `id, number, name, subscription_until, created_at`

func scanOrg(row pgx.Row) (*core.Organisation, error) {
	var o core.Organisation
	err := row.Scan(&o.ID, &o.Number, &o.Name, &o.SubscriptionUntil, &o.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.ErrOrgUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("scan organisation: %w", err)
	}
	return &o, nil
}

// OrganisationByNumber finds an organisation by BIN/IIN.
func (db *DB) OrganisationByNumber(ctx context.Context, number string) (*core.Organisation, error) {
	return scanOrg(db.Pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM organisations WHERE number = $1`, number))
}

// OrganisationByID finds an organisation by id.
func (db *DB) OrganisationByID(ctx context.Context, id int64) (*core.Organisation, error) {
	return scanOrg(db.Pool.QueryRow(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id = $1`, id))
}

func (t *tx) UpsertOrganisation(ctx context.Context, o *core.Organisation) (bool, error) {
	var created bool
	err := t.tx.QueryRow(ctx, `
		INSERT INTO organisations (number, name, subscription_until) VALUES ($1, $2, $3)
		ON CONFLICT (number) DO UPDATE SET name = EXCLUDED.name, subscription_until = EXCLUDED.subscription_until
		RETURNING id, created_at, xmax = 0`, o.Number, o.Name, o.SubscriptionUntil).Scan(&o.ID, &o.CreatedAt, &created)
	if err != nil {
		return false, fmt.Errorf("upsert organisation: %w", err)
	}
	return created, nil
}

func (t *tx) InsertAPIKey(ctx context.Context, k *core.APIKey) error {
	err := t.tx.QueryRow(ctx, `INSERT INTO api_keys (org_id, key_hash, prefix) VALUES ($1, $2, $3) RETURNING id, created_at`,
		k.OrgID, k.Hash, k.Prefix).Scan(&k.ID, &k.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	return nil
}

// APIKeyByHash finds a key by the SHA-256 of its text.
func (db *DB) APIKeyByHash(ctx context.Context, hash []byte) (core.APIKey, error) {
	var k core.APIKey
	err := db.Pool.QueryRow(ctx, `SELECT id, org_id, key_hash, prefix, created_at, revoked_at FROM api_keys WHERE key_hash = $1`, hash).
		Scan(&k.ID, &k.OrgID, &k.Hash, &k.Prefix, &k.CreatedAt, &k.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, core.ErrNotFound
	}
	if err != nil {
		return k, fmt.Errorf("api key: %w", err)
	}
	return k, nil
}
