package whatsapp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"

	"edobot/bot/flow"
	"edobot/bot/i18n"
	"edobot/bot/whatsapp"
	"edobot/core/coretest"
	"edobot/core/egov"
	"edobot/core/pdfintake/pdftest"
	"edobot/storage/storagetest"
)

// holdingClient holds every download until released.
type holdingClient struct {
	*fakeClient
	held    chan struct{}
	release chan struct{}
}

func (c *holdingClient) Download(ctx context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error) {
	c.held <- struct{}{}
	select {
	case <-c.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return c.fakeClient.Download(ctx, msg)
}

// TestRunFinishesMessagesInFlight: a message being handled when Run's
// context ends is handled to the end, its reply sent over the connection
// still up, before Run disconnects and returns.
func TestRunFinishesMessagesInFlight(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := newFake()
	hc := &holdingClient{fakeClient: fc, held: make(chan struct{}, 1), release: make(chan struct{})}
	b := whatsapp.New(hc, whatsapp.Config{Phone: "77000000001", Workers: 4}, flow.Flow{
		Service: f.Svc, Cat: i18n.MustNew(), PublicURL: "http://edobot.test", Log: quiet, Egov: egov.DefaultLinks,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	asel := boundPerson(t, f, newPhone(), "Асель")
	pdf := pdftest.PDF(1)
	fc.emit(asel.document(fc.put(pdf), "Договор.pdf", "application/pdf", uint64(len(pdf))))
	select {
	case <-hc.held:
	case <-time.After(coretest.Patience):
		t.Fatal("the document was not downloaded")
	}
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned while a message was being handled")
	default:
	}
	close(hc.release)
	select {
	case <-done:
	case <-time.After(coretest.Patience):
		t.Fatal("Run did not return")
	}
	var texts []string
	for _, m := range fc.messages(asel.JID) {
		texts = append(texts, m.Text())
	}
	if !strings.Contains(strings.Join(texts, "\n"), "Файл принят: Договор.pdf") {
		t.Fatalf("the message in flight was answered %q", texts)
	}
	if fc.IsConnected() {
		t.Fatal("Run returned connected")
	}
}
