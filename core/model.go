package core

import (
	"time"

	"github.com/google/uuid"
)

// Status is a document's place in its life. The values are the API's words;
// users read the Russian and Kazakh names from the front end's catalogue.
type Status string

const (
	StatusCreated Status = "created" // «Создан»
	StatusSigning Status = "signing" // «На подписании»
	StatusSigned  Status = "signed"  // «Подписан»
	StatusRevoked Status = "revoked" // «Отозван»
)

// Statuses lists every status in life order.
var Statuses = []Status{StatusCreated, StatusSigning, StatusSigned, StatusRevoked}

// Final reports whether nothing can happen to the document's signatures any more.
func (s Status) Final() bool { return s == StatusSigned || s == StatusRevoked }

// Side is one of the two parties of a document.
type Side string

const (
	SideSender    Side = "sender"
	SideRecipient Side = "recipient"
)

// Other returns the opposite side.
func (s Side) Other() Side {
	if s == SideSender {
		return SideRecipient
	}
	return SideSender
}

// PartyKind says whether a recipient works for the sender or is a counterparty.
type PartyKind string

const (
	PartyEmployee     PartyKind = "employee"
	PartyCounterparty PartyKind = "counterparty"
)

// DocType is a document type from the catalogue.
type DocType string

const (
	TypeWaybill            DocType = "waybill"             // Накладная
	TypeActWaybill         DocType = "act_waybill"         // Акт/Накладная
	TypePowerOfAttorney    DocType = "power_of_attorney"   // Доверенность
	TypeContract           DocType = "contract"            // Договор
	TypeEmploymentContract DocType = "employment_contract" // Трудовой договор
	TypeReconciliationAct  DocType = "reconciliation_act"  // Акт сверки
	TypeOther              DocType = "other"               // Прочее
)

// DocTypes is the catalogue in the order users see it.
var DocTypes = []DocType{TypeWaybill, TypeActWaybill, TypePowerOfAttorney, TypeContract,
	TypeEmploymentContract, TypeReconciliationAct, TypeOther}

// Valid reports whether t is in the catalogue.
func (t DocType) Valid() bool {
	for _, c := range DocTypes {
		if c == t {
			return true
		}
	}
	return false
}

// Accounting reports whether an accounting system's document of this type can
// be the base of an EDO document (all catalogue types but «Прочее»).
func (t DocType) Accounting() bool { return t.Valid() && t != TypeOther }

// Organisation is a sender of documents, registered by BIN (legal entity) or
// IIN (sole proprietor).
type Organisation struct {
	ID                int64
	Number            string // BIN or IIN, checksum-valid
	Name              string
	SubscriptionUntil *time.Time // last day, inclusive; nil = none
	// Trial marks a subscription that is the trial a new organisation
	// gets, not one it paid for.
	Trial     bool
	CreatedAt time.Time
}

// SubscriptionActive reports whether the organisation may send documents at now.
// The subscription covers its last day whole, in Kazakhstan's time.
func (o *Organisation) SubscriptionActive(now time.Time) bool {
	if o.SubscriptionUntil == nil {
		return false
	}
	u := o.SubscriptionUntil.UTC()
	end := time.Date(u.Year(), u.Month(), u.Day()+1, 0, 0, 0, 0, KazakhstanTime)
	return now.Before(end)
}

// KazakhstanTime is the country's single time zone (UTC+5 since 2024).
var KazakhstanTime = time.FixedZone("Asia/Almaty", 5*60*60)

// ChatUser is a person talking to the bot on a messenger. IIN and OrgID are
// set only after the person proved them by signing a challenge.
type ChatUser struct {
	ID         int64
	Channel    string // "telegram" or "whatsapp"
	ExternalID string // Telegram user id or WhatsApp JID
	Name       string
	IIN        string
	OrgID      int64
	Language   string     // "ru", "kk" or "en"
	Username   string     // Telegram @username without the @, as last seen
	Phone      string     // E.164, when the messenger told it
	BlockedAt  *time.Time // the person blocked the bot: nothing more is sent
	// WroteAt is when the person first wrote to the bot; nil for a chat the
	// bot opened itself (a WhatsApp number reached by phone).
	WroteAt   *time.Time
	CreatedAt time.Time
}

// NeverWrote reports a WhatsApp chat the bot opened itself and the person
// never answered: WhatsApp punishes unasked messages, so such a chat gets
// no reminders and a first message to it is cold outreach. A Telegram chat
// always wrote first: a bot cannot open one.
func (u *ChatUser) NeverWrote() bool { return u.Channel == ChannelWhatsApp && u.WroteAt == nil }

// InboundMessage is a message a chat front end received, kept from its
// arrival until it was handled, so that a process stopped or killed between
// the two loses nothing.
type InboundMessage struct {
	Seq        int64  // order of arrival
	ID         string // unique per message: the sender and the messenger's id
	Person     string // the chat user's external id
	Alias      string // the person's other external id, when known
	Name       string // the name the person shows
	Payload    []byte // the message as the messenger encodes it
	Edit       bool
	ReceivedAt time.Time
	// Chat, Sender and MessageID are what the read mark of the message
	// names.
	Chat, Sender, MessageID string
}

