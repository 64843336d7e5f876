package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ИС ЭСФ as the invoice use cases see it. The protocol is core/esf's; these
// are the few shapes the use cases need, in core's own terms, so that core
// does not import its client (core/esf imports core). core/esf's Gateway
// implements ESFClient and ESFTicketVerifier.

// ESFCredentials are the person's IIN and ИС ЭСФ cabinet password.
type ESFCredentials struct {
	IIN      string
	Password string
}

// ESFCursor is where the updates stream was read to.
type ESFCursor struct {
	LastEventDate time.Time
	LastInvoiceID int64
}

// ESFUpdates is one page of incoming invoices and status changes.
type ESFUpdates struct {
	Next     ESFCursor
	Last     bool
	Invoices []ESFInvoice
}

// ESFClient is what the use cases call of ИС ЭСФ. Every failure is an
// *ESFFault.
type ESFClient interface {
	CreateAuthTicket(ctx context.Context, iin string, ttlMinutes int) (string, error)
	OpenSession(ctx context.Context, cred ESFCredentials, bin, signedTicket string) (string, error)
	CloseSession(ctx context.Context, sessionID string) error
	CloseSessionByCredentials(ctx context.Context, cred ESFCredentials, bin, certificate string) error
	QueryUpdates(ctx context.Context, sessionID string, from ESFCursor) (ESFUpdates, error)
	ConfirmInvoices(ctx context.Context, sessionID string, ids ...int64) error
}

// ESFSignedTicket is a signed ticket whose signature was checked.
type ESFSignedTicket struct {
	Signer      Signer
	Certificate string    // base64 DER
	Issued      time.Time // the ticket's timeMark; zero when unreadable
	TTL         time.Duration
	State       string // the ticket's nonce, as signed
	XML         string
}

// ESFTicketVerifier checks a signed ticket: an enveloped XML signature by a
// trusted certificate of the person iin names, with an authentication key
// (or the GOST 2015 single key). Refusals are *Refusal of the esf_ticket_*
// codes or the signature package's.
type ESFTicketVerifier interface {
	VerifyESFTicket(ctx context.Context, signedXML []byte, iin string) (ESFSignedTicket, error)
	// ESFTicketState is the nonce of a ticket ИС ЭСФ issued (its state):
	// what tells one ticket from another of the same person.
	ESFTicketState(ticketXML []byte) (string, error)
}

// ESFFaultKind is what a failure of ИС ЭСФ means for the use cases.
type ESFFaultKind int

const (
	// ESFTransient: the service is down, timed out, answered 5xx or
	// SYSTEM_DOWN; the same call may succeed later.
	ESFTransient ESFFaultKind = iota + 1
	// ESFMalformed: an answer that cannot be read; retried like a transient one.
	ESFMalformed
	// ESFPasswordWrong: PASSWORD_INVALID, the cabinet password must be entered again.
	ESFPasswordWrong
	// ESFTicketRefused: the signed ticket (or its certificate) is refused
	// for good: it is dead.
	ESFTicketRefused
	// ESFUserHasSession: the person has a session open already.
	ESFUserHasSession
	// ESFTooSoon: a session was opened less than five minutes ago.
	ESFTooSoon
	// ESFRefused: any other refusal (user blocked, access denied…).
	ESFRefused
)

// ESFFault is a failed call of ИС ЭСФ. Err is the client's error, with
// ИС ЭСФ's own code and text for the logs.
type ESFFault struct {
	Kind ESFFaultKind
	Code string // ИС ЭСФ's code or the client's (UNAVAILABLE, MALFORMED_ANSWER)
	Err  error
}

func (f *ESFFault) Error() string {
	if f.Err != nil {
		return f.Err.Error()
	}
	return "esf: " + f.Code
}

func (f *ESFFault) Unwrap() error { return f.Err }

// Retryable reports whether the call may be tried again later.
func (f *ESFFault) Retryable() bool { return f.Kind == ESFTransient || f.Kind == ESFMalformed }

// ESFFaultOf is err's fault, nil for other errors.
func ESFFaultOf(err error) *ESFFault {
	var f *ESFFault
	if errors.As(err, &f) {
		return f
	}
	return nil
}

// ESFTicketState is a ticket's state: active until ИС ЭСФ refuses it
// (dead) or a manager ends it (ended). An active ticket past its expiry
// opens nothing.
type ESFTicketState string

