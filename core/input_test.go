package core

import (
	"errors"
	"strings"
	"testing"
)

func TestTextRules(t *testing.T) {
	cases := []struct {
		rule TextRule
		in   string
		want string
		code Code // "" = accepted
	}{
		{TextNumber, "  Д-15/2026 ", "Д-15/2026", ""},
		{TextNumber, "", "", CodeInvalidNumber},
		{TextNumber, "   ", "", CodeInvalidNumber},
		{TextNumber, strings.Repeat("№", 64), strings.Repeat("№", 64), ""},
		{TextNumber, strings.Repeat("№", 65), "", CodeInvalidNumber},
		{TextNumber, "A\x00B", "", CodeTextInvalid},
		{TextNumber, "A\xffB", "", CodeTextInvalid},
		{TextNumber, "A\tB", "", CodeTextInvalid},
		{TextNumber, "A\u0085B", "", CodeTextInvalid}, // C1 control
		{TextNumber, "A\u202eB", "", CodeTextInvalid}, // right-to-left override
		{TextNumber, "A\u2066B", "", CodeTextInvalid}, // left-to-right isolate
		{TextNumber, "A\uFFFDB", "A\uFFFDB", ""},      // what a JSON decoder makes of broken UTF-8: a character
		{TextPartyName, " ТОО \n «Лютик»\t", "ТОО «Лютик»", ""},
		{TextPartyName, "ТОО\x00", "", CodeTextInvalid},
		{TextBaseRef, "", "", ""},
		{TextBaseRef, strings.Repeat("x", 257), "", CodeTextTooLong},
		{TextSearch, "  лютик   ромашка ", "лютик ромашка", ""},
		{TextIdempotencyKey, "3f2a-ключ", "", CodeTextInvalid},
		{TextIdempotencyKey, `"quoted, like an sf-string"`, `"quoted, like an sf-string"`, ""},
		{TextIdempotencyKey, strings.Repeat("k", 256), "", CodeTextTooLong},
	}
	for _, c := range cases {
		got, err := c.rule.Clean(c.in)
		if c.code == "" {
			if err != nil || got != c.want {
				t.Errorf("%s %q: %q, %v; want %q", c.rule.Field, c.in, got, err, c.want)
			}
			continue
		}
		var r *Refusal
		if !errors.As(err, &r) || r.Code != c.code || r.Field != c.rule.Field {
			t.Errorf("%s %q: %v; want %s naming the field", c.rule.Field, c.in, err, c.code)
		}
		if c.code == CodeTextTooLong && r.Limit != c.rule.Max {
			t.Errorf("%s: limit %d, want %d", c.rule.Field, r.Limit, c.rule.Max)
		}
	}
}

func TestSanitizeKeepsWhatCanBeKept(t *testing.T) {
	for in, want := range map[string]string{
		"Дана\x00 \xffСерікова\u202e": "Дана Серікова",
		strings.Repeat("я", 400):      strings.Repeat("я", 300),
		"  ":                          "",
	} {
		if got := TextPersonName.Sanitize(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if got := TextFileName.Sanitize("Договор\x00.pdf"); got != "Договор.pdf" {
		t.Errorf("file name: %q", got)
	}
}
