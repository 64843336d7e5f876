package pdfintake_test

import (
	"bytes"
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"edobot/core/pdfintake"
	"edobot/core/pdfintake/pdftest"
)

// heapSampler polls the heap while an iteration runs. It reads
// runtime/metrics rather than runtime.ReadMemStats because the latter stops
// the world on every call and would distort both the timing and the peak.
//
// The value sampled is the equivalent of MemStats.HeapInuse: spans holding
// objects, live or not yet swept, plus their free slots. That is what the
// process really has to hold from the OS under the default GOGC, so it is an
// honest "peak extra memory"; garbage the collector has not reclaimed yet is
// part of it on purpose.
type heapSampler struct {
	samples []metrics.Sample
	peak    atomic.Uint64
	stop    chan struct{}
	done    sync.WaitGroup
}

func newHeapSampler() *heapSampler {
	return &heapSampler{samples: []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}}
}

func (s *heapSampler) read() uint64 {
	metrics.Read(s.samples)
	return s.samples[0].Value.Uint64() + s.samples[1].Value.Uint64()
}

// start records the baseline after a full collection and begins polling.
func (s *heapSampler) start() (baseline uint64) {
	runtime.GC()
	baseline = s.read()
	s.peak.Store(baseline)
	s.stop = make(chan struct{})
	s.done.Add(1)
	// A private Sample slice keeps the poller from racing with read().
	own := []metrics.Sample{{Name: s.samples[0].Name}, {Name: s.samples[1].Name}}
	go func() {
		defer s.done.Done()
		t := time.NewTicker(50 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(own)
			v := own[0].Value.Uint64() + own[1].Value.Uint64()
			if v > s.peak.Load() {
				s.peak.Store(v)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return baseline
}

func (s *heapSampler) finish() (peak uint64) {
	close(s.stop)
	s.done.Wait()
	if v := s.read(); v > s.peak.Load() {
		s.peak.Store(v)
	}
	return s.peak.Load()
}

// BenchmarkIntake15MB measures a full intake (spool, hash, parse, checks)
// of a valid 200-page PDF of exactly MaxSize bytes and reports the peak
// extra heap per iteration: peak-MB in MiB and peak-x-file as a multiple of
// the file size. The target is peak-x-file < 2.
func BenchmarkIntake15MB(b *testing.B) {
	doc := pdftest.PDFOfSize(200, pdfintake.MaxSize)
	dir := b.TempDir()
	s := newHeapSampler()
	var worst uint64

	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		base := s.start()
		b.StartTimer()

		up, err := pdfintake.Intake(context.Background(), bytes.NewReader(doc), dir)
		if err != nil {
			b.Fatal(err)
		}
		if up.Pages != 200 {
			b.Fatalf("pages = %d", up.Pages)
		}

		b.StopTimer()
		peak := s.finish()
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