const (
	ESFTicketActive ESFTicketState = "active"
	ESFTicketDead   ESFTicketState = "dead"
	ESFTicketEnded  ESFTicketState = "ended"
)

// ESFTicket is a signed ticket kept to reopen sessions.
type ESFTicket struct {
	ID          int64
	OrgID       int64
	IIN         string
	ChatUserID  int64
	Name        string // the signer's name from the certificate
	KeySerial   string
	KeyKind     KeyKind
	Certificate string
	SignedXML   string
	ExpiresAt   time.Time
	State       ESFTicketState
	CreatedAt   time.Time
	EndedAt     *time.Time
}

// ESFInvoice is an incoming invoice as the chats show it.
type ESFInvoice struct {
	OrgID              int64     `json:"org_id"`
	ESFID              int64     `json:"esf_id"`
	RegistrationNumber string    `json:"registration_number"`
	Number             string    `json:"number"`
	Date               string    `json:"date"` // dd.MM.yyyy
	SellerName         string    `json:"seller_name"`
	SellerBIN          string    `json:"seller_bin"`
	Total              string    `json:"total"` // a decimal, as written
	Currency           string    `json:"currency"`
	Status             string    `json:"status"` // ИС ЭСФ's InvoiceStatus
	UpdatedAt          time.Time `json:"updated_at"`
}

// ESFStatusDelivered is the status «Получено» leads to; ESFStatusCreated
// the status of an invoice waiting for it.
const (
	ESFStatusCreated   = "CREATED"
	ESFStatusDelivered = "DELIVERED"
)

// Confirmable reports whether «✅ Получено» applies to the invoice.
func (i ESFInvoice) Confirmable() bool { return i.Status == ESFStatusCreated }

// ESFSync is an organisation's synchronisation state.
type ESFSync struct {
	OrgID          int64
	Cursor         ESFCursor // zero: never read
	LastSyncAt     *time.Time
	PausedNotified bool
	WarnedTicketID int64
	// FailingSince is when the syncs began failing for reasons that pass
	// (ИС ЭСФ down, timed out, 5xx, unreadable answers); nil while they
	// succeed.
	FailingSince *time.Time
	// UnavailableNotified: the chats were told that ИС ЭСФ is unavailable
	// and are to be told when it is back.
	UnavailableNotified bool
}

// Outbox kinds of an organisation's ИС ЭСФ events.
const (
	OutboxESFInvoice  = "esf.invoice"  // a new incoming invoice
	OutboxESFStatus   = "esf.status"   // a known invoice's status changed
	OutboxESFPaused   = "esf.paused"   // synchronisation stopped: a ticket or password is needed
	OutboxESFExpiring = "esf.expiring" // the last active ticket expires within a day
	// OutboxESFUnavailable: the syncs have failed for reasons that pass
	// (ИС ЭСФ down…) for InvoicesDeps.UnavailableAfter; nothing is lost, the
	// invoices come when it is back.
	OutboxESFUnavailable = "esf.unavailable"
	// OutboxESFRestored: a sync succeeded after OutboxESFUnavailable.
	OutboxESFRestored = "esf.restored"
)

// ESFEvent reports whether an outbox kind is an organisation's ИС ЭСФ event.
func ESFEvent(kind string) bool {
	switch kind {
	case OutboxESFInvoice, OutboxESFStatus, OutboxESFPaused, OutboxESFExpiring, OutboxESFUnavailable, OutboxESFRestored,
		OutboxESFConnected, OutboxESFRefused, OutboxESFPasswordSaved:
		return true
	}
	return false
}

// ESFPauseReason says what a paused synchronisation needs.
type ESFPauseReason string

const (
	ESFPausedNoTicket ESFPauseReason = "ticket"   // sign a new ticket
	ESFPausedPassword ESFPauseReason = "password" // enter the cabinet password again
)

// ESFNotice is what an esf.* event carries: the invoice as the change left
// it, or why synchronisation paused, or which ticket expires when.
type ESFNotice struct {
	OrgID          int64          `json:"org_id"`
	Invoice        *ESFInvoice    `json:"invoice,omitempty"`
	PreviousStatus string         `json:"previous_status,omitempty"`
	Reason         ESFPauseReason `json:"reason,omitempty"`
	IIN            string         `json:"iin,omitempty"` // whose password or ticket
	TicketID       int64          `json:"ticket_id,omitempty"`
	ExpiresAt      *time.Time     `json:"expires_at,omitempty"`
	Who            string         `json:"who,omitempty"`   // the signer's name (esf.connected)
	Code           Code           `json:"code,omitempty"`  // the refusal (esf.refused)
	Since          *time.Time     `json:"since,omitempty"` // when the syncs began failing (esf.unavailable, esf.restored)
}

