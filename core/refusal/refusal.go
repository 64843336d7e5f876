// Package refusal is the one shape of a user-facing "no" that core's
// sub-packages (iinbin, pdfintake, signature) return: a stable code the
// front end translates, and a cause kept for logs, never shown to users.
package refusal

// Error is a refusal. Values with the same code match under errors.Is.
type Error struct {
	pkg   string
	code  string
	cause error
}

// New makes a sentinel refusal; pkg prefixes the text of Error for logs.
func New(pkg, code string) *Error { return &Error{pkg: pkg, code: code} }

// With returns a refusal of the same code that carries cause.
func (e *Error) With(cause error) *Error { return &Error{pkg: e.pkg, code: e.code, cause: cause} }

func (e *Error) Error() string {
	if e.cause == nil {
		return e.pkg + ": " + e.code
	}
	return e.pkg + ": " + e.code + ": " + e.cause.Error()
}

// Code is the stable message key, e.g. "pdf_encrypted".
func (e *Error) Code() string { return e.code }

// Unwrap exposes the cause behind the refusal.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is a refusal with the same code, whatever its cause.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && e != nil && t.code == e.code
}
