package pdfintake_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"edobot/core/pdfintake"
)

// zeros returns n zero bytes deflated, a few hundredths of a percent of n.
func zeros(n int) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestSpeed)
	chunk := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		w.Write(chunk[:k])
		n -= k
	}
	w.Close()
	return b.Bytes()
}

// xrefBomb is a one-page PDF whose cross-reference stream claims five
// entries but inflates to inflated bytes.
func xrefBomb(inflated int) []byte {
	bomb := zeros(inflated)
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	b.WriteString("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	b.WriteString("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
	b.WriteString("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>\nendobj\n")
	x := b.Len()
	fmt.Fprintf(&b, "4 0 obj\n<< /Type /XRef /Size 5 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>\nstream\n", len(bomb))
	b.Write(bomb)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", x)
	return b.Bytes()
}

// objStmBomb is a PDF with a valid xref stream whose k pages each live in
// their own object stream, padded to inflate to inflatedEach bytes.
func objStmBomb(k, inflatedEach int) []byte {
	var zb bytes.Buffer
	w, _ := zlib.NewWriterLevel(&zb, zlib.BestSpeed)
	w.Write([]byte("0 0 << /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"))
	w.Write(make([]byte, inflatedEach))
	w.Close()
	bomb := zb.Bytes()

	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offs := map[int]int{}
	put := func(nr int, s string) {
		offs[nr] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", nr, s)
	}
	// 1 catalog, 2 page tree, 3..2+k object streams, 3+k..2+2k pages
	// (compressed), 3+2k the xref stream.
	put(1, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := ""
	for i := range k {
		kids += fmt.Sprintf("%d 0 R ", 3+k+i)
	}
	put(2, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, k))
	for i := range k {
		nr := 3 + i
		offs[nr] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n", nr, len(bomb))
		b.Write(bomb)
		b.WriteString("\nendstream\nendobj\n")
	}
	xnr := 3 + 2*k
	var rows bytes.Buffer
	row := func(t byte, f2 uint32, f3 uint16) {
		rows.WriteByte(t)
		binary.Write(&rows, binary.BigEndian, f2)
		binary.Write(&rows, binary.BigEndian, f3)
	}
	row(0, 0, 65535)
	for nr := 1; nr < 3+k; nr++ {
		row(1, uint32(offs[nr]), 0)
	}
	for i := range k {
		row(2, uint32(3+i), 0)
	}
	x := b.Len()
	row(1, uint32(x), 0)
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n", xnr, xnr+1, rows.Len())
	b.Write(rows.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", x)
	return b.Bytes()
}

// TestDecompressionBombs checks that structure streams that inflate far
// beyond their size are refused before pdfcpu inflates them. Unguarded,
// pdfcpu v0.15.0 allocates about 2 GiB for a 2 MB xref stream bomb (its
// configured limits do not apply to xref streams) and keeps every object
// stream it inflates, so a 1 MB upload can pin over a gigabyte.
func TestDecompressionBombs(t *testing.T) {
	cases := []struct {
		name    string
		in      []byte
		wantErr *pdfintake.Error // nil: accepted
	}{
		{"xref stream bomb", xrefBomb(20 << 20), pdfintake.ErrBroken},
		{"object stream bomb, one stream", objStmBomb(1, 40<<20), pdfintake.ErrBroken},
		{"object stream bomb, many streams", objStmBomb(12, 4<<20), pdfintake.ErrBroken},
		{"object streams within budget", objStmBomb(4, 1<<20), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			up, err := pdfintake.Intake(context.Background(), bytes.NewReader(tc.in), t.TempDir())
			runtime.ReadMemStats(&after)
			if up != nil {
				defer up.Close()
			}
			t.Logf("%d bytes: %v, %d KiB allocated", len(tc.in), err, (after.TotalAlloc-before.TotalAlloc)>>10)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %s", err, tc.wantErr.Code())
			}
			// A generous bound: the point is megabytes, not the gigabytes
			// pdfcpu would allocate. (Memory, not time: what is allocated
			// does not depend on how busy the machine is.)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d MiB for a %d KiB upload", alloc>>20, len(tc.in)>>10)
			}
		})
	}
}