// ESFStore is what the invoice use cases read and write.
type ESFStore interface {
	InESFTx(ctx context.Context, fn func(tx ESFTx) error) error
	OrganisationByID(ctx context.Context, id int64) (*Organisation, error)
	// ESFPassword is the sealed password of the person for the
	// organisation; ErrNotFound when there is none.
	ESFPassword(ctx context.Context, orgID int64, iin string) (sealed, nonce []byte, err error)
	// ActiveESFTickets are the organisation's active tickets not expired at
	// now, the latest expiry first.
	ActiveESFTickets(ctx context.Context, orgID int64, now time.Time) ([]ESFTicket, error)
	ESFInvoice(ctx context.Context, orgID, esfID int64) (*ESFInvoice, error)
	ESFSyncState(ctx context.Context, orgID int64) (ESFSync, error)
	// ESFOrgsToSync lists the organisations with an active ticket, or with
	// a ticket that stopped and no pause told yet.
	ESFOrgsToSync(ctx context.Context, now time.Time) ([]int64, error)
	// ClaimESFSession takes the person's turn to open a session, for hold
	// at most: not while another holds it nor within gap of the last
	// session opened. ok is false when the turn is not theirs now.
	ClaimESFSession(ctx context.Context, iin string, now time.Time, gap, hold time.Duration) (ok bool, err error)
	// ReleaseESFSession gives the turn back, noting when a session was
	// opened in it (zero: none was).
	ReleaseESFSession(ctx context.Context, iin string, openedAt time.Time) error
	AddESFCalls(ctx context.Context, orgID int64, day time.Time, n int) error
	// ESFCallsOn are the calls of each organisation (by BIN) on day.
	ESFCallsOn(ctx context.Context, day time.Time) (map[string]int64, error)
	// ESFCallsOf are the organisation's calls on day (0 when none).
	ESFCallsOf(ctx context.Context, orgID int64, day time.Time) (int64, error)
}

// ESFTx is a transaction of the invoice use cases.
type ESFTx interface {
	// LockESFSync reads the organisation's state FOR UPDATE, creating it.
	LockESFSync(ctx context.Context, orgID int64) (ESFSync, error)
	SaveESFPassword(ctx context.Context, orgID int64, iin string, sealed, nonce []byte, at time.Time) error
	// DeleteESFPassword reports whether there was one.
	DeleteESFPassword(ctx context.Context, orgID int64, iin string) (bool, error)
	SaveESFSync(ctx context.Context, s ESFSync) error
	InsertESFTicket(ctx context.Context, t *ESFTicket) error
	// SetESFTicketState moves an active ticket of the organisation to
	// state; found is false when there is no such active ticket.
	SetESFTicketState(ctx context.Context, orgID, id int64, state ESFTicketState, at time.Time) (found bool, err error)
	// EndESFTicketsOf ends the person's active tickets for the organisation.
	EndESFTicketsOf(ctx context.Context, orgID int64, iin string, at time.Time) error
	// UpsertESFInvoice stores the invoice and returns the status it had
	// before ("" when it is new).
	UpsertESFInvoice(ctx context.Context, inv *ESFInvoice) (previous string, err error)
	AddOutbox(ctx context.Context, m *OutboxMessage) error
}

