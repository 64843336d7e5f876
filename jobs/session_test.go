package jobs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"edobot/core"
	"edobot/storage/storagetest"
)

// holderMessenger records the events it was asked to tell WhatsApp chats of.
type holderMessenger struct {
	mu   sync.Mutex
	told []uuid.UUID
	sig  chan struct{}
}

func newHolderMessenger() *holderMessenger { return &holderMessenger{sig: make(chan struct{}, 64)} }

func (m *holderMessenger) Notify(_ context.Context, _ core.DocumentChat, n core.Notification) error {
	m.mu.Lock()
	m.told = append(m.told, n.EventID)
	m.mu.Unlock()
	m.sig <- struct{}{}
	return nil
}

// wait returns at the next message told, and fails the test when none comes.
func (m *holderMessenger) wait(tb testing.TB) {
	tb.Helper()
	select {
	case <-m.sig:
	case <-time.After(patience):
		tb.Fatalf("no WhatsApp message within %v", patience)
	}
}

func (m *holderMessenger) events() []uuid.UUID {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.told)
}

// serveWhatsApp makes r the holder of the WhatsApp session until stop is
// called or the test ends, whichever comes first; call it after the runner
// started, so that the runner's own stop comes after it.
func serveWhatsApp(tb testing.TB, r *Runner) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.ServeWhatsApp(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Error(err)
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

// TestWhatsAppDeliveriesOnlyByTheHolder: two instances share the queues;
// only the one serving the WhatsApp deliveries (the holder of the session)
// takes them, the other, which has no WhatsApp connection, never does,
// and a delivery queued while nobody holds the session waits for the next
// holder instead of being dropped.
func TestWhatsAppDeliveriesOnlyByTheHolder(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	drainOutbox(t, f.DB)
	wrote := time.Now()
	u := core.ChatUser{Channel: core.ChannelWhatsApp, ExternalID: fmt.Sprintf("7701%07d@s.whatsapp.net", rand.IntN(10_000_000)), Name: "Дана", Language: "ru",
		WroteAt: &wrote}
	if err := f.DB.EnsureChatUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if err := f.DB.BindChatUser(ctx, u.ID, storagetest.RandomIIN(), f.Sender.OrgID, time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	waA, waB := newHolderMessenger(), newHolderMessenger()
	a := start(t, cfg, f.DB, map[string]Messenger{core.ChannelWhatsApp: waA})
	b := start(t, cfg, f.DB, map[string]Messenger{core.ChannelWhatsApp: waB})
	stopA := serveWhatsApp(t, a.Runner)

	d := f.Create(t)
	first := outboxIDs(t, f.DB, d.ID)
	waA.wait(t)
	waitIdle(t, a.Runner)
	if got := waA.events(); fmt.Sprint(got) != fmt.Sprint(first) {
		t.Fatalf("the holder told %v, want %v", got, first)
	}

	// A gives the session up; a change now waits in the WhatsApp queue.
	stopA()
	f.Sign(t, d.ID, core.SideSender)
	var second string
	for _, id := range outboxIDs(t, f.DB, d.ID) {
		if !slices.Contains(first, id) {
			second = id
		}
	}
	eventually(t, "the delivery to wait in the WhatsApp queue", func() bool {
		info, err := a.metrics.queues.inspector.GetQueueInfo(a.queue(QueueWhatsApp))
		return err == nil && info.Pending+info.Scheduled == 1
	})
	if idle, err := b.Idle(ctx); err != nil || idle {
		t.Fatalf("idle with a delivery waiting: %v, %v", idle, err)
	}

	// B takes the session over and sends it.
	stopB := serveWhatsApp(t, b.Runner)
	waB.wait(t)
	waitIdle(t, b.Runner)
	stopB()
	if got := waB.events(); len(got) != 1 || got[0].String() != second {
		t.Fatalf("the new holder told %v, want [%s]", got, second)
	}
	if got := waA.events(); len(got) != len(first) {
		t.Fatalf("the old holder told %v after giving the session up", got)
	}
}
