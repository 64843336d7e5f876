// Package iinbin validates Kazakhstan's 12-digit identification numbers:
// the IIN of a person and the BIN of a legal entity. Both share one check
// digit algorithm; the structure of the first digits tells them apart.
package iinbin

import (
	"fmt"

	"edobot/core/refusal"
)

// Kind says what a valid number identifies.
type Kind int

const (
	// KindIIN is an individual (also a sole proprietor, who trades under the IIN).
	KindIIN Kind = iota + 1
	// KindBIN is a legal entity, branch or representative office.
	KindBIN
)

func (k Kind) String() string {
	switch k {
	case KindIIN:
		return "iin"
	case KindBIN:
		return "bin"
	}
	return "unknown"
}

// Error is a refusal of a typed number; Code is the key the front end translates.
type Error = refusal.Error

var (
	ErrLength   = refusal.New("iinbin", "iinbin_length")
	ErrNotDigit = refusal.New("iinbin", "iinbin_not_digits")
	ErrChecksum = refusal.New("iinbin", "iinbin_checksum")
	ErrLayout   = refusal.New("iinbin", "iinbin_layout")
)

func refuse(base *Error, number string) *Error { return base.With(fmt.Errorf("%q", number)) }

var (
	weights1 = [11]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	weights2 = [11]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2}
)

// CheckDigit computes the 12th digit for the first 11 digits. ok is false when
// both weight rounds give 10: such a prefix can never form a valid number.
func CheckDigit(d [11]int) (digit int, ok bool) {
	for _, w := range [][11]int{weights1, weights2} {
		s := 0
		for i := range d {
			s += d[i] * w[i]
		}
		s %= 11
		if s != 10 {
			return s, true
		}
	}
	return 0, false
}

// Validate checks a number's length, digits and check digit and tells whether
// it is an IIN or a BIN. Spaces are not trimmed: callers normalise input first.
func Validate(s string) (Kind, error) {
	if len(s) != 12 {
		if countRunes(s) == 12 {
			return 0, refuse(ErrNotDigit, s)
		}
		return 0, refuse(ErrLength, s)
	}
	var d [12]int
	for i := 0; i < 12; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, refuse(ErrNotDigit, s)
		}
		d[i] = int(c - '0')
	}
	var first [11]int
	copy(first[:], d[:11])
	check, ok := CheckDigit(first)
	if !ok || check != d[11] {
		return 0, refuse(ErrChecksum, s)
	}
	kind := kindOf(d)
	if kind == 0 {
		return 0, refuse(ErrLayout, s)
	}
	return kind, nil
}

// kindOf reads the structure: an IIN has a birth date and a century/sex digit
// 1–6 at position 7; a BIN has a registration month and an entity-type digit
// 4–6 at position 5 followed by a division digit 0–3.
func kindOf(d [12]int) Kind {
	month := d[2]*10 + d[3]
	day := d[4]*10 + d[5]
	if month >= 1 && month <= 12 && day >= 1 && day <= 31 && d[6] >= 1 && d[6] <= 6 {
		return KindIIN
	}
	if month >= 1 && month <= 12 && d[4] >= 4 && d[4] <= 6 && d[5] <= 3 {
		return KindBIN
	}
	return 0
}

func countRunes(s string) int {
	n := 0
	for range s {
		n++
	}
	return n
}

// Normalize removes the spaces and dashes people type between digit groups.
func Normalize(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '-', '\t', '\n', '\r':
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}
