package core_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"edobot/core"
	"edobot/storage/storagetest"
)

func kinds(t *testing.T, f *storagetest.Fixture, d *core.Document) map[string]int {
	t.Helper()
	if err := f.Svc.VerifyAudit(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	evs, err := f.DB.Events(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range evs {
		out[string(e.Kind)]++
		if e.Kind == core.EventDownloaded && !strings.Contains(string(e.Details), `"version":"original"`) {
			t.Fatalf("a download's details: %s", e.Details)
		}
	}
	return out
}

func counted(t *testing.T, f *storagetest.Fixture, d *core.Document) (views, rows int64) {
	t.Helper()
	if err := f.DB.Pool.QueryRow(ctx, `SELECT coalesce(sum(count), 0), count(*) FROM link_visits WHERE document_id = $1`, d.ID).Scan(&views, &rows); err != nil {
		t.Fatal(err)
	}
	return views, rows
}

// TestLinkVisits: a visitor's views of a day are one audit event and a
// count; another visitor, another thing or another day is another event.
func TestLinkVisits(t *testing.T) {
	f := storagetest.NewFixture(t)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, core.KazakhstanTime)
	f.Wire(func(deps *core.Deps) { deps.Now = func() time.Time { return now } })
	d := f.Create(t)
	alice, bob := core.WebVisitor("203.0.113.1"), core.WebVisitor("203.0.113.2")

	for range 50 {
		if _, err := f.Svc.OpenLink(ctx, d.LinkToken, alice); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Svc.OpenLink(ctx, d.LinkToken, bob); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rc, _, err := f.Svc.OpenOriginalByLink(ctx, d.LinkToken, alice)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	got := kinds(t, f, d)
	if got["link_opened"] != 2 || got["downloaded"] != 1 {
		t.Fatalf("audit trail after 51 views by two visitors and 3 downloads by one: %v", got)
	}
	if views, rows := counted(t, f, d); views != 54 || rows != 3 {
		t.Fatalf("counted %d views in %d rows", views, rows)
	}
	// The next day in Kazakhstan is a new visit.
	now = now.Add(16 * time.Hour)
	if _, err := f.Svc.OpenLink(ctx, d.LinkToken, alice); err != nil {
		t.Fatal(err)
	}
	if got := kinds(t, f, d); got["link_opened"] != 3 {
		t.Fatalf("the next day: %v", got)
	}
	// Visits change nothing a card shows, and keep no address.
	cur, _ := f.DB.Document(ctx, d.ID)
	if cur.Version != d.Version {
		t.Fatalf("visits moved the version from %d to %d", d.Version, cur.Version)
	}
	var raw int
	_ = f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM link_visits WHERE position('203.0.113' in encode(visitor, 'escape')) > 0`).Scan(&raw)
	if raw != 0 {
		t.Fatal("an address is stored")
	}
}

// TestVisitsDoNotWaitForTheLock: while another transaction holds the
// document's row (a signature being recorded), a visit is counted and
// answered at once; its audit event follows with a later visit.
func TestVisitsDoNotWaitForTheLock(t *testing.T) {
	f := storagetest.NewFixture(t)
	d := f.Create(t)
	held, err := f.DB.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback(ctx)
	if _, err := held.Exec(ctx, `SELECT 1 FROM documents WHERE id = $1 FOR UPDATE`, d.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.Svc.OpenLink(ctx, d.LinkToken, core.WebVisitor("203.0.113.1"))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // it would wait for ever
		t.Fatal("a visit waits for the document's lock")
	}
	if err := held.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := kinds(t, f, d); got["link_opened"] != 0 {
		t.Fatalf("chained under another's lock: %v", got)
	}
	// The first visit is audited with the next, and keeps its own time.
	if _, err := f.Svc.OpenLink(ctx, d.LinkToken, core.WebVisitor("203.0.113.1")); err != nil {
		t.Fatal(err)
	}
	if got := kinds(t, f, d); got["link_opened"] != 1 {
		t.Fatalf("the pending visit was not chained: %v", got)
	}
}

// TestConcurrentVisits: a crowd at once leaves a valid chain with one
// event per visitor.
func TestConcurrentVisits(t *testing.T) {
	f := storagetest.NewFixture(t)
	d := f.Create(t)
	const visitors, each = 40, 5
	var wg sync.WaitGroup
	errs := make(chan error, visitors*each)
	for v := range visitors {
		for range each {
			wg.Go(func() {
				_, err := f.Svc.OpenLink(ctx, d.LinkToken, core.WebVisitor(fmt.Sprintf("198.51.100.%d", v)))
				errs <- err
			})
		}
	}
	wg.Add(1)
	go func() { // a signature in the middle of it
		defer wg.Done()
		f.Sign(t, d.ID, core.SideRecipient)
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Whatever the crowd left pending goes in with the next visit.
	if _, err := f.Svc.OpenLink(ctx, d.LinkToken, core.WebVisitor("198.51.100.0")); err != nil {
		t.Fatal(err)
	}
	if got := kinds(t, f, d); got["link_opened"] != visitors || got["signed"] != 1 {
		t.Fatalf("audit trail: %v", got)
	}
	if views, _ := counted(t, f, d); views != visitors*each+1 {
		t.Fatalf("%d views counted", views)
	}
}
