package prefill_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"edobot/core/iinbin"
	"edobot/core/prefill"
	"edobot/core/prefill/prefilltest"
)

func writeTemp(t testing.TB, data []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestCorpus reads every sample of the corpus as a PDF, through pdftotext,
// and compares the proposal with what a careful reader would fill in. At
// least 90 % must be exactly right; no sample may ever propose the
// sender's own number or a number with a bad check digit.
func TestCorpus(t *testing.T) {
	samples := corpus()
	if len(samples) < 40 {
		t.Fatalf("the corpus has %d samples, want at least 40", len(samples))
	}
	right := 0
	for _, s := range samples {
		data := prefilltest.PDF(s.pages...)
		text, err := prefill.Extract(context.Background(), writeTemp(t, data), len(s.pages))
		if err != nil {
			t.Errorf("%s: extract: %v", s.name, err)
			continue
		}
		got := prefill.Propose(text, ownBIN)
		for _, p := range got.Parties {
			if p.Number == ownBIN {
				t.Errorf("%s: proposed the sender's own BIN", s.name)
			}
			if _, err := iinbin.Validate(p.Number); err != nil {
				t.Errorf("%s: proposed %s: %v", s.name, p.Number, err)
			}
		}
		first := got
		if len(first.Parties) > 1 {
			first.Parties = first.Parties[:1]
		}
		if reflect.DeepEqual(first, s.want) {
			right++
			continue
		}
		t.Logf("%s:\n got  %s\n want %s\ntext:\n%s", s.name, compact(got), compact(s.want), text)
	}
	t.Logf("%d of %d exactly right", right, len(samples))
	if right*10 < len(samples)*9 {
		t.Errorf("%d of %d exactly right, want at least 90 %%", right, len(samples))
	}
}

// TestForms checks each written form of a number and a date on its own.
func TestForms(t *testing.T) {
	nov1 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		text   string
		number string
		date   time.Time
		typ    prefill.Type
	}{
		{"Договор № 12/2026 от 1 ноября 2026 г.", "12/2026", nov1, prefill.TypeContract},
		{"ДОГОВОР N 12\nг. Алматы от 01.11.2026", "12", nov1, prefill.TypeContract},
		{"Договор №12 от 01.11.26", "12", nov1, prefill.TypeContract},
		{"ШАРТ № 5\n2026 жылғы 1 қарашада", "5", nov1, prefill.TypeContract},
		{"Сенімхат № 5\n2026 ж. «01» қараша", "5", nov1, prefill.TypePowerOfAttorney},
		{"Счет на оплату № 88 от 01.11.2026\nДоговор: № 7 от 01.01.2026", "88", nov1, prefill.TypeOther},
		{"Акт выполненных работ № 3 от «01» ноября 2026 года", "3", nov1, prefill.TypeActWaybill},
		{"Накладная № 3 от 31.02.2026\nДата: 01.11.2026", "3", nov1, prefill.TypeWaybill},
	} {
		p := prefill.Propose(c.text, "")
		if p.Number != c.number || !p.Date.Equal(c.date) || p.Type != c.typ {
			t.Errorf("%q: got %s %q %s, want %s %q %s", c.text, p.Type, p.Number, p.Date.Format(time.DateOnly),
				c.typ, c.number, c.date.Format(time.DateOnly))
		}
	}
}

// TestNeverOwnOrBadNumber: a text whose only numbers are the sender's own
// and ones with bad check digits proposes no party at all.
func TestNeverOwnOrBadNumber(t *testing.T) {
	text := "Договор № 1 от 01.11.2026\n" + ownName + " БИН " + ownBIN + "\nТОО «Ромашка» БИН " + badCheck(bin(77)) +
		"\nИИК KZ" + bin(78) + "\nсчет " + bin(79) + "99"
	if p := prefill.Propose(text, ownBIN); len(p.Parties) != 0 {
		t.Fatalf("proposed %+v", p.Parties)
	}
}

// TestScanHasNoText: a PDF that is only an image gives ErrNoText, which the
// caller treats as «ask as usual».
func TestScanHasNoText(t *testing.T) {
	_, err := prefill.Extract(context.Background(), writeTemp(t, prefilltest.Scan()), 1)
	if !errors.Is(err, prefill.ErrNoText) {
		t.Fatalf("got %v, want ErrNoText", err)
	}
}

// TestExtractReadsFirstAndLastPages: the middle of a long document is not
// read, the first and last pages are.
func TestExtractReadsFirstAndLastPages(t *testing.T) {
	pages := make([]prefilltest.Page, 7)
	for i := range pages {
		pages[i] = prefilltest.Page{Lines: []string{"страница " + string(rune('A'+i))}}
	}
	text, err := prefill.Extract(context.Background(), writeTemp(t, prefilltest.PDF(pages...)), len(pages))
	if err != nil {
		t.Fatal(err)
	}
	for i := range pages {
		want := i < prefill.HeadPages || i >= len(pages)-prefill.TailPages
		if got := contains(text, "страница "+string(rune('A'+i))); got != want {
			t.Errorf("page %d read = %v, want %v", i+1, got, want)
		}
	}
}

// TestExtractBrokenFileFails: a file pdftotext cannot read is an error,
// not a panic or a hang.
func TestExtractBrokenFileFails(t *testing.T) {
	if _, err := prefill.Extract(context.Background(), writeTemp(t, []byte("%PDF-1.7\nnot really")), 1); err == nil {
		t.Fatal("no error")
	}
}

func contains(s, sub string) bool { return len(sub) == 0 || indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
