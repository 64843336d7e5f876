package jobs

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"edobot/bot/flow"
	"edobot/bot/i18n"
	"edobot/core"
	"edobot/storage"
	"edobot/storage/storagetest"
)

// countingStore counts the reads of a document and of its signers, by the
// jobs and by the use cases a messenger's flow calls alike.
type countingStore struct {
	*storage.DB
	documents, signers atomic.Int64
}

func (s *countingStore) Document(ctx context.Context, id uuid.UUID) (*core.Document, error) {
	s.documents.Add(1)
	return s.DB.Document(ctx, id)
}

func (s *countingStore) Signers(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]core.Signature, error) {
	s.signers.Add(1)
	return s.DB.Signers(ctx, ids)
}

// flowMessenger draws a notification as the chat front ends do, through
// flow.Notify, and keeps the screens it would send.
type flowMessenger struct {
	f    *flow.Flow
	sent chan []flow.Screen
}

func (m flowMessenger) Notify(ctx context.Context, chat core.DocumentChat, n core.Notification) error {
	return m.f.Notify(ctx, func(_ context.Context, _ *core.ChatUser, screens []flow.Screen) error {
		m.sent <- screens
		return nil
	}, chat, n)
}

// One delivery of a document's notification, from the task to the
// messenger's screens with the card and its buttons, reads the document
// once and its signers once: the messenger draws from what the jobs read.
func TestOneDeliveryReadsTheDocumentOnce(t *testing.T) {
	f := storagetest.NewFixture(t)
	store := &countingStore{DB: f.DB}
	svc := core.New(core.Deps{Store: store, Blobs: storage.Blobs{DB: f.DB}, Chats: f.DB, TempDir: t.TempDir()})
	m := flowMessenger{f: &flow.Flow{Service: svc, Cat: i18n.MustNew(), PublicURL: "https://edo.example.kz", Log: quietLogger()},
		sent: make(chan []flow.Screen, 1)}
	r := New(testConfig(t), Deps{Store: store, Messengers: map[string]Messenger{core.ChannelTelegram: m}, Logger: quietLogger()})
	t.Cleanup(func() { _ = r.rdb.Close() })

	recipient := newChatUser(t, f.DB, nil, f.Recipient.OrgID, "ru")
	d := f.Create(t)
	events := outboxIDs(t, f.DB, d.ID)
	if len(events) != 1 {
		t.Fatalf("%d outbox events, want 1", len(events))
	}
	task, err := event{ID: uuid.MustParse(events[0]), Kind: core.OutboxCreated, DocumentID: d.ID, Status: d.Status, At: time.Now(),
		ChatUserID: recipient.ID, ChatSide: core.SideRecipient, Channel: core.ChannelTelegram}.task(TaskNotifyDeliver)
	if err != nil {
		t.Fatal(err)
	}
	store.documents.Store(0)
	store.signers.Store(0)
	if err := r.handleDeliver(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	screens := <-m.sent
	if len(screens) != 1 || len(screens[0].Buttons) == 0 {
		t.Fatalf("the card was not drawn: %+v", screens)
	}
	if n, s := store.documents.Load(), store.signers.Load(); n != 1 || s != 1 {
		t.Errorf("one delivery read the document %d times and its signers %d times, want 1 and 1", n, s)
	}
}
