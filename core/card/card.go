// Package card renders the «Электронная карточка» of a document: the
// original PDF, every page marked with the document's id and verification
// link (and «ОТОЗВАН» once revoked), followed by a signature sheet that
// shows, in Russian and Kazakh, who signed, with which certificate and when,
// with a QR code of the verification link.
//
// The sheet and the page marks are drawn with go-pdf/fpdf, which embeds a
// subset of DejaVu Sans (the Kazakh letters are not in the PDF base fonts).
// The card is the original file, byte for byte, followed by an incremental
// update (incremental.go): the marks as form XObjects drawn over each page,
// and the sheet's pages appended to the page tree. Only the original's page
// tree is parsed (skeleton.go), never its images or content, so a card
// costs little more memory than its own few hundred kilobytes. An original
// whose structure does not allow an update (no proper startxref tail, an
// unreadable xref chain or page tree) is instead read whole by pdfcpu,
// stamped and rewritten; stamping a PDF page, rather than text, keeps pdfcpu
// from needing a user font, which it would install under the user's config
// directory.
package card

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"edobot/core"
)

// DejaVu Sans covers Cyrillic with the Kazakh letters (Ә Ғ Қ Ң Ө Ұ Ү Һ І).
// Licence: fonts/LICENSE (Bitstream Vera, free to embed and redistribute).
var (
	//go:embed fonts/DejaVuSans.ttf
	regularTTF []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	boldTTF []byte
)

const fontFamily = "dejavu"

// RegularFont is DejaVu Sans, the face the card writes with; tests that need
// PDFs with Russian and Kazakh text write them with it too.
func RegularFont() []byte { return regularTTF }

// pdfcpu reads the stamps' PDF with its default configuration, which it
// would otherwise load from (and first write to) a directory under the
// user's config dir; a server must not have that side effect. This is
// pdfcpu's documented switch for it, set before any goroutine renders.
func init() { api.DisableConfigDir() }

// Input is what a card shows.
type Input struct {
	Document   *core.Document
	Signatures []core.Signature // the CMS is not needed
	VerifyURL  string           // the link page, e.g. https://edobot.kz/d/<token>
	Original   io.ReadSeeker    // the PDF as uploaded
}

// Renderer adapts Render to core.CardRenderer, for the service's wiring.
func Renderer(ctx context.Context, d *core.Document, sigs []core.Signature, verifyURL string, original io.ReadSeeker, w io.Writer) error {
	return Render(ctx, Input{Document: d, Signatures: sigs, VerifyURL: verifyURL, Original: original}, w)
}

// Render writes the card of in.Document to w. It reads in.Original twice,
// seeking: once for its structure, once to copy it into the card.
func Render(ctx context.Context, in Input, w io.Writer) error {
	if in.Document == nil || in.Original == nil {
		return errors.New("card: document and original are required")
	}
	err := renderIncremental(ctx, in, w)
	if !errors.Is(err, errNoIncremental) {
		return err
	}
	// A file whose tail is not the usual startxref and %%EOF (which intake
	// refuses anyway), whose xref chain or page tree the skeleton reader
	// cannot follow (pdfcpu repairs what it can) or that is encrypted:
	// rewrite the whole document.
	if _, err := in.Original.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("card: rewind the original: %w", err)
	}
	return renderRewrite(ctx, in, w)
}

