// Package pdftest builds deterministic documents for tests of code that
// accepts uploads: valid PDFs of a given page count or exact byte size
// (padded, or made of real page images), password-protected variants, a
// variant in the compressed PDF 1.5 layout and a non-PDF image.
//
// PDF, PDFOfSize and PDFWithImages write the file by hand (objects, a
// classic xref table with real byte offsets and a trailer) rather than
// through a PDF library, so that tests do not depend on a writer's choices
// such as object streams or compression and the size of the output can be
// controlled to the byte. Encrypted and Rewritten go through pdfcpu, whose
// output is what real encrypted and compressed files look like.
package pdftest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// PDF returns a valid PDF with the given number of A4 pages, each showing a
// line of text. pages must be at least 1.
func PDF(pages int) []byte {
	return build(pages, -1)
}

// PDFOfSize returns a valid PDF with the given number of pages that is
// exactly size bytes long. The surplus is an unreferenced stream object
// listed in the xref table; readers such as pdfcpu still load it, so the
// padding costs a reader what real content would. It panics if size is
// smaller than the document without padding.
func PDFOfSize(pages int, size int64) []byte {
	minimal := int64(len(build(pages, 0)))
	if size < minimal {
		panic(fmt.Sprintf("pdftest: %d pages need at least %d bytes, asked for %d", pages, minimal, size))
	}
	// The padding length appears in the stream's /Length and shifts the
	// startxref offset, so a few digits more or less change the total size;
	// converge instead of solving the arithmetic by hand.
	pad := size - minimal
	for range 8 {
		doc := build(pages, pad)
		got := int64(len(doc))
		if got == size {
			return doc
		}
		pad += size - got
		if pad < 0 {
			pad = 0
		}
	}
	panic(fmt.Sprintf("pdftest: cannot hit exactly %d bytes", size))
}

// build writes the document. pad < 0 means no padding object at all, which
// keeps PDF() minimal; pad >= 0 adds a stream of exactly pad data bytes.
func build(pages int, pad int64) []byte {
	if pages < 1 {
		panic("pdftest: a PDF needs at least one page")
	}
	var (
		buf     bytes.Buffer
		offsets []int // offsets[i] is the byte offset of object i+1
	)
	// The binary comment line marks the file as binary for transfer tools,
	// as the specification recommends.
	buf.WriteString("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")
	obj := func(body string) {
		offsets = append(offsets, buf.Len())
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}

	// Object numbers: 1 catalog, 2 page tree, 3 font, then for page i
	// (0-based) the page at 4+2i and its content stream at 5+2i.
	const fontObj = 3
	pageObj := func(i int) int { return 4 + 2*i }

	obj("<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]byte, 0, pages*8)
	for i := range pages {
		if i > 0 {
			kids = append(kids, ' ')
		}
		kids = strconv.AppendInt(kids, int64(pageObj(i)), 10)
		kids = append(kids, " 0 R"...)
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, pages))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i := range pages {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "+
			"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>", fontObj, pageObj(i)+1))
		content := fmt.Sprintf("BT /F1 24 Tf 72 760 Td (Test page %d of %d) Tj ET", i+1, pages)
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	if pad >= 0 {
		offsets = append(offsets, buf.Len())
		fmt.Fprintf(&buf, "%d 0 obj\n<< /Length %d >>\nstream\n", len(offsets), pad)
		writePadding(&buf, pad)
		buf.WriteString("\nendstream\nendobj\n")
	}

	xref := buf.Len()
	size := len(offsets) + 1
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", size)
	for _, off := range offsets {
		// Entries must be exactly 20 bytes including a two-byte EOL;
		// " \n" is one of the forms the specification allows.
		fmt.Fprintf(&buf, "%010d 00000 n \n", off)
	}
	// A stable /ID derived from the content keeps output deterministic and
	// gives encryption the file identifier it needs.
	id := sha256.Sum256(buf.Bytes())
	fmt.Fprintf(&buf, "trailer\n<< /Size %d /Root 1 0 R /ID [<%x> <%x>] >>\nstartxref\n%d\n%%%%EOF\n",
		size, id[:16], id[:16], xref)
	return buf.Bytes()
}

