// Package pdfintake accepts a document uploaded for signing and decides,
// before anything else touches it, whether it is a PDF the product can work
// with.
//
// An upload is accepted only if it is at most MaxSize bytes, is judged a PDF
// by actually parsing it with pdfcpu (never by file name or magic bytes
// alone), carries no encryption of any kind, is complete (not truncated) and
// has a consistent page tree with at least one page. Everything else is
// refused with an *Error whose Code the front end translates.
//
// Uploads arrive as streams (HTTP bodies, messenger downloads), so Intake
// spools them to a temporary file while hashing, stops reading one byte past
// the limit, and parses from the file: memory stays bounded by what pdfcpu
// keeps of one document, not by how much a client sends.
package pdfintake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	pdflog "github.com/pdfcpu/pdfcpu/pkg/log"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// MaxSize is the largest accepted upload in bytes; exactly MaxSize is fine.
const MaxSize int64 = 15 * 1024 * 1024

const (
	// headerWindow follows Acrobat, which looks for the header anywhere in
	// the first KiB, so that files with a little junk in front, which
	// viewers open, still count as PDFs.
	headerWindow = 1024

	// trailerWindow is how far before %%EOF the startxref keyword is
	// looked for; only the offset and line ends lie between them.
	trailerWindow = 1024

	// maxTrailingPadding is how much whitespace may follow %%EOF. NUL
	// padding to a block size is the largest seen in practice.
	maxTrailingPadding = 64 << 10

	// pdfWhitespace is the PDF definition: NUL, tab, LF, FF, CR, space.
	pdfWhitespace = "\x00\t\n\f\r "

	// spoolChunk is large enough to keep syscalls per upload low and small
	// enough that cancellation is noticed within one chunk.
	spoolChunk = 64 << 10

	// maxPageTreeDepth matches pdfcpu's own recursion limit; real page
	// trees are a handful of levels deep.
	maxPageTreeDepth = 100
)

func init() {
	// pdfcpu reports every repair and skipped object through its loggers.
	// On hostile or damaged uploads that floods the logs and can copy
	// document content into them, so keep them off whatever set them.
	pdflog.DisableLoggers()
}

// Upload is a checked PDF spooled to a temporary file.
type Upload struct {
	SHA256 [32]byte
	Size   int64
	Pages  int

	mu   sync.Mutex
	path string // "" once Close has removed the file
}

// Open returns a fresh read handle on the spooled bytes; the caller closes
// it. Handles opened before Close keep working on Unix, but new ones fail.
func (u *Upload) Open() (*os.File, error) {
	u.mu.Lock()
	path := u.path
	u.mu.Unlock()
	if path == "" {
		return nil, fmt.Errorf("pdfintake: open upload: %w", os.ErrClosed)
	}
	return os.Open(path)
}

// SHA256Hex returns the SHA-256 of the upload in lower-case hex, the form
// stored and shown in audit trails.
func (u *Upload) SHA256Hex() string {
	return hex.EncodeToString(u.SHA256[:])
}

// Close removes the temporary file. It is safe to call more than once and
// from several goroutines.
func (u *Upload) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.path == "" {
		return nil
	}
	err := os.Remove(u.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pdfintake: remove spooled upload: %w", err)
	}
	u.path = ""
	return nil
}

// Intake spools r into a temporary file in dir ("" means os.TempDir()) and
// checks it. On success the caller owns the Upload and must Close it. On any
// failure the temporary file is already gone.
//
// A refusal of the document is an *Error matching one of ErrEmpty,
// ErrTooLarge, ErrNotPDF, ErrEncrypted or ErrBroken via errors.Is. Anything
// else (disk full, a failing reader, ctx cancelled) is a plain wrapped error
// about the upload process, not about the document.
//
// ctx is checked between reads; a Read blocked inside r cannot be
// interrupted from here, so r should itself give up when the request does
// (as net/http request bodies do when the connection goes away).
func Intake(ctx context.Context, r io.Reader, dir string) (u *Upload, err error) {
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "pdfintake-*.pdf")
	if err != nil {
		return nil, fmt.Errorf("pdfintake: create spool file: %w", err)
	}
	path := f.Name()
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("pdfintake: close spool file: %w", cerr)
		}
		if err != nil {
			u = nil
			_ = os.Remove(path)
		}
	}()

	size, sum, err := spool(ctx, f, r)
	if err != nil {
		return nil, err
	}
	switch {
	case size == 0:
		return nil, refuse(ErrEmpty, nil)
	case size > MaxSize:
		return nil, refuse(ErrTooLarge, fmt.Errorf("upload exceeds %d bytes", MaxSize))
	}

	pages, err := inspect(ctx, f, size)
	if err != nil {
		return nil, err
	}
	return &Upload{SHA256: sum, Size: size, Pages: pages, path: path}, nil
}

