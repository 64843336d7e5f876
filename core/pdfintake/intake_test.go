package pdfintake_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"

	"edobot/core/pdfintake"
	"edobot/core/pdfintake/pdftest"
)

// Inputs shared by tests, the fuzz seed corpus and the benchmark. Building
// the 15 MiB documents once keeps the suite fast under -race.
var (
	pdf1  = pdftest.PDF(1)
	pdf3  = pdftest.PDF(3)
	pdf10 = pdftest.PDF(10)

	bigOnce      sync.Once
	pdfMax       []byte // exactly MaxSize
	pdfMaxPlus1  []byte // MaxSize + 1
	encUser      = pdftest.Encrypted(pdf3, "user", "owner")
	encOwnerOnly = pdftest.Encrypted(pdf3, "", "owner")
)

func bigPDFs() ([]byte, []byte) {
	bigOnce.Do(func() {
		pdfMax = pdftest.PDFOfSize(3, pdfintake.MaxSize)
		pdfMaxPlus1 = pdftest.PDFOfSize(3, pdfintake.MaxSize+1)
	})
	return pdfMax, pdfMaxPlus1
}

func cut(b []byte, frac float64) []byte {
	return bytes.Clone(b[:int(float64(len(b))*frac)])
}

func zipBytes(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("contract.pdf")
	if err != nil {
		t.Fatal(err)
	}
	// A PDF inside an archive is still an archive.
	if _, err := w.Write(pdf1); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// replaceSameLen edits a document without moving any byte, so the xref
// offsets stay right and only the intended defect remains.
func replaceSameLen(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if len(old) != len(new) {
		t.Fatalf("replacement %q -> %q changes the length", old, new)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%q not found", old)
	}
	return bytes.Replace(bytes.Clone(b), []byte(old), []byte(new), 1)
}

// appendUpdate appends a valid incremental update to b (a pdftest
// document with a classic xref table): a new Info dictionary, an xref
// section for it and a trailer chaining to the previous one via /Prev.
func appendUpdate(t *testing.T, b []byte) []byte {
	t.Helper()
	tail := b[bytes.LastIndex(b, []byte("startxref")):]
	var prev, size int
	if _, err := fmt.Sscanf(string(tail), "startxref\n%d\n", &prev); err != nil {
		t.Fatal(err)
	}
	trailer := b[bytes.LastIndex(b, []byte("trailer")):]
	if _, err := fmt.Sscanf(string(trailer), "trailer\n<< /Size %d", &size); err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(b)
	off := len(out)
	out = fmt.Appendf(out, "%d 0 obj\n<< /Title (Signed copy) >>\nendobj\n", size)
	xref := len(out)
	out = fmt.Appendf(out, "xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n", size, off)
	out = fmt.Appendf(out, "trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", size+1, size, prev, xref)
	return out
}

// wipeObject blanks object nr in place, as a damaged disk sector or a
// botched edit would, leaving the xref offsets pointing at spaces.
func wipeObject(t *testing.T, b []byte, nr int) []byte {
	t.Helper()
	b = bytes.Clone(b)
	start := bytes.Index(b, fmt.Appendf(nil, "\n%d 0 obj", nr))
	if start < 0 {
		t.Fatalf("obj %d not found", nr)
	}
	start++
	end := bytes.Index(b[start:], []byte("endobj"))
	if end < 0 {
		t.Fatalf("obj %d has no endobj", nr)
	}
	for i := start; i < start+end+len("endobj"); i++ {
		b[i] = ' '
	}
	return b
}

func assertDirEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in spool dir: %s", e.Name())
	}
}

