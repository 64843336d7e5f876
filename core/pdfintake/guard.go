package pdfintake

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Decompression bombs. pdfcpu keeps content streams encoded while reading,
// but it has to inflate the streams that hold the document structure:
// cross-reference streams while it reads the file, and object streams
// (lazily, keeping the result) when an object inside one is looked up. Its
// resource limits do not cover this well: xref streams are inflated with
// the built-in 512 MiB limit whatever the configuration says, and the
// configured limit applies per stream, not per document. A 2 MB upload can
// thus make it allocate gigabytes. The guards below measure what those
// streams inflate to, streaming and without keeping the output, before
// pdfcpu gets to inflate them, and refuse the file once the total would
// exceed structureBudget.

// structureBudget is the total decoded size of xref and object streams one
// upload may have. Real files stay far below it: the structure of a 15 MiB
// PDF (page dictionaries, fonts, annotations, tagging) decodes to a few MiB,
// while the content streams and images that make up the bulk are never
// inflated here.
const structureBudget int64 = 32 << 20

// maxXRefSections bounds the /Prev chain. Each incremental update (a
// signature, a form fill) adds a section; thousands mean a crafted file.
const maxXRefSections = 1000

// Section starts: a cross-reference table ("xref") or an xref stream,
// which is an indirect object ("12 0 obj"). PDF whitespace includes NUL and
// form feed.
var (
	xrefTableStart  = regexp.MustCompile(`^[\x00\t\n\f\r ]*xref`)
	xrefObjectStart = regexp.MustCompile(`^[\x00\t\n\f\r ]*[0-9]+[\x00\t\n\f\r ]+[0-9]+[\x00\t\n\f\r ]*obj`)
)

func xrefSectionKind(b []byte) (table, stream bool) {
	if xrefTableStart.Match(b) {
		return true, false
	}
	if xrefObjectStart.Match(b) {
		return false, true
	}
	// Like pdfcpu, accept an offset that points at the line before "xref";
	// some writers count a comment line in front of the table.
	i := bytes.IndexAny(b, "\r\n")
	if i < 0 {
		return false, false
	}
	rest := b[i+1:]
	if b[i] == '\r' && len(rest) > 0 && rest[0] == '\n' {
		rest = rest[1:]
	}
	if j := bytes.IndexAny(rest, "\r\n"); j >= 0 {
		rest = rest[:j]
	}
	j := bytes.Index(rest, []byte("xref"))
	return j == 0 || j > 0 && rest[j-1] != 't', false // not "startxref"
}

// checkXRefChain follows the cross-reference sections from start through
// /Prev and /XRefStm, as pdfcpu will, and refuses the file if a section is
// missing or malformed, the chain loops or is absurdly long, or an xref
// stream inflates to more than its own dictionary says it holds.
//
// Requiring an intact chain is deliberate beyond the bomb check: pdfcpu
// repairs a broken chain by scanning the file for objects, which is how a
// cut-off or spliced file slips through, and the signature will be appended
// as an incremental update whose /Prev must point at a real section.
func checkXRefChain(ctx context.Context, f *os.File, size, hdr, start int64, b *budget) error {
	// A bare model.Context gives pdfcpu's object parser its reader and
	// configuration without reading anything yet.
	mc, err := model.NewContext(f, readConfig())
	if err != nil {
		return fmt.Errorf("pdfintake: prepare parser: %w", err)
	}
	scan := &scanLimit{left: 4 * size}

	type section struct {
		off        int64
		followPrev bool
	}
	todo := []section{{start, true}}
	seen := map[int64]bool{}
	for len(todo) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := todo[len(todo)-1]
		todo = todo[:len(todo)-1]

		// Offsets count from the start of the file, but readers (pdfcpu
		// included, inconsistently) also count them from the header when
		// there is junk in front of it, so every reading that lands on a
		// section is checked: pdfcpu may pick either.
		cands := []int64{s.off}
		if hdr > 0 {
			cands = append(cands, s.off+hdr)
		}
		found := false
		for _, at := range cands {
			if at < 0 || at >= size {
				continue
			}
			head := make([]byte, 1024)
			n, err := f.ReadAt(head, at)
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("pdfintake: read xref section: %w", err)
			}
			table, stream := xrefSectionKind(head[:n])
			if !table && !stream {
				continue
			}
			if seen[at] {
				return refuse(ErrBroken, fmt.Errorf("cross-reference sections loop at offset %d", at))
			}
			seen[at] = true
			if len(seen) > maxXRefSections {
				return refuse(ErrBroken, fmt.Errorf("more than %d cross-reference sections", maxXRefSections))
			}

			var d types.Dict
			if table {
				d, err = tableTrailer(ctx, f, size, at, scan)
			} else {
				d, err = checkXRefStream(ctx, mc, f, size, at, b)
			}
			if err != nil {
				return err
			}
			found = true
			// /Prev 0 is a known writer bug that pdfcpu answers by
			// scanning backwards for "xref", which can only land on a
			// table, never inflate anything; treat it as the end.
			if p := d.Prev(); s.followPrev && p != nil && *p != 0 {
				todo = append(todo, section{*p, true})
			}
			if x := d.Int64Entry("XRefStm"); table && x != nil {
				// Hybrid files: pdfcpu reads the stream but not its /Prev.
				todo = append(todo, section{*x, false})
			}
		}
		if !found {
			return refuse(ErrBroken, fmt.Errorf("offset %d does not lead to a cross-reference section", s.off))
		}
	}
	return nil
}

