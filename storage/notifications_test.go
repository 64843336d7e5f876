package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"edobot/core"
	"edobot/core/coretest"
	"edobot/storage"
	"edobot/storage/storagetest"
)

func markAllSent(tb testing.TB, db *storage.DB) {
	tb.Helper()
	if _, err := db.Pool.Exec(context.Background(), `UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL`); err != nil {
		tb.Fatal(err)
	}
}

func TestRelayOutbox(t *testing.T) {
	f := storagetest.NewFixture(t)
	db := f.DB
	ctx := context.Background()
	markAllSent(t, db)
	for range 6 {
		f.Create(t)
	}
	// A failed send marks nothing.
	boom := errors.New("redis away")
	n, err := db.RelayOutbox(ctx, 10, time.Now(), func(context.Context, []core.OutboxMessage) ([]uuid.UUID, error) { return nil, boom })
	if !errors.Is(err, boom) || n != 0 {
		t.Fatalf("failed send: %d, %v", n, err)
	}
	if p, _ := db.OutboxPending(ctx); p != 6 {
		t.Fatalf("%d pending after a failed send, want 6", p)
	}
	// A send that fails half-way keeps what went.
	n, err = db.RelayOutbox(ctx, 10, time.Now(), func(_ context.Context, b []core.OutboxMessage) ([]uuid.UUID, error) {
		return []uuid.UUID{b[0].ID, b[1].ID}, boom
	})
	if !errors.Is(err, boom) || n != 2 {
		t.Fatalf("half-way: %d, %v", n, err)
	}
	if p, _ := db.OutboxPending(ctx); p != 4 {
		t.Fatalf("%d pending, want 4", p)
	}
	// Two relays at once never get the same row: each holds its rows until
	// both have theirs.
	var mu sync.Mutex
	seen := map[uuid.UUID]int{}
	var wg, holding sync.WaitGroup
	holding.Add(2)
	both := make(chan struct{})
	go func() { holding.Wait(); close(both) }()
	for range 2 {
		wg.Go(func() {
			_, err := db.RelayOutbox(ctx, 2, time.Now(), func(_ context.Context, b []core.OutboxMessage) ([]uuid.UUID, error) {
				var ids []uuid.UUID
				mu.Lock()
				for _, m := range b {
					seen[m.ID]++
					ids = append(ids, m.ID)
					if m.Kind != core.OutboxCreated || len(m.Payload) == 0 {
						t.Errorf("row %+v", m)
					}
				}
				mu.Unlock()
				holding.Done()
				<-both // hold the rows while the other relay looks
				return ids, nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	select {
	case <-both:
	case <-time.After(coretest.Patience):
		t.Fatal("the second relay did not get rows while the first held its own")
	}
	wg.Wait()
	if len(seen) != 4 {
		t.Fatalf("two relays saw %d rows, want 4: %v", len(seen), seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("row %s handed out %d times", id, n)
		}
	}
	if p, _ := db.OutboxPending(ctx); p != 0 {
		t.Fatalf("%d pending, want 0", p)
	}
}

func TestDeliveries(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	u := core.ChatUser{Channel: core.ChannelTelegram, ExternalID: uuid.NewString(), Language: "ru"}
	if err := f.DB.EnsureChatUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	ev := uuid.New()
	if ok, err := f.DB.Delivered(ctx, ev, u.ID); err != nil || ok {
		t.Fatalf("before: %v %v", ok, err)
	}
	for range 2 {
		if err := f.DB.RecordDelivery(ctx, ev, u.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := f.DB.Delivered(ctx, ev, u.ID); err != nil || !ok {
		t.Fatalf("after: %v %v", ok, err)
	}
	if ok, _ := f.DB.Delivered(ctx, uuid.New(), u.ID); ok {
		t.Fatal("another event counts as delivered")
	}
}

func TestDocumentsDueForReminder(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	created := f.Create(t)
	signing := f.InStatus(t, core.StatusSigning, core.SideSender)
	signed := f.InStatus(t, core.StatusSigned, core.SideSender)
	deleted := f.Create(t)
	if err := f.Svc.DeleteDocument(ctx, f.Sender, deleted.ID); err != nil {
		t.Fatal(err)
	}
	young := f.Create(t)
	if _, err := f.DB.Pool.Exec(ctx, `UPDATE documents SET created_at = created_at - interval '3 days' WHERE id = ANY($1)`,
		[]uuid.UUID{created.ID, signing.ID, signed.ID, deleted.ID}); err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(core.KazakhstanTime)
	due := func(day time.Time) map[uuid.UUID]bool {
		ids, err := f.DB.DocumentsDueForReminder(ctx, time.Now().AddDate(0, 0, -2), day, 3, 100000)
		if err != nil {
			t.Fatal(err)
		}
		m := map[uuid.UUID]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	got := due(day)
	if !got[created.ID] || !got[signing.ID] || got[signed.ID] || got[deleted.ID] || got[young.ID] {
		t.Fatalf("due: %v", got)
	}
	for range 2 {
		if err := f.DB.RecordReminder(ctx, created.ID, day); err != nil {
			t.Fatal(err)
		}
	}
	if got := due(day); got[created.ID] || !got[signing.ID] {
		t.Fatalf("after the reminder: %v", got)
	}
	if got := due(day.AddDate(0, 0, 1)); !got[created.ID] {
		t.Fatal("not due again the next day")
	}
	// Three reminders in all, then no more.
	for i := 1; i < 3; i++ {
		if err := f.DB.RecordReminder(ctx, created.ID, day.AddDate(0, 0, i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := due(day.AddDate(0, 0, 5)); got[created.ID] || !got[signing.ID] {
		t.Fatalf("due after three reminders: %v", got)
	}
}
