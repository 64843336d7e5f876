package card

// A reader of a PDF's skeleton: the cross-reference sections, the trailer
// and whatever objects are asked for, parsed on demand. pdfcpu's reader
// loads every stream of the file into memory, images included, which a card
// that copies the original's bytes does not need; this one reads only the
// page tree and the dictionaries the marks change, and leaves the parsing
// of each object to pdfcpu.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

const (
	maxXRefSections = 1024
	maxPageDepth    = 100
	maxObjects      = 1 << 20
	maxParseDepth   = 100
	// maxStructStream bounds an xref or object stream, decoded or not:
	// intake's own structure budget is smaller.
	maxStructStream = 64 << 20
)

type xentry struct {
	free       bool
	compressed bool
	off        int64 // an uncompressed object's offset
	gen        int
	stm, idx   int // a compressed object's object stream and index in it
}

type objStm struct {
	content []byte
	first   int
	offs    map[int]int // object number -> offset after first
}

type skeleton struct {
	c       context.Context
	ctx     *model.Context // pdfcpu's parser state over the same reader
	rs      io.ReadSeeker
	size    int64
	table   map[int]xentry
	trailer types.Dict // the last section's
	maxNr   int
	objs    map[int]types.Object
	stms    map[int]*objStm
}

func errSkeleton(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errNoIncremental, fmt.Sprintf(format, a...))
}

// readSkeleton reads the cross-reference chain ending at the section at
// offset xref.
func readSkeleton(c context.Context, rs io.ReadSeeker, size, xref int64) (*skeleton, error) {
	conf := config()
	mc, err := model.NewContext(rs, conf)
	if err != nil {
		return nil, err
	}
	s := &skeleton{c: c, ctx: mc, rs: rs, size: size, table: map[int]xentry{}, objs: map[int]types.Object{}, stms: map[int]*objStm{}}
	seen := map[int64]bool{}
	for off := xref; off > 0; {
		if seen[off] || len(seen) >= maxXRefSections {
			return nil, errSkeleton("xref chain loops at %d", off)
		}
		seen[off] = true
		if err := c.Err(); err != nil {
			return nil, err
		}
		trailer, err := s.section(off)
		if err != nil {
			return nil, err
		}
		if s.trailer == nil {
			s.trailer = trailer
		}
		if x, ok := trailer["XRefStm"].(types.Integer); ok && !seen[int64(x)] {
			seen[int64(x)] = true
			if _, err := s.xrefStream(int64(x)); err != nil {
				return nil, err
			}
		}
		prev, ok := trailer["Prev"].(types.Integer)
		if !ok {
			break
		}
		off = int64(prev)
	}
	if _, ok := s.trailer["Encrypt"]; ok {
		return nil, errSkeleton("encrypted")
	}
	if sz, ok := s.trailer["Size"].(types.Integer); ok {
		s.maxNr = max(s.maxNr, int(sz)-1)
	}
	return s, nil
}

// add records an entry unless a later section gave the object already.
func (s *skeleton) add(nr int, e xentry) error {
	if nr < 0 || nr >= maxObjects {
		return errSkeleton("object number %d", nr)
	}
	if _, ok := s.table[nr]; !ok {
		s.table[nr] = e
	}
	s.maxNr = max(s.maxNr, nr)
	return nil
}

func (s *skeleton) reader(off int64) (*bufio.Reader, error) {
	if off < 0 || off >= s.size {
		return nil, errSkeleton("offset %d outside the file", off)
	}
	if _, err := s.rs.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return bufio.NewReaderSize(io.LimitReader(s.rs, s.size-off), 16<<10), nil
}

// section reads the cross-reference section at off, a table or a stream,
// and returns its trailer.
func (s *skeleton) section(off int64) (types.Dict, error) {
	r, err := s.reader(off)
	if err != nil {
		return nil, err
	}
	tok, err := token(r)
	if err != nil {
		return nil, errSkeleton("xref at %d: %v", off, err)
	}
	if tok != "xref" {
		return s.xrefStream(off)
	}
	return s.xrefTable(r, off)
}

