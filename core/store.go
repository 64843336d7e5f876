package core

import (
	"context"
	"io"
	"time"

	"github.com/google/uuid"
)

// Store is what the use cases need from the database. Every change happens in
// InTx, under the lock of the document row it touches, so that concurrent
// actions on one document are settled by the database, one after the other.
type Store interface {
	InTx(ctx context.Context, fn func(tx Tx) error) error

	OrganisationByNumber(ctx context.Context, number string) (*Organisation, error)
	OrganisationByID(ctx context.Context, id int64) (*Organisation, error)
	// OrganisationSummaries summarises the organisation with the number,
	// or every one, by number, when number is "".
	OrganisationSummaries(ctx context.Context, number string) ([]OrganisationSummary, error)
	APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	// APIKeys lists an organisation's keys, newest first.
	APIKeys(ctx context.Context, orgID int64) ([]APIKey, error)
	// RevokeAPIKey marks a key revoked at at, unless it already was, and
	// returns it with whether it already was; ErrNotFound when there is none.
	RevokeAPIKey(ctx context.Context, id int64, at time.Time) (k APIKey, already bool, err error)
	// TouchAPIKey records that the key was used at at.
	TouchAPIKey(ctx context.Context, id int64, at time.Time) error
	Document(ctx context.Context, id uuid.UUID) (*Document, error)
	DocumentByLink(ctx context.Context, linkHash []byte) (*Document, error)
	Signatures(ctx context.Context, documentID uuid.UUID) ([]Signature, error)
	// Signers lists who signed each of the documents, without the CMS: what
	// a card or a listing shows, in one query however many documents.
	Signers(ctx context.Context, documentIDs []uuid.UUID) (map[uuid.UUID][]Signature, error)
	Events(ctx context.Context, documentID uuid.UUID) ([]Event, error)
	ListFolder(ctx context.Context, a Actor, f Folder, q FolderQuery) ([]Document, error)
	FolderCounts(ctx context.Context, a Actor) (map[Folder]int, error)
	Parties(ctx context.Context, orgID int64, limit int) ([]Party, error)
	// PartiesByNumbers returns the directory's entries with these numbers.
	PartiesByNumbers(ctx context.Context, orgID int64, numbers []string) ([]Party, error)
	Party(ctx context.Context, orgID, id int64) (*Party, error)
	// EnsureChatUser loads the chat user by Channel and ExternalID into u,
	// creating it with u's Name and Language on first contact; a WroteAt
	// given is recorded unless the person wrote before. Rows of the channel
	// stored under aliases, other ids of the same person, are merged into it
	// first.
	EnsureChatUser(ctx context.Context, u *ChatUser, aliases ...string) error
	SetChatLanguage(ctx context.Context, id int64, lang string) error
	// RecordLinkVisit adds v to its visitor's count of the day, and
	// reports whether every visit of the document is in its audit trail.
	RecordLinkVisit(ctx context.Context, v *LinkVisit) (settled bool, err error)
}

