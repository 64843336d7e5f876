package pdfintake

import "edobot/core/refusal"

// Error is a refusal the user must see; Code is a stable key the front end
// translates. The cause, if any, is kept for logs and for errors.As on the
// parser's own error values, but is never meant to be shown to the user.
type Error = refusal.Error

// The sentinels carry no cause; Intake returns fresh values with the same
// code and the parser's error attached, which errors.Is matches through Is.
var (
	ErrEmpty     = refusal.New("pdfintake", "pdf_empty")
	ErrTooLarge  = refusal.New("pdfintake", "pdf_too_large")
	ErrNotPDF    = refusal.New("pdfintake", "pdf_not_pdf")   // not a PDF at all (PNG, text, zip…)
	ErrEncrypted = refusal.New("pdfintake", "pdf_encrypted") // any encryption, with or without a user password
	ErrBroken    = refusal.New("pdfintake", "pdf_broken")    // starts like a PDF but cannot be parsed / truncated / no pages
)

// refuse returns a refusal of kind base carrying cause.
func refuse(base *Error, cause error) *Error { return base.With(cause) }
