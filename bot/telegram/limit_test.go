package telegram

import (
	"strings"
	"testing"
	"unicode/utf16"
)

func TestLimitCountsUTF16(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"abcde", 5, "abcde"},
		{"abcdef", 5, "abcd…"},
		{"😀😀😀", 6, "😀😀😀"}, // three surrogate pairs
		{"😀😀😀", 5, "😀😀…"},
		{strings.Repeat("Қ", 5000), 4096, strings.Repeat("Қ", 4095) + "…"},
	} {
		got := limit(tc.in, tc.max)
		if got != tc.want || len(utf16.Encode([]rune(got))) > tc.max {
			t.Errorf("limit(%q…, %d) = %q…", tc.in[:min(len(tc.in), 12)], tc.max, got[:min(len(got), 12)])
		}
	}
}
