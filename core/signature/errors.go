package signature

import "fmt"

// Error is a refusal of a signature; Code is the key the front end translates.
type Error struct {
	code  string
	cause error
}

func (e *Error) Error() string {
	if e.cause == nil {
		return "signature: " + e.code
	}
	return "signature: " + e.code + ": " + e.cause.Error()
}

// Code is the stable message key of the refusal.
func (e *Error) Code() string { return e.code }

// Unwrap gives the underlying reason, for logs.
func (e *Error) Unwrap() error { return e.cause }

// Is matches refusals by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.code == e.code
}

var (
	ErrTooLarge        = &Error{code: "cms_too_large"}
	ErrMalformed       = &Error{code: "cms_malformed"}
	ErrNoSigners       = &Error{code: "cms_no_signers"}
	ErrSignerCount     = &Error{code: "cms_signer_count"}
	ErrContentMismatch = &Error{code: "cms_content_mismatch"}
	ErrBadSignature    = &Error{code: "cms_bad_signature"}
	ErrUnsupported     = &Error{code: "cms_unsupported_algorithm"}
	ErrNoCertificate   = &Error{code: "cert_missing"}
	ErrUntrusted       = &Error{code: "cert_untrusted"}
	ErrExpired         = &Error{code: "cert_expired"}
	ErrNotYetValid     = &Error{code: "cert_not_yet_valid"}
	ErrWrongKeyPurpose = &Error{code: "cert_wrong_purpose"}
	ErrRevoked         = &Error{code: "cert_revoked"}
	ErrNoIdentity      = &Error{code: "cert_no_identity"}
)

func refuse(e *Error, format string, args ...any) *Error {
	return &Error{code: e.code, cause: fmt.Errorf(format, args...)}
}
