package card

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"edobot/core"
	"edobot/core/pdfintake/pdftest"
)

// BenchmarkCard15MB200Pages renders the card of the largest document the
// intake accepts. Besides time and allocations per card it reports the peak
// of the heap in use while rendering, sampled every millisecond, against
// the file's size: the card must stay well under three times the file.
func BenchmarkCard15MB200Pages(b *testing.B) {
	const size = 15 << 20
	orig := pdftest.PDFOfSize(200, size)
	in := Input{Document: document(core.StatusSigned, orig, 200), Signatures: twoSignatures(), VerifyURL: verifyURL}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()

	b.ReportAllocs()
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		in.Original = bytes.NewReader(orig)
		if err := Render(context.Background(), in, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	// The input itself is in the baseline: what counts is what rendering adds.
	extra := float64(peak.Load()) - float64(base.HeapInuse)
	b.ReportMetric(extra/(1<<20), "peak-heap-MiB")
	b.ReportMetric(extra/size, "peak/file")
}
