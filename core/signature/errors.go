package signature

import (
	"fmt"

	"edobot/core/refusal"
)

// Error is a refusal of a signature; Code is the key the front end translates.
type Error = refusal.Error

var (
	ErrTooLarge        = refusal.New("signature", "cms_too_large")
	ErrMalformed       = refusal.New("signature", "cms_malformed")
	ErrNoSigners       = refusal.New("signature", "cms_no_signers")
	ErrSignerCount     = refusal.New("signature", "cms_signer_count")
	ErrContentMismatch = refusal.New("signature", "cms_content_mismatch")
	ErrBadSignature    = refusal.New("signature", "cms_bad_signature")
	ErrUnsupported     = refusal.New("signature", "cms_unsupported_algorithm")
	ErrNoCertificate   = refusal.New("signature", "cert_missing")
	ErrUntrusted       = refusal.New("signature", "cert_untrusted")
	ErrExpired         = refusal.New("signature", "cert_expired")
	ErrNotYetValid     = refusal.New("signature", "cert_not_yet_valid")
	ErrWrongKeyPurpose = refusal.New("signature", "cert_wrong_purpose")
	ErrRevoked         = refusal.New("signature", "cert_revoked")
	// ErrRevocationUnknown: no trustworthy answer about revocation could be
	// had (the responder unreachable, or answering garbage or "unknown").
	ErrRevocationUnknown = refusal.New("signature", "cert_revocation_unknown")
	ErrNoIdentity        = refusal.New("signature", "cert_no_identity")
	ErrStale             = refusal.New("signature", "cms_stale")
	ErrBadTimestamp      = refusal.New("signature", "cms_bad_timestamp")
	// ErrNoTrust: no CA is trusted at all yet (NCA's certificates not
	// downloaded, none configured), so no signature can be judged.
	ErrNoTrust = refusal.New("signature", "trust_not_loaded")
)

func refuse(e *Error, format string, args ...any) *Error {
	return e.With(fmt.Errorf(format, args...))
}
