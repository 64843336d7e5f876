package iinbin

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		number string
		kind   Kind
		err    error
	}{
		{"IIN, first weight round", "850101100002", KindIIN, nil},
		{"IIN, first round, check digit 2", "850101100022", KindIIN, nil},
		{"IIN, second weight round", "850101100304", KindIIN, nil},
		{"IIN, second round, check digit 8", "850101100328", KindIIN, nil},
		{"BIN, first weight round", "990140000007", KindBIN, nil},
		{"BIN, second weight round", "990140000806", KindBIN, nil},
		{"BIN, second round, check digit 1", "990140000831", KindBIN, nil},
		{"bad check digit", "850101100003", 0, ErrChecksum},
		{"bad check digit, second round", "850101100305", 0, ErrChecksum},
		{"both rounds give 10: never valid", "850101100330", 0, ErrChecksum},
		{"both rounds give 10, any last digit", "990140000820", 0, ErrChecksum},
		{"11 digits", "85010110000", 0, ErrLength},
		{"13 digits", "8501011000021", 0, ErrLength},
		{"empty", "", 0, ErrLength},
		{"letters", "85010110000A", 0, ErrNotDigit},
		{"cyrillic letter", "85010110000О", 0, ErrNotDigit},
		{"spaces inside", "850101 10000", 0, ErrNotDigit},
		{"valid checksum, impossible layout", "001300000004", 0, ErrLayout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, err := Validate(tt.number)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Validate(%q) error = %v, want %v", tt.number, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate(%q) = %v", tt.number, err)
			}
			if kind != tt.kind {
				t.Fatalf("Validate(%q) kind = %v, want %v", tt.number, kind, tt.kind)
			}
		})
	}
}

// TestCheckDigitExhaustive checks every last digit of a few prefixes: exactly
// one is accepted, or none when both weight rounds give 10.
func TestCheckDigitExhaustive(t *testing.T) {
	for _, prefix := range []string{"85010110000", "85010110030", "85010110033", "99014000080", "99014000082"} {
		accepted := 0
		for d := '0'; d <= '9'; d++ {
			if _, err := Validate(prefix + string(d)); err == nil {
				accepted++
			} else if !errors.Is(err, ErrChecksum) {
				t.Fatalf("%s%c: unexpected error %v", prefix, d, err)
			}
		}
		want := 1
		if prefix == "85010110033" || prefix == "99014000082" {
			want = 0
		}
		if accepted != want {
			t.Errorf("prefix %s: %d last digits accepted, want %d", prefix, accepted, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	if got := Normalize(" 850101 100-002\n"); got != "850101100002" {
		t.Fatalf("Normalize = %q", got)
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"850101100002", "850101100304", "990140000806", "850101100330", "", "85010110000A", "ЖСН123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, err := Validate(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code() == "" {
				t.Fatalf("Validate(%q) returned a non-refusal error %v", s, err)
			}
			return
		}
		if len(s) != 12 || kind != KindIIN && kind != KindBIN {
			t.Fatalf("Validate(%q) accepted with kind %v", s, kind)
		}
		// An accepted number's check digit is the one the algorithm gives,
		// and changing it makes the number invalid.
		for d := byte('0'); d <= '9'; d++ {
			if d == s[11] {
				continue
			}
			if _, err := Validate(s[:11] + string(d)); err == nil {
				t.Fatalf("%q and %q both accepted", s, s[:11]+string(d))
			}
		}
	})
}
