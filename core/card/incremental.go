package card

// The card as an incremental update of the original (ISO 32000-1, 7.5.6):
// the original's bytes, untouched, followed by the new and changed objects
// and a cross-reference section, of the kind the original's last one is,
// whose /Prev points at it. Only the page dictionaries (a longer /Contents
// and a /Resources naming the marks), the root of the page tree (the sheet
// pages appended to its /Kids), the marks as form XObjects and the sheet's
// own objects are written; the original's content, images and fonts stay
// where they are. Reading only the original's skeleton (skeleton.go), the
// card costs a few megabytes whatever the size of the file, and the
// original's bytes stay verifiable inside the card: its first File.Size
// bytes are the upload, SHA-256 and all.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"edobot/core"
)

// errNoIncremental says the original's tail is not one an update can be
// appended to; the card is then written by rewriting the whole document.
var errNoIncremental = errors.New("card: the original cannot take an incremental update")

// tailWindow is how much of the end of the file is searched for
// "startxref": intake allows up to 64 KiB of whitespace after %%EOF.
const tailWindow = 64<<10 + 1024

var (
	startXRef = regexp.MustCompile(`startxref[\x00\t\n\f\r ]+([0-9]+)[\x00\t\n\f\r ]+%%EOF`)
	objHeader = regexp.MustCompile(`^[0-9]+[\x00\t\n\f\r ]+[0-9]+[\x00\t\n\f\r ]+obj`)
)

// original is what the update needs to know of the original's bytes.
type original struct {
	size      int64 // bytes
	xref      int64 // offset of the last cross-reference section
	xrefIsStm bool  // that section is an xref stream, not a table
	eol       bool  // the file ends with an end-of-line character
}

// inspectTail finds the last cross-reference section of r and its kind.
func inspectTail(r io.ReadSeeker) (original, error) {
	var o original
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return o, fmt.Errorf("card: size of the original: %w", err)
	}
	o.size = size
	n := min(size, tailWindow)
	tail := make([]byte, n)
	if _, err := r.Seek(size-n, io.SeekStart); err != nil {
		return o, fmt.Errorf("card: read the original: %w", err)
	}
	if _, err := io.ReadFull(r, tail); err != nil {
		return o, fmt.Errorf("card: read the original: %w", err)
	}
	all := startXRef.FindAllSubmatchIndex(tail, -1)
	if len(all) == 0 {
		return o, errNoIncremental
	}
	m := all[len(all)-1]
	o.xref, err = strconv.ParseInt(string(tail[m[2]:m[3]]), 10, 64)
	if err != nil || o.xref <= 0 || o.xref >= size {
		return o, errNoIncremental
	}
	last := tail[len(tail)-1]
	o.eol = last == '\n' || last == '\r'

	head := make([]byte, min(64, size-o.xref))
	if _, err := r.Seek(o.xref, io.SeekStart); err != nil {
		return o, fmt.Errorf("card: read the original: %w", err)
	}
	if _, err := io.ReadFull(r, head); err != nil {
		return o, fmt.Errorf("card: read the original: %w", err)
	}
	head = bytes.TrimLeft(head, "\x00\t\n\f\r ")
	switch {
	case bytes.HasPrefix(head, []byte("xref")):
	case objHeader.Match(head):
		o.xrefIsStm = true
	default:
		return o, errNoIncremental
	}
	return o, nil
}

// update collects the objects appended to the original.
type update struct {
	buf     bytes.Buffer
	base    int64 // the output offset of buf[0]
	next    int   // the next free object number
	entries []xrefEntry
}

type xrefEntry struct {
	nr, gen int
	off     int64
}

func (u *update) alloc() types.IndirectRef {
	r := types.IndirectRef{ObjectNumber: types.Integer(u.next)}
	u.next++
	return r
}

func (u *update) begin(ref types.IndirectRef) {
	u.entries = append(u.entries, xrefEntry{nr: ref.ObjectNumber.Value(), gen: ref.GenerationNumber.Value(), off: u.base + int64(u.buf.Len())})
	fmt.Fprintf(&u.buf, "%d %d obj\n", ref.ObjectNumber, ref.GenerationNumber)
}