// spool copies at most MaxSize+1 bytes of r to w, hashing on the way. The
// extra byte is what tells "exactly at the limit" from "over it" without
// reading the rest of an oversized upload.
func spool(ctx context.Context, w io.Writer, r io.Reader) (int64, [32]byte, error) {
	var sum [32]byte
	h := sha256.New()
	lr := &io.LimitedReader{R: r, N: MaxSize + 1}
	buf := make([]byte, spoolChunk)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, sum, fmt.Errorf("pdfintake: spool upload: %w", err)
		}
		m, rerr := lr.Read(buf)
		if m > 0 {
			h.Write(buf[:m])
			if _, werr := w.Write(buf[:m]); werr != nil {
				return n, sum, fmt.Errorf("pdfintake: write spool file: %w", werr)
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, sum, fmt.Errorf("pdfintake: read upload: %w", rerr)
		}
	}
	// A cancellation that raced with the final read still means the caller
	// no longer wants an answer.
	if err := ctx.Err(); err != nil {
		return n, sum, fmt.Errorf("pdfintake: spool upload: %w", err)
	}
	h.Sum(sum[:0])
	return n, sum, nil
}

// inspect decides whether the spooled file is an acceptable PDF and returns
// its page count.
func inspect(ctx context.Context, f *os.File, size int64) (pages int, err error) {
	head := make([]byte, min(size, headerWindow))
	if _, err := f.ReadAt(head, 0); err != nil {
		return 0, fmt.Errorf("pdfintake: read spool file: %w", err)
	}
	hdr := bytes.Index(head, []byte("%PDF-"))
	if hdr < 0 {
		return 0, refuse(ErrNotPDF, fmt.Errorf("no %%PDF- header in the first %d bytes", headerWindow))
	}

	// From here on the file claims to be a PDF, so every parser complaint
	// is about a broken PDF, not about a different kind of file.
	defer func() {
		// pdfcpu panics on some malformed input (and wraps deliberate
		// failures in fault.Panic). The input is untrusted; a panic on it
		// is a broken document, not a reason to take the server down.
		if r := recover(); r != nil {
			pages = 0
			if e, ok := r.(error); ok {
				err = refuse(ErrBroken, fmt.Errorf("parser panic: %w", e))
			} else {
				err = refuse(ErrBroken, fmt.Errorf("parser panic: %v", r))
			}
		}
		// A parser stopped by cancellation reports odd errors; the caller
		// gave up, which is not the document's fault.
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				pages, err = 0, fmt.Errorf("pdfintake: check upload: %w", cerr)
			}
		}
	}()

	// pdfcpu repairs what it can: a file cut anywhere before its final
	// xref section is rebuilt by scanning for objects, and if the cut spared
	// all page objects it even parses with the right page count. An upload
	// that lost its tail is still not the document the user meant to send,
	// so completeness is judged on the bytes, before and independently of
	// any repair.
	start, err := checkTail(f, size)
	if err != nil {
		return 0, refuse(ErrBroken, err)
	}
	b := &budget{left: structureBudget}
	if err := checkXRefChain(ctx, f, size, int64(hdr), start, b); err != nil {
		return 0, err
	}

	pc, err := parse(ctx, f)
	if err != nil {
		return 0, err
	}
	if pc.Encrypt != nil || pc.E != nil {
		// Unreachable with Cmd set to ADDSIGNATURE in readConfig, but the
		// product must never accept an encrypted file should pdfcpu change.
		return 0, refuse(ErrEncrypted, errors.New("trailer references an encryption dictionary"))
	}
	if err := checkObjectStreams(ctx, pc, b); err != nil {
		return 0, err
	}
	pages, err = countPages(pc.XRefTable)
	if err != nil {
		return 0, refuse(ErrBroken, err)
	}
	return pages, nil
}

