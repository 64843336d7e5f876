package flow

import "testing"

// TestFold: a note alone joins the screen after it, whose message then
// replaces the tapped one if the note's would; a file is never joined.
func TestFold(t *testing.T) {
	note := Screen{Text: "⚠️ note", Replace: true}
	menu := Screen{Text: "menu", Buttons: [][]Button{{{Label: "x", Data: "m"}}}}
	file := Screen{Text: "file", Document: &File{Name: "a.pdf"}}
	got := fold([]Screen{note, menu})
	if len(got) != 1 || got[0].Text != "⚠️ note\n\nmenu" || !got[0].Replace || len(got[0].Buttons) != 1 {
		t.Fatalf("note and menu: %+v", got)
	}
	if got := fold([]Screen{note, file, menu}); len(got) != 3 {
		t.Fatalf("a note before a file: %+v", got)
	}
	if got := fold([]Screen{menu, note}); len(got) != 2 || got[1].Text != "⚠️ note" {
		t.Fatalf("a note last: %+v", got)
	}
}
