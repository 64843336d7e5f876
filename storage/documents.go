package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"edobot/core"
)

const documentColumns = `id, sender_org_id, sender_number, sender_name, recipient_party_id, recipient_kind,
	recipient_number, recipient_name, type, number, date, file_sha256, file_size, file_pages, status,
	link_token, coalesce(base_ref, ''), coalesce(idempotency_key, ''), idempotency_hash, copied_from, sender_signed_at,
	recipient_signed_at, sender_archived_at, recipient_archived_at, deleted_at, version, audit_seq,
	audit_head, created_at, updated_at, demo, file_name`

func scanDocument(row pgx.Row) (*core.Document, error) {
	var d core.Document
	var copied *uuid.UUID
	err := row.Scan(&d.ID, &d.SenderOrgID, &d.SenderNumber, &d.SenderName, &d.RecipientPartyID, &d.RecipientKind,
		&d.RecipientNumber, &d.RecipientName, &d.Type, &d.Number, &d.Date, &d.File.SHA256, &d.File.Size, &d.File.Pages,
		&d.Status, &d.LinkToken, &d.BaseRef, &d.IdempotencyKey, &d.IdempotencyHash, &copied, &d.SenderSignedAt,
		&d.RecipientSignedAt, &d.SenderArchivedAt, &d.RecipientArchivedAt, &d.DeletedAt, &d.Version, &d.AuditSeq,
		&d.AuditHead, &d.CreatedAt, &d.UpdatedAt, &d.Demo, &d.File.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("scan document: %w", err)
	}
	if copied != nil {
		d.CopiedFrom = *copied
	}
	return &d, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullableUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// Document reads a document by id.
func (db *DB) Document(ctx context.Context, id uuid.UUID) (*core.Document, error) {
	return scanDocument(db.pool().QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = $1`, id))
}

// DocumentByLink reads a document by the hash of its link token.
func (db *DB) DocumentByLink(ctx context.Context, linkHash []byte) (*core.Document, error) {
	return scanDocument(db.pool().QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE link_hash = $1`, linkHash))
}

func (t *tx) LockDocument(ctx context.Context, id uuid.UUID) (*core.Document, error) {
	return scanDocument(t.tx.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE id = $1 FOR UPDATE`, id))
}

func (t *tx) LockDocumentByLink(ctx context.Context, linkHash []byte) (*core.Document, error) {
	return scanDocument(t.tx.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE link_hash = $1 FOR UPDATE`, linkHash))
}

func (t *tx) InsertDocument(ctx context.Context, d *core.Document) (bool, error) {
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO documents (id, sender_org_id, sender_number, sender_name, recipient_party_id, recipient_kind,
			recipient_number, recipient_name, type, number, date, file_sha256, file_size, file_pages, status,
			link_token, link_hash, base_ref, idempotency_key, copied_from, version, audit_seq, audit_head,
			created_at, updated_at, idempotency_hash, demo, file_name)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
			$21, $22, $23, $24, $25, $26, $27, $28)
		ON CONFLICT (sender_org_id, idempotency_key) DO NOTHING`,
		d.ID, d.SenderOrgID, d.SenderNumber, d.SenderName, d.RecipientPartyID, d.RecipientKind,
		d.RecipientNumber, d.RecipientName, d.Type, d.Number, d.Date, d.File.SHA256, d.File.Size, d.File.Pages, d.Status,
		d.LinkToken, core.LinkHash(d.LinkToken), nullable(d.BaseRef), nullable(d.IdempotencyKey), nullableUUID(d.CopiedFrom),
		d.Version, d.AuditSeq, d.AuditHead, d.CreatedAt, d.UpdatedAt, d.IdempotencyHash, d.Demo, d.File.Name)
	if isUniqueViolation(err, "documents_base_ref") {
		return false, core.ErrBaseInUse
	}
	if err != nil {
		return false, fmt.Errorf("insert document: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	// The same idempotency key was used before: hand back that document.
	existing, err := scanDocument(t.tx.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents
		WHERE sender_org_id = $1 AND idempotency_key = $2`, d.SenderOrgID, d.IdempotencyKey))
	if err != nil {
		return false, err
	}
	*d = *existing
	return false, nil
}