// scanLimit bounds the bytes read while looking for trailers, so that many
// sections pointing into one huge table cannot make the walk quadratic.
type scanLimit struct{ left int64 }

// tableTrailer returns the trailer dictionary of the classic xref table at
// off.
func tableTrailer(ctx context.Context, f *os.File, size, off int64, scan *scanLimit) (types.Dict, error) {
	const kw = "trailer"
	chunk := make([]byte, 64<<10)
	pos := off
	at := int64(-1)
	for pos < size && at < 0 {
		n, err := f.ReadAt(chunk, pos)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("pdfintake: read xref table: %w", err)
		}
		if scan.left -= int64(n); scan.left < 0 {
			return nil, refuse(ErrBroken, errors.New("cross-reference tables too large"))
		}
		if i := bytes.Index(chunk[:n], []byte(kw)); i >= 0 {
			at = pos + int64(i)
			break
		}
		if n < len(kw) || err != nil {
			break
		}
		// Overlap so that a keyword split across chunks is still found.
		pos += int64(n - len(kw) + 1)
	}
	if at < 0 {
		return nil, refuse(ErrBroken, fmt.Errorf("xref table at %d has no trailer", off))
	}
	win := make([]byte, min(64<<10, size-at-int64(len(kw))))
	n, err := f.ReadAt(win, at+int64(len(kw)))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("pdfintake: read trailer: %w", err)
	}
	s := string(win[:n])
	o, err := model.ParseObjectContext(ctx, &s, 0, maxPageTreeDepth)
	if err != nil {
		return nil, refuse(ErrBroken, fmt.Errorf("trailer at %d: %w", at, err))
	}
	d, ok := o.(types.Dict)
	if !ok {
		return nil, refuse(ErrBroken, fmt.Errorf("trailer at %d is not a dictionary", at))
	}
	return d, nil
}

// checkXRefStream parses the xref stream object at off with pdfcpu's own
// object reader, so that the dictionary, filter names (including the
// abbreviations pdfcpu accepts) and the start of the data are exactly what
// pdfcpu will use, then measures the decoded size.
func checkXRefStream(ctx context.Context, mc *model.Context, f *os.File, size, off int64, b *budget) (types.Dict, error) {
	o, err := pdfcpu.ParseObjectWithContext(ctx, mc, off, 0, 0)
	if err != nil {
		return nil, refuse(ErrBroken, fmt.Errorf("xref stream at %d: %w", off, err))
	}
	sd, ok := o.(types.StreamDict)
	if !ok {
		return nil, refuse(ErrBroken, fmt.Errorf("object at xref offset %d is a %T, not a stream", off, o))
	}
	limit := b.left
	if max, ok := xrefStreamMaxSize(sd.Dict); ok && max < limit {
		limit = max
	}
	if sd.StreamOffset < 0 || sd.StreamOffset > size {
		return nil, refuse(ErrBroken, fmt.Errorf("xref stream at %d has its data outside the file", off))
	}
	// pdfcpu reads /Length bytes when the length is given directly, else up
	// to "endstream"; the rest of the file is an upper bound for both.
	raw := size - sd.StreamOffset
	if l := sd.StreamLength; l != nil && *l >= 0 && *l < raw {
		raw = *l
	}
	n := decodedSize(io.NewSectionReader(f, sd.StreamOffset, raw), sd.FilterPipeline, limit)
	if n > limit {
		return nil, refuse(ErrBroken, fmt.Errorf("xref stream at %d inflates to more than %d bytes", off, limit))
	}
	b.left -= n
	return sd.Dict, nil
}

