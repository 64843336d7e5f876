package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"edobot/core"
)

const orgColumns = `id, number, name, subscription_until, trial, created_at`

func scanOrg(row pgx.Row) (*core.Organisation, error) {
	var o core.Organisation
	err := row.Scan(&o.ID, &o.Number, &o.Name, &o.SubscriptionUntil, &o.Trial, &o.CreatedAt)
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
	return scanOrg(db.pool().QueryRow(ctx, `SELECT `+orgColumns+` FROM organisations WHERE number = $1`, number))
}

// OrganisationByID finds an organisation by id.
func (db *DB) OrganisationByID(ctx context.Context, id int64) (*core.Organisation, error) {
	return scanOrg(db.pool().QueryRow(ctx, `SELECT `+orgColumns+` FROM organisations WHERE id = $1`, id))
}

// OrganisationSummaries summarises the organisation with the number, or
// every one when number is "", by number.
func (db *DB) OrganisationSummaries(ctx context.Context, number string) ([]core.OrganisationSummary, error) {
	rows, err := db.pool().Query(ctx, `
		SELECT o.id, o.number, o.name, o.subscription_until, o.trial, o.created_at,
			(SELECT count(*) FROM api_keys k WHERE k.org_id = o.id AND k.revoked_at IS NULL),
			(SELECT count(*) FROM api_keys k WHERE k.org_id = o.id AND k.revoked_at IS NOT NULL),
			(SELECT count(*) FROM chat_users c WHERE c.org_id = o.id),
			coalesce((SELECT w.url FROM webhooks w WHERE w.org_id = o.id), ''),
			(SELECT count(*) FROM documents d WHERE d.sender_org_id = o.id AND d.deleted_at IS NULL)
		FROM organisations o WHERE $1 = '' OR o.number = $1 ORDER BY o.number`, number)
	if err != nil {
		return nil, fmt.Errorf("organisation summaries: %w", err)
	}
	defer rows.Close()
	var out []core.OrganisationSummary
	for rows.Next() {
		var s core.OrganisationSummary
		if err := rows.Scan(&s.ID, &s.Number, &s.Name, &s.SubscriptionUntil, &s.Trial, &s.CreatedAt,
			&s.APIKeys, &s.RevokedKeys, &s.Chats, &s.WebhookURL, &s.DocumentsSent); err != nil {
			return nil, fmt.Errorf("organisation summary: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t *tx) UpsertOrganisation(ctx context.Context, o *core.Organisation) (bool, error) {
	var created bool
	err := t.tx.QueryRow(ctx, `
		INSERT INTO organisations (number, name, subscription_until, trial) VALUES ($1, $2, $3, $4)
		ON CONFLICT (number) DO UPDATE SET name = EXCLUDED.name, subscription_until = EXCLUDED.subscription_until,
			trial = EXCLUDED.trial
		RETURNING id, created_at, xmax = 0`, o.Number, o.Name, o.SubscriptionUntil, o.Trial).Scan(&o.ID, &o.CreatedAt, &created)
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

const apiKeyColumns = `id, org_id, key_hash, prefix, created_at, revoked_at, last_used_at`

func scanAPIKey(row pgx.Row, extra ...any) (core.APIKey, error) {
	var k core.APIKey
	err := row.Scan(append([]any{&k.ID, &k.OrgID, &k.Hash, &k.Prefix, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt}, extra...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, core.ErrNotFound
	}
	if err != nil {
		return k, fmt.Errorf("api key: %w", err)
	}
	return k, nil
}

// APIKeyByHash finds a key by the SHA-256 of its text.
func (db *DB) APIKeyByHash(ctx context.Context, hash []byte) (core.APIKey, error) {
	return scanAPIKey(db.pool().QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE key_hash = $1`, hash))
}

// APIKeys lists an organisation's keys, newest first.
func (db *DB) APIKeys(ctx context.Context, orgID int64) ([]core.APIKey, error) {
	rows, err := db.pool().Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE org_id = $1 ORDER BY id DESC`, orgID)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	defer rows.Close()
	var out []core.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey marks a key revoked, keeping the time of a first revocation.
func (db *DB) RevokeAPIKey(ctx context.Context, id int64, at time.Time) (core.APIKey, bool, error) {
	var already bool
	k, err := scanAPIKey(db.pool().QueryRow(ctx, `
		WITH before AS (SELECT revoked_at FROM api_keys WHERE id = $1 FOR UPDATE)
		UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, $2) FROM before WHERE k.id = $1
		RETURNING k.id, k.org_id, k.key_hash, k.prefix, k.created_at, k.revoked_at, k.last_used_at, before.revoked_at IS NOT NULL`,
		id, at), &already)
	return k, already, err
}

// TouchAPIKey records a key's use.
func (db *DB) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	if _, err := db.pool().Exec(ctx, `UPDATE api_keys SET last_used_at = greatest(last_used_at, $2) WHERE id = $1`, id, at); err != nil {
		return fmt.Errorf("api key use: %w", err)
	}
	return nil
}
