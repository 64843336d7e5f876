package core

import (
	"context"

	"github.com/google/uuid"
)

// OpenLink is a visit to the external link: it counts the visit (see
// recordVisit) and returns the document, or ErrRevoked for a revoked or
// deleted one (the page then shows «Документ отозван» and nothing else).
func (s *Documents) OpenLink(ctx context.Context, token string, who Visitor) (*Document, error) {
	return s.visitLink(ctx, token, who, VisitPage)
}

// Folder lists the actor's documents in a folder, newest first.
func (s *Documents) Folder(ctx context.Context, a Actor, f Folder, q FolderQuery) ([]Document, error) {
	switch f {
	case FolderIncoming, FolderOutgoing, FolderCompleted, FolderArchived:
	default:
		return nil, &Refusal{Code: CodeNotFound, Field: "folder", Detail: string(f)}
	}
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 20
	}
	if q.Offset < 0 {
		q.Offset = 0
	}
	var err error
	if q.Search, err = TextSearch.Clean(q.Search); err != nil {
		return nil, err
	}
	return s.store.ListFolder(ctx, a, f, q)
}

// FolderCounts counts the actor's documents in each folder.
func (s *Documents) FolderCounts(ctx context.Context, a Actor) (map[Folder]int, error) {
	return s.store.FolderCounts(ctx, a)
}

// VerifyAudit checks the document's audit chain end to end.
func (s *Documents) VerifyAudit(ctx context.Context, id uuid.UUID) error {
	d, err := s.store.Document(ctx, id)
	if err != nil {
		return err
	}
	events, err := s.store.Events(ctx, id)
	if err != nil {
		return err
	}
	return VerifyChain(d.AuditSeq, d.AuditHead, events)
}

// Document returns a document the actor may see, with the actor's side.
func (s *Documents) Document(ctx context.Context, a Actor, id uuid.UUID) (*Document, Side, error) {
	return s.document(ctx, a, id)
}

// LinkDocument reads the document behind a link without recording a visit,
// for status refreshes: ErrRevoked once it is revoked or deleted.
func (s *Documents) LinkDocument(ctx context.Context, token string) (*Document, error) {
	return s.linkDocument(ctx, token)
}

// Signers lists who signed each of the documents, without the CMS: what a
// card or a listing of documents the caller has already reached shows.
func (s *Documents) Signers(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]Signature, error) {
	return s.store.Signers(ctx, ids)
}