// token reads the next whitespace-delimited token.
func token(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			if len(b) > 0 && err == io.EOF {
				return string(b), nil
			}
			return "", err
		}
		switch c {
		case 0, '\t', '\n', '\f', '\r', ' ':
			if len(b) > 0 {
				return string(b), nil
			}
			continue
		}
		b = append(b, c)
		if len(b) > 64 {
			return "", errors.New("token too long")
		}
	}
}

func (s *skeleton) xrefTable(r *bufio.Reader, off int64) (types.Dict, error) {
	for {
		tok, err := token(r)
		if err != nil {
			return nil, errSkeleton("xref table at %d: %v", off, err)
		}
		if tok == "trailer" {
			break
		}
		start, err1 := strconv.Atoi(tok)
		ct, err := token(r)
		count, err2 := strconv.Atoi(ct)
		if err != nil || err1 != nil || err2 != nil || start < 0 || count < 0 || count > maxObjects {
			return nil, errSkeleton("xref table at %d: bad subsection %q %q", off, tok, ct)
		}
		for i := range count {
			var f [3]string
			for j := range f {
				if f[j], err = token(r); err != nil {
					return nil, errSkeleton("xref table at %d: %v", off, err)
				}
			}
			o, err1 := strconv.ParseInt(f[0], 10, 64)
			g, err2 := strconv.Atoi(f[1])
			if err1 != nil || err2 != nil {
				return nil, errSkeleton("xref table at %d: bad entry %v", off, f)
			}
			e := xentry{off: o, gen: g}
			switch f[2] {
			case "n":
			case "f":
				e = xentry{free: true}
			default:
				return nil, errSkeleton("xref table at %d: bad entry %v", off, f)
			}
			if err := s.add(start+i, e); err != nil {
				return nil, err
			}
		}
	}
	// The trailer dictionary: parse what follows as one object.
	buf := make([]byte, 0, 1024)
	for len(buf) < 64<<10 {
		line, err := r.ReadSlice('\n')
		buf = append(buf, line...)
		if err != nil && err != bufio.ErrBufferFull {
			break
		}
		if i := bytes.Index(buf, []byte("startxref")); i >= 0 {
			buf = buf[:i]
			break
		}
	}
	str := string(buf)
	o, err := model.ParseObjectContext(s.c, &str, 0, maxParseDepth)
	if err != nil {
		return nil, errSkeleton("trailer at %d: %v", off, err)
	}
	d, ok := o.(types.Dict)
	if !ok {
		return nil, errSkeleton("trailer at %d is %T", off, o)
	}
	return d, nil
}

// stream parses the stream object at off and loads and decodes its data.
func (s *skeleton) stream(off int64, nr, gen int) (*types.StreamDict, error) {
	o, err := pdfcpu.ParseObjectWithContext(s.c, s.ctx, off, nr, gen)
	if err != nil {
		return nil, errSkeleton("object at %d: %v", off, err)
	}
	sd, ok := o.(types.StreamDict)
	if !ok {
		return nil, errSkeleton("object at %d is %T, not a stream", off, o)
	}
	var n int64
	switch {
	case sd.StreamLength != nil:
		n = *sd.StreamLength
	case sd.StreamLengthObjNr != nil:
		lo, err := s.object(*sd.StreamLengthObjNr)
		if err != nil {
			return nil, err
		}
		l, ok := lo.(types.Integer)
		if !ok {
			return nil, errSkeleton("stream length at %d is %T", off, lo)
		}
		n = int64(l)
	default:
		return nil, errSkeleton("stream at %d without a length", off)
	}
	if n < 0 || n > maxStructStream || sd.StreamOffset < 0 || sd.StreamOffset+n > s.size {
		return nil, errSkeleton("stream at %d: length %d", off, n)
	}
	sd.Raw = make([]byte, n)
	if _, err := s.rs.Seek(sd.StreamOffset, io.SeekStart); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(s.rs, sd.Raw); err != nil {
		return nil, err
	}
	if err := sd.DecodeWithLimit(maxStructStream); err != nil {
		return nil, errSkeleton("stream at %d: %v", off, err)
	}
	return &sd, nil
}

