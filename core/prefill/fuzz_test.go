package prefill_test

import (
	"testing"

	"edobot/core/iinbin"
	"edobot/core/prefill"
)

// FuzzPropose: any text gives a proposal without panicking, and a proposed
// number always has a valid check digit and is never the sender's.
func FuzzPropose(f *testing.F) {
	f.Add("ДОГОВОР № 12/2026\nг. Алматы «01» ноября 2026 г.\nТОО «Ромашка»\nБИН " + bin(5) + "\nТел.: +7 701 555 12 34")
	f.Add("СЕНІМХАТ N 5\n2026 ж. «01» қараша\nКімге: Ким Виктор Петрович\nЖСН " + iin(7))
	f.Add("№\n№ \nN\n«» ЖШС 12\xff\xfe 123456789012")
	f.Fuzz(func(t *testing.T, text string) {
		p := prefill.Propose(text, ownBIN)
		for _, q := range p.Parties {
			if _, err := iinbin.Validate(q.Number); err != nil || q.Number == ownBIN {
				t.Fatalf("proposed %q", q.Number)
			}
		}
	})
}
