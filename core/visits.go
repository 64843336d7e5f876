package core

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
)

// Visits through a document's link. A link may be shared with a crowd, and
// each view used to lock the document's row and append to its audit chain,
// so that views queued behind one another and behind signatures, and the
// chain grew with every refresh. Now a view reads the document without a
// lock and counts itself per visitor and day; only a visitor's first view
// of the day goes into the audit trail, and only when the document's row
// is free: a view never waits for the lock (SKIP LOCKED), and a visit left
// out is chained by a later view.

// What a link visit opened.
const (
	VisitPage     = "page"     // the link page, or the document in a chat
	VisitOriginal = "original" // the PDF
	VisitCard     = "card"     // the electronic card
)

// Visitor is who opens a link, as far as counting visits goes. It keeps
// what identifies them (an address and a user agent, or a chat) only to
// hash it with the document and the day: the raw value is never stored.
type Visitor struct{ id string }

// WebVisitor is a browser, counted by its address (an IPv6 /64) alone: the
// user agent is the caller's to choose, and counting by it would let one
// client grow the visits and the audit chain at will.
func WebVisitor(addr string) Visitor {
	return Visitor{id: "web\x00" + addr}
}

// ChatVisitor is a chat user who opened the link in a messenger.
func ChatVisitor(channel string, chatUserID int64) Visitor {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(chatUserID))
	return Visitor{id: "chat\x00" + channel + "\x00" + string(n[:])}
}

// hash is the visitor's pseudonym for one document on one day.
func (v Visitor) hash(doc uuid.UUID, day time.Time) []byte {
	h := sha256.New()
	h.Write(doc[:])
	h.Write([]byte(day.Format(time.DateOnly)))
	h.Write([]byte{0})
	h.Write([]byte(v.id))
	return h.Sum(nil)
}

// LinkVisit is a visitor's views of one thing behind a link on one day.
type LinkVisit struct {
	DocumentID uuid.UUID
	Day        time.Time // the date in Kazakhstan
	Visitor    []byte    // Visitor.hash
	What       string    // VisitPage, VisitOriginal, VisitCard
	Count      int64
	FirstAt    time.Time
	LastAt     time.Time
}

// event is the audit event of a visitor's first visit of the day.
func (v *LinkVisit) event() *Event {
	kv := map[string]string{"visitor": hex.EncodeToString(v.Visitor[:8])}
	kind := EventLinkOpened
	if v.What != VisitPage {
		kind, kv["version"] = EventDownloaded, v.What
	}
	return &Event{Kind: kind, Actor: "link", At: v.FirstAt, Details: details(kv)}
}

// recordVisit counts a visit of d and, when the document has visits not
// yet in its audit trail, chains them if its row is free.
func (s *records) recordVisit(ctx context.Context, d *Document, who Visitor, what string) error {
	now := s.now()
	y, m, dd := now.In(KazakhstanTime).Date()
	day := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	v := &LinkVisit{DocumentID: d.ID, Day: day, Visitor: who.hash(d.ID, day), What: what, Count: 1, FirstAt: now, LastAt: now}
	settled, err := s.store.RecordLinkVisit(ctx, v)
	if err != nil || settled {
		return err
	}
	return s.auditVisits(ctx, d.ID)
}

// auditVisits appends the document's pending visits to its audit trail,
// unless the row is locked (a signature, an edit, another view doing
// this): then a later visit does it.
func (s *records) auditVisits(ctx context.Context, id uuid.UUID) error {
	return s.store.InTx(ctx, func(tx Tx) error {
		d, ok, err := tx.TryLockDocument(ctx, id)
		if err != nil || !ok {
			return err
		}
		visits, err := tx.PendingLinkVisits(ctx, id)
		if err != nil || len(visits) == 0 {
			return err
		}
		for i := range visits {
			ev := visits[i].event()
			chain(d, ev)
			if err := tx.AppendEvent(ctx, ev); err != nil {
				return err
			}
		}
		if err := tx.MarkLinkVisitsAudited(ctx, visits); err != nil {
			return err
		}
		// A visit changes nothing a card shows: the version stays.
		return tx.UpdateDocument(ctx, d)
	})
}