// Bound reports whether the person proved an IIN/BIN and may act for an
// organisation.
func (u *ChatUser) Bound() bool { return u.OrgID != 0 && u.IIN != "" }

// Party is an entry of an organisation's directory of employees and counterparties.
type Party struct {
	ID         int64
	OrgID      int64
	Kind       PartyKind
	Number     string // IIN or BIN
	Name       string
	Phone      string
	Telegram   string
	WhatsApp   string
	UpdatedAt  time.Time
	LastUsedAt time.Time
}

// FileInfo describes the immutable PDF of a document.
type FileInfo struct {
	SHA256 string // hex, lower case; the blob's key and what every signature signs
	Size   int64
	Pages  int
	// Name is the name the file was uploaded under (CleanFileName), "" when
	// the sender's client gave none; downloads of the original keep it.
	Name string
}

// Document is one PDF sent from an organisation to a recipient for signature.
type Document struct {
	ID               uuid.UUID
	SenderOrgID      int64
	SenderNumber     string
	SenderName       string
	RecipientPartyID int64
	RecipientKind    PartyKind
	RecipientNumber  string
	RecipientName    string
	Type             DocType
	Number           string
	Date             time.Time // a calendar date, at 00:00 UTC
	File             FileInfo
	Status           Status
	LinkToken        string
	BaseRef          string
	IdempotencyKey   string
	// IdempotencyHash is the SHA-256 of the request that created the
	// document under IdempotencyKey; nil for documents made before it was kept.
	IdempotencyHash []byte
	CopiedFrom      uuid.UUID
	// Demo marks a document made by `edobot demo`: its signatures are made
	// with demonstration keys that no other process trusts.
	Demo bool

	SenderSignedAt      *time.Time
	RecipientSignedAt   *time.Time
	SenderArchivedAt    *time.Time
	RecipientArchivedAt *time.Time
	DeletedAt           *time.Time

	Version   int64 // bumped by every change; guards edits made from a stale card
	AuditSeq  int64 // sequence number of the last audit event
	AuditHead []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SignedBy reports whether the side has signed.
func (d *Document) SignedBy(s Side) bool {
	if s == SideSender {
		return d.SenderSignedAt != nil
	}
	return d.RecipientSignedAt != nil
}

// ArchivedBy reports whether the side moved the document to its archive.
func (d *Document) ArchivedBy(s Side) bool {
	if s == SideSender {
		return d.SenderArchivedAt != nil
	}
	return d.RecipientArchivedAt != nil
}

// BaseLocked reports whether the accounting document this one was made from
// must not be changed any more: from the first signature on, until a revoke.
func (d *Document) BaseLocked() bool {
	return d.BaseRef != "" && d.DeletedAt == nil && (d.Status == StatusSigning || d.Status == StatusSigned)
}

// NumberOf returns the IIN/BIN that identifies a side.
func (d *Document) NumberOf(s Side) string {
	if s == SideSender {
		return d.SenderNumber
	}
	return d.RecipientNumber
}

// KeyKind is the family of a signing key.
type KeyKind string

const (
	KeyRSA      KeyKind = "rsa"
	KeyGOST2004 KeyKind = "gost2004"
	KeyGOST2015 KeyKind = "gost2015"
)

// Signer is who a verified certificate says signed.
type Signer struct {
	IIN          string
	BIN          string // empty for a personal certificate
	FullName     string
	Organisation string
	CertSerial   string
	Issuer       string
	NotBefore    time.Time
	NotAfter     time.Time
	KeyKind      KeyKind
}

// VerifiedSignature is a CMS that the signature verifier accepted over the
// document's stored bytes, with the identity its certificate proves.
type VerifiedSignature struct {
	Signer   Signer
	CMS      []byte
	SignedAt time.Time // the signing time the CMS states
}

// Signature is a recorded signature of one side.
type Signature struct {
	ID         int64
	DocumentID uuid.UUID
	Side       Side
	Signer     Signer
	CMS        []byte
	SignedAt   time.Time
	RecordedAt time.Time
}

// Folder is one of the four lists a user sees.
type Folder string

const (
	FolderIncoming  Folder = "incoming"  // Входящие
	FolderOutgoing  Folder = "outgoing"  // Исходящие
	FolderCompleted Folder = "completed" // Завершенные
	FolderArchived  Folder = "archived"  // Архивные
)

// Folders lists the folders in the order users see them.
var Folders = []Folder{FolderIncoming, FolderOutgoing, FolderCompleted, FolderArchived}

// Actor is who performs an action: an organisation (through one of its chat
// users or an API key) or a person acting for themself. Number is the IIN/BIN
// the actor proved; OrgID is set when that number is a registered organisation.
type Actor struct {
	OrgID  int64
	Number string
	Label  string // for the audit trail: "user:12", "apikey:3", "cli"
	// ChatUserID is the chat user acting (ChatActor); 0 for any other actor.
	ChatUserID int64
}