func (t *tx) UpdateDocument(ctx context.Context, d *core.Document) error {
	tag, err := t.tx.Exec(ctx, `
		UPDATE documents SET recipient_party_id = $2, recipient_kind = $3, recipient_number = $4, recipient_name = $5,
			type = $6, number = $7, date = $8, file_sha256 = $9, file_size = $10, file_pages = $11, status = $12,
			base_ref = $13, sender_signed_at = $14, recipient_signed_at = $15, sender_archived_at = $16,
			recipient_archived_at = $17, deleted_at = $18, version = $19, audit_seq = $20, audit_head = $21,
			updated_at = $22, file_name = $23
		WHERE id = $1`,
		d.ID, d.RecipientPartyID, d.RecipientKind, d.RecipientNumber, d.RecipientName,
		d.Type, d.Number, d.Date, d.File.SHA256, d.File.Size, d.File.Pages, d.Status,
		nullable(d.BaseRef), d.SenderSignedAt, d.RecipientSignedAt, d.SenderArchivedAt,
		d.RecipientArchivedAt, d.DeletedAt, d.Version, d.AuditSeq, d.AuditHead, d.UpdatedAt, d.File.Name)
	if isUniqueViolation(err, "documents_base_ref") {
		return core.ErrBaseInUse
	}
	if err != nil {
		return fmt.Errorf("update document: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return core.ErrNotFound
	}
	return nil
}

func (t *tx) BaseRefInUse(ctx context.Context, orgID int64, baseRef string, except uuid.UUID) (bool, error) {
	var inUse bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM documents WHERE sender_org_id = $1 AND base_ref = $2
		AND id <> $3 AND deleted_at IS NULL AND status <> 'revoked')`, orgID, baseRef, except).Scan(&inUse)
	if err != nil {
		return false, fmt.Errorf("base ref: %w", err)
	}
	return inUse, nil
}

// folderWhere returns the condition that puts a document in folder f for the
// actor, as core.FolderOf defines it. $1 is the
// actor's organisation id, $2 its IIN/BIN.
func folderWhere(f core.Folder) string {
	const mineSent, mineReceived = `sender_org_id = $1`, `recipient_number = $2`
	switch f {
	case core.FolderIncoming:
		return mineReceived + ` AND status IN ('created', 'signing')`
	case core.FolderOutgoing:
		return mineSent + ` AND status IN ('created', 'signing')`
	case core.FolderCompleted:
		return `status IN ('signed', 'revoked') AND (` + mineSent + ` AND sender_archived_at IS NULL OR ` +
			mineReceived + ` AND recipient_archived_at IS NULL)`
	case core.FolderArchived:
		return `(` + mineSent + ` AND sender_archived_at IS NOT NULL OR ` + mineReceived + ` AND recipient_archived_at IS NOT NULL)`
	}
	return "false"
}

// ListFolder lists a folder, newest first.
func (db *DB) ListFolder(ctx context.Context, a core.Actor, f core.Folder, q core.FolderQuery) ([]core.Document, error) {
	// The outer scope names both parameters whatever the folder, and keeps
	// every listing inside the actor's own documents.
	where := `deleted_at IS NULL AND (sender_org_id = $1 OR recipient_number = $2) AND ` + folderWhere(f)
	args := []any{a.OrgID, a.Number, q.Limit, q.Offset}
	if q.Search != "" {
		where += ` AND (number ILIKE $5 OR recipient_name ILIKE $5 OR sender_name ILIKE $5 OR recipient_number LIKE $5 OR sender_number LIKE $5)`
		args = append(args, "%"+escapeLike(q.Search)+"%")
	}
	rows, err := db.pool().Query(ctx, `SELECT `+documentColumns+` FROM documents WHERE `+where+
		` ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4`, args...)
	if err != nil {
		return nil, fmt.Errorf("list folder %s: %w", f, err)
	}
	defer rows.Close()
	var out []core.Document
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// FolderCounts counts the actor's documents per folder in one pass.
func (db *DB) FolderCounts(ctx context.Context, a core.Actor) (map[core.Folder]int, error) {
	var sel []string
	for _, f := range core.Folders {
		sel = append(sel, `count(*) FILTER (WHERE `+folderWhere(f)+`)`)
	}
	counts := make([]int, len(core.Folders))
	dest := make([]any, len(counts))
	for i := range counts {
		dest[i] = &counts[i]
	}
	err := db.pool().QueryRow(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM documents
		WHERE deleted_at IS NULL AND (sender_org_id = $1 OR recipient_number = $2)`, a.OrgID, a.Number).Scan(dest...)
	if err != nil {
		return nil, fmt.Errorf("folder counts: %w", err)
	}
	out := make(map[core.Folder]int, len(counts))
	for i, f := range core.Folders {
		out[f] = counts[i]
	}
	return out, nil
}
