package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// EventKind names an audit event.
type EventKind string

const (
	EventCreated    EventKind = "created"
	EventEdited     EventKind = "edited"
	EventLinkOpened EventKind = "link_opened"
	EventSigned     EventKind = "signed"
	EventRevoked    EventKind = "revoked"
	EventArchived   EventKind = "archived"
	EventUnarchived EventKind = "unarchived"
	EventDownloaded EventKind = "downloaded"
	EventDeleted    EventKind = "deleted"
)

// Event is one row of a document's append-only audit trail. Each row's Hash
// covers its content and the previous row's hash, and the document keeps the
// last sequence number and hash, so a changed, inserted or removed row (the
// last one included) breaks the chain.
type Event struct {
	DocumentID uuid.UUID
	Seq        int64
	Kind       EventKind
	Actor      string
	At         time.Time // stored with microsecond precision
	Details    []byte    // canonical JSON object, hashed byte for byte
	PrevHash   []byte
	Hash       []byte
}

var genesis = make([]byte, sha256.Size)

// chain fills Seq, PrevHash and Hash of e as the successor of the document's
// current head, and moves the head.
func chain(d *Document, e *Event) {
	e.DocumentID = d.ID
	e.Seq = d.AuditSeq + 1
	e.At = e.At.UTC().Truncate(time.Microsecond)
	e.PrevHash = d.AuditHead
	if len(e.PrevHash) == 0 {
		e.PrevHash = genesis
	}
	e.Hash = eventHash(e)
	d.AuditSeq, d.AuditHead = e.Seq, e.Hash
}

func eventHash(e *Event) []byte {
	h := sha256.New()
	h.Write(e.PrevHash)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	h.Write(e.DocumentID[:])
	for _, field := range [][]byte{[]byte(e.Kind), []byte(e.Actor), e.Details} {
		binary.BigEndian.PutUint64(n[:], uint64(len(field)))
		h.Write(n[:])
		h.Write(field)
	}
	binary.BigEndian.PutUint64(n[:], uint64(e.At.UnixMicro()))
	h.Write(n[:])
	return h.Sum(nil)
}

// details encodes audit details canonically (json.Marshal sorts map keys).
func details(kv map[string]string) []byte {
	if len(kv) == 0 {
		return []byte("{}")
	}
	b, err := json.Marshal(kv)
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return b
}

// VerifyChain checks a document's audit events, ordered by Seq, against the
// head the document row keeps. It returns ErrAuditTampered naming the first
// row that does not fit.
func VerifyChain(headSeq int64, headHash []byte, events []Event) error {
	prev := genesis
	for i := range events {
		e := &events[i]
		if e.Seq != int64(i+1) {
			return tampered(int64(i+1), "sequence gap: found %d", e.Seq)
		}
		if !bytes.Equal(e.PrevHash, prev) {
			return tampered(e.Seq, "previous hash does not match")
		}
		if !bytes.Equal(eventHash(e), e.Hash) {
			return tampered(e.Seq, "content does not match its hash")
		}
		prev = e.Hash
	}
	if int64(len(events)) != headSeq || !bytes.Equal(prev, headHash) && headSeq > 0 {
		return tampered(int64(len(events)), "chain ends at %d, document head is %d", len(events), headSeq)
	}
	return nil
}

func tampered(seq int64, format string, args ...any) error {
	return &Refusal{Code: CodeAuditTampered, Detail: fmt.Sprintf("event %d: ", seq) + fmt.Sprintf(format, args...)}
}
