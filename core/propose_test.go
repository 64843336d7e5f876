package core_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"edobot/core"
	"edobot/core/prefill"
	"edobot/core/prefill/prefilltest"
	"edobot/storage"
	"edobot/storage/storagetest"
)

// TestStageDocumentProposes: the staged file is stored whatever its text
// says; the proposal never names the sender's BIN nor the IIN of the
// person acting, and a party of the directory wins over a new one.
func TestStageDocumentProposes(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	person := storagetest.RandomIIN()
	a := f.Sender
	a.Number = person // a person acting for the organisation
	newBIN := storagetest.RandomBIN()
	pdf := prefilltest.PDF(prefilltest.Page{Title: "ДОГОВОР № 5 от 01.11.2026", Lines: []string{
		"ТОО «Отправитель», БИН " + f.Sender.Number,
		"Представитель: Ахметов Асхат Аскарович, ИИН " + person,
		"ТОО «Новый», БИН " + newBIN,
		"ТОО «Контрагент», БИН " + f.Recipient.Number,
	}})
	stage := func() core.Proposal {
		t.Helper()
		info, p, err := f.Svc.StageDocument(ctx, a, bytes.NewReader(pdf))
		if err != nil || p.Unread != nil {
			t.Fatalf("stage: %v %v", err, p.Unread)
		}
		assertStored(t, f, info, pdf)
		return p
	}
	p := stage()
	if p.Type != core.TypeContract || p.Number != "5" || p.Recipient == nil || p.Recipient.Number != newBIN ||
		p.Recipient.Name != "ТОО «Новый»" || p.Recipient.ID != 0 || !p.Complete() {
		t.Fatalf("proposal %+v %+v", p, p.Recipient)
	}
	f.Create(t) // puts f.Recipient into the directory
	if p := stage(); p.Recipient == nil || p.Recipient.Number != f.Recipient.Number || p.Recipient.ID == 0 {
		t.Fatalf("the known party did not win: %+v", p.Recipient)
	}
}

// TestStageDocumentScan: a PDF without text is staged all the same, with
// an empty proposal that says why.
func TestStageDocumentScan(t *testing.T) {
	f := storagetest.NewFixture(t)
	scan := prefilltest.Scan()
	info, p, err := f.Svc.StageDocument(context.Background(), f.Sender, bytes.NewReader(scan))
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(p.Unread, prefill.ErrNoText) || p.Recipient != nil || p.Type != "" || p.Number != "" {
		t.Fatalf("proposal %+v", p)
	}
	assertStored(t, f, info, scan)
}

func assertStored(t *testing.T, f *storagetest.Fixture, info core.FileInfo, want []byte) {
	t.Helper()
	rc, err := storage.Blobs{DB: f.DB}.Open(context.Background(), info.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, want) {
		t.Fatalf("stored %d bytes, want the %d uploaded", len(got), len(want))
	}
}