// put writes a non-stream object under ref.
func (u *update) put(ref types.IndirectRef, o types.Object) {
	u.begin(ref)
	if o == nil {
		u.buf.WriteString("null")
	} else {
		u.buf.WriteString(o.PDFString())
	}
	u.buf.WriteString("\nendobj\n")
}

// putStream writes a stream object under ref; d gets the right /Length.
func (u *update) putStream(ref types.IndirectRef, d types.Dict, data []byte) {
	u.begin(ref)
	d["Length"] = types.Integer(len(data))
	u.buf.WriteString(d.PDFString())
	u.buf.WriteString("\nstream\n")
	u.buf.Write(data)
	u.buf.WriteString("\nendstream\nendobj\n")
}

// finish appends the cross-reference section, in the kind of the
// original's last one, and the trailer.
func (u *update) finish(orig original, last types.Dict) {
	trailer := types.Dict{"Prev": types.Integer(orig.xref)}
	for _, k := range []string{"Root", "Info"} {
		if r, ok := last[k].(types.IndirectRef); ok {
			trailer[k] = r
		}
	}
	id, _ := last["ID"].(types.Array)
	// The first identifier stays that of the original; the second, by the
	// specification's advice, changes with the update.
	sum := sha256.Sum256(u.buf.Bytes())
	if len(id) == 2 {
		trailer["ID"] = types.Array{id[0], types.HexLiteral(fmt.Sprintf("%X", sum[:16]))}
	}

	var xref types.IndirectRef
	if orig.xrefIsStm {
		xref = u.alloc()
		u.entries = append(u.entries, xrefEntry{nr: xref.ObjectNumber.Value(), off: u.base + int64(u.buf.Len())})
	}
	slices.SortFunc(u.entries, func(a, b xrefEntry) int { return a.nr - b.nr })
	// Subsections of consecutive object numbers.
	var runs [][2]int // first entry index, count
	for i, e := range u.entries {
		if i > 0 && e.nr == u.entries[i-1].nr+1 {
			runs[len(runs)-1][1]++
			continue
		}
		runs = append(runs, [2]int{i, 1})
	}
	trailer["Size"] = types.Integer(u.next)
	start := u.base + int64(u.buf.Len())

	if !orig.xrefIsStm {
		u.buf.WriteString("xref\n")
		for _, r := range runs {
			fmt.Fprintf(&u.buf, "%d %d\n", u.entries[r[0]].nr, r[1])
			for _, e := range u.entries[r[0] : r[0]+r[1]] {
				fmt.Fprintf(&u.buf, "%010d %05d n \n", e.off, e.gen)
			}
		}
		fmt.Fprintf(&u.buf, "trailer\n%s\nstartxref\n%d\n%%%%EOF\n", trailer.PDFString(), start)
		return
	}

	// An uncompressed xref stream: type 1, four bytes of offset, two of
	// generation for every entry.
	var index types.Array
	data := make([]byte, 0, 7*len(u.entries))
	for _, r := range runs {
		index = append(index, types.Integer(u.entries[r[0]].nr), types.Integer(r[1]))
		for _, e := range u.entries[r[0] : r[0]+r[1]] {
			data = append(data, 1, byte(e.off>>24), byte(e.off>>16), byte(e.off>>8), byte(e.off), byte(e.gen>>8), byte(e.gen))
		}
	}
	trailer["Type"] = types.Name("XRef")
	trailer["W"] = types.Array{types.Integer(1), types.Integer(4), types.Integer(2)}
	trailer["Index"] = index
	fmt.Fprintf(&u.buf, "%d 0 obj\n", xref.ObjectNumber)
	trailer["Length"] = types.Integer(len(data))
	u.buf.WriteString(trailer.PDFString())
	u.buf.WriteString("\nstream\n")
	u.buf.Write(data)
	fmt.Fprintf(&u.buf, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", start)
}

// importer copies objects of another PDF (the drawn marks and sheet) into
// the update under new numbers, following references.
type importer struct {
	u     *update
	src   *model.Context
	refs  map[int]types.IndirectRef
	queue []int
}

func newImporter(u *update, src *model.Context) *importer {
	return &importer{u: u, src: src, refs: map[int]types.IndirectRef{}}
}

func (im *importer) ref(r types.IndirectRef) types.IndirectRef {
	nr := r.ObjectNumber.Value()
	if n, ok := im.refs[nr]; ok {
		return n
	}
	n := im.u.alloc()
	im.refs[nr] = n
	im.queue = append(im.queue, nr)
	return n
}

// copy returns o with every reference renumbered.
func (im *importer) copy(o types.Object) types.Object {
	switch v := o.(type) {
	case types.IndirectRef:
		return im.ref(v)
	case types.Dict:
		d := make(types.Dict, len(v))
		for k, e := range v {
			d[k] = im.copy(e)
		}
		return d
	case types.Array:
		a := make(types.Array, len(v))
		for i, e := range v {
			a[i] = im.copy(e)
		}
		return a
	}
	return o
}

// flush writes every object referenced so far.
func (im *importer) flush() error {
	for len(im.queue) > 0 {
		nr := im.queue[0]
		im.queue = im.queue[1:]
		o, err := im.src.Dereference(*types.NewIndirectRef(nr, 0))
		if err != nil {
			return err
		}
		switch v := o.(type) {
		case types.StreamDict:
			im.u.putStream(im.refs[nr], im.copy(v.Dict).(types.Dict), v.Raw)
		case types.Dict, types.Array, nil, types.Integer, types.Float, types.Name, types.Boolean, types.StringLiteral, types.HexLiteral, types.IndirectRef:
			im.u.put(im.refs[nr], im.copy(v))
		default:
			return fmt.Errorf("object %d: unexpected %T", nr, o)
		}
	}
	return nil
}

// content returns the decoded, concatenated content streams of a page.
func content(xt *model.XRefTable, page types.Dict) ([]byte, error) {
	o, err := xt.Dereference(page["Contents"])
	if err != nil {
		return nil, err
	}
	var refs types.Array
	switch v := o.(type) {
	case nil:
	case types.StreamDict:
		refs = types.Array{page["Contents"]}
	case types.Array:
		refs = v
	default:
		return nil, fmt.Errorf("page contents: unexpected %T", o)
	}
	var out []byte
	for _, r := range refs {
		sd, _, err := xt.DereferenceStreamDict(r)
		if err != nil {
			return nil, err
		}
		if sd == nil {
			continue
		}
		if err := sd.Decode(); err != nil {
			return nil, err
		}
		out = append(append(out, sd.Content...), '\n')
	}
	return out, nil
}

// form imports page p of the importer's PDF as a form XObject and returns
// it with its bounding box.
func (im *importer) form(p int) (types.IndirectRef, *types.Rectangle, error) {
	d, _, attrs, err := im.src.PageDict(p, false)
	if err != nil {
		return types.IndirectRef{}, nil, err
	}
	if attrs == nil || attrs.MediaBox == nil {
		return types.IndirectRef{}, nil, errors.New("mark without a media box")
	}
	data, err := content(im.src.XRefTable, d)
	if err != nil {
		return types.IndirectRef{}, nil, err
	}
	box := attrs.MediaBox
	fd := types.Dict{
		"Type":    types.Name("XObject"),
		"Subtype": types.Name("Form"),
		"BBox":    rectArray(box),
	}
	if attrs.Resources != nil {
		fd["Resources"] = im.copy(attrs.Resources)
	}
	ref := im.u.alloc()
	im.u.putStream(ref, fd, data)
	return ref, box, im.flush()
}

// page imports page p of the importer's PDF as a page under parent, with
// every inheritable attribute set on it, so that nothing of the original's
// page tree root (a /Rotate, a /CropBox) applies to it.
func (im *importer) page(p int, parent types.IndirectRef) (types.IndirectRef, error) {
	d, ref, attrs, err := im.src.PageDict(p, false)
	if err != nil {
		return types.IndirectRef{}, err
	}
	if attrs == nil || attrs.MediaBox == nil {
		return types.IndirectRef{}, errors.New("sheet page without a media box")
	}
	nr := im.u.alloc()
	im.refs[ref.ObjectNumber.Value()] = nr
	nd := types.Dict{}
	for k, v := range d {
		if k != "Parent" {
			nd[k] = im.copy(v)
		}
	}
	nd["Parent"] = parent
	nd["MediaBox"] = rectArray(attrs.MediaBox)
	crop := attrs.CropBox
	if crop == nil {
		crop = attrs.MediaBox
	}
	nd["CropBox"] = rectArray(crop)
	nd["Rotate"] = types.Integer(attrs.Rotate)
	if _, ok := nd["Resources"]; !ok && attrs.Resources != nil {
		nd["Resources"] = im.copy(attrs.Resources)
	}
	im.u.put(nr, nd)
	return nr, im.flush()
}

func num(v float64) types.Object {
	if v == math.Trunc(v) && math.Abs(v) < 1e9 {
		return types.Integer(int(v))
	}
	return types.Float(math.Round(v*1e4) / 1e4)
}

func rectArray(r *types.Rectangle) types.Array {
	return types.Array{num(r.LL.X), num(r.LL.Y), num(r.UR.X), num(r.UR.Y)}
}

func fmtNum(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}

// placement is the cm operator that draws a form w×h at scale s with its
// lower left corner at (u, v) of the page as a viewer shows it: the visible
// box turned by the page's rotation, clockwise in degrees.
func placement(box *types.Rectangle, rotate int, s, u, v float64) string {
	llx, lly, w, h := box.LL.X, box.LL.Y, box.Width(), box.Height()
	var m [6]float64
	switch rotate {
	case 90:
		m = [6]float64{0, s, -s, 0, llx + w - v, lly + u}
	case 180:
		m = [6]float64{-s, 0, 0, -s, llx + w - u, lly + h - v}
	case 270:
		m = [6]float64{0, -s, s, 0, llx + v, lly + h - u}
	default:
		m = [6]float64{s, 0, 0, s, llx + u, lly + v}
	}
	var b []byte
	for _, x := range m {
		b = append(append(b, fmtNum(x)...), ' ')
	}
	return string(append(b, "cm"...))
}

// uniqueName returns base, or base with a number, whichever d lacks.
func uniqueName(d types.Dict, base string) string {
	name := base
	for i := 1; ; i++ {
		if _, ok := d[name]; !ok {
			return name
		}
		name = base + strconv.Itoa(i)
	}
}

// renderIncremental writes the card as the original followed by an
// incremental update. It returns errNoIncremental, having written nothing,
// when the original's tail does not allow one.
func renderIncremental(ctx context.Context, in Input, w io.Writer) error {
	orig, err := inspectTail(in.Original)
	if err != nil {
		return err
	}
	if _, err := in.Original.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("card: rewind the original: %w", err)
	}
	sk, err := readSkeleton(ctx, in.Original, orig.size, orig.xref)
	if err != nil {
		return err
	}
	tree, err := sk.pageTree()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	u := &update{base: orig.size, next: sk.maxNr + 1}
	if !orig.eol {
		u.base++
	}

	// The marks, as form XObjects, and the sheet, drawn in one document.
	drawn, footerW, stampW, err := cardPDF(in)
	if err != nil {
		return err
	}
	oc, err := pdfcpu.Read(bytes.NewReader(drawn), config())
	if err != nil {
		return fmt.Errorf("card: read the drawn pages: %w", err)
	}
	if err := oc.EnsurePageCount(); err != nil || oc.PageCount < 3 {
		return fmt.Errorf("card: the drawn pages: %d, %v", oc.PageCount, err)
	}
	im := newImporter(u, oc)
	footer, footerBox, err := im.form(1)
	if err != nil {
		return fmt.Errorf("card: page footer: %w", err)
	}
	revoked := in.Document.Status == core.StatusRevoked
	var stampRef types.IndirectRef
	var stampBox *types.Rectangle
	if revoked {
		if stampRef, stampBox, err = im.form(2); err != nil {
			return fmt.Errorf("card: revoked mark: %w", err)
		}
	}

	// Every original page: its content wrapped in q … Q so that whatever
	// state it leaves does not move the marks, then the marks.
	save := u.alloc()
	u.putStream(save, types.Dict{}, []byte("q\n"))
	for i, pg := range tree.pages {
		if i%16 == 15 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := markPage(sk, u, pg, save, footer, footerBox, footerW, stampRef, stampBox, stampW); err != nil {
			return fmt.Errorf("card: page %d: %w", i+1, err)
		}
	}

	// The sheet, appended to the root of the page tree.
	root, rootDict, kids, count := tree.root, tree.rootDict, tree.kids, tree.count
	newKids := slices.Clone(kids)
	for p := 3; p <= oc.PageCount; p++ {
		ref, err := im.page(p, root)
		if err != nil {
			return fmt.Errorf("card: sheet page %d: %w", p-2, err)
		}
		newKids = append(newKids, ref)
	}
	newRoot := shallow(rootDict)
	newRoot["Kids"] = newKids
	newRoot["Count"] = types.Integer(count + oc.PageCount - 2)
	u.put(root, newRoot)
	u.finish(orig, sk.trailer)

	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := in.Original.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("card: rewind the original: %w", err)
	}
	if _, err := io.CopyN(w, in.Original, orig.size); err != nil {
		return fmt.Errorf("card: write: %w", err)
	}
	if !orig.eol {
		if _, err := io.WriteString(w, "\n"); err != nil {
			return fmt.Errorf("card: write: %w", err)
		}
	}
	if _, err := u.buf.WriteTo(w); err != nil {
		return fmt.Errorf("card: write: %w", err)
	}
	return nil
}

