package core

import (
	"errors"
	"fmt"
)

// Code is the stable key of a refusal; front ends translate it for the user.
type Code string

const (
	CodeNotFound            Code = "document_not_found"
	CodeStatusForbids       Code = "status_forbids"
	CodeSenderOnly          Code = "sender_only"
	CodeAlreadySigned       Code = "already_signed_by_side"
	CodeIDNumberMismatch    Code = "id_number_mismatch"
	CodeRevoked             Code = "document_revoked"
	CodeDeleted             Code = "document_deleted"
	CodeSubscription        Code = "subscription_inactive"
	CodeOrgUnknown          Code = "organisation_unknown"
	CodeRecipientIsSender   Code = "recipient_is_sender"
	CodeStale               Code = "document_changed"
	CodeBaseInUse           Code = "base_document_in_use"
	CodeInvalidType         Code = "invalid_document_type"
	CodeInvalidNumber       Code = "invalid_document_number"
	CodeInvalidDate         Code = "invalid_document_date"
	CodeInvalidName         Code = "invalid_party_name"
	CodeInvalidPartyKind    Code = "invalid_party_kind"
	CodeInvalidPhone        Code = "invalid_phone"
	CodeInvalidTelegram     Code = "invalid_telegram"
	CodeBaseNotAccounting   Code = "base_type_not_accounting"
	CodeAPIKeyInvalid       Code = "api_key_invalid"
	CodeAuditTampered       Code = "audit_tampered"
	CodeSignatureIncomplete Code = "signature_incomplete"
	// CodeNotDemo refuses, in `edobot demo`, to sign a document it did not
	// make: its keys are demonstration keys.
	CodeNotDemo         Code = "not_a_demo_document"
	CodeInvalidLanguage Code = "invalid_language"
	CodeEgovSession     Code = "egov_session_invalid"
	CodeEgovToken       Code = "egov_token_invalid"
	// CodeIdempotencyReused refuses a create whose idempotency key was
	// used before for a different request.
	CodeIdempotencyReused Code = "idempotency_key_reused"
	// CodeVersionRequired refuses an edit that does not say which version
	// of the document it was made on.
	CodeVersionRequired Code = "version_required"
	CodeAPIKeyNotFound  Code = "api_key_not_found"
	// CodeUnavailable is the answer while the database cannot be reached:
	// nothing was done, and the same request may be sent again.
	CodeUnavailable Code = "service_unavailable"
)

// Refusal is a user-facing "no": the action was understood and is not
// allowed, or the input is wrong. Nothing was changed when one is returned.
// Params carry what the message needs (action, status, field) as codes, never
// as translated text.
type Refusal struct {
	Code   Code
	Action Action
	Status Status
	Field  string
	// Limit is the longest value the field takes, for a value too long.
	Limit int
	// Format is the form a value must take where front ends differ (the
	// API's dates are YYYY-MM-DD, the chats' DD.MM.YYYY); "" = the chats'.
	Format string
	Detail string
}

func (r *Refusal) Error() string {
	s := "core: " + string(r.Code)
	if r.Action != "" {
		s += " action=" + string(r.Action)
	}
	if r.Status != "" {
		s += " status=" + string(r.Status)
	}
	if r.Field != "" {
		s += " field=" + r.Field
	}
	if r.Limit != 0 {
		s += fmt.Sprintf(" limit=%d", r.Limit)
	}
	if r.Detail != "" {
		s += ": " + r.Detail
	}
	return s
}

// Is lets errors.Is(err, core.ErrStatusForbids) match any refusal of that code.
func (r *Refusal) Is(target error) bool {
	t, ok := target.(*Refusal)
	return ok && t.Code == r.Code
}

var (
	ErrNotFound          = &Refusal{Code: CodeNotFound}
	ErrStatusForbids     = &Refusal{Code: CodeStatusForbids}
	ErrSenderOnly        = &Refusal{Code: CodeSenderOnly}
	ErrAlreadySigned     = &Refusal{Code: CodeAlreadySigned}
	ErrIDNumberMismatch  = &Refusal{Code: CodeIDNumberMismatch}
	ErrRevoked           = &Refusal{Code: CodeRevoked}
	ErrDeleted           = &Refusal{Code: CodeDeleted}
	ErrSubscription      = &Refusal{Code: CodeSubscription}
	ErrOrgUnknown        = &Refusal{Code: CodeOrgUnknown}
	ErrRecipientIsSender = &Refusal{Code: CodeRecipientIsSender}
	ErrStale             = &Refusal{Code: CodeStale}
	ErrBaseInUse         = &Refusal{Code: CodeBaseInUse}
	ErrAPIKeyInvalid     = &Refusal{Code: CodeAPIKeyInvalid}
	ErrAuditTampered     = &Refusal{Code: CodeAuditTampered}
	ErrIdempotencyReused = &Refusal{Code: CodeIdempotencyReused}
	ErrVersionRequired   = &Refusal{Code: CodeVersionRequired}
	ErrAPIKeyNotFound    = &Refusal{Code: CodeAPIKeyNotFound}
	ErrUnavailable       = &Refusal{Code: CodeUnavailable}
)

// ErrStoreUnavailable is in every error of the store that means the
// database could not be reached or dropped the connection: the request did
// nothing and may be sent again. It is not a refusal (jobs retry it, a
// signing in progress fails rather than being refused); the front ends
// answer it with ErrUnavailable, the web with a 503.
var ErrStoreUnavailable = errors.New("core: the database is out of reach")

func refuse(code Code, a Action, st Status) *Refusal {
	return &Refusal{Code: code, Action: a, Status: st}
}

func invalid(code Code, field, detail string) *Refusal {
	return &Refusal{Code: code, Field: field, Detail: detail}
}

// AsRefusal reports whether err is a user-facing refusal of this package.
func AsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	if errors.As(err, &r) {
		return r, true
	}
	return nil, false
}

func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