// xrefStreamMaxSize is the largest decoded size the xref stream dictionary
// d allows: one row of sum(/W) bytes per entry, plus one byte per row for a
// PNG predictor, plus slack.
func xrefStreamMaxSize(d types.Dict) (int64, bool) {
	w := d.ArrayEntry("W")
	if len(w) != 3 {
		return 0, false
	}
	var row int64 = 1
	for _, o := range w {
		i, ok := o.(types.Integer)
		if !ok || i < 0 || i > 16 {
			return 0, false
		}
		row += int64(i)
	}
	var rows int64
	if idx := d.ArrayEntry("Index"); idx != nil {
		for i := 1; i < len(idx); i += 2 {
			c, ok := idx[i].(types.Integer)
			if !ok || c < 0 {
				return 0, false
			}
			rows += int64(c)
		}
	} else if s := d.IntEntry("Size"); s != nil && *s >= 0 {
		rows = int64(*s)
	} else {
		return 0, false
	}
	if rows > 1<<20 {
		rows = 1 << 20
	}
	return rows*row + 4096, true
}

// budget is what is left of structureBudget for one upload.
type budget struct{ left int64 }

// checkObjectStreams measures every object stream pdfcpu registered, before
// the page walk makes pdfcpu inflate any of them. pdfcpu has already loaded
// their raw bytes and resolved their filters, so this decodes exactly what
// pdfcpu would, only without keeping it.
func checkObjectStreams(ctx context.Context, pc *model.Context, b *budget) error {
	for nr, ok := range pc.Read.ObjectStreams {
		if !ok {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		e, ok := pc.Find(nr)
		if !ok || e == nil {
			continue
		}
		osd, ok := e.Object.(types.ObjectStreamDict)
		if !ok {
			continue
		}
		n := decodedSize(bytes.NewReader(osd.Raw), osd.FilterPipeline, b.left)
		if n > b.left {
			return refuse(ErrBroken, fmt.Errorf("object streams inflate to more than %d bytes", structureBudget))
		}
		b.left -= n
	}
	return nil
}

// decodedSize returns how many bytes the filter pipeline produces from r,
// or limit+1 if it produces more than limit. It streams through Flate, the
// filter of nearly all structure streams, and lets pdfcpu's own filters,
// capped at limit, handle the rest. A decoding error ends the count: pdfcpu
// stops (or fails) at the same point and never keeps more.
func decodedSize(r io.Reader, pipeline []types.PDFFilter, limit int64) int64 {
	if len(pipeline) == 0 {
		return 0 // stored as is: bounded by the file size already
	}
	for _, pf := range pipeline {
		switch pf.Name {
		case filter.Flate:
			zr, err := zlib.NewReader(r)
			if err != nil {
				return 0
			}
			r = zr
		case filter.ASCIIHex, filter.ASCII85, filter.LZW, filter.RunLength:
			fl, err := filter.NewFilter(pf.Name, filterParms(pf.DecodeParms), limit)
			if err != nil {
				return 0
			}
			out, err := fl.Decode(r)
			if errors.Is(err, filter.ErrDecodeLimitExceeded) {
				return limit + 1
			}
			if err != nil {
				return 0
			}
			r = out
		default:
			// Image codecs: pdfcpu does not decode them while reading.
			return 0
		}
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(r, limit+1))
	return n
}

// filterParms mirrors how pdfcpu turns /DecodeParms into filter parameters
// (LZW's /EarlyChange changes what the data decodes to).
func filterParms(d types.Dict) map[string]int {
	m := map[string]int{}
	for k, v := range d {
		switch v := v.(type) {
		case types.Integer:
			m[k] = v.Value()
		case types.Boolean:
			if v.Value() {
				m[k] = 1
			} else {
				m[k] = 0
			}
		}
	}
	return m
}
