package pdfintake_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"runtime"
	"testing"

	"edobot/core/pdfintake"
	"edobot/core/pdfintake/pdftest"
)

var refusals = []*pdfintake.Error{
	pdfintake.ErrEmpty, pdfintake.ErrTooLarge, pdfintake.ErrNotPDF, pdfintake.ErrEncrypted, pdfintake.ErrBroken,
}

// FuzzIntake feeds arbitrary bytes to Intake. Whatever the input, Intake must
// not panic, must either accept it with the right hash and a positive page
// count or refuse it with one of the five refusals (a parse failure escaping
// as a plain error would reach the user as "internal error"), and must never
// leave a spool file behind.
func FuzzIntake(f *testing.F) {
	f.Add(pdf1)
	f.Add(pdf3)
	f.Add(encOwnerOnly)
	f.Add(encUser)
	f.Add(cut(pdf3, 0.5))
	f.Add(pdf3[:len(pdf3)-10])
	f.Add(pdftest.Rewritten(pdf3))
	f.Add(xrefBomb(1 << 20))
	f.Add(objStmBomb(2, 1<<10))
	f.Add(pdftest.PNG())
	f.Add([]byte{})
	f.Add([]byte("%PDF-1.7\n%%EOF\n"))

	// One spool dir per fuzzing process: executions within a process run
	// one at a time, so the dir must be empty after each of them, and
	// creating a dir per execution would dominate the run time.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		up, err := pdfintake.Intake(context.Background(), bytes.NewReader(in), dir)
		runtime.ReadMemStats(&after)
		// Inputs are small; hundreds of megabytes would mean a bomb. (What
		// is allocated does not depend on how busy the machine is; how long
		// it takes does.)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("allocated %d MiB for %d bytes (err %v)", alloc>>20, len(in), err)
		}
		if err == nil {
			if up.SHA256 != sha256.Sum256(in) {
				t.Errorf("SHA256 %x does not match the input", up.SHA256)
			}
			if up.Size != int64(len(in)) {
				t.Errorf("Size %d, input has %d bytes", up.Size, len(in))
			}
			if up.Pages < 1 {
				t.Errorf("accepted with %d pages", up.Pages)
			}
			if err := up.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		} else {
			if up != nil {
				t.Errorf("Upload returned together with error %v", err)
			}
			var ie *pdfintake.Error
			if !errors.As(err, &ie) {
				t.Fatalf("non-refusal error %v", err)
			}
			matched := 0
			for _, r := range refusals {
				if errors.Is(err, r) {
					matched++
				}
			}
			if matched != 1 {
				t.Errorf("error %v matches %d refusals, want exactly one", err, matched)
			}
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%d files left in the spool dir", len(entries))
		}
	})
}