// ИС ЭСФ refusals.
const (
	CodeESFNotBound          Code = "esf_not_bound"               // the chat has not signed in for an organisation
	CodeESFNoPassword        Code = "esf_no_password"             // no cabinet password kept for this person
	CodeESFPasswordEmpty     Code = "esf_password_empty"          // an empty or too long password
	CodeESFPasswordInvalid   Code = "esf_password_invalid"        // ИС ЭСФ says the password is wrong
	CodeESFTicketMalformed   Code = "esf_ticket_malformed"        // what was signed is not a ticket
	CodeESFTicketNotXML      Code = "esf_ticket_not_xml"          // what came back signed is not XML
	CodeESFTicketUnsigned    Code = "esf_ticket_unsigned"         // the ticket carries no XML signature
	CodeESFTicketBroken      Code = "esf_ticket_signature_broken" // its XML signature is damaged, or the ticket changed after signing
	CodeESFTicketWrongSigner Code = "esf_ticket_wrong_signer"     // another person's key
	CodeESFTicketNotAuth     Code = "esf_ticket_not_auth_key"     // a signing key instead of AUTH
	CodeESFTicketWrongOrg    Code = "esf_ticket_wrong_org"        // the certificate names another organisation
	CodeESFTicketRefused     Code = "esf_ticket_refused"          // ИС ЭСФ refused the ticket
	CodeESFTicketNotIssued   Code = "esf_ticket_not_issued"       // a ticket other than the one the link gave (an older one)
	CodeESFNoTicket          Code = "esf_no_ticket"               // no active ticket: sign one
	CodeESFTooSoon           Code = "esf_too_soon"                // five-minute rule, or a session is in use
	CodeESFUnavailable       Code = "esf_unavailable"             // down, timed out, or an unreadable answer
	CodeESFRefused           Code = "esf_refused"                 // another refusal of ИС ЭСФ
	CodeESFBudget            Code = "esf_budget"                  // the day's calls are spent
)

// ESFCodes lists the refusals of the invoice use cases.
var ESFCodes = []Code{CodeESFNotBound, CodeESFNoPassword, CodeESFPasswordEmpty, CodeESFPasswordInvalid,
	CodeESFTicketMalformed, CodeESFTicketNotXML, CodeESFTicketUnsigned, CodeESFTicketBroken,
	CodeESFTicketWrongSigner, CodeESFTicketNotAuth, CodeESFTicketWrongOrg,
	CodeESFTicketRefused, CodeESFTicketNotIssued, CodeESFNoTicket, CodeESFTooSoon, CodeESFUnavailable, CodeESFRefused, CodeESFBudget, CodeESFLinkGone}

var (
	ErrESFTicketMalformed   = &Refusal{Code: CodeESFTicketMalformed}
	ErrESFTicketNotXML      = &Refusal{Code: CodeESFTicketNotXML}
	ErrESFTicketUnsigned    = &Refusal{Code: CodeESFTicketUnsigned}
	ErrESFTicketBroken      = &Refusal{Code: CodeESFTicketBroken}
	ErrESFTicketWrongSigner = &Refusal{Code: CodeESFTicketWrongSigner}
	ErrESFTicketNotAuth     = &Refusal{Code: CodeESFTicketNotAuth}
	ErrESFTicketWrongOrg    = &Refusal{Code: CodeESFTicketWrongOrg}
	ErrESFPasswordInvalid   = &Refusal{Code: CodeESFPasswordInvalid}
	ErrESFNoPassword        = &Refusal{Code: CodeESFNoPassword}
	ErrESFNoTicket          = &Refusal{Code: CodeESFNoTicket}
	ErrESFTooSoon           = &Refusal{Code: CodeESFTooSoon}
	ErrESFUnavailable       = &Refusal{Code: CodeESFUnavailable}
	ErrESFTicketRefused     = &Refusal{Code: CodeESFTicketRefused}
	ErrESFTicketNotIssued   = &Refusal{Code: CodeESFTicketNotIssued}
	ErrESFRefused           = &Refusal{Code: CodeESFRefused}
	ErrESFBudget            = &Refusal{Code: CodeESFBudget}
	ErrESFNotBound          = &Refusal{Code: CodeESFNotBound}
)

// esfRefusal turns a fault into the user's refusal, keeping the fault in
// the chain for the logs and for ESFFaultOf.
func esfRefusal(err error) error {
	f := ESFFaultOf(err)
	if f == nil {
		return err
	}
	var r *Refusal
	switch f.Kind {
	case ESFTransient, ESFMalformed:
		r = ErrESFUnavailable
	case ESFPasswordWrong:
		r = ErrESFPasswordInvalid
	case ESFTicketRefused:
		r = ErrESFTicketRefused
	case ESFUserHasSession, ESFTooSoon:
		r = ErrESFTooSoon
	default:
		r = ErrESFRefused
	}
	return fmt.Errorf("%w: %w", &Refusal{Code: r.Code, Detail: f.Code}, err)
}