func TestIntake(t *testing.T) {
	max, maxPlus1 := bigPDFs()
	cases := []struct {
		name      string
		in        func(t *testing.T) []byte
		wantErr   *pdfintake.Error // nil: accepted
		wantPages int
	}{
		{name: "valid 1 page", in: func(*testing.T) []byte { return pdf1 }, wantPages: 1},
		{name: "valid 3 pages", in: func(*testing.T) []byte { return pdf3 }, wantPages: 3},
		{name: "valid 10 pages", in: func(*testing.T) []byte { return pdf10 }, wantPages: 10},
		{name: "exactly MaxSize", in: func(*testing.T) []byte { return max }, wantPages: 3},
		{name: "MaxSize+1", in: func(*testing.T) []byte { return maxPlus1 }, wantErr: pdfintake.ErrTooLarge},
		{name: "empty", in: func(*testing.T) []byte { return nil }, wantErr: pdfintake.ErrEmpty},
		{name: "PNG", in: func(*testing.T) []byte { return pdftest.PNG() }, wantErr: pdfintake.ErrNotPDF},
		{name: "plain text", in: func(*testing.T) []byte {
			return []byte("Dear customer,\nplease sign the attached contract.\n")
		}, wantErr: pdfintake.ErrNotPDF},
		{name: "zip containing a PDF", in: zipBytes, wantErr: pdfintake.ErrNotPDF},
		{name: "whitespace only", in: func(*testing.T) []byte { return []byte(" \n\t\n") }, wantErr: pdfintake.ErrNotPDF},
		{name: "header after first KiB", in: func(*testing.T) []byte {
			return append(bytes.Repeat([]byte("x"), 1024), pdf1...)
		}, wantErr: pdfintake.ErrNotPDF},
		{name: "encrypted with user password", in: func(*testing.T) []byte { return encUser }, wantErr: pdfintake.ErrEncrypted},
		{name: "encrypted with owner password only", in: func(*testing.T) []byte { return encOwnerOnly }, wantErr: pdfintake.ErrEncrypted},
		{name: "encrypted RC4 owner only", in: func(*testing.T) []byte {
			return pdftest.EncryptedRC4(pdf1, "", "owner")
		}, wantErr: pdfintake.ErrEncrypted},
		{name: "truncated 25%", in: func(*testing.T) []byte { return cut(pdf10, 0.25) }, wantErr: pdfintake.ErrBroken},
		{name: "truncated 50%", in: func(*testing.T) []byte { return cut(pdf10, 0.50) }, wantErr: pdfintake.ErrBroken},
		{name: "truncated 90%", in: func(*testing.T) []byte { return cut(pdf10, 0.90) }, wantErr: pdfintake.ErrBroken},
		{name: "truncated minus 10 bytes", in: func(*testing.T) []byte { return bytes.Clone(pdf10[:len(pdf10)-10]) }, wantErr: pdfintake.ErrBroken},
		{name: "truncated 15 MiB at 90%", in: func(*testing.T) []byte { return cut(max, 0.90) }, wantErr: pdfintake.ErrBroken},
		{name: "truncated encrypted", in: func(*testing.T) []byte { return cut(encUser, 0.5) }, wantErr: pdfintake.ErrBroken},
		{name: "header then garbage", in: func(*testing.T) []byte {
			return []byte("%PDF-1.7\n\x00\x01garbage that is not a PDF body at all\n%%EOF\n")
		}, wantErr: pdfintake.ErrBroken},
		{name: "header only", in: func(*testing.T) []byte { return []byte("%PDF-1.4") }, wantErr: pdfintake.ErrBroken},
		{
			// The tail check alone would pass this file: pages are gone
			// but the end looks complete. pdfcpu rebuilds the xref by
			// scanning and the page tree names objects that do not exist.
			name: "truncated 25% then re-terminated",
			in: func(*testing.T) []byte {
				return append(cut(pdf10, 0.25), "\nstartxref\n9\n%%EOF\n"...)
			},
			wantErr: pdfintake.ErrBroken,
		},
		{name: "truncated 50% then re-terminated", in: func(*testing.T) []byte {
			return append(cut(pdf10, 0.5), "\nstartxref\n9\n%%EOF\n"...)
		}, wantErr: pdfintake.ErrBroken},
		{name: "page count larger than page tree", in: func(t *testing.T) []byte {
			return replaceSameLen(t, pdf3, "/Count 3", "/Count 4")
		}, wantErr: pdfintake.ErrBroken},
		{name: "page count smaller than page tree", in: func(t *testing.T) []byte {
			return replaceSameLen(t, pdf3, "/Count 3", "/Count 2")
		}, wantErr: pdfintake.ErrBroken},
		{name: "no pages", in: func(t *testing.T) []byte {
			b := replaceSameLen(t, pdf1, "/Kids [4 0 R]", "/Kids [     ]")
			return replaceSameLen(t, b, "/Count 1", "/Count 0")
		}, wantErr: pdfintake.ErrBroken},
		{name: "page tree cycle", in: func(t *testing.T) []byte {
			return replaceSameLen(t, pdf1, "/Kids [4 0 R]", "/Kids [2 0 R]")
		}, wantErr: pdfintake.ErrBroken},
		{name: "page content stream missing", in: func(t *testing.T) []byte {
			return replaceSameLen(t, pdf1, "/Contents 5 0 R", "/Contents 9 0 R")
		}, wantErr: pdfintake.ErrBroken},
		{name: "page tree kid missing", in: func(t *testing.T) []byte {
			return replaceSameLen(t, pdf1, "/Kids [4 0 R]", "/Kids [8 0 R]")
		}, wantErr: pdfintake.ErrBroken},
		{
			// Damage inside the file with an intact xref and tail: pdfcpu
			// skips the unparsable object (relaxed mode) or rebuilds the
			// xref, and the page tree walk has to notice the gap.
			name: "page object wiped",
			in: func(t *testing.T) []byte {
				return wipeObject(t, pdf3, 6)
			},
			wantErr: pdfintake.ErrBroken,
		},
		{name: "content stream wiped", in: func(t *testing.T) []byte {
			return wipeObject(t, pdf3, 7)
		}, wantErr: pdfintake.ErrBroken},
		{name: "cut-off incremental update", in: func(*testing.T) []byte {
			return append(bytes.Clone(pdf3), "5 0 obj\n<< /Length 500 >>\nstream\nBT"...)
		}, wantErr: pdfintake.ErrBroken},
		{name: "object and xref streams", in: func(*testing.T) []byte { return pdftest.Rewritten(pdf10) }, wantPages: 10},
		{name: "object and xref streams truncated 90%", in: func(*testing.T) []byte {
			return cut(pdftest.Rewritten(pdf10), 0.9)
		}, wantErr: pdfintake.ErrBroken},
		{name: "object and xref streams minus 10 bytes", in: func(*testing.T) []byte {
			b := pdftest.Rewritten(pdf10)
			return bytes.Clone(b[:len(b)-10])
		}, wantErr: pdfintake.ErrBroken},
		{name: "object and xref streams encrypted", in: func(*testing.T) []byte {
			return pdftest.Encrypted(pdftest.Rewritten(pdf3), "", "owner")
		}, wantErr: pdfintake.ErrEncrypted},
		{name: "incremental update", in: func(t *testing.T) []byte { return appendUpdate(t, pdf3) }, wantPages: 3},
		{name: "incremental update truncated in the update", in: func(t *testing.T) []byte {
			b := appendUpdate(t, pdf3)
			return bytes.Clone(b[:len(pdf3)+(len(b)-len(pdf3))/2])
		}, wantErr: pdfintake.ErrBroken},
		{name: "junk before header", in: func(*testing.T) []byte {
			return append([]byte("MIME junk a gateway left\r\n"), pdf3...)
		}, wantPages: 3},
		{name: "trailing whitespace and NULs", in: func(*testing.T) []byte {
			return append(bytes.Clone(pdf3), "\r\n\x00\x00\n"...)
		}, wantPages: 3},
		{name: "NUL padding after %%EOF", in: func(*testing.T) []byte {
			return append(bytes.Clone(pdf3), make([]byte, 10000)...)
		}, wantPages: 3},
		{name: "too much padding after %%EOF", in: func(*testing.T) []byte {
			return append(bytes.Clone(pdf3), bytes.Repeat([]byte("\n"), 100<<10)...)
		}, wantErr: pdfintake.ErrBroken},
		{name: "no EOL after %%EOF", in: func(*testing.T) []byte {
			return bytes.Clone(pdf3[:len(pdf3)-1])
		}, wantPages: 3},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := tc.in(t)
			dir := t.TempDir()
			up, err := pdfintake.Intake(context.Background(), bytes.NewReader(in), dir)

			if tc.wantErr != nil {
				if err == nil {
					up.Close()
					t.Fatalf("accepted (%d pages), want %s", up.Pages, tc.wantErr.Code())
				}
				if up != nil {
					t.Errorf("got an Upload together with error %v", err)
				}
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %s", err, tc.wantErr.Code())
				}
				var ie *pdfintake.Error
				if !errors.As(err, &ie) || ie.Code() != tc.wantErr.Code() {
					t.Fatalf("err = %v, want an *Error with code %s", err, tc.wantErr.Code())
				}
				for _, other := range []*pdfintake.Error{pdfintake.ErrEmpty, pdfintake.ErrTooLarge, pdfintake.ErrNotPDF, pdfintake.ErrEncrypted, pdfintake.ErrBroken} {
					if other != tc.wantErr && errors.Is(err, other) {
						t.Errorf("err %v also matches %s", err, other.Code())
					}
				}
				assertDirEmpty(t, dir)
				return
			}

			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			defer up.Close()
			if up.Pages != tc.wantPages {
				t.Errorf("Pages = %d, want %d", up.Pages, tc.wantPages)
			}
			if up.Size != int64(len(in)) {
				t.Errorf("Size = %d, want %d", up.Size, len(in))
			}
			want := sha256.Sum256(in)
			if up.SHA256 != want {
				t.Errorf("SHA256 = %x, want %x", up.SHA256, want)
			}
			if up.SHA256Hex() != fmt.Sprintf("%x", want) {
				t.Errorf("SHA256Hex = %s, want %x", up.SHA256Hex(), want)
			}
			assertOpenReturns(t, up, in)
			assertOpenReturns(t, up, in) // every Open is a fresh handle from offset 0

			if err := up.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			assertDirEmpty(t, dir)
			if err := up.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if f, err := up.Open(); err == nil {
				f.Close()
				t.Errorf("Open after Close succeeded")
			}
		})
	}
}

