package pdftest

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// HeapSampler polls the heap while one iteration of a benchmark runs, for
// the memory targets that PDF work is held to. It reads runtime/metrics
// rather than runtime.ReadMemStats, which stops the world on every call and
// would distort both the timing and the peak.
//
// The value sampled is the equivalent of MemStats.HeapInuse: spans holding
// objects, live or not yet swept, plus their free slots. That is what the
// process has to hold under the GOGC in force, so garbage the collector has
// not reclaimed yet is part of the peak on purpose.
type HeapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done sync.WaitGroup
}

func heapInUse(s []metrics.Sample) uint64 {
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

func newSamples() []metrics.Sample {
	return []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
}

// Start records the baseline after a full collection and polls every
// interval until Finish.
func (h *HeapSampler) Start(interval time.Duration) (baseline uint64) {
	runtime.GC()
	baseline = heapInUse(newSamples())
	h.peak.Store(baseline)
	h.stop = make(chan struct{})
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		own := newSamples() // the poller's own, so it never races with Finish
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if v := heapInUse(own); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return baseline
}

// Finish stops polling and returns the peak seen, the baseline included.
func (h *HeapSampler) Finish() (peak uint64) {
	close(h.stop)
	h.done.Wait()
	if v := heapInUse(newSamples()); v > h.peak.Load() {
		h.peak.Store(v)
	}
	return h.peak.Load()
}
