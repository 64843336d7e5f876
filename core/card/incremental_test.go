package card

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"

	"edobot/core"
	"edobot/core/pdfintake/pdftest"
)

// validateCard runs pdfcpu's reader and validator (relaxed) over a card.
func validateCard(t testing.TB, card []byte) {
	t.Helper()
	ctx, err := api.ReadContext(bytes.NewReader(card), config())
	if err != nil {
		t.Fatalf("pdfcpu read of the card: %v", err)
	}
	if err := api.ValidateContext(ctx); err != nil {
		t.Fatalf("pdfcpu validate of the card: %v", err)
	}
}

// popplerPages is the page count pdfinfo reads.
func popplerPages(t testing.TB, path string) int {
	t.Helper()
	out, err := exec.Command(poppler(t, "pdfinfo"), path).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "Pages:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("pdfinfo gives no page count: %s", out)
	return 0
}

// nestedPDF has a two-level page tree whose root passes down the media box,
// the resources and a rotation, pages whose /Contents is an array (direct,
// and indirect), a page without content, a page with its own XObject
// resources, and an xref table in two subsections.
func nestedPDF() []byte {
	var buf bytes.Buffer
	offsets := map[int]int{}
	obj := func(nr int, body string) {
		offsets[nr] = buf.Len()
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", nr, body)
	}
	stream := func(nr int, data string) {
		obj(nr, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(data), data))
	}
	buf.WriteString("%PDF-1.4\n")
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	obj(2, "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 4 /MediaBox [0 0 595 842] /Rotate 90 /Resources << /Font << /F1 5 0 R >> >> >>")
	obj(3, "<< /Type /Pages /Parent 2 0 R /Kids [10 0 R 11 0 R] /Count 2 >>")
	obj(4, "<< /Type /Pages /Parent 2 0 R /Kids [12 0 R 13 0 R] /Count 2 /Rotate 0 >>")
	obj(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	// Page 1: contents as a direct array, the text split across streams
	// and a graphics state left unbalanced.
	obj(10, "<< /Type /Page /Parent 3 0 R /Contents [20 0 R 21 0 R] >>")
	stream(20, "q 2 0 0 2 0 0 cm BT /F1 12 Tf 60 200 Td")
	stream(21, "(Nested page 1) Tj ET")
	// Page 2: contents as a reference to an array.
	obj(11, "<< /Type /Page /Parent 3 0 R /Contents 22 0 R >>")
	obj(22, "[23 0 R]")
	stream(23, "BT /F1 18 Tf 120 400 Td (Nested page 2) Tj ET")
	// Page 3: no contents at all.
	obj(12, "<< /Type /Page /Parent 4 0 R >>")
	// Page 4: its own resources, an indirect XObject dictionary with a
	// name the marks must not clash with.
	obj(13, "<< /Type /Page /Parent 4 0 R /Resources << /Font << /F1 5 0 R >> /XObject 24 0 R >> /Contents 25 0 R >>")
	obj(24, "<< /EdobotFooter 26 0 R >>")
	stream(25, "BT /F1 18 Tf 120 400 Td (Nested page 4) Tj ET /EdobotFooter Do")
	obj(26, "<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Length 0 >>\nstream\n\nendstream")

	xref := buf.Len()
	buf.WriteString("xref\n0 6\n0000000000 65535 f \n")
	for nr := 1; nr <= 5; nr++ {
		fmt.Fprintf(&buf, "%010d 00000 n \n", offsets[nr])
	}
	buf.WriteString("10 17\n")
	for nr := 10; nr <= 26; nr++ {
		if off, ok := offsets[nr]; ok {
			fmt.Fprintf(&buf, "%010d 00000 n \n", off)
		} else {
			buf.WriteString("0000000000 00001 f \n")
		}
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size 27 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF", xref) // no final EOL
	return buf.Bytes()
}

// TestCardIsAnIncrementalUpdate checks that the card is the original's
// bytes followed by an update, for the layouts producers use: a classic
// xref table, an xref stream with object streams (PDF 1.5+), a page tree
// with inheritance, and every page carries the marks.
func TestCardIsAnIncrementalUpdate(t *testing.T) {
	cases := []struct {
		name   string
		pdf    []byte
		pages  int
		status core.Status
		text   func(p int) string
	}{
		{"table", pdftest.PDF(3), 3, core.StatusSigned, func(p int) string { return fmt.Sprintf("Test page %d of 3", p) }},
		{"xref stream", pdftest.Rewritten(pdftest.PDF(3)), 3, core.StatusRevoked, func(p int) string { return fmt.Sprintf("Test page %d of 3", p) }},
		{"images", pdftest.PDFWithImages(4, 300_000), 4, core.StatusSigned, func(p int) string { return fmt.Sprintf("Test page %d of 4", p) }},
		{"images rewritten", pdftest.Rewritten(pdftest.PDFWithImages(4, 300_000)), 4, core.StatusRevoked, func(p int) string { return fmt.Sprintf("Test page %d of 4", p) }},
		{"nested", nestedPDF(), 4, core.StatusRevoked, func(p int) string {
			if p == 3 {
				return ""
			}
			return fmt.Sprintf("Nested page %d", p)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := document(tc.status, tc.pdf, tc.pages)
			card := render(t, Input{Document: d, Signatures: twoSignatures(), VerifyURL: verifyURL, Original: bytes.NewReader(tc.pdf)})
			if !bytes.HasPrefix(card, tc.pdf) {
				t.Fatal("the card does not start with the original's bytes: it was rewritten")
			}
			if n := pageCount(t, card); n != tc.pages+1 {
				t.Fatalf("pdfcpu reads %d pages, want %d + 1", n, tc.pages)
			}
			validateCard(t, card)
			path := writeTemp(t, card)
			keep(t, "card-incremental-"+strings.ReplaceAll(tc.name, " ", "-")+".pdf", card)
			if n := popplerPages(t, path); n != tc.pages+1 {
				t.Fatalf("poppler reads %d pages, want %d + 1", n, tc.pages)
			}
			for p := 1; p <= tc.pages; p++ {
				text := pageText(t, path, p)
				for _, want := range []string{tc.text(p), "ID " + d.ID.String(), verifyURL, signedNote} {
					if !strings.Contains(text, want) {
						t.Errorf("page %d lacks %q: %s", p, want, text)
					}
				}
				if revoked := strings.Contains(text, RevokedMark); revoked != (tc.status == core.StatusRevoked) {
					t.Errorf("page %d: revoked mark %v, status %s", p, revoked, tc.status)
				}
			}
			sheet := pageText(t, path, tc.pages+1)
			for _, want := range []string{"ЭЛЕКТРОННАЯ КАРТОЧКА ДОКУМЕНТА", d.File.SHA256, "Іскендірова Әйгерім Төлегенқызы"} {
				if !strings.Contains(sheet, want) {
					t.Errorf("the sheet lacks %q: %s", want, sheet)
				}
			}
			// The sheet must not inherit the original's rotation.
			if r := pageRotation(t, path, tc.pages+1); r != 0 {
				t.Errorf("the sheet is turned by %d°", r)
			}
			if n := inked(t, pagePNG(t, path, tc.pages+1)); n < 5000 {
				t.Errorf("the sheet is nearly blank: %d inked pixels", n)
			}
		})
	}
}

// TestCardOfAFileWithoutTailIsRewritten: a file whose end is not
// "startxref … %%EOF" cannot take an update; pdfcpu repairs and rewrites it.
func TestCardOfAFileWithoutTailIsRewritten(t *testing.T) {
	orig := pdftest.PDF(2)
	orig = orig[:bytes.LastIndex(orig, []byte("startxref"))]
	card := render(t, Input{Document: document(core.StatusSigned, orig, 2), VerifyURL: verifyURL, Original: bytes.NewReader(orig)})
	if bytes.HasPrefix(card, orig) {
		t.Error("expected a rewrite")
	}
	if n := pageCount(t, card); n != 3 {
		t.Fatalf("%d pages, want 3", n)
	}
}

// TestHeavyCard renders the card of a realistic 15 MiB document of 200
// image pages and checks it with poppler and pdfcpu.
func TestHeavyCard(t *testing.T) {
	if testing.Short() {
		t.Skip("15 MiB document")
	}
	const pages = 200
	orig := pdftest.PDFWithImages(pages, 15<<20)
	d := document(core.StatusRevoked, orig, pages)
	card := render(t, Input{Document: d, Signatures: twoSignatures(), VerifyURL: verifyURL, Original: bytes.NewReader(orig)})
	if !bytes.HasPrefix(card, orig) {
		t.Fatal("the card does not start with the original's bytes")
	}
	t.Logf("original %d bytes, card %d bytes (+%d)", len(orig), len(card), len(card)-len(orig))
	path := writeTemp(t, card)
	if n := popplerPages(t, path); n != pages+1 {
		t.Fatalf("poppler reads %d pages, want %d + 1", n, pages)
	}
	if out, err := exec.Command(poppler(t, "pdftotext"), path, "/dev/null").CombinedOutput(); err != nil {
		t.Fatalf("pdftotext: %v %s", err, out)
	}
	for _, p := range []int{1, pages} {
		text := pageText(t, path, p)
		if !strings.Contains(text, fmt.Sprintf("Test page %d of %d", p, pages)) || !strings.Contains(text, d.ID.String()) || !strings.Contains(text, RevokedMark) {
			t.Errorf("page %d: %s", p, text)
		}
	}
	if !strings.Contains(pageText(t, path, pages+1), d.File.SHA256) {
		t.Error("the sheet lacks the original's hash")
	}
	for _, p := range []int{1, pages + 1} {
		if n := inked(t, pagePNG(t, path, p)); n < 5000 {
			t.Errorf("page %d is nearly blank: %d inked pixels", p, n)
		}
	}
	validateCard(t, card)
}
