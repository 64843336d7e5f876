package card

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"

	"edobot/core"
	"edobot/core/pdfintake/pdftest"
)

const verifyURL = "https://edobot.kz/d/Qm9vdHN0cmFwLXRva2VuLWZvci10ZXN0cy0xMjM0NTY3OA"

// kazakhLetters are the letters of the Kazakh alphabet that Cyrillic fonts
// for Russian lack; the card must show every one.
const kazakhLetters = "ӘәҒғҚқҢңӨөҰұҮүҺһІі"

func document(status core.Status, pdf []byte, pages int) *core.Document {
	sum := sha256.Sum256(pdf)
	return &core.Document{
		ID: uuid.MustParse("0b7f6a52-3c1e-4d8a-9f10-6a2b8c4d2e11"), SenderNumber: "990140000007",
		SenderName: "ЖШС «Өңір Ғарыш Үміт Һолдинг»", RecipientNumber: "870412300515",
		RecipientName: "ЖК «Іскендірова Әйгерім»", RecipientKind: core.PartyCounterparty,
		Type: core.TypeContract, Number: "Д-2026/117", Date: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		File: core.FileInfo{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(pdf)), Pages: pages}, Status: status,
	}
}

// signature is what the verifier records for a signer, with the NCA's
// usual certificate particulars.
func signature(side core.Side, name, iin, bin, org string, key core.KeyKind, at time.Time) core.Signature {
	return core.Signature{Side: side, SignedAt: at, Signer: core.Signer{
		IIN: iin, BIN: bin, FullName: name, Organisation: org, KeyKind: key,
		CertSerial: "4c1f8a2d9e0b7c6a5d4e3f2a1b0c9d8e7f6a5b4c",
		Issuer:     "CN=ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) 2022, O=НАО «Государственная корпорация «Правительство для граждан», C=KZ",
		NotBefore:  time.Date(2026, 2, 10, 9, 30, 0, 0, time.UTC), NotAfter: time.Date(2027, 2, 10, 9, 30, 0, 0, time.UTC),
	}}
}

func twoSignatures() []core.Signature {
	return []core.Signature{
		signature(core.SideSender, "Әбдіқадыров Ғалымжан Қуанышұлы", "850312300416", "990140000007",
			"ЖШС «Өңір Ғарыш Үміт Һолдинг»", core.KeyGOST2015, time.Date(2026, 11, 2, 6, 15, 42, 0, time.UTC)),
		signature(core.SideRecipient, "Іскендірова Әйгерім Төлегенқызы", "870412300515", "",
			"", core.KeyRSA, time.Date(2026, 11, 3, 19, 5, 0, 0, time.UTC)),
	}
}

func render(t testing.TB, in Input) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := Render(context.Background(), in, &out); err != nil {
		t.Fatalf("render: %v", err)
	}
	return out.Bytes()
}

func pageCount(t testing.TB, pdf []byte) int {
	t.Helper()
	pc, err := pdfcpu.Read(bytes.NewReader(pdf), config())
	if err != nil {
		t.Fatalf("the card does not parse: %v", err)
	}
	if err := pc.EnsurePageCount(); err != nil {
		t.Fatal(err)
	}
	return pc.PageCount
}

func writeTemp(t testing.TB, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "card.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func poppler(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s (poppler-utils) is not installed; scripts/setup.sh installs it", tool)
	}
	return p
}

// pageText extracts the text of page n (from 1) as a reader sees it.
func pageText(t testing.TB, path string, n int) string {
	t.Helper()
	out, err := exec.Command(poppler(t, "pdftotext"), "-enc", "UTF-8", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext page %d: %v", n, err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// pagePNG renders page n at 50 dpi.
func pagePNG(t testing.TB, path string, n int) []byte {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "page")
	if out, err := exec.Command(poppler(t, "pdftoppm"), "-r", "50", "-png", "-singlefile", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n),
		path, prefix).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm page %d: %v %s", n, err, out)
	}
	b, err := os.ReadFile(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// inked counts the pixels of a page image that are not near white.
func inked(t testing.TB, pngBytes []byte) int {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xe000 || g < 0xe000 || bl < 0xe000 {
				n++
			}
		}
	}
	return n
}