func shallow(d types.Dict) types.Dict {
	c := make(types.Dict, len(d)+1)
	for k, v := range d {
		c[k] = v
	}
	return c
}

// markPage rewrites page p of the original to draw the footer and, when
// stamp is set, the revoked mark on top of its content.
func markPage(sk *skeleton, u *update, pg pageInfo, save, footer types.IndirectRef, footerBox *types.Rectangle, footerW float64,
	stamp types.IndirectRef, stampBox *types.Rectangle, stampW float64) error {
	pd, ref, attrs := pg.dict, pg.ref, pg.attrs
	box := attrs.CropBox
	if box == nil {
		box = attrs.MediaBox
	}
	if box == nil {
		return errSkeleton("no media box")
	}
	rotate := (attrs.Rotate%360 + 360) % 360
	if rotate%90 != 0 {
		rotate = 0
	}
	vw, vh := box.Width(), box.Height()
	if rotate == 90 || rotate == 270 {
		vw, vh = vh, vw
	}

	// The page's resources, its own or inherited, with the marks added.
	res := types.Dict{}
	if attrs.Resources != nil {
		res = shallow(attrs.Resources)
	}
	xo := types.Dict{}
	if o, ok := res["XObject"]; ok {
		x, err := sk.dict(o)
		if err != nil {
			return err
		}
		if x != nil {
			xo = shallow(x)
		}
	}
	var ops bytes.Buffer
	ops.WriteString("\nQ\n")
	name := uniqueName(xo, "EdobotFooter")
	xo[name] = footer
	s := fit(vw, footerW)
	fmt.Fprintf(&ops, "q %s /%s Do Q\n", placement(box, rotate, s, (vw-s*footerBox.Width())/2, 4), name)
	if stampBox != nil {
		name := uniqueName(xo, "EdobotRevoked")
		xo[name] = stamp
		s := fit(vw, stampW)
		fmt.Fprintf(&ops, "q %s /%s Do Q\n", placement(box, rotate, s, (vw-s*stampBox.Width())/2, vh-8-s*stampBox.Height()), name)
	}
	res["XObject"] = xo
	marks := u.alloc()
	u.putStream(marks, types.Dict{}, ops.Bytes())

	contents := types.Array{save}
	if c, ok := pd["Contents"]; ok && c != nil {
		o, err := sk.deref(c)
		if err != nil {
			return err
		}
		switch v := o.(type) {
		case types.StreamDict:
			contents = append(contents, c)
		case types.Array:
			contents = append(contents, v...)
		case nil:
		default:
			return errSkeleton("contents: unexpected %T", o)
		}
	}
	contents = append(contents, marks)

	nd := shallow(pd)
	nd["Contents"] = contents
	nd["Resources"] = res
	u.put(ref, nd)
	return nil
}
