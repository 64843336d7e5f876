package pdfintake_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"edobot/core/pdfintake"
	"edobot/core/pdfintake/pdftest"
)

// BenchmarkIntake15MB measures a full intake (spool, hash, parse, checks)
// of a valid 200-page PDF of exactly MaxSize bytes and reports the peak
// extra heap per iteration: peak-MB in MiB and peak-x-file as a multiple of
// the file size. The target is peak-x-file < 2.
func BenchmarkIntake15MB(b *testing.B) {
	doc := pdftest.PDFOfSize(200, pdfintake.MaxSize)
	dir := b.TempDir()
	var s pdftest.HeapSampler
	var worst uint64

	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		base := s.Start(50 * time.Microsecond)
		b.StartTimer()

		up, err := pdfintake.Intake(context.Background(), bytes.NewReader(doc), dir)
		if err != nil {
			b.Fatal(err)
		}
		if up.Pages != 200 {
			b.Fatalf("pages = %d", up.Pages)
		}

		b.StopTimer()
		peak := s.Finish()
		if err := up.Close(); err != nil {
			b.Fatal(err)
		}
		if peak > base && peak-base > worst {
			worst = peak - base
		}
		b.StartTimer()
	}
	// The worst iteration, not the average: memory limits are about peaks.
	b.ReportMetric(float64(worst)/(1<<20), "peak-MB")
	b.ReportMetric(float64(worst)/float64(len(doc)), "peak-x-file")
}
