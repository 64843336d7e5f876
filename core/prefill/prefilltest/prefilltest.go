// Package prefilltest writes PDFs with Russian and Kazakh text, laid out
// the way Word and 1C lay documents out, for tests of reading a document's
// text. The text is written with an embedded Unicode font, so poppler's
// pdftotext gets back exactly the characters written.
package prefilltest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math/rand"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"edobot/core/card"
)

// Layout is how a page is laid out.
type Layout int

const (
	// Word is flowing paragraphs with a centred title.
	Word Layout = iota
	// OneC is a printed form: a bordered table of requisites with the
	// parties side by side in two columns.
	OneC
)

// Page is one page: lines of text, and for OneC the two columns of the
// parties' requisites printed side by side at its end.
type Page struct {
	Title  string
	Lines  []string
	Left   []string // first party's requisites (OneC: left column)
	Right  []string // second party's requisites (OneC: right column)
	Layout Layout
}

const fontFamily = "dejavu"

func newPDF() *fpdf.Fpdf {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(fontFamily, "", card.RegularFont())
	pdf.SetCreationDate(time.Unix(0, 0).UTC())
	pdf.SetModificationDate(time.Unix(0, 0).UTC())
	pdf.SetAutoPageBreak(true, 15)
	pdf.SetFont(fontFamily, "", 10)
	return pdf
}

// PDF writes the pages.
func PDF(pages ...Page) []byte {
	pdf := newPDF()
	for _, p := range pages {
		writePage(pdf, p)
	}
	return output(pdf)
}

func writePage(pdf *fpdf.Fpdf, p Page) {
	pdf.AddPage()
	if p.Title != "" {
		pdf.SetFont(fontFamily, "", 13)
		align := "C"
		if p.Layout == OneC {
			align = "L"
		}
		pdf.MultiCell(0, 7, p.Title, "", align, false)
		pdf.SetFont(fontFamily, "", 10)
		pdf.Ln(3)
	}
	for _, l := range p.Lines {
		if p.Layout == OneC && strings.Contains(l, "\t") {
			// A 1C form: label and value in bordered cells.
			label, value, _ := strings.Cut(l, "\t")
			pdf.CellFormat(45, 6, label, "1", 0, "L", false, 0, "")
			pdf.CellFormat(0, 6, value, "1", 1, "L", false, 0, "")
			continue
		}
		pdf.MultiCell(0, 5, l, "", "J", false)
	}
	if len(p.Left)+len(p.Right) > 0 {
		pdf.Ln(4)
		y := pdf.GetY()
		pdf.SetXY(10, y)
		for _, l := range p.Left {
			pdf.SetX(10)
			pdf.MultiCell(90, 5, l, "", "L", false)
		}
		endLeft := pdf.GetY()
		pdf.SetXY(110, y)
		for _, l := range p.Right {
			pdf.SetX(110)
			pdf.MultiCell(90, 5, l, "", "L", false)
		}
		pdf.SetY(max(endLeft, pdf.GetY()))
	}
}

func output(pdf *fpdf.Fpdf) []byte {
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		panic("prefilltest: " + err.Error())
	}
	return buf.Bytes()
}

// Large writes first, then filler pages of body text up to pages in all,
// then last; one filler page carries a photograph-like image of about
// imageBytes incompressible bytes, as a scanned appendix would, so the file
// is as big as a real one of that many pages.
func Large(first, last Page, pages int, imageBytes int) []byte {
	pdf := newPDF()
	writePage(pdf, first)
	side := 1
	for side*side*3 < imageBytes {
		side++
	}
	rng := rand.New(rand.NewSource(1))
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Intn(256))
	}
	for i := range img.Pix {
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	var pngBuf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.NoCompression}
	if err := enc.Encode(&pngBuf, img); err != nil {
		panic(err)
	}
	pdf.RegisterImageOptionsReader("scan", fpdf.ImageOptions{ImageType: "PNG"}, &pngBuf)
	filler := strings.Repeat("Стороны руководствуются законодательством Республики Казахстан. ", 12)
	for n := 2; n < pages; n++ {
		pdf.AddPage()
		if n == pages/2 {
			pdf.ImageOptions("scan", 10, 10, 190, 190, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
			continue
		}
		pdf.MultiCell(0, 5, filler, "", "J", false)
	}
	writePage(pdf, last)
	return output(pdf)
}

// Scan is a PDF whose only page is an image: no text layer.
func Scan() []byte {
	pdf := newPDF()
	pdf.AddPage()
	img := image.NewGray(image.Rect(0, 0, 50, 50))
	for i := range img.Pix {
		img.Pix[i] = color.Gray{Y: byte(i)}.Y
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	pdf.RegisterImageOptionsReader("scan", fpdf.ImageOptions{ImageType: "PNG"}, &buf)
	pdf.ImageOptions("scan", 10, 10, 190, 190, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	return output(pdf)
}