// writePadding fills a stream with printable lines so that a damaged copy
// of the file is still readable in a text editor when a test fails.
func writePadding(buf *bytes.Buffer, n int64) {
	const line = "% pdftest padding ............................................\n"
	buf.Grow(int(n) + 64)
	for n >= int64(len(line)) {
		buf.WriteString(line)
		n -= int64(len(line))
	}
	buf.WriteString(line[:n])
}

// Encrypted returns pdf protected with the standard security handler
// (AES-256). An empty userPW yields a file that opens without a prompt but is
// still encrypted, which is what "permissions password only" PDFs look like
// in the wild. pdfcpu refuses to encrypt without an owner password, so an
// empty ownerPW falls back to userPW; at least one password must be set.
func Encrypted(pdf []byte, userPW, ownerPW string) []byte {
	return encrypt(pdf, userPW, ownerPW, true, 256)
}

// EncryptedRC4 is like Encrypted but uses 128-bit RC4, the scheme of older
// PDF writers that still circulates.
func EncryptedRC4(pdf []byte, userPW, ownerPW string) []byte {
	return encrypt(pdf, userPW, ownerPW, false, 128)
}

func encrypt(pdf []byte, userPW, ownerPW string, aes bool, keyLength int) []byte {
	if ownerPW == "" {
		ownerPW = userPW
	}
	if ownerPW == "" {
		panic("pdftest: Encrypted needs a user or an owner password")
	}
	conf := config()
	conf.UserPW = userPW
	conf.OwnerPW = ownerPW
	conf.EncryptUsingAES = aes
	conf.EncryptKeyLength = keyLength
	conf.Permissions = model.PermissionsPrint
	var out bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(pdf), &out, conf); err != nil {
		panic(fmt.Sprintf("pdftest: encrypt: %v", err))
	}
	return out.Bytes()
}

// Rewritten returns pdf as pdfcpu writes it: objects packed into compressed
// object streams and a compressed xref stream instead of a table, the
// layout of most PDF 1.5+ producers.
func Rewritten(pdf []byte) []byte {
	conf := config()
	conf.WriteObjectStream = true
	conf.WriteXRefStream = true
	var out bytes.Buffer
	if err := api.Optimize(bytes.NewReader(pdf), &out, conf); err != nil {
		panic(fmt.Sprintf("pdftest: rewrite: %v", err))
	}
	return out.Bytes()
}

// config returns a pdfcpu configuration equivalent to pdfcpu's built-in
// defaults. model.NewDefaultConfiguration would instead create and read a
// pdfcpu directory under the user's config dir, a side effect tests should
// not have.
func config() *model.Configuration {
	return &model.Configuration{
		Version:                        model.VersionStr,
		Reader15:                       true,
		ValidationMode:                 model.ValidationRelaxed,
		UnsupportedResourcePolicy:      model.UnsupportedResourceSkip,
		Eol:                            types.EolLF,
		WriteObjectStream:              true,
		WriteXRefStream:                true,
		EncryptUsingAES:                true,
		EncryptKeyLength:               256,
		Permissions:                    model.PermissionsPrint,
		TimestampFormat:                "2006-01-02 15:04",
		DateFormat:                     "2006-01-02",
		Optimize:                       true,
		OptimizeBeforeWriting:          true,
		OptimizeResourceDicts:          true,
		Offline:                        true,
		Timeout:                        5,
		TimeoutCRL:                     10,
		TimeoutOCSP:                    10,
		PreferredCertRevocationChecker: model.CRL,
		Limits:                         model.DefaultResourceLimits(),
	}
}

// PNG returns a small but real PNG image, for checking that uploads are
// judged by content and not by name.
func PNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			img.Set(x, y, color.RGBA{R: uint8(x * 16), G: uint8(y * 16), B: 128, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(fmt.Sprintf("pdftest: png: %v", err))
	}
	return buf.Bytes()
}

// imageWidth is the width in pixels of every image of PDFWithImages; the
// size search moves in steps of one row, imageWidth bytes.
const imageWidth = 256

