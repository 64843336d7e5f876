package core

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// records is what every use case that changes or reads documents shares:
// the store and the clock, and the steps of a change (lock, check, save
// with its audit event and outbox row).
type records struct {
	store Store
	clock func() time.Time
}

func (s *records) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

func (s *records) senderOrg(ctx context.Context, a Actor) (*Organisation, error) {
	if a.OrgID == 0 {
		return nil, ErrOrgUnknown
	}
	org, err := s.store.OrganisationByID(ctx, a.OrgID)
	if err != nil {
		return nil, err
	}
	if !org.SubscriptionActive(s.now()) {
		return nil, ErrSubscription
	}
	return org, nil
}

// outbox records a document's change for the outside. by is who made it:
// the chat that acted (ChatActor) is named in the payload, so that it is
// not told of its own act; a zero Actor names none.
func (s *records) outbox(ctx context.Context, tx Tx, d *Document, kind string, from Status, side Side, by Actor) error {
	p := map[string]any{
		"document_id": d.ID, "status": d.Status, "previous_status": from, "side": side,
		"event_seq": d.AuditSeq, "sender_org_id": d.SenderOrgID, "recipient": d.RecipientNumber,
	}
	if by.ChatUserID != 0 {
		p["actor_chat_user_id"] = by.ChatUserID
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return tx.AddOutbox(ctx, &OutboxMessage{ID: uuid.New(), DocumentID: d.ID, Kind: kind, Payload: payload, CreatedAt: s.now()})
}

// ActorSide tells which side the actor is on, hiding another organisation's
// documents behind ErrNotFound so that their existence is not revealed.
func ActorSide(d *Document, a Actor) (Side, error) {
	switch {
	case a.OrgID != 0 && a.OrgID == d.SenderOrgID:
		return SideSender, nil
	case a.Number != "" && a.Number == d.RecipientNumber:
		return SideRecipient, nil
	}
	return "", ErrNotFound
}

// change runs fn on the locked document after checking the action for the
// actor's side, then saves the document with the audit event fn recorded.
func (s *records) change(ctx context.Context, a Actor, id uuid.UUID, act Action, fn func(tx Tx, d *Document, side Side) (*Event, error)) (*Document, error) {
	var out *Document
	err := s.store.InTx(ctx, func(tx Tx) error {
		d, err := tx.LockDocument(ctx, id)
		if err != nil {
			return err
		}
		side, err := ActorSide(d, a)
		if err != nil {
			return err
		}
		if err := Check(d, side, act); err != nil {
			return err
		}
		ev, err := fn(tx, d, side)
		if err != nil {
			return err
		}
		out = d
		if ev == nil { // nothing to change: a repeated tap
			return nil
		}
		return s.save(ctx, tx, d, ev)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *records) save(ctx context.Context, tx Tx, d *Document, ev *Event) error {
	if ev.At.IsZero() {
		ev.At = s.now()
	}
	chain(d, ev)
	// A visit or a download changes nothing a card shows: it must not make
	// the sender's open card stale.
	if ev.Kind != EventLinkOpened && ev.Kind != EventDownloaded {
		d.Version++
		d.UpdatedAt = ev.At
	}
	if err := tx.AppendEvent(ctx, ev); err != nil {
		return err
	}
	return tx.UpdateDocument(ctx, d)
}

// document returns a document the actor may see, with the actor's side.
func (s *records) document(ctx context.Context, a Actor, id uuid.UUID) (*Document, Side, error) {
	d, err := s.store.Document(ctx, id)
	if err != nil {
		return nil, "", err
	}
	side, err := ActorSide(d, a)
	if err != nil {
		return nil, "", err
	}
	return d, side, nil
}

func lockByLink(ctx context.Context, tx Tx, token string) (*Document, error) {
	return byLink(token, func(h []byte) (*Document, error) { return tx.LockDocumentByLink(ctx, h) })
}

// byLink finds the document behind a link token with find (locking or not).
// The row is found by the token's hash; comparing the token itself in
// constant time keeps the check independent of how the index compares bytes.
func byLink(token string, find func(hash []byte) (*Document, error)) (*Document, error) {
	if token == "" {
		return nil, ErrNotFound
	}
	d, err := find(LinkHash(token))
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(d.LinkToken), []byte(token)) != 1 {
		return nil, ErrNotFound
	}
	return d, nil
}

// liveLink refuses a link that died with its document.
func liveLink(d *Document) error {
	if d.DeletedAt != nil || d.Status == StatusRevoked {
		return ErrRevoked
	}
	return nil
}

// visitLink counts a visit of what on the live document behind a link.
func (s *records) visitLink(ctx context.Context, token string, who Visitor, what string) (*Document, error) {
	d, err := s.linkDocument(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := s.recordVisit(ctx, d, who, what); err != nil {
		return nil, wrapf(err, "record a visit of %s", d.ID)
	}
	return d, nil
}

// linkDocument reads the document behind a link without recording a visit,
// for status refreshes: ErrRevoked once it is revoked or deleted.
func (s *records) linkDocument(ctx context.Context, token string) (*Document, error) {
	d, err := byLink(token, func(h []byte) (*Document, error) { return s.store.DocumentByLink(ctx, h) })
	if err == nil {
		err = liveLink(d)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}
