package prefill_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"edobot/core/prefill"
	"edobot/core/prefill/prefilltest"
)

// BenchmarkProposeLargePDF is the proposal for a 15 MB, 200-page contract:
// pdftotext on its first and last pages, then Propose. Target: under 300 ms
// an operation.
func BenchmarkProposeLargePDF(b *testing.B) {
	s := contract(0, false, false)
	const pages, size = 200, 15 << 20
	data := prefilltest.Large(s.pages[0], s.pages[len(s.pages)-1], pages, size)
	if len(data) < size-size/20 || len(data) > size+size/20 {
		b.Fatalf("the PDF is %d bytes, want about %d", len(data), size)
	}
	f := writeTemp(b, data)
	b.ReportMetric(float64(len(data))/(1<<20), "MB")
	// The children's CPU time is what the work costs the machine, whatever
	// else runs on it.
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		n++
		text, err := prefill.Extract(context.Background(), f, pages)
		if err != nil {
			b.Fatal(err)
		}
		p := prefill.Propose(text, ownBIN)
		if p.Number != s.want.Number || p.Party() == nil || p.Party().Number != s.want.Parties[0].Number {
			b.Fatalf("proposal %s", compact(p))
		}
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "pdftotext-cpu-ms/op")
}