// PDFWithImages returns a valid PDF of the given number of A4 pages that is
// exactly size bytes long and whose bulk is real page content: every page
// shows a line of text and draws its own image XObject, an uncompressed
// 8-bit /DeviceGray image of seeded random bytes (incompressible, like the
// JPEG scans that make real documents heavy). Every byte of it is
// referenced from the page tree, so a reader or writer that drops unused
// objects still has to carry it, unlike the padding of PDFOfSize. The
// output is deterministic for given arguments. It panics if size is too
// small for one row of pixels per page.
func PDFWithImages(pages int, size int64) []byte {
	if pages < 1 {
		panic("pdftest: a PDF needs at least one page")
	}
	minimal := int64(len(buildImages(pages, int64(pages)*imageWidth, -1)))
	if size < minimal {
		panic(fmt.Sprintf("pdftest: %d pages with images need at least %d bytes, asked for %d", pages, minimal, size))
	}
	// The image heights appear in the page dicts and the offsets in the
	// xref table, so a few digits more or less change the overhead; find
	// the largest whole number of rows that fits, then pad the rest (less
	// than a row and a few digits) with a comment line.
	pixels := size - (minimal - int64(pages)*imageWidth)
	for range 8 {
		pixels -= pixels % imageWidth
		doc := buildImages(pages, pixels, 0)
		got := int64(len(doc))
		if got <= size && size-got < imageWidth+64 {
			doc = buildImages(pages, pixels, size-got)
			if int64(len(doc)) == size {
				return doc
			}
		}
		pixels += size - got - 32
	}
	panic(fmt.Sprintf("pdftest: cannot hit exactly %d bytes with images", size))
}

// buildImages writes the document of PDFWithImages with pixels bytes of
// image data spread over the pages, a row or so apart. pad >= 0 adds a
// comment of that many bytes before the xref table (pad < 0: none).
func buildImages(pages int, pixels, pad int64) []byte {
	rows := pixels / imageWidth
	if rows < int64(pages) {
		panic("pdftest: less than one row of pixels per page")
	}
	var (
		buf     bytes.Buffer
		offsets []int
	)
	buf.Grow(int(pixels) + pages*400 + 1024)
	buf.WriteString("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")
	obj := func(body string) {
		offsets = append(offsets, buf.Len())
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	// Object numbers: 1 catalog, 2 page tree, 3 font, then for page i
	// (0-based) the page at 4+3i, its content at 5+3i, its image at 6+3i.
	pageObj := func(i int) int { return 4 + 3*i }
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]byte, 0, pages*8)
	for i := range pages {
		if i > 0 {
			kids = append(kids, ' ')
		}
		kids = strconv.AppendInt(kids, int64(pageObj(i)), 10)
		kids = append(kids, " 0 R"...)
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, pages))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")

	rnd := rand.New(rand.NewSource(int64(pages)*1_000_003 + pixels))
	data := make([]byte, rows/int64(pages)+1)
	for i := range pages {
		h := rows / int64(pages)
		if int64(i) < rows%int64(pages) {
			h++
		}
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "+
			"/Resources << /Font << /F1 3 0 R >> /XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>", pageObj(i)+2, pageObj(i)+1))
		content := fmt.Sprintf("q 451 0 0 600 72 120 cm /Im1 Do Q BT /F1 24 Tf 72 760 Td (Test page %d of %d) Tj ET", i+1, pages)
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))

		n := h * imageWidth
		offsets = append(offsets, buf.Len())
		fmt.Fprintf(&buf, "%d 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "+
			"/BitsPerComponent 8 /Length %d >>\nstream\n", len(offsets), imageWidth, h, n)
		if int64(cap(data)) < n {
			data = make([]byte, n)
		}
		rnd.Read(data[:n])
		buf.Write(data[:n])
		buf.WriteString("\nendstream\nendobj\n")
	}
	switch {
	case pad == 1:
		buf.WriteByte('\n')
	case pad > 1:
		// A comment between objects: "%", filler, end of line.
		buf.WriteByte('%')
		buf.Write(bytes.Repeat([]byte{'.'}, int(pad-2)))
		buf.WriteByte('\n')
	}

	xref := buf.Len()
	size := len(offsets) + 1
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", size)
	for _, off := range offsets {
		fmt.Fprintf(&buf, "%010d 00000 n \n", off)
	}
	id := sha256.Sum256(buf.Bytes()[:min(buf.Len(), 1<<16)])
	fmt.Fprintf(&buf, "trailer\n<< /Size %d /Root 1 0 R /ID [<%x> <%x>] >>\nstartxref\n%d\n%%%%EOF\n",
		size, id[:16], id[:16], xref)
	return buf.Bytes()
}
