package storage_test

import (
	"context"
	"testing"
	"time"

	"edobot/storage/storagetest"
)

// TestESFCallsOf: an organisation's count of a day is its own, 0 before any.
func TestESFCallsOf(t *testing.T) {
	ctx := context.Background()
	f := storagetest.NewFixture(t)
	day := time.Date(2031, 3, 4, 0, 0, 0, 0, time.UTC)
	check := func(orgID int64, d time.Time, want int64) {
		t.Helper()
		if n, err := f.DB.ESFCallsOf(ctx, orgID, d); err != nil || n != want {
			t.Fatalf("calls of %d on %s = %d, %v; want %d", orgID, d.Format(time.DateOnly), n, err, want)
		}
	}
	check(f.Sender.OrgID, day, 0)
	for _, n := range []int{2, 3} {
		if err := f.DB.AddESFCalls(ctx, f.Sender.OrgID, day, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.DB.AddESFCalls(ctx, f.Recipient.OrgID, day, 7); err != nil {
		t.Fatal(err)
	}
	check(f.Sender.OrgID, day, 5)
	check(f.Recipient.OrgID, day, 7)
	check(f.Sender.OrgID, day.AddDate(0, 0, 1), 0)
}