// renderRewrite writes the card by having pdfcpu read the whole original,
// stamp the marks on its pages, merge the sheet and write it all anew.
func renderRewrite(ctx context.Context, in Input, w io.Writer) error {
	d := in.Document
	pc, err := pdfcpu.ReadWithContext(ctx, in.Original, config())
	if err != nil {
		return fmt.Errorf("card: read original %s: %w", d.File.SHA256, err)
	}
	if err := pc.EnsurePageCount(); err != nil {
		return fmt.Errorf("card: page count: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := markOriginal(pc, in); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sheet, err := sheetPDF(in)
	if err != nil {
		return err
	}
	sc, err := pdfcpu.Read(bytes.NewReader(sheet), config())
	if err != nil {
		return fmt.Errorf("card: read sheet: %w", err)
	}
	if err := sc.EnsurePageCount(); err != nil {
		return fmt.Errorf("card: sheet page count: %w", err)
	}
	if err := pdfcpu.MergeXRefTables("", sc, pc, false, false); err != nil {
		return fmt.Errorf("card: append sheet: %w", err)
	}
	if err := api.WriteContext(pc, w); err != nil {
		return fmt.Errorf("card: write: %w", err)
	}
	return nil
}

// ---- texts ----

var typeNames = map[core.DocType][2]string{
	core.TypeWaybill:            {"Накладная", "Жүкқұжат"},
	core.TypeActWaybill:         {"Акт/Накладная", "Акт/Жүкқұжат"},
	core.TypePowerOfAttorney:    {"Доверенность", "Сенімхат"},
	core.TypeContract:           {"Договор", "Шарт"},
	core.TypeEmploymentContract: {"Трудовой договор", "Еңбек шарты"},
	core.TypeReconciliationAct:  {"Акт сверки", "Салыстыру актісі"},
	core.TypeOther:              {"Прочее", "Басқа"},
}

var statusNames = map[core.Status]string{
	core.StatusCreated: "Создан / Құрылды",
	core.StatusSigning: "На подписании / Қол қоюда",
	core.StatusSigned:  "Подписан / Қол қойылды",
	core.StatusRevoked: "Отозван / Кері қайтарылды",
}

// RevokedMark is what every page of a revoked document's card says.
const RevokedMark = "ОТОЗВАН / КЕРІ ҚАЙТАРЫЛДЫ"

// DemoMark is what every sheet page of a document made by `edobot demo`
// says: its signatures were made with demonstration keys.
const DemoMark = "ДЕМО · DEMO — демо-ключи, подписи без силы / демо-кілттер, қолтаңбалардың заңды күші жоқ"

// Footer texts of the original pages.
const (
	signedNote   = "Документ подписан ЭЦП / ЭЦҚ-мен қол қойылған"
	unsignedNote = "Документ не подписан / Құжатқа қол қойылмаған"
)

func keyName(k core.KeyKind) string {
	switch k {
	case core.KeyRSA:
		return "RSA"
	case core.KeyGOST2004:
		return "ГОСТ 34.310-2004"
	case core.KeyGOST2015:
		return "ГОСТ 34.10-2015"
	}
	if k == "" {
		return "—"
	}
	return string(k)
}

func sideName(s core.Side) string {
	if s == core.SideRecipient {
		return "Получатель / Алушы"
	}
	return "Отправитель / Жіберуші"
}

func typeName(t core.DocType) string {
	if n, ok := typeNames[t]; ok {
		return n[0] + " / " + n[1]
	}
	return string(t)
}

func statusName(s core.Status) string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return string(s)
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func kzTime(t time.Time, layout string) string {
	if t.IsZero() || t.Unix() == 0 {
		return "—"
	}
	return t.In(core.KazakhstanTime).Format(layout)
}

// qrPayload is what every QR code of the card encodes: the link page, which
// answers for the document, and the hash of the original, which a reader can
// compare with the file in hand. A CMS would need dozens of codes.
func qrPayload(in Input) string {
	return in.VerifyURL + "#sha256=" + in.Document.File.SHA256
}

// ---- the marks on the original pages ----

// Footer font size, in points, on a page at scale 1.
const footerSize = 7

// markOriginal stamps every original page with the footer and, for a
// revoked document, the revoked mark. Both are pages of a small PDF drawn
// with fpdf, imported once per scale: a page narrower than the footer gets
// it scaled down, so it stays inside the page's visible box.
func markOriginal(pc *model.Context, in Input) error {
	overlay, footerW, stampW, err := overlayPDF(in)
	if err != nil {
		return err
	}
	footerGroups := map[float64]types.IntSet{}
	stampGroups := map[float64]types.IntSet{}
	for p := 1; p <= pc.PageCount; p++ {
		width, err := visibleWidth(pc, p)
		if err != nil {
			return fmt.Errorf("card: page %d: %w", p, err)
		}
		add(footerGroups, fit(width, footerW), p)
		add(stampGroups, fit(width, stampW), p)
	}
	for scale, pages := range footerGroups {
		wm := stamp(overlay, 1, scale, types.BottomCenter, 0, 4)
		if err := pdfcpu.AddWatermarks(pc, pages, wm); err != nil {
			return fmt.Errorf("card: footer: %w", err)
		}
	}
	if in.Document.Status != core.StatusRevoked {
		return nil
	}
	for scale, pages := range stampGroups {
		wm := stamp(overlay, 2, scale, types.TopCenter, 0, -8)
		if err := pdfcpu.AddWatermarks(pc, pages, wm); err != nil {
			return fmt.Errorf("card: revoked mark: %w", err)
		}
	}
	return nil
}

func add(groups map[float64]types.IntSet, scale float64, page int) {
	if groups[scale] == nil {
		groups[scale] = types.IntSet{}
	}
	groups[scale][page] = true
}

// fit is the scale at which a mark w points wide leaves a margin on a page
// width points wide, rounded so that pages of similar sizes share a group.
func fit(width, w float64) float64 {
	s := (width - 24) / w
	if s >= 1 {
		return 1
	}
	return math.Max(0.1, math.Floor(s*100)/100)
}

// visibleWidth is the width of the page as a viewer shows it: the crop box
// (the media box without one), turned by the page's rotation.
func visibleWidth(pc *model.Context, page int) (float64, error) {
	_, _, attrs, err := pc.PageDict(page, false)
	if err != nil {
		return 0, err
	}
	if attrs == nil {
		return 0, errors.New("no page attributes")
	}
	box := attrs.CropBox
	if box == nil {
		box = attrs.MediaBox
	}
	if box == nil {
		return 0, errors.New("no media box")
	}
	if r := (attrs.Rotate%360 + 360) % 360; r == 90 || r == 270 {
		return box.Height(), nil
	}
	return box.Width(), nil
}

// stamp places page srcPage of overlay at anchor, on top of the content,
// unrotated and at an absolute scale.
func stamp(overlay []byte, srcPage int, scale float64, pos types.Anchor, dx, dy float64) *model.Watermark {
	wm := model.DefaultWatermarkConfig()
	wm.Mode = model.WMPDF
	wm.PDF = bytes.NewReader(overlay)
	wm.PdfPageNrSrc = srcPage
	wm.OnTop = true
	wm.Pos = pos
	wm.Dx, wm.Dy = dx, dy
	wm.Scale = scale
	wm.ScaleAbs = true
	wm.Rotation = 0
	wm.Diagonal = model.NoDiagonal
	wm.UserRotOrDiagonal = true
	wm.Opacity = 1
	return wm
}

// overlayPDF draws the footer (page 1) and the revoked mark (page 2), each on
// a page exactly its size, and returns their widths.
func overlayPDF(in Input) ([]byte, float64, float64, error) {
	pdf := newPDF(false)
	footerW, stampW := drawMarks(pdf, in)
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, 0, 0, fmt.Errorf("card: draw page marks: %w", err)
	}
	return b.Bytes(), footerW, stampW, nil
}

// cardPDF draws, in one document so that the fonts are parsed, subset and
// embedded once, the footer (page 1), the revoked mark (page 2) and the
// signature sheet (pages 3 on).
func cardPDF(in Input) ([]byte, float64, float64, error) {
	pdf := newPDF(true)
	footerW, stampW := drawMarks(pdf, in)
	if err := drawSheet(pdf, in); err != nil {
		return nil, 0, 0, err
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, 0, 0, fmt.Errorf("card: draw the card's pages: %w", err)
	}
	return b.Bytes(), footerW, stampW, nil
}

// drawMarks adds two pages to pdf, the footer and the revoked mark, each
// exactly its size, and returns their widths.
func drawMarks(pdf *fpdf.Fpdf, in Input) (footerW, stampW float64) {
	d := in.Document
	line1 := "ID " + d.ID.String() + " · " + in.VerifyURL
	line2 := unsignedNote
	if len(in.Signatures) > 0 {
		line2 = signedNote
	}
	pdf.SetFont(fontFamily, "", footerSize)
	lineH := footerSize * 1.25
	footerW = math.Ceil(math.Max(pdf.GetStringWidth(line1), pdf.GetStringWidth(line2))) + 4
	pdf.AddPageFormat("P", fpdf.SizeType{Wd: footerW, Ht: 2*lineH + 2})
	pdf.SetTextColor(110, 110, 110)
	pdf.SetXY(0, 1)
	pdf.CellFormat(footerW, lineH, line1, "", 2, "C", false, 0, "")
	pdf.CellFormat(footerW, lineH, line2, "", 2, "C", false, 0, "")

	const stampSize = 16
	pdf.SetFont(fontFamily, "", stampSize)
	stampW = math.Ceil(pdf.GetStringWidth(RevokedMark)) + 24
	stampH := float64(stampSize) + 14
	pdf.AddPageFormat("P", fpdf.SizeType{Wd: stampW, Ht: stampH})
	pdf.SetFillColor(255, 255, 255)
	pdf.SetDrawColor(200, 0, 0)
	pdf.SetLineWidth(2)
	pdf.Rect(1, 1, stampW-2, stampH-2, "DF")
	pdf.SetTextColor(200, 0, 0)
	pdf.SetXY(0, 0)
	pdf.CellFormat(stampW, stampH, RevokedMark, "", 0, "C", false, 0, "")
	return footerW, stampW
}

// newPDF starts an fpdf document in points with the embedded fonts and a
// fixed creation date, so that the same card renders to the same bytes.
// Parsing and subsetting a font is most of what fpdf allocates, so a
// document loads the bold face only when it uses it.
func newPDF(bold bool) *fpdf.Fpdf {
	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "pt", Size: fpdf.SizeType{Wd: a4W, Ht: a4H}})
	pdf.AddUTF8FontFromBytes(fontFamily, "", regularTTF)
	if bold {
		pdf.AddUTF8FontFromBytes(fontFamily, "B", boldTTF)
	}
	pdf.SetCreationDate(time.Unix(0, 0).UTC())
	pdf.SetModificationDate(time.Unix(0, 0).UTC())
	pdf.SetProducer("edobot", false)
	pdf.SetAutoPageBreak(false, 0)
	return pdf
}

// ---- pdfcpu ----

// config is built by hand because model.NewDefaultConfiguration creates and
// reads a pdfcpu directory under the user's config dir, a side effect a
// server must not have. The original passed the intake checks already, so
// the limits only need to allow what intake allowed.
func config() *model.Configuration {
	limits := model.DefaultResourceLimits()
	limits.MaxObjectStreamFirst = 1 << 20
	limits.MaxObjectCount = 1 << 20
	limits.MaxXRefEntries = 1 << 20
	limits.MaxObjectStreamCount = 1 << 20
	return &model.Configuration{
		Version:                   model.VersionStr,
		Reader15:                  true,
		ValidationMode:            model.ValidationRelaxed,
		DecodeAllStreams:          false,
		UnsupportedResourcePolicy: model.UnsupportedResourceSkip,
		Eol:                       types.EolLF,
		WriteObjectStream:         true,
		WriteXRefStream:           true,
		Offline:                   true,
		TimestampFormat:           "2006-01-02 15:04",
		DateFormat:                "2006-01-02",
		Limits:                    limits,
	}
}
