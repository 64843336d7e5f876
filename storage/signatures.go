package storage

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"edobot/core"
)

func (t *tx) InsertSignature(ctx context.Context, s *core.Signature) error {
	g := s.Signer
	err := t.tx.QueryRow(ctx, `
		INSERT INTO signatures (document_id, side, iin, bin, full_name, organisation, cert_serial, issuer,
			not_before, not_after, key_kind, cms, signed_at, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		s.DocumentID, s.Side, g.IIN, g.BIN, g.FullName, g.Organisation, g.CertSerial, g.Issuer,
		nullTime(g.NotBefore), nullTime(g.NotAfter), g.KeyKind, s.CMS, s.SignedAt, s.RecordedAt).Scan(&s.ID)
	if isUniqueViolation(err, "") {
		// The document lock makes this unreachable through the use cases; the
		// constraint is the last line of defence.
		return &core.Refusal{Code: core.CodeAlreadySigned, Action: core.ActionSign}
	}
	if err != nil {
		return fmt.Errorf("insert signature: %w", err)
	}
	return nil
}

// Signatures lists a document's signatures, sender first.
func (db *DB) Signatures(ctx context.Context, documentID uuid.UUID) ([]core.Signature, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT id, document_id, side, iin, bin, full_name, organisation, cert_serial, issuer,
			coalesce(not_before, 'epoch'), coalesce(not_after, 'epoch'), key_kind, cms, signed_at, recorded_at
		FROM signatures WHERE document_id = $1 ORDER BY side DESC`, documentID)
	if err != nil {
		return nil, fmt.Errorf("signatures: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.Signature, error) {
		var s core.Signature
		g := &s.Signer
		err := r.Scan(&s.ID, &s.DocumentID, &s.Side, &g.IIN, &g.BIN, &g.FullName, &g.Organisation, &g.CertSerial,
			&g.Issuer, &g.NotBefore, &g.NotAfter, &g.KeyKind, &s.CMS, &s.SignedAt, &s.RecordedAt)
		return s, err
	})
}
