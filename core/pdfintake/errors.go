package pdfintake

// Error is a refusal the user must see; Code is a stable key the front end
// translates. The cause, if any, is kept for logs and for errors.As on the
// parser's own error values, but is never meant to be shown to the user.
type Error struct {
	code  string
	cause error
}

// The sentinels carry no cause; Intake returns fresh values with the same
// code and the parser's error attached, which errors.Is matches through Is.
var (
	ErrEmpty     = &Error{code: "pdf_empty"}
	ErrTooLarge  = &Error{code: "pdf_too_large"}
	ErrNotPDF    = &Error{code: "pdf_not_pdf"}   // not a PDF at all (PNG, text, zip…)
	ErrEncrypted = &Error{code: "pdf_encrypted"} // any encryption, with or without a user password
	ErrBroken    = &Error{code: "pdf_broken"}    // starts like a PDF but cannot be parsed / truncated / no pages
)

func (e *Error) Error() string {
	if e.cause == nil {
		return "pdfintake: " + e.code
	}
	return "pdfintake: " + e.code + ": " + e.cause.Error()
}

// Code returns the stable key for the front end, e.g. "pdf_encrypted".
func (e *Error) Code() string { return e.code }

// Unwrap exposes the parser's or reader's error behind the refusal.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, ErrBroken) holds for every broken-PDF refusal whatever its
// cause.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && e != nil && t.code == e.code
}

// refuse returns a refusal of kind base carrying cause.
func refuse(base *Error, cause error) *Error {
	return &Error{code: base.code, cause: cause}
}
