package core

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Every text a person or a client system types passes one of these rules
// before it is kept, in every front end alike. PostgreSQL refuses a NUL byte
// and invalid UTF-8 in a text column, and a btree index refuses a value over
// about 2.7 KB; such input must be refused here, naming the field, rather
// than fail in the database.

// TextRule is how one text field is checked.
type TextRule struct {
	// Field is the field's name as the REST API spells it; the chats read
	// its name from the catalogue (field.<Field>).
	Field string
	// Max is the longest value in characters, after trimming.
	Max int
	// Required refuses an empty value.
	Required bool
	// Code refuses an empty or too long value; "" means CodeTextTooLong.
	Code Code
	// Collapse turns every run of white space into one space (names).
	Collapse bool
	// ASCII allows printable ASCII only: keys a program makes, which travel
	// in HTTP headers.
	ASCII bool
}

// The text fields.
var (
	TextNumber    = TextRule{Field: "number", Max: 64, Required: true, Code: CodeInvalidNumber}
	TextPartyName = TextRule{Field: "recipient_name", Max: 300, Required: true, Code: CodeInvalidName, Collapse: true}
	TextOrgName   = TextRule{Field: "name", Max: 300, Required: true, Code: CodeInvalidName, Collapse: true}
	// TextBaseRef is an accounting system's reference: 1C's are a type name
	// and a UUID, well under the limit.
	TextBaseRef = TextRule{Field: "base_ref", Max: 256}
	TextSearch  = TextRule{Field: "q", Max: 100, Collapse: true}
	// TextIdempotencyKey follows the limit Stripe and others set; the
	// IETF draft (draft-ietf-httpapi-idempotency-key-header) makes the key
	// a Structured Field string, which is printable ASCII.
	TextIdempotencyKey = TextRule{Field: "Idempotency-Key", Max: 255, ASCII: true}
	TextPhone          = TextRule{Field: "recipient_phone", Max: 32}
	TextTelegram       = TextRule{Field: "recipient_telegram", Max: 64}
	TextIINBIN         = TextRule{Field: "recipient_iin_bin", Max: 32}
	TextWebhookURL     = TextRule{Field: "url", Max: 2048}
	// Names the messengers report (a person's, a file's) are not typed as an
	// answer and are never refused: Sanitize makes them safe to keep.
	TextPersonName = TextRule{Field: "person_name", Max: 300, Collapse: true}
	TextFileName   = TextRule{Field: "file_name", Max: 255}
)

// TextRules are the rules whose refusals a person can read: each field has
// a name in the catalogue.
var TextRules = []TextRule{TextNumber, TextPartyName, TextOrgName, TextBaseRef, TextSearch, TextIdempotencyKey,
	TextPhone, TextTelegram, TextIINBIN, TextWebhookURL}

// Refusals of a text field.
const (
	CodeTextInvalid Code = "invalid_text"          // NUL, control characters or broken UTF-8
	CodeTextTooLong Code = "invalid_text_too_long" // over the rule's Max
)

// Clean trims the value (and collapses its spaces when the rule says so) and
// checks it: a refusal names the field and, for a long value, the limit.
func (r TextRule) Clean(s string) (string, error) {
	s = r.trim(s)
	if !r.validChars(s) {
		return "", &Refusal{Code: CodeTextInvalid, Field: r.Field}
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && r.Required, n > r.Max:
		code := r.Code
		if code == "" {
			code = CodeTextTooLong
		}
		return "", &Refusal{Code: code, Field: r.Field, Limit: r.Max}
	}
	return s, nil
}

// Sanitize makes a value safe to keep without refusing it: broken UTF-8 and
// control characters are dropped and the rest cut to Max characters.
func (r TextRule) Sanitize(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(c rune) rune {
		if forbidden(c) || r.ASCII && (c < 0x20 || c > 0x7e) {
			return -1
		}
		return c
	}, s)
	s = r.trim(s)
	if utf8.RuneCountInString(s) > r.Max {
		s = strings.TrimSpace(string([]rune(s)[:r.Max]))
	}
	return s
}

func (r TextRule) trim(s string) string {
	if r.Collapse {
		return strings.Join(strings.Fields(s), " ")
	}
	return strings.TrimSpace(s)
}

func (r TextRule) validChars(s string) bool {
	if r.ASCII {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				return false
			}
		}
		return true
	}
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if forbidden(c) {
			return false
		}
	}
	return true
}

// forbidden are the characters no field may hold: control characters (NUL
// among them; tabs and line breaks too, inside a value: every field is one
// line, and those that collapse spaces have none left by then) and the
// bidirectional overrides and isolates, which can make a number or a name
// read differently from what it is (CVE-2021-42574, «Trojan Source»).
func forbidden(c rune) bool {
	return unicode.IsControl(c) || c >= 0x202a && c <= 0x202e || c >= 0x2066 && c <= 0x2069
}