func intEntry(d types.Dict, key string) (int, bool) {
	switch v := d[key].(type) {
	case types.Integer:
		return int(v), true
	case types.Float:
		return int(v), true
	}
	return 0, false
}

// xrefStream reads the xref stream at off and returns its dictionary,
// which is the section's trailer.
func (s *skeleton) xrefStream(off int64) (types.Dict, error) {
	sd, err := s.stream(off, 0, 0)
	if err != nil {
		return nil, err
	}
	var w [3]int
	wa, ok := sd.Dict["W"].(types.Array)
	if !ok || len(wa) < 3 {
		return nil, errSkeleton("xref stream at %d: bad /W", off)
	}
	for i := range w {
		v, ok := wa[i].(types.Integer)
		if !ok || v < 0 || v > 8 {
			return nil, errSkeleton("xref stream at %d: bad /W", off)
		}
		w[i] = int(v)
	}
	size, _ := intEntry(sd.Dict, "Size")
	index := []int{0, size}
	if ia, ok := sd.Dict["Index"].(types.Array); ok {
		index = index[:0]
		for _, v := range ia {
			i, ok := v.(types.Integer)
			if !ok {
				return nil, errSkeleton("xref stream at %d: bad /Index", off)
			}
			index = append(index, int(i))
		}
		if len(index)%2 != 0 {
			return nil, errSkeleton("xref stream at %d: bad /Index", off)
		}
	}
	rowLen := w[0] + w[1] + w[2]
	if rowLen == 0 {
		return nil, errSkeleton("xref stream at %d: empty rows", off)
	}
	data := sd.Content
	field := func(b []byte) int64 {
		var v int64
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		return v
	}
	for i := 0; i < len(index); i += 2 {
		start, count := index[i], index[i+1]
		if count < 0 || count > maxObjects {
			return nil, errSkeleton("xref stream at %d: bad /Index", off)
		}
		for j := range count {
			if len(data) < rowLen {
				return nil, errSkeleton("xref stream at %d: short data", off)
			}
			row := data[:rowLen]
			data = data[rowLen:]
			typ := int64(1)
			if w[0] > 0 {
				typ = field(row[:w[0]])
			}
			f2, f3 := field(row[w[0]:w[0]+w[1]]), field(row[w[0]+w[1]:])
			var e xentry
			switch typ {
			case 0:
				e = xentry{free: true}
			case 1:
				e = xentry{off: f2, gen: int(f3)}
			case 2:
				e = xentry{compressed: true, stm: int(f2), idx: int(f3)}
			default:
				continue // reserved types are null objects
			}
			if err := s.add(start+j, e); err != nil {
				return nil, err
			}
		}
	}
	return sd.Dict, nil
}

// object returns object nr, parsed; a stream comes without its data.
func (s *skeleton) object(nr int) (types.Object, error) {
	if o, ok := s.objs[nr]; ok {
		return o, nil
	}
	if err := s.c.Err(); err != nil {
		return nil, err
	}
	e, ok := s.table[nr]
	if !ok || e.free {
		return nil, nil
	}
	var o types.Object
	if e.compressed {
		st, err := s.objectStream(e.stm)
		if err != nil {
			return nil, err
		}
		at, ok := st.offs[nr]
		if !ok {
			return nil, errSkeleton("object %d is not in object stream %d", nr, e.stm)
		}
		end := len(st.content)
		for _, o := range st.offs {
			if o > at && st.first+o < end {
				end = st.first + o
			}
		}
		if st.first+at > end {
			return nil, errSkeleton("object %d: bad offset in object stream %d", nr, e.stm)
		}
		str := string(st.content[st.first+at : end])
		if o, err = model.ParseObjectContext(s.c, &str, 0, maxParseDepth); err != nil {
			return nil, errSkeleton("object %d: %v", nr, err)
		}
	} else {
		// pdfcpu parses whatever object lies at the offset; a wrong offset
		// (which pdfcpu's full reader would repair) must not pass another
		// object off as this one.
		if err := s.checkHeader(e.off, nr, e.gen); err != nil {
			return nil, err
		}
		var err error
		if o, err = pdfcpu.ParseObjectWithContext(s.c, s.ctx, e.off, nr, e.gen); err != nil {
			return nil, errSkeleton("object %d: %v", nr, err)
		}
	}
	s.objs[nr] = o
	return o, nil
}

