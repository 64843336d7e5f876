package pdftest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Text is a PDF's text as pdftotext reads it, its white space folded to
// single spaces, or "" when poppler-utils is not installed.
func Text(tb testing.TB, pdf []byte) string {
	tb.Helper()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		return ""
	}
	path := filepath.Join(tb.TempDir(), "text.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(tool, "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		tb.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}
