package core

import (
	"context"
	"io"
	"time"

	"github.com/google/uuid"
)

// DocumentEdit changes fields of a document still in «Создан». Nil fields stay.
// Version is the document's version the edit was made on: it must match, so
// an edit made from a stale card is refused with ErrStale instead of
// overwriting a newer change, and an edit that names none is refused with
// ErrVersionRequired.
type DocumentEdit struct {
	Version   int64
	Type      *DocType
	Number    *string
	Date      *time.Time
	Recipient *PartyInput
	BaseRef   *string
	File      io.Reader
	FileName  string // File's name as uploaded (CleanFileName)
}

// EditDocument edits fields or replaces the file of a document in «Создан».
func (s *Documents) EditDocument(ctx context.Context, a Actor, id uuid.UUID, e DocumentEdit) (*Document, error) {
	if e.Recipient != nil {
		if err := e.Recipient.normalise(); err != nil {
			return nil, err
		}
	}
	// The file is checked and stored before the lock: intake is slow, and a
	// blob nobody refers to is harmless.
	var file *FileInfo
	if e.File != nil {
		cur, side, err := s.Document(ctx, a, id)
		if err != nil {
			return nil, err
		}
		if err := Check(cur, side, ActionEdit); err != nil {
			return nil, err
		}
		if e.Version == 0 {
			return nil, ErrVersionRequired
		}
		info, err := s.intake(ctx, e.File)
		if err != nil {
			return nil, err
		}
		info.Name = CleanFileName(e.FileName)
		file = &info
	}
	return s.change(ctx, a, id, ActionEdit, func(tx Tx, d *Document, _ Side) (*Event, error) {
		switch {
		case e.Version == 0:
			return nil, ErrVersionRequired
		case e.Version != d.Version:
			return nil, ErrStale
		}
		t, number, date, baseRef := d.Type, d.Number, d.Date, d.BaseRef
		if e.Type != nil {
			t = *e.Type
		}
		if e.Number != nil {
			number = *e.Number
		}
		if e.Date != nil {
			date = *e.Date
		}
		if e.BaseRef != nil {
			var err error
			if baseRef, err = TextBaseRef.Clean(*e.BaseRef); err != nil {
				return nil, err
			}
		}
		number, date, err := validateFields(t, number, date)
		if err != nil {
			return nil, err
		}
		if baseRef != "" && !t.Accounting() {
			return nil, invalid(CodeBaseNotAccounting, "base_ref", string(t))
		}
		changed := map[string]string{}
		if baseRef != d.BaseRef && baseRef != "" {
			inUse, err := tx.BaseRefInUse(ctx, d.SenderOrgID, baseRef, d.ID)
			if err != nil {
				return nil, err
			}
			if inUse {
				return nil, ErrBaseInUse
			}
		}
		set := func(field, old, new string) {
			if old != new {
				changed[field] = new
			}
		}
		set("type", string(d.Type), string(t))
		set("number", d.Number, number)
		set("date", d.Date.Format(time.DateOnly), date.Format(time.DateOnly))
		set("base_ref", d.BaseRef, baseRef)
		d.Type, d.Number, d.Date, d.BaseRef = t, number, date, baseRef
		if r := e.Recipient; r != nil {
			if r.Number == d.SenderNumber {
				return nil, ErrRecipientIsSender
			}
			p := &Party{OrgID: d.SenderOrgID, Kind: r.Kind, Number: r.Number, Name: r.Name, Phone: r.Phone}
			if err := tx.UpsertParty(ctx, p); err != nil {
				return nil, err
			}
			set("recipient", d.RecipientNumber, r.Number)
			set("recipient_name", d.RecipientName, r.Name)
			set("recipient_kind", string(d.RecipientKind), string(r.Kind))
			d.RecipientPartyID, d.RecipientKind, d.RecipientNumber, d.RecipientName = p.ID, r.Kind, r.Number, r.Name
		}
		if file != nil {
			set("sha256", d.File.SHA256, file.SHA256)
			set("file_name", d.File.Name, file.Name)
			d.File = *file
		}
		if len(changed) == 0 {
			return nil, nil
		}
		return &Event{Kind: EventEdited, Actor: a.Label, Details: details(changed)}, nil
	})
}

// DeleteDocument deletes a document in «Создан»: its link dies at once. The
// row stays, for the audit trail, and disappears from every folder.
func (s *Documents) DeleteDocument(ctx context.Context, a Actor, id uuid.UUID) error {
	_, err := s.change(ctx, a, id, ActionDelete, func(tx Tx, d *Document, side Side) (*Event, error) {
		now := s.now()
		d.DeletedAt = &now
		if err := s.save(ctx, tx, d, &Event{Kind: EventDeleted, Actor: a.Label, At: now}); err != nil {
			return nil, err
		}
		return nil, s.outbox(ctx, tx, d, OutboxDeleted, d.Status, side, a)
	})
	return err
}

// Revoke revokes a document «На подписании»: the link stops working and the
// signatures given are void.
func (s *Documents) Revoke(ctx context.Context, a Actor, id uuid.UUID) (*Document, error) {
	return s.change(ctx, a, id, ActionRevoke, func(tx Tx, d *Document, side Side) (*Event, error) {
		from := d.Status
		d.Status = StatusRevoked
		ev := &Event{Kind: EventRevoked, Actor: a.Label, At: s.now()}
		// The outbox row must carry the event's sequence number, so chain first.
		if err := s.save(ctx, tx, d, ev); err != nil {
			return nil, err
		}
		return nil, s.outbox(ctx, tx, d, OutboxRevoked, from, side, a)
	})
}

// Archive moves a finished document to the actor's own archive. Archiving
// twice changes nothing and records nothing.
func (s *Documents) Archive(ctx context.Context, a Actor, id uuid.UUID) (*Document, error) {
	return s.setArchived(ctx, a, id, ActionArchive, true)
}

// Unarchive returns a document from the actor's archive to Завершенные.
func (s *Documents) Unarchive(ctx context.Context, a Actor, id uuid.UUID) (*Document, error) {
	return s.setArchived(ctx, a, id, ActionUnarchive, false)
}

func (s *Documents) setArchived(ctx context.Context, a Actor, id uuid.UUID, act Action, archived bool) (*Document, error) {
	return s.change(ctx, a, id, act, func(tx Tx, d *Document, side Side) (*Event, error) {
		if d.ArchivedBy(side) == archived {
			return nil, nil
		}
		var at *time.Time
		if archived {
			now := s.now()
			at = &now
		}
		if side == SideSender {
			d.SenderArchivedAt = at
		} else {
			d.RecipientArchivedAt = at
		}
		kind := EventUnarchived
		if archived {
			kind = EventArchived
		}
		return &Event{Kind: kind, Actor: a.Label, Details: details(map[string]string{"side": string(side)})}, nil
	})
}
