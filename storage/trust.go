package storage

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"edobot/core/nca"
)

var _ nca.Store = (*DB)(nil)

// TrustedCertificates reads every stored trusted certificate, roots first.
func (db *DB) TrustedCertificates(ctx context.Context) ([]nca.Record, error) {
	rows, err := db.pool().Query(ctx, `SELECT source_url, origin, kind, sha256, subject, algorithm, not_before, not_after,
		der, fetched_at, changed_at FROM trusted_certificates ORDER BY kind DESC, source_url`)
	if err != nil {
		return nil, fmt.Errorf("trusted certificates: %w", err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (nca.Record, error) {
		var r nca.Record
		err := row.Scan(&r.SourceURL, &r.Origin, &r.Kind, &r.SHA256, &r.Subject, &r.Algorithm, &r.NotBefore, &r.NotAfter,
			&r.DER, &r.FetchedAt, &r.ChangedAt)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("trusted certificates: %w", err)
	}
	return recs, nil
}

// SaveTrustedCertificate stores r in place of what its URL had.
func (db *DB) SaveTrustedCertificate(ctx context.Context, r nca.Record) error {
	_, err := db.pool().Exec(ctx, `INSERT INTO trusted_certificates (source_url, origin, kind, sha256, subject, algorithm,
		not_before, not_after, der, fetched_at, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (source_url) DO UPDATE SET origin = EXCLUDED.origin, kind = EXCLUDED.kind, sha256 = EXCLUDED.sha256,
		subject = EXCLUDED.subject, algorithm = EXCLUDED.algorithm, not_before = EXCLUDED.not_before,
		not_after = EXCLUDED.not_after, der = EXCLUDED.der, fetched_at = EXCLUDED.fetched_at, changed_at = EXCLUDED.changed_at`,
		r.SourceURL, r.Origin, r.Kind, r.SHA256, r.Subject, r.Algorithm, r.NotBefore, r.NotAfter, r.DER, r.FetchedAt, r.ChangedAt)
	if err != nil {
		return fmt.Errorf("save trusted certificate %s: %w", r.SourceURL, err)
	}
	return nil
}