// readConfig builds the configuration by hand because
// model.NewDefaultConfiguration creates and reads a pdfcpu directory under
// the user's config dir, a side effect a server must not have.
func readConfig() *model.Configuration {
	limits := model.DefaultResourceLimits()
	// The defaults are sized for desktop use on trusted files (512 MiB per
	// stream, 10 million objects). An upload is at most MaxSize bytes, so
	// tie the limits to that. They are per stream and pdfcpu ignores them
	// for xref streams; guard.go enforces the per-document budget.
	limits.MaxStreamBytes = MaxSize
	limits.MaxDecodeBytes = structureBudget
	// Object stream prologs (pairs of numbers, about 12 bytes per object)
	// are inflated eagerly; 1 MiB is room for 80,000 objects per stream.
	limits.MaxObjectStreamFirst = 1 << 20
	limits.MaxObjectCount = 1 << 20
	limits.MaxXRefEntries = 1 << 20
	limits.MaxObjectStreamCount = 1 << 20
	return &model.Configuration{
		Version:  model.VersionStr,
		Reader15: true, // accept object and xref streams (PDF 1.5+)
		// Relaxed is pdfcpu's default: strict mode refuses many PDFs from
		// ordinary producers that every viewer opens.
		ValidationMode: model.ValidationRelaxed,
		// Streams are kept encoded; only object and xref streams, which
		// hold the document structure, get decoded.
		DecodeAllStreams:          false,
		UnsupportedResourcePolicy: model.UnsupportedResourceSkip,
		Eol:                       types.EolLF,
		// With this command pdfcpu refuses any file that has an /Encrypt
		// entry before trying passwords, which is exactly the product rule:
		// an empty user password (open without prompt, restricted by an
		// owner password) is refused like any other encryption.
		Cmd:     model.ADDSIGNATURE,
		Offline: true,
		Limits:  limits,
	}
}

// parse runs pdfcpu on the spooled file and maps its failures to refusals.
func parse(ctx context.Context, f *os.File) (*model.Context, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("pdfintake: rewind spool file: %w", err)
	}
	pc, err := pdfcpu.ReadWithContext(ctx, f, readConfig())
	if err == nil {
		return pc, nil
	}
	if errors.Is(err, pdfcpu.ErrEncrypted) || errors.Is(err, pdfcpu.ErrWrongPassword) {
		return nil, refuse(ErrEncrypted, err)
	}
	return nil, refuse(ErrBroken, err)
}

// checkTail verifies that the file ends the way every complete PDF ends:
// "startxref", the offset of the last cross-reference section, then
// "%%EOF", followed by nothing but whitespace, and returns that offset.
//
// Any truncation removes that tail. Trailing bytes other than whitespace are
// refused too: with incremental updates they are what is left of a cut-off
// later revision, and accepting them would silently hand the signer an older
// version of the document.
func checkTail(f *os.File, size int64) (int64, error) {
	// Some writers and file systems pad files with NULs or blank lines, so
	// skip trailing whitespace first, within reason.
	end := size
	buf := make([]byte, 4096)
	for end > 0 && size-end < maxTrailingPadding {
		n := min(end, int64(len(buf)))
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, fmt.Errorf("read file tail: %w", err)
		}
		trimmed := bytes.TrimRight(buf[:n], pdfWhitespace)
		end -= n - int64(len(trimmed))
		if len(trimmed) > 0 {
			break
		}
	}
	tail := make([]byte, min(end, trailerWindow))
	if _, err := f.ReadAt(tail, end-int64(len(tail))); err != nil {
		return 0, fmt.Errorf("read file tail: %w", err)
	}
	if !bytes.HasSuffix(tail, []byte("%%EOF")) {
		return 0, errors.New("file does not end with %%EOF: truncated")
	}
	tail = tail[:len(tail)-len("%%EOF")]
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return 0, errors.New("no startxref before %%EOF: truncated")
	}
	fields := bytes.Fields(tail[i+len("startxref"):])
	if len(fields) != 1 {
		return 0, errors.New("malformed startxref before %%EOF")
	}
	var off int64
	for _, c := range fields[0] {
		if c < '0' || c > '9' || off > size {
			// The value is attacker-controlled; keep log lines short.
			return 0, fmt.Errorf("malformed startxref offset %q", fields[0][:min(len(fields[0]), 24)])
		}
		off = off*10 + int64(c-'0')
	}
	return off, nil
}

// countPages walks the page tree and returns the number of pages. pdfcpu
// treats references to objects it could not find as null (as the PDF
// specification asks of viewers), so a page tree whose page objects were
// lost to truncation or damage still "parses"; here every page node, page
// and content stream it names must really be there, and the leaves must add
// up to the /Count the document declares.
func countPages(xt *model.XRefTable) (int, error) {
	root, err := xt.Catalog()
	if err != nil {
		return 0, fmt.Errorf("document catalog: %w", err)
	}
	if root == nil {
		return 0, errors.New("missing document catalog")
	}
	ref, ok := root.Find("Pages")
	if !ok {
		return 0, errors.New("document catalog has no page tree")
	}
	w := pageWalker{xt: xt, seen: map[int]bool{}}
	if ir, ok := ref.(types.IndirectRef); ok {
		w.seen[ir.ObjectNumber.Value()] = true
	}
	top, err := w.dict(ref, "page tree root")
	if err != nil {
		return 0, err
	}
	countObj, ok := top.Find("Count")
	if !ok {
		return 0, errors.New("page tree root has no /Count")
	}
	declared, err := xt.DereferenceInteger(countObj)
	if err != nil || declared == nil {
		return 0, fmt.Errorf("page tree root has an unusable /Count: %v", err)
	}
	if err := w.walk(top, 0); err != nil {
		return 0, err
	}
	if w.pages != declared.Value() {
		return 0, fmt.Errorf("page tree declares %d pages but holds %d", declared.Value(), w.pages)
	}
	if w.pages < 1 {
		return 0, errors.New("document has no pages")
	}
	return w.pages, nil
}