func assertOpenReturns(t *testing.T, up *pdfintake.Upload, want []byte) {
	t.Helper()
	f, err := up.Open()
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("read opened upload: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Open returned %d bytes that differ from the %d uploaded", len(got), len(want))
	}
}

func TestIntakeKeepsParserCause(t *testing.T) {
	_, err := pdfintake.Intake(context.Background(), bytes.NewReader(encUser), t.TempDir())
	if !errors.Is(err, pdfintake.ErrEncrypted) {
		t.Fatalf("err = %v, want pdf_encrypted", err)
	}
	if !errors.Is(err, pdfcpu.ErrEncrypted) {
		t.Errorf("err = %v does not wrap pdfcpu's ErrEncrypted", err)
	}

	_, err = pdfintake.Intake(context.Background(), strings.NewReader("%PDF-1.7\nnonsense"), t.TempDir())
	if !errors.Is(err, pdfintake.ErrBroken) {
		t.Fatalf("err = %v, want pdf_broken", err)
	}
	if errors.Unwrap(err) == nil {
		t.Errorf("broken refusal %v carries no cause", err)
	}
}

func TestErrorIs(t *testing.T) {
	if errors.Is(pdfintake.ErrBroken, pdfintake.ErrNotPDF) {
		t.Error("different codes match")
	}
	if !errors.Is(fmt.Errorf("handler: %w", pdfintake.ErrTooLarge), pdfintake.ErrTooLarge) {
		t.Error("wrapped sentinel does not match")
	}
	if got := pdfintake.ErrEncrypted.Code(); got != "pdf_encrypted" {
		t.Errorf("Code = %q", got)
	}
	codes := map[string]bool{}
	for _, e := range []*pdfintake.Error{pdfintake.ErrEmpty, pdfintake.ErrTooLarge, pdfintake.ErrNotPDF, pdfintake.ErrEncrypted, pdfintake.ErrBroken} {
		if codes[e.Code()] {
			t.Errorf("duplicate code %s", e.Code())
		}
		codes[e.Code()] = true
		if e.Error() == "" {
			t.Errorf("%s has an empty message", e.Code())
		}
	}
}

