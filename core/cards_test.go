package core_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"edobot/core"
	"edobot/core/card"
	"edobot/storage/storagetest"
)

// withCards gives the fixture's service the real card renderer, counting
// how often it draws.
func withCards(f *storagetest.Fixture) *atomic.Int32 {
	var drawn atomic.Int32
	f.Wire(func(deps *core.Deps) {
		deps.Cards = func(ctx context.Context, d *core.Document, sigs []core.Signature, verifyURL string, original io.ReadSeeker, w io.Writer) error {
			drawn.Add(1)
			return card.Renderer(ctx, d, sigs, verifyURL, original, w)
		}
		deps.Downloads = f.DB
	})
	return &drawn
}

func readCard(t *testing.T, rc io.ReadCloser, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatalf("card: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("the card is not a PDF: %.20q", b)
	}
	return b
}

func TestCardIsDrawnOncePerFinalStatus(t *testing.T) {
	f := storagetest.NewFixture(t)
	drawn := withCards(f)
	d := f.InStatus(t, core.StatusSigned, core.SideSender)
	url := "https://edobot.kz/d/" + d.LinkToken

	rc, got, err := f.Svc.Card(ctx, f.Sender, d.ID, url)
	first := readCard(t, rc, err)
	if got.ID != d.ID {
		t.Fatalf("card of %s, want %s", got.ID, d.ID)
	}
	rc, _, err = f.Svc.Card(ctx, f.Recipient, d.ID, url)
	second := readCard(t, rc, err)
	rc, _, err = f.Svc.CardByLink(ctx, d.LinkToken, url, visitor)
	third := readCard(t, rc, err)
	if drawn.Load() != 1 || !bytes.Equal(first, second) || !bytes.Equal(first, third) {
		t.Fatalf("a signed document's card drawn %d times; same bytes: %v %v", drawn.Load(), bytes.Equal(first, second), bytes.Equal(first, third))
	}
	events, err := f.DB.Events(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	var downloads int
	for _, e := range events {
		if e.Kind == core.EventDownloaded && strings.Contains(string(e.Details), `"card"`) {
			downloads++
		}
	}
	if downloads != 3 {
		t.Fatalf("%d card downloads recorded, want 3", downloads)
	}

}

func TestCardOfDocumentsInMotionAndRevoked(t *testing.T) {
	f := storagetest.NewFixture(t)
	drawn := withCards(f)
	created := f.Create(t)
	for range 2 {
		rc, _, err := f.Svc.Card(ctx, f.Sender, created.ID, "https://edobot.kz/d/x")
		readCard(t, rc, err)
	}
	if drawn.Load() != 2 {
		t.Fatalf("a card of a document in «Создан» was drawn %d times for two requests; it must not be kept", drawn.Load())
	}

	revoked := f.InStatus(t, core.StatusRevoked, core.SideSender)
	rc, _, err := f.Svc.Card(ctx, f.Sender, revoked.ID, "https://edobot.kz/d/x")
	readCard(t, rc, err)
	if _, ok, err := f.DB.CachedDownload(ctx, revoked.ID, "card", "revoked"); err != nil || !ok {
		t.Fatalf("the revoked card was not kept: %v %v", ok, err)
	}
	if _, _, err := f.Svc.Card(ctx, f.Recipient, revoked.ID, "https://edobot.kz/d/x"); !errors.Is(err, core.ErrRevoked) {
		t.Fatalf("the recipient's card of a revoked document: %v", err)
	}
	if _, _, err := f.Svc.CardByLink(ctx, revoked.LinkToken, "https://edobot.kz/d/x", visitor); !errors.Is(err, core.ErrRevoked) {
		t.Fatalf("the card through a dead link: %v", err)
	}

	stranger := storagetest.NewFixture(t)
	if _, _, err := f.Svc.Card(ctx, stranger.Sender, created.ID, "https://edobot.kz/d/x"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("another organisation's card: %v", err)
	}
	if err := f.Svc.DeleteDocument(ctx, f.Sender, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Svc.Card(ctx, f.Sender, created.ID, "https://edobot.kz/d/x"); err == nil {
		t.Fatal("a card of a deleted document")
	}
}

func TestFileNames(t *testing.T) {
	d := &core.Document{Type: core.TypeWaybill, Number: `Н/17"a`, Date: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	if got := core.OriginalFileName(d); got != `waybill_Н_17_a_2026-11-01.pdf` {
		t.Fatalf("OriginalFileName without a name = %q", got)
	}
	for _, c := range []struct{ in, kept, original string }{
		{"Акт сверки №5.pdf", "Акт сверки №5.pdf", "Акт сверки №5.pdf"},
		{`C:\Users\me\Счёт 12.PDF`, "Счёт 12.PDF", "Счёт 12.pdf"},
		{"../../etc/passwd", "passwd", "passwd.pdf"},
		{"a\x00b\u202ec:d?.pdf", "abc_d_.pdf", "abc_d_.pdf"},
		{"  ..  ", "", "waybill_Н_17_a_2026-11-01.pdf"},
		{"", "", "waybill_Н_17_a_2026-11-01.pdf"},
	} {
		kept := core.CleanFileName(c.in)
		if kept != c.kept {
			t.Errorf("CleanFileName(%q) = %q, want %q", c.in, kept, c.kept)
		}
		d.File.Name = kept
		if got := core.OriginalFileName(d); got != c.original {
			t.Errorf("OriginalFileName(%q) = %q, want %q", kept, got, c.original)
		}
	}
}

// TestEzSignerMadeOncePerFinalStatus: the combined CMS of a signed document
// is made once and then served as stored; one still in motion is made on
// every request.
func TestEzSignerMadeOncePerFinalStatus(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	var made atomic.Int32
	f.Wire(func(deps *core.Deps) {
		deps.Downloads = f.DB
		deps.Combine = func(document []byte, cmss ...[]byte) ([]byte, error) {
			made.Add(1)
			return append([]byte("combined:"), bytes.Join(cmss, []byte("|"))...), nil
		}
	})
	signing := f.InStatus(t, core.StatusSigning, core.SideSender)
	for range 2 {
		if _, _, err := f.Svc.EzSigner(ctx, f.Sender, signing.ID); err != nil {
			t.Fatal(err)
		}
	}
	if made.Load() != 2 {
		t.Fatalf("a document in motion: combined %d times, want 2", made.Load())
	}
	signed := f.InStatus(t, core.StatusSigned, core.SideSender)
	first, _, err := f.Svc.EzSigner(ctx, f.Sender, signed.ID)
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := f.Svc.EzSigner(ctx, f.Recipient, signed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if made.Load() != 3 || !bytes.Equal(first, second) || !bytes.HasPrefix(first, []byte("combined:")) {
		t.Fatalf("a signed document: combined %d times in all, same bytes %v", made.Load(), bytes.Equal(first, second))
	}
	if _, ok, err := f.DB.CachedDownload(ctx, signed.ID, "ezsigner", "signed"); err != nil || !ok {
		t.Fatalf("not recorded: %v %v", ok, err)
	}
}
