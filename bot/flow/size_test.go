package flow

import (
	"testing"

	"edobot/bot/i18n"
	"edobot/core"
)

func TestSizeText(t *testing.T) {
	f := &Flow{Cat: i18n.MustNew()}
	for _, c := range []struct {
		lang string
		n    int64
		want string
	}{
		{"ru", 1143, "1,1 КБ"}, {"kk", 1143, "1,1 КБ"}, {"en", 1143, "1.1 KB"},
		{"ru", 812, "812 байт"}, {"en", 812, "812 bytes"},
		{"ru", 3 << 20, "3,0 МБ"}, {"ru", 1024, "1,0 КБ"},
	} {
		if got := f.sizeText(&core.ChatUser{Language: c.lang}, c.n); got != c.want {
			t.Errorf("%s %d: %q, want %q", c.lang, c.n, got, c.want)
		}
	}
}

func TestMoney(t *testing.T) {
	for _, c := range []struct{ lang, v, want string }{
		{"ru", "1234567.50", "1\u202f234\u202f567,50"}, {"kk", "1234567.50", "1\u202f234\u202f567,50"},
		{"en", "1234567.50", "1\u202f234\u202f567.50"}, {"ru", "-1000.00", "-1\u202f000"}, {"en", "12", "12"},
	} {
		if got := money(c.lang, c.v); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.lang, c.v, got, c.want)
		}
	}
}

func TestESFWord(t *testing.T) {
	f := &Flow{Cat: i18n.MustNew()}
	for text, want := range map[string]bool{"ЭСФ": true, " esf ": true, "ИС ЭСФ": true, "эшф": true, "ЭШФ АЖ": true,
		"e-invoices": true, "эсфф": false, "меню": false, "": false} {
		if got := f.esfWord(text); got != want {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
	}
}