type pageWalker struct {
	xt    *model.XRefTable
	seen  map[int]bool // object numbers of page tree nodes already visited
	pages int
}

// resolve dereferences o, insisting that an indirect reference points at an
// object that is present in the file.
func (w *pageWalker) resolve(o types.Object, what string) (types.Object, error) {
	ir, ok := o.(types.IndirectRef)
	if !ok {
		return o, nil
	}
	nr := ir.ObjectNumber.Value()
	e, found := w.xt.FindTableEntryForIndRef(&ir)
	if !found || e == nil || e.Free || e.Object == nil {
		return nil, fmt.Errorf("%s obj#%d is missing", what, nr)
	}
	v, err := w.xt.Dereference(ir)
	if err != nil {
		return nil, fmt.Errorf("%s obj#%d: %w", what, nr, err)
	}
	if v == nil {
		return nil, fmt.Errorf("%s obj#%d is missing", what, nr)
	}
	return v, nil
}

func (w *pageWalker) dict(o types.Object, what string) (types.Dict, error) {
	v, err := w.resolve(o, what)
	if err != nil {
		return nil, err
	}
	d, ok := v.(types.Dict)
	if !ok {
		return nil, fmt.Errorf("%s is a %T, not a dictionary", what, v)
	}
	return d, nil
}

func (w *pageWalker) walk(node types.Dict, depth int) error {
	if depth > maxPageTreeDepth {
		return fmt.Errorf("page tree deeper than %d levels", maxPageTreeDepth)
	}
	kidsObj, ok := node.Find("Kids")
	if !ok {
		return errors.New("page tree node without /Kids")
	}
	kv, err := w.resolve(kidsObj, "page tree /Kids")
	if err != nil {
		return err
	}
	kids, ok := kv.(types.Array)
	if !ok {
		return fmt.Errorf("page tree /Kids is a %T, not an array", kv)
	}
	for _, kid := range kids {
		// A page reachable twice would be counted twice, and a cycle would
		// never end; both are corrupt trees.
		if ir, ok := kid.(types.IndirectRef); ok {
			nr := ir.ObjectNumber.Value()
			if w.seen[nr] {
				return fmt.Errorf("page tree visits obj#%d twice", nr)
			}
			w.seen[nr] = true
		}
		d, err := w.dict(kid, "page tree kid")
		if err != nil {
			return err
		}
		if isPageNode(d) {
			if err := w.walk(d, depth+1); err != nil {
				return err
			}
			continue
		}
		if t := d.Type(); t != nil && *t != "Page" {
			return fmt.Errorf("page tree kid has /Type /%s", *t)
		}
		if err := w.checkContents(d); err != nil {
			return err
		}
		w.pages++
	}
	return nil
}

// isPageNode tells intermediate nodes from pages. /Type is required, but
// some producers omit it; /Kids is what makes a node a node.
func isPageNode(d types.Dict) bool {
	if t := d.Type(); t != nil {
		return *t == "Pages"
	}
	_, ok := d.Find("Kids")
	return ok
}

// checkContents makes sure the page's content streams exist. A page without
// /Contents is a legitimate blank page; a page whose content stream is gone
// is what a cut-off file looks like after repair.
func (w *pageWalker) checkContents(page types.Dict) error {
	c, ok := page.Find("Contents")
	if !ok || c == nil {
		return nil
	}
	v, err := w.resolve(c, "page content")
	if err != nil {
		return err
	}
	switch v := v.(type) {
	case types.StreamDict:
		return nil
	case types.Array:
		for _, e := range v {
			s, err := w.resolve(e, "page content")
			if err != nil {
				return err
			}
			if _, ok := s.(types.StreamDict); !ok {
				return fmt.Errorf("page content is a %T, not a stream", s)
			}
		}
		return nil
	default:
		return fmt.Errorf("page content is a %T, not a stream", v)
	}
}