// endlessPDF looks like the start of a PDF and never ends. It fails the test
// if more than limit bytes are taken from it, which is what proves that an
// oversized upload is refused without being read to the end.
type endlessPDF struct {
	t     *testing.T
	read  int64
	limit int64
}

func (r *endlessPDF) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	if r.read == 0 {
		copy(p, "%PDF-1.7\n")
	}
	r.read += int64(len(p))
	if r.read > r.limit {
		r.t.Errorf("read %d bytes, more than the %d allowed", r.read, r.limit)
		return 0, errors.New("read past the limit")
	}
	return len(p), nil
}

func TestIntakeStopsReadingAtLimit(t *testing.T) {
	dir := t.TempDir()
	r := &endlessPDF{t: t, limit: pdfintake.MaxSize + 1}
	_, err := pdfintake.Intake(context.Background(), r, dir)
	if !errors.Is(err, pdfintake.ErrTooLarge) {
		t.Fatalf("err = %v, want pdf_too_large", err)
	}
	if r.read != pdfintake.MaxSize+1 {
		t.Errorf("read %d bytes, want exactly MaxSize+1 = %d", r.read, pdfintake.MaxSize+1)
	}
	assertDirEmpty(t, dir)
}

// cancellingReader serves data in small chunks and cancels the context
// after the first one, as a client disconnecting mid-upload would.
type cancellingReader struct {
	data   []byte
	cancel context.CancelFunc
	reads  int
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	r.reads++
	if r.reads == 2 {
		r.cancel()
	}
	n := copy(p[:min(len(p), 4096)], r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestIntakeCancelledMidRead(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &cancellingReader{data: pdftest.PDFOfSize(2, 1<<20), cancel: cancel}
	up, err := pdfintake.Intake(ctx, r, dir)
	if err == nil {
		up.Close()
		t.Fatal("accepted an upload whose context was cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	var ie *pdfintake.Error
	if errors.As(err, &ie) {
		t.Errorf("cancellation reported as refusal %s", ie.Code())
	}
	if len(r.data) == 0 {
		t.Errorf("the whole upload was read despite cancellation")
	}
	assertDirEmpty(t, dir)
}

func TestIntakeAlreadyCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := pdfintake.Intake(ctx, bytes.NewReader(pdf1), dir)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	assertDirEmpty(t, dir)
}

type failingReader struct{ served bool }

var errNetwork = errors.New("connection reset by peer")

func (r *failingReader) Read(p []byte) (int, error) {
	if !r.served {
		r.served = true
		return copy(p, pdf3[:100]), nil
	}
	return 0, errNetwork
}

func TestIntakeReaderFails(t *testing.T) {
	dir := t.TempDir()
	_, err := pdfintake.Intake(context.Background(), &failingReader{}, dir)
	if !errors.Is(err, errNetwork) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
	var ie *pdfintake.Error
	if errors.As(err, &ie) {
		t.Errorf("I/O failure reported as refusal %s", ie.Code())
	}
	assertDirEmpty(t, dir)
}

func TestIntakeSpoolDirMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "does-not-exist")
	_, err := pdfintake.Intake(context.Background(), bytes.NewReader(pdf1), dir)
	if err == nil {
		t.Fatal("no error for a missing spool directory")
	}
	var ie *pdfintake.Error
	if errors.As(err, &ie) {
		t.Errorf("I/O failure reported as refusal %s", ie.Code())
	}
}

func TestIntakeDefaultDir(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	up, err := pdfintake.Intake(context.Background(), bytes.NewReader(pdf1), "")
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(os.TempDir())
	if len(entries) != 1 {
		t.Errorf("spool dir holds %d entries, want the one spooled upload", len(entries))
	}
	if err := up.Close(); err != nil {
		t.Fatal(err)
	}
	assertDirEmpty(t, os.TempDir())
}

func TestUploadConcurrentClose(t *testing.T) {
	up, err := pdfintake.Intake(context.Background(), bytes.NewReader(pdf1), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := up.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestIntakeRecoversParserPanics replays inputs found by FuzzIntake on which
// pdfcpu v0.15.0 panics with a runtime error (an index out of range in
// model.detectMarker, a nil dereference in XRefTable.EnsureValidFreeList).
// pdfcpu's api.ReadContext only recovers its own fault.Panic values and
// re-panics these, which would take the server down; Intake must report a
// broken PDF instead.
func TestIntakeRecoversParserPanics(t *testing.T) {
	for _, name := range []string{
		"pdfcpu-panic-detectMarker-index-out-of-range",
		"pdfcpu-panic-EnsureValidFreeList-nil-generation",
	} {
		t.Run(name, func(t *testing.T) {
			in := readFuzzCorpusFile(t, filepath.Join("testdata", "fuzz", "FuzzIntake", name))
			dir := t.TempDir()
			_, err := pdfintake.Intake(context.Background(), bytes.NewReader(in), dir)
			if !errors.Is(err, pdfintake.ErrBroken) {
				t.Fatalf("err = %v, want pdf_broken", err)
			}
			assertDirEmpty(t, dir)
		})
	}
}

// readFuzzCorpusFile decodes a "go test fuzz v1" file holding one []byte.
func readFuzzCorpusFile(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(raw), "\n", 3)
	if len(lines) < 2 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a fuzz corpus file", path)
	}
	lit := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
	s, err := strconv.Unquote(lit)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}
