package core_test

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"edobot/core"
	"edobot/storage/storagetest"
)

// BenchmarkLifecycle drives whole documents through create → sign → sign →
// archive on the real database with 8 concurrent clients and reports
// documents per second.
func BenchmarkLifecycle(b *testing.B) {
	f := storagetest.NewFixture(b)
	b.SetParallelism(max(1, 8/runtimeProcs()))
	b.ReportAllocs()
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d, err := f.Svc.CreateDocument(ctx, f.Sender, f.NewDocument(), bytes.NewReader(f.PDF))
			if err != nil {
				b.Error(err)
				return
			}
			if _, _, err := f.Svc.Sign(ctx, d.ID, storagetest.Signature(f.Sender.Number), "bench"); err != nil {
				b.Error(err)
				return
			}
			if _, _, err := f.Svc.Sign(ctx, d.ID, storagetest.Signature(f.Recipient.Number), "bench"); err != nil {
				b.Error(err)
				return
			}
			if _, err := f.Svc.Archive(ctx, f.Sender, d.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "docs/s")
	var signed int
	if err := f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM documents WHERE sender_org_id = $1 AND status = $2 AND sender_archived_at IS NOT NULL`,
		f.Sender.OrgID, core.StatusSigned).Scan(&signed); err != nil || signed != b.N {
		b.Fatalf("%d documents finished, want %d (%v)", signed, b.N, err)
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
