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

const signatureColumns = `id, document_id, side, iin, bin, full_name, organisation, cert_serial, issuer,
	coalesce(not_before, 'epoch'), coalesce(not_after, 'epoch'), key_kind, signed_at, recorded_at`

func scanSignature(r pgx.CollectableRow, withCMS bool) (core.Signature, error) {
	var s core.Signature
	g := &s.Signer
	dest := []any{&s.ID, &s.DocumentID, &s.Side, &g.IIN, &g.BIN, &g.FullName, &g.Organisation, &g.CertSerial,
		&g.Issuer, &g.NotBefore, &g.NotAfter, &g.KeyKind, &s.SignedAt, &s.RecordedAt}
	if withCMS {
		dest = append(dest, &s.CMS)
	}
	err := r.Scan(dest...)
	return s, err
}

// Signatures lists a document's signatures with their CMS, sender first.
func (db *DB) Signatures(ctx context.Context, documentID uuid.UUID) ([]core.Signature, error) {
	rows, err := db.pool().Query(ctx, `SELECT `+signatureColumns+`, cms FROM signatures WHERE document_id = $1 ORDER BY side DESC`, documentID)
	if err != nil {
		return nil, fmt.Errorf("signatures: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.Signature, error) { return scanSignature(r, true) })
}

// Signers lists the signatures of several documents without their CMS.
func (db *DB) Signers(ctx context.Context, documentIDs []uuid.UUID) (map[uuid.UUID][]core.Signature, error) {
	out := make(map[uuid.UUID][]core.Signature, len(documentIDs))
	if len(documentIDs) == 0 {
		return out, nil
	}
	rows, err := db.pool().Query(ctx, `SELECT `+signatureColumns+` FROM signatures WHERE document_id = ANY($1) ORDER BY document_id, side DESC`, documentIDs)
	if err != nil {
		return nil, fmt.Errorf("signers: %w", err)
	}
	sigs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (core.Signature, error) { return scanSignature(r, false) })
	if err != nil {
		return nil, fmt.Errorf("signers: %w", err)
	}
	for _, g := range sigs {
		out[g.DocumentID] = append(out[g.DocumentID], g)
	}
	return out, nil
}