var objHeaderNumbers = regexp.MustCompile(`^[\x00\t\n\f\r ]*([0-9]+)[\x00\t\n\f\r ]+([0-9]+)[\x00\t\n\f\r ]+obj`)

// checkHeader verifies that "nr gen obj" starts at off.
func (s *skeleton) checkHeader(off int64, nr, gen int) error {
	if off < 0 || off >= s.size {
		return errSkeleton("object %d: offset %d outside the file", nr, off)
	}
	head := make([]byte, min(64, s.size-off))
	if _, err := s.rs.Seek(off, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.ReadFull(s.rs, head); err != nil {
		return err
	}
	m := objHeaderNumbers.FindSubmatch(head)
	if m == nil || string(m[1]) != strconv.Itoa(nr) || string(m[2]) != strconv.Itoa(gen) {
		return errSkeleton("object %d %d is not at offset %d", nr, gen, off)
	}
	return nil
}

func (s *skeleton) objectStream(nr int) (*objStm, error) {
	if st, ok := s.stms[nr]; ok {
		return st, nil
	}
	e, ok := s.table[nr]
	if !ok || e.free || e.compressed {
		return nil, errSkeleton("object stream %d is missing", nr)
	}
	if err := s.checkHeader(e.off, nr, e.gen); err != nil {
		return nil, err
	}
	sd, err := s.stream(e.off, nr, e.gen)
	if err != nil {
		return nil, err
	}
	first, ok1 := intEntry(sd.Dict, "First")
	n, ok2 := intEntry(sd.Dict, "N")
	if !ok1 || !ok2 || first < 0 || first > len(sd.Content) || n < 0 || n > maxObjects {
		return nil, errSkeleton("object stream %d: bad /First or /N", nr)
	}
	st := &objStm{content: sd.Content, first: first, offs: make(map[int]int, n)}
	r := bufio.NewReader(bytes.NewReader(sd.Content[:first]))
	for range n {
		a, err1 := token(r)
		b, err2 := token(r)
		objNr, err3 := strconv.Atoi(a)
		at, err4 := strconv.Atoi(b)
		if err := errors.Join(err1, err2, err3, err4); err != nil || at < 0 {
			return nil, errSkeleton("object stream %d: bad header", nr)
		}
		st.offs[objNr] = at
	}
	s.stms[nr] = st
	return st, nil
}

// deref resolves a reference; anything else is returned as it is.
func (s *skeleton) deref(o types.Object) (types.Object, error) {
	if r, ok := o.(types.IndirectRef); ok {
		return s.object(r.ObjectNumber.Value())
	}
	return o, nil
}

func (s *skeleton) number(o types.Object) (float64, error) {
	o, err := s.deref(o)
	if err != nil {
		return 0, err
	}
	switch v := o.(type) {
	case types.Integer:
		return float64(v), nil
	case types.Float:
		return float64(v), nil
	}
	return 0, errSkeleton("%T is not a number", o)
}

func (s *skeleton) rect(o types.Object) (*types.Rectangle, error) {
	o, err := s.deref(o)
	if err != nil {
		return nil, err
	}
	a, ok := o.(types.Array)
	if !ok || len(a) != 4 {
		return nil, errSkeleton("a box is %T", o)
	}
	var v [4]float64
	for i := range v {
		if v[i], err = s.number(a[i]); err != nil {
			return nil, err
		}
	}
	return types.NewRectangle(math.Min(v[0], v[2]), math.Min(v[1], v[3]), math.Max(v[0], v[2]), math.Max(v[1], v[3])), nil
}

func (s *skeleton) dict(o types.Object) (types.Dict, error) {
	o, err := s.deref(o)
	if err != nil {
		return nil, err
	}
	switch v := o.(type) {
	case nil:
		return nil, nil
	case types.Dict:
		return v, nil
	case types.StreamDict:
		return v.Dict, nil
	}
	return nil, errSkeleton("%T is not a dictionary", o)
}

// pageInfo is a page of the original with its inheritable attributes
// resolved.
type pageInfo struct {
	ref   types.IndirectRef
	dict  types.Dict
	attrs model.InheritedPageAttrs
}

// pageTree is what the card needs of the original's page tree.
type pageTree struct {
	pages    []pageInfo
	root     types.IndirectRef // the root Pages node
	rootDict types.Dict
	kids     types.Array
	count    int
}

func (s *skeleton) pageTree() (*pageTree, error) {
	cat, err := s.dict(s.trailer["Root"])
	if err != nil || cat == nil {
		return nil, errSkeleton("no catalog: %v", err)
	}
	root, ok := cat["Pages"].(types.IndirectRef)
	if !ok {
		return nil, errSkeleton("no page tree")
	}
	t := &pageTree{root: root}
	if t.rootDict, err = s.dict(root); err != nil || t.rootDict == nil {
		return nil, errSkeleton("no page tree root: %v", err)
	}
	kids, err := s.deref(t.rootDict["Kids"])
	if err != nil {
		return nil, err
	}
	if t.kids, ok = kids.(types.Array); !ok {
		return nil, errSkeleton("page tree root without kids")
	}
	count, err := s.number(t.rootDict["Count"])
	if err != nil {
		return nil, err
	}
	t.count = int(count)
	seen := map[int]bool{}
	if err := s.walk(t, root, model.InheritedPageAttrs{}, 0, seen); err != nil {
		return nil, err
	}
	if len(t.pages) != t.count || t.count == 0 {
		return nil, errSkeleton("the page tree has %d pages, its root says %d", len(t.pages), t.count)
	}
	return t, nil
}

func (s *skeleton) walk(t *pageTree, ref types.IndirectRef, attrs model.InheritedPageAttrs, depth int, seen map[int]bool) error {
	nr := ref.ObjectNumber.Value()
	if depth > maxPageDepth || seen[nr] {
		return errSkeleton("page tree loops or is too deep at %d", nr)
	}
	seen[nr] = true
	d, err := s.dict(ref)
	if err != nil || d == nil {
		return errSkeleton("page tree node %d: %v", nr, err)
	}
	if o, ok := d["MediaBox"]; ok {
		if attrs.MediaBox, err = s.rect(o); err != nil {
			return err
		}
	}
	if o, ok := d["CropBox"]; ok {
		if attrs.CropBox, err = s.rect(o); err != nil {
			return err
		}
	}
	if o, ok := d["Rotate"]; ok {
		r, err := s.number(o)
		if err != nil {
			return err
		}
		attrs.Rotate = int(math.Round(r))
	}
	if o, ok := d["Resources"]; ok {
		if attrs.Resources, err = s.dict(o); err != nil {
			return err
		}
	}
	kids, hasKids := d["Kids"]
	if typ, _ := d["Type"].(types.Name); typ == "Page" || (typ != "Pages" && !hasKids) {
		t.pages = append(t.pages, pageInfo{ref: ref, dict: d, attrs: attrs})
		return nil
	}
	ko, err := s.deref(kids)
	if err != nil {
		return err
	}
	ka, ok := ko.(types.Array)
	if !ok {
		return errSkeleton("page tree node %d: kids are %T", nr, ko)
	}
	for _, k := range ka {
		kr, ok := k.(types.IndirectRef)
		if !ok {
			return errSkeleton("page tree node %d: a kid is %T", nr, k)
		}
		if err := s.walk(t, kr, attrs, depth+1, seen); err != nil {
			return err
		}
	}
	return nil
}