// keep writes an artefact where EDOBOT_ARTEFACTS says, or into the test's
// temporary directory.
func keep(t *testing.T, name string, b []byte) {
	t.Helper()
	dir := os.Getenv("EDOBOT_ARTEFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("artefact: %s", filepath.Join(dir, name))
}

func TestSignedCard(t *testing.T) {
	orig := pdftest.PDF(3)
	d := document(core.StatusSigned, orig, 3)
	sigs := twoSignatures()
	card := render(t, Input{Document: d, Signatures: sigs, VerifyURL: verifyURL, Original: bytes.NewReader(orig)})
	if n := pageCount(t, card); n != 4 {
		t.Fatalf("%d pages, want 3 original + 1 sheet", n)
	}
	path := writeTemp(t, card)
	keep(t, "card-signed.pdf", card)

	for p := 1; p <= 3; p++ {
		text := pageText(t, path, p)
		for _, want := range []string{fmt.Sprintf("Test page %d of 3", p), "ID " + d.ID.String(), verifyURL, signedNote} {
			if !strings.Contains(text, want) {
				t.Errorf("original page %d lacks %q: %s", p, want, text)
			}
		}
		if strings.Contains(text, "ОТОЗВАН") {
			t.Errorf("page %d of a signed document says it is revoked", p)
		}
	}
	sheet := pageText(t, path, 4)
	for _, want := range []string{
		"ЭЛЕКТРОННАЯ КАРТОЧКА ДОКУМЕНТА", "Құжаттың электрондық карточкасы",
		"Договор / Шарт № Д-2026/117, 01.11.2026", d.SenderName, d.SenderNumber, d.RecipientName, d.RecipientNumber,
		d.ID.String(), d.File.SHA256, "Подписан / Қол қойылды", verifyURL,
		"ФИО / Аты-жөні", "ИИН / ЖСН", "БИН / БСН", "Организация / Ұйым", "Тип ключа / Кілт түрі",
		"Отправитель / Жіберуші", "Получатель / Алушы",
		"Әбдіқадыров Ғалымжан Қуанышұлы", "850312300416", "ГОСТ 34.10-2015",
		"Іскендірова Әйгерім Төлегенқызы", "870412300515", "RSA",
		"4c1f8a2d9e0b7c6a5d4e3f2a1b0c9d8e7f6a5b4c", "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) 2022",
		"10.02.2026 14:30 — 10.02.2027 14:30",        // the validity, in Kazakhstan's time
		"02.11.2026 11:15:42", "04.11.2026 00:05:00", // signing times, UTC+5
	} {
		if !strings.Contains(sheet, want) {
			t.Errorf("the sheet lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("sheet text: %s", sheet)
	}
	img := pagePNG(t, path, 4)
	keep(t, "card-sheet.png", img)
	if n := inked(t, img); n < 5000 {
		t.Errorf("the sheet is nearly blank: %d inked pixels", n)
	}
	if n := inked(t, pagePNG(t, path, 1)); n < 200 {
		t.Errorf("original page 1 is nearly blank: %d inked pixels", n)
	}
}

func TestRevokedCardSaysSoOnEveryPage(t *testing.T) {
	orig := pdftest.PDF(2)
	d := document(core.StatusRevoked, orig, 2)
	sigs := twoSignatures()[:1]
	card := render(t, Input{Document: d, Signatures: sigs, VerifyURL: verifyURL, Original: bytes.NewReader(orig)})
	n := pageCount(t, card)
	if n != 3 {
		t.Fatalf("%d pages, want 3", n)
	}
	path := writeTemp(t, card)
	for p := 1; p <= n; p++ {
		if text := pageText(t, path, p); !strings.Contains(text, RevokedMark) {
			t.Errorf("page %d lacks %q: %s", p, RevokedMark, text)
		}
	}
	if !strings.Contains(pageText(t, path, 3), "Отозван / Кері қайтарылды") {
		t.Error("the sheet does not give the status")
	}
	img := pagePNG(t, path, 1)
	keep(t, "card-revoked-page1.png", img)
	if red := reddish(t, img); red < 100 {
		t.Errorf("the revoked mark on page 1 is not red: %d red pixels", red)
	}
	keep(t, "card-revoked-sheet.png", pagePNG(t, path, 3))
}

func reddish(t testing.TB, pngBytes []byte) int {
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r > 0xa000 && g < 0x6000 && bl < 0x6000 {
				n++
			}
		}
	}
	return n
}

func TestManySignaturesTakeMoreSheetPages(t *testing.T) {
	orig := pdftest.PDF(1)
	d := document(core.StatusSigned, orig, 1)
	var sigs []core.Signature
	for i := range 7 {
		side := core.SideSender
		if i%2 == 1 {
			side = core.SideRecipient
		}
		sigs = append(sigs, signature(side, fmt.Sprintf("Қайратұлы Нұрсұлтан %d", i+1), fmt.Sprintf("8503123004%02d", i), "",
			"", core.KeyGOST2004, time.Date(2026, 11, 2, 6, i, 0, 0, time.UTC)))
	}
	card := render(t, Input{Document: d, Signatures: sigs, VerifyURL: verifyURL, Original: bytes.NewReader(orig)})
	n := pageCount(t, card)
	if n < 3 {
		t.Fatalf("%d pages: seven signatures should need more than one sheet page", n)
	}
	path := writeTemp(t, card)
	var all strings.Builder
	for p := 2; p <= n; p++ {
		all.WriteString(pageText(t, path, p))
	}
	for _, g := range sigs {
		if !strings.Contains(all.String(), g.Signer.FullName) || !strings.Contains(all.String(), g.Signer.IIN) {
			t.Errorf("the sheet lacks %s, %s", g.Signer.FullName, g.Signer.IIN)
		}
	}
	if !strings.Contains(all.String(), "ГОСТ 34.310-2004") {
		t.Error("the key kind is missing")
	}
	keep(t, "card-sheet-page2.png", pagePNG(t, path, 3))
}

func TestUnsignedCard(t *testing.T) {
	orig := pdftest.PDF(1)
	d := document(core.StatusCreated, orig, 1)
	card := render(t, Input{Document: d, VerifyURL: verifyURL, Original: bytes.NewReader(orig)})
	path := writeTemp(t, card)
	if text := pageText(t, path, 1); !strings.Contains(text, unsignedNote) || strings.Contains(text, signedNote) {
		t.Errorf("the footer of an unsigned document: %s", text)
	}
	if text := pageText(t, path, 2); !strings.Contains(text, "Подписей нет / Қолтаңбалар жоқ") || !strings.Contains(text, "Создан / Құрылды") {
		t.Errorf("the sheet of an unsigned document: %s", text)
	}
}

func TestEveryKazakhLetterSurvives(t *testing.T) {
	orig := pdftest.PDF(1)
	d := document(core.StatusSigning, orig, 1)
	sig := signature(core.SideSender, "Әбдіқадыров Ғалымжан Қуанышұлы", "850312300416", "990140000007",
		kazakhLetters, core.KeyGOST2015, time.Now())
	card := render(t, Input{Document: d, Signatures: []core.Signature{sig}, VerifyURL: verifyURL, Original: bytes.NewReader(orig)})
	if text := pageText(t, writeTemp(t, card), 2); !strings.Contains(text, kazakhLetters) {
		t.Errorf("the Kazakh letters %s do not come back out: %s", kazakhLetters, text)
	}
}

// mixedPDF has pages of the sizes and orientations that reach us: A4,
// Letter, A4 landscape, an A4 page rotated by 90°, and a page whose crop box
// shows only part of its media box, away from the origin.
func mixedPDF() []byte {
	pages := []string{
		"/MediaBox [0 0 595 842]",
		"/MediaBox [0 0 612 792]",
		"/MediaBox [0 0 842 595]",
		"/MediaBox [0 0 595 842] /Rotate 90",
		"/MediaBox [0 0 700 900] /CropBox [50 100 470 700]",
		"/MediaBox [0 0 595 842] /Rotate 270",
	}
	var buf bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, buf.Len())
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	buf.WriteString("%PDF-1.7\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	var kids []string
	for i := range pages {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+2*i))
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i, box := range pages {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R %s /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", box, 5+2*i))
		content := fmt.Sprintf("BT /F1 18 Tf 120 400 Td (Mixed page %d) Tj ET", i+1)
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	xref := buf.Len()
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&buf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return buf.Bytes()
}

var (
	bboxPage = regexp.MustCompile(`<page width="([0-9.]+)" height="([0-9.]+)">`)
	bboxWord = regexp.MustCompile(`<word xMin="([0-9.-]+)" yMin="([0-9.-]+)" xMax="([0-9.-]+)" yMax="([0-9.-]+)">([^<]*)</word>`)
)

var pdfinfoRot = regexp.MustCompile(`(?m)^Page +[0-9]+ rot: +(-?[0-9]+)`)

// pageRotation is page n's /Rotate as poppler reads it, in degrees.
func pageRotation(t testing.TB, path string, n int) int {
	t.Helper()
	out, err := exec.Command(poppler(t, "pdfinfo"), "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), path).Output()
	if err != nil {
		t.Fatalf("pdfinfo page %d: %v", n, err)
	}
	m := pdfinfoRot.FindSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo page %d: no rotation in %s", n, out)
	}
	r, _ := strconv.Atoi(string(m[1]))
	return (r%360 + 360) % 360
}

func TestFooterLandsInsideEveryVisiblePage(t *testing.T) {
	orig := mixedPDF()
	d := document(core.StatusRevoked, orig, 6)
	card := render(t, Input{Document: d, Signatures: twoSignatures(), VerifyURL: verifyURL, Original: bytes.NewReader(orig)})
	if n := pageCount(t, card); n != 7 {
		t.Fatalf("%d pages, want 6 original + 1 sheet: two signatures fit on one sheet, even under the revoked mark", n)
	}
	path := writeTemp(t, card)
	keep(t, "card-mixed.pdf", card)
	for p := 1; p <= 6; p++ {
		out, err := exec.Command(poppler(t, "pdftotext"), "-cropbox", "-bbox", "-f", strconv.Itoa(p), "-l", strconv.Itoa(p), path, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext -bbox: %v", err)
		}
		pm := bboxPage.FindSubmatch(out)
		if pm == nil {
			t.Fatalf("page %d: no page box in %s", p, out)
		}
		w, _ := strconv.ParseFloat(string(pm[1]), 64)
		h, _ := strconv.ParseFloat(string(pm[2]), 64)
		// pdftotext gives the crop box as stored but the words as a viewer
		// shows them, on a page turned by its /Rotate.
		if r := pageRotation(t, path, p); r == 90 || r == 270 {
			w, h = h, w
		}
		var found, revoked bool
		for _, m := range bboxWord.FindAllSubmatch(out, -1) {
			word := string(m[5])
			var c [4]float64
			for i := range c {
				c[i], _ = strconv.ParseFloat(string(m[1+i]), 64)
			}
			switch {
			case word == d.ID.String():
				found = true
				if c[0] < 0 || c[2] > w || c[1] < h*0.9 || c[3] > h {
					t.Errorf("page %d (%gx%g): the footer's id lies at %v, outside the bottom margin", p, w, h, c)
				}
			case word == "ОТОЗВАН":
				revoked = true
				if c[0] < 0 || c[2] > w || c[1] < 0 || c[3] > h*0.15 {
					t.Errorf("page %d (%gx%g): the revoked mark lies at %v, not at the top", p, w, h, c)
				}
			}
		}
		if !found || !revoked {
			t.Errorf("page %d: footer found %v, revoked mark found %v", p, found, revoked)
		}
		keep(t, fmt.Sprintf("card-mixed-page%d.png", p), pagePNG(t, path, p))
	}
}

func TestRefusesWithoutOriginal(t *testing.T) {
	if err := Render(context.Background(), Input{Document: &core.Document{}}, &bytes.Buffer{}); err == nil {
		t.Fatal("rendered without an original")
	}
	d := document(core.StatusSigned, []byte("x"), 1)
	if err := Render(context.Background(), Input{Document: d, Original: strings.NewReader("not a pdf")}, &bytes.Buffer{}); err == nil {
		t.Fatal("rendered a card of a file that is not a PDF")
	}
}
