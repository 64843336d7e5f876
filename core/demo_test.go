package core_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"edobot/core"
	"edobot/storage/storagetest"
)

// `edobot demo`'s service (Deps.Demo) makes demo documents only, created
// or copied, and refuses to sign any other: by its id or by its link, the
// document stays as it was. A normal service over the same database makes
// no demo document, even as a copy of one.
func TestDemoServiceSignsDemoDocumentsOnly(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	demoDeps := f.Deps
	demoDeps.Demo = true
	demo := core.New(demoDeps)

	demoDoc, err := demo.CreateDocument(ctx, f.Sender, f.NewDocument(), bytes.NewReader(f.PDF))
	if err != nil {
		t.Fatal(err)
	}
	normal := f.Create(t)
	normalCopy, err := f.Svc.Copy(ctx, f.Sender, demoDoc.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	demoCopy, err := demo.Copy(ctx, f.Sender, normal.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		doc  *core.Document
		demo bool
	}{{"created by the demo", demoDoc, true}, {"created by a normal service", normal, false},
		{"a normal service's copy of a demo document", normalCopy, false}, {"the demo's copy of a normal document", demoCopy, true}} {
		stored, _, err := f.Svc.Document(ctx, f.Sender, c.doc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.doc.Demo != c.demo || stored.Demo != c.demo {
			t.Errorf("%s: demo %v, stored %v; want %v", c.name, c.doc.Demo, stored.Demo, c.demo)
		}
	}

	sig := storagetest.Signature(f.Recipient.Number)
	if _, _, err := demo.Sign(ctx, normal.ID, sig, "test"); !errors.Is(err, &core.Refusal{Code: core.CodeNotDemo}) {
		t.Fatalf("the demo signed a normal document by its id: %v", err)
	}
	if _, _, err := demo.SignByLink(ctx, normal.LinkToken, sig, "test"); !errors.Is(err, &core.Refusal{Code: core.CodeNotDemo}) {
		t.Fatalf("the demo signed a normal document by its link: %v", err)
	}
	if d, _, err := f.Svc.Document(ctx, f.Sender, normal.ID); err != nil || d.Status != core.StatusCreated || d.RecipientSignedAt != nil {
		t.Fatalf("the refused document: %+v %v", d, err)
	}
	if d, side, err := demo.SignByLink(ctx, demoDoc.LinkToken, sig, "test"); err != nil || side != core.SideRecipient || d.Status != core.StatusSigning {
		t.Fatalf("the demo signing its own document: %v %v %v", d, side, err)
	}
	// A normal service signs a normal document as ever.
	f.Sign(t, normal.ID, core.SideRecipient)
}