// Tx is a database transaction. Lock* read a document row FOR UPDATE and
// return ErrNotFound when there is none. Writes may be sent to the database
// only at commit; their failures then fail the commit.
type Tx interface {
	LockDocument(ctx context.Context, id uuid.UUID) (*Document, error)
	LockDocumentByLink(ctx context.Context, linkHash []byte) (*Document, error)
	// TryLockDocument is LockDocument that does not wait: ok is false when
	// another transaction holds the row.
	TryLockDocument(ctx context.Context, id uuid.UUID) (d *Document, ok bool, err error)
	// PendingLinkVisits are the document's visits not yet in its audit
	// trail, oldest first; MarkLinkVisitsAudited records that they are.
	PendingLinkVisits(ctx context.Context, documentID uuid.UUID) ([]LinkVisit, error)
	MarkLinkVisitsAudited(ctx context.Context, visits []LinkVisit) error
	// InsertDocument stores a new document, with the hash of the request
	// that made it. When the sender already has a document with the same
	// IdempotencyKey it stores nothing, loads that document (and the hash of
	// its request) into d and returns created == false.
	InsertDocument(ctx context.Context, d *Document) (created bool, err error)
	UpdateDocument(ctx context.Context, d *Document) error
	InsertSignature(ctx context.Context, s *Signature) error
	AppendEvent(ctx context.Context, e *Event) error
	AddOutbox(ctx context.Context, m *OutboxMessage) error
	// BindChatUser records the IIN and organisation a chat user proved.
	BindChatUser(ctx context.Context, id int64, iin string, orgID int64, at time.Time) error
	UpsertParty(ctx context.Context, p *Party) error
	UpsertOrganisation(ctx context.Context, o *Organisation) (created bool, err error)
	InsertAPIKey(ctx context.Context, k *APIKey) error
	// BaseRefInUse reports whether another live document of the organisation
	// was made from the same accounting document.
	BaseRefInUse(ctx context.Context, orgID int64, baseRef string, except uuid.UUID) (bool, error)
}

// BlobStore keeps document files by their SHA-256. A file is written once and
// never changed; putting the same content again stores nothing new.
type BlobStore interface {
	Put(ctx context.Context, sha256Hex string, size int64, r io.Reader) error
	Open(ctx context.Context, sha256Hex string) (io.ReadCloser, error)
}

// SignatureVerifier checks a CMS over a document's stored bytes and says who
// signed; the signature package provides it.
type SignatureVerifier interface {
	VerifyDocument(ctx context.Context, cms, document []byte) (VerifiedSignature, error)
	// VerifyChallenge checks a sign-in challenge's CMS, where an
	// authentication key will do as well as a signing key.
	VerifyChallenge(ctx context.Context, cms, challenge []byte) (VerifiedSignature, error)
}

// OutboxMessage is a notification-worthy change, written in the transaction
// of the change itself so that the jobs relay it at least once. It is about
// a document (DocumentID) or, for the chat.* kinds, a chat user (ChatUserID),
// or, for the esf.* kinds, an organisation (OrgID).
type OutboxMessage struct {
	ID         uuid.UUID
	DocumentID uuid.UUID // uuid.Nil for a chat's event
	ChatUserID int64     // 0 for a document's event
	OrgID      int64     // set for the esf.* kinds only: the organisation
	Kind       string
	Payload    []byte
	CreatedAt  time.Time
}

// Outbox kinds.
const (
	OutboxCreated = "document.created"
	OutboxSigned  = "document.signed"
	OutboxRevoked = "document.revoked"
	OutboxDeleted = "document.deleted"
	// OutboxChatBound tells a chat that its person proved who they are.
	OutboxChatBound = "chat.bound"
	// OutboxChatJoined tells the other chats of an organisation that a new
	// chat acts for it.
	OutboxChatJoined = "chat.joined"
)

// ChatEvent reports whether an outbox kind is about a chat rather than a
// document.
func ChatEvent(kind string) bool {
	return kind == OutboxChatBound || kind == OutboxChatJoined
}

// ChatEventPayload is what a chat.* event carries: the organisation the chat
// was bound to.
type ChatEventPayload struct {
	ChatUserID int64  `json:"chat_user_id"`
	OrgID      int64  `json:"org_id"`
	OrgNumber  string `json:"org_number"`
}

// APIKey grants an accounting system access to one organisation. Only the
// SHA-256 of the key is kept.
type APIKey struct {
	ID        int64
	OrgID     int64
	Hash      []byte
	Prefix    string // the first characters, to tell keys apart in lists
	CreatedAt time.Time
	RevokedAt *time.Time
	// LastUsedAt is when the key last authorised a request, to the minute
	// (APIKeyTouchEvery); nil when never.
	LastUsedAt *time.Time
}

// FolderQuery narrows and pages a folder listing.
type FolderQuery struct {
	Search string // a substring of the document number or the other party's name or IIN/BIN
	Limit  int
	Offset int
}
