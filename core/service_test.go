package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"edobot/core"
	"edobot/core/iinbin"
	"edobot/core/pdfintake"
	"edobot/core/pdfintake/pdftest"
	"edobot/storage"
	"edobot/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

var ctx = context.Background()

// visitor opens links in the tests.
var visitor = core.WebVisitor("203.0.113.1")

// snapshot is what a refused action must leave untouched.
type snapshot struct {
	version, auditSeq int64
	status            core.Status
	outbox, docs      int
}

func take(t *testing.T, f *storagetest.Fixture, id uuid.UUID) snapshot {
	t.Helper()
	d, err := f.DB.Document(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot{version: d.Version, auditSeq: d.AuditSeq, status: d.Status}
	err = f.DB.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox WHERE document_id = $1),
		(SELECT count(*) FROM documents WHERE sender_org_id = $2)`, id, d.SenderOrgID).Scan(&s.outbox, &s.docs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// do runs action a on d as side through the use cases.
func do(f *storagetest.Fixture, d *core.Document, side core.Side, a core.Action) error {
	actor := f.Actor(side)
	var err error
	switch a {
	case core.ActionEdit:
		n := "EDITED-" + d.Number
		_, err = f.Svc.EditDocument(ctx, actor, d.ID, core.DocumentEdit{Version: d.Version, Number: &n})
	case core.ActionDelete:
		err = f.Svc.DeleteDocument(ctx, actor, d.ID)
	case core.ActionSign:
		_, _, err = f.Svc.Sign(ctx, d.ID, storagetest.Signature(actor.Number), "test")
	case core.ActionRevoke:
		_, err = f.Svc.Revoke(ctx, actor, d.ID)
	case core.ActionDownload:
		var rc io.ReadCloser
		if rc, _, err = f.Svc.OpenOriginal(ctx, actor, d.ID); err == nil {
			var got []byte
			got, err = io.ReadAll(rc)
			rc.Close()
			if err == nil && !bytes.Equal(got, f.PDF) {
				err = errors.New("downloaded bytes differ from the upload")
			}
		}
	case core.ActionCopy:
		_, err = f.Svc.Copy(ctx, actor, d.ID, "")
	case core.ActionArchive:
		_, err = f.Svc.Archive(ctx, actor, d.ID)
	case core.ActionUnarchive:
		// Unarchiving changes something only after archiving.
		if _, aerr := f.Svc.Archive(ctx, actor, d.ID); aerr == nil {
			d, _ = f.DB.Document(ctx, d.ID)
		}
		_, err = f.Svc.Unarchive(ctx, actor, d.ID)
	}
	return err
}

// expected is the product's «Actions by status» table: who may act in Создан, На подписании,
// Подписан, Отозван.
var expected = map[core.Action][4]string{
	core.ActionEdit:      {"sender", "—", "—", "—"},
	core.ActionDelete:    {"sender", "—", "—", "—"},
	core.ActionSign:      {"both", "not-signed", "—", "—"},
	core.ActionRevoke:    {"—", "sender", "—", "—"},
	core.ActionDownload:  {"both", "both", "both", "sender"},
	core.ActionCopy:      {"sender", "sender", "sender", "sender"},
	core.ActionArchive:   {"—", "—", "both", "both"},
	core.ActionUnarchive: {"—", "—", "both", "both"},
}

func TestActionTableOnTheDatabase(t *testing.T) {
	f := storagetest.NewFixture(t)
	for _, a := range core.Actions {
		for i, st := range core.Statuses {
			for _, side := range []core.Side{core.SideSender, core.SideRecipient} {
				firstSigners := []core.Side{core.SideSender}
				if st == core.StatusSigning {
					firstSigners = append(firstSigners, core.SideRecipient)
				}
				for _, first := range firstSigners {
					name := fmt.Sprintf("%s/%s/%s", a, st, side)
					if st == core.StatusSigning {
						name += "/signed-by-" + string(first)
					}
					t.Run(name, func(t *testing.T) {
						d := f.InStatus(t, st, first)
						var allowed bool
						switch expected[a][i] {
						case "both":
							allowed = true
						case "sender":
							allowed = side == core.SideSender
						case "not-signed":
							allowed = side != first
						}
						before := take(t, f, d.ID)
						err := do(f, d, side, a)
						after := take(t, f, d.ID)
						if allowed {
							if err != nil {
								t.Fatalf("allowed by the table, refused: %v", err)
							}
							if a == core.ActionCopy {
								if after.docs != before.docs+1 {
									t.Fatalf("copy created %d documents", after.docs-before.docs)
								}
								return
							}
							if after.auditSeq <= before.auditSeq {
								t.Fatalf("allowed action recorded no audit event")
							}
							return
						}
						if err == nil {
							t.Fatalf("refused by the table, allowed")
						}
						if _, ok := core.AsRefusal(err); !ok {
							t.Fatalf("refusal is not typed: %v", err)
						}
						if a != core.ActionUnarchive && after != before {
							t.Fatalf("refused action changed the document: before %+v, after %+v", before, after)
						}
					})
				}
			}
		}
	}
}

func TestLifecycleWritesStatusAndOutbox(t *testing.T) {
	f := storagetest.NewFixture(t)
	d := f.Create(t)
	if d.Status != core.StatusCreated || d.LinkToken == "" || d.File.Pages != 2 {
		t.Fatalf("created document: %+v", d)
	}
	d = f.Sign(t, d.ID, core.SideRecipient)
	if d.Status != core.StatusSigning || d.BaseLocked() {
		t.Fatalf("after the first signature: %s", d.Status)
	}
	d = f.Sign(t, d.ID, core.SideSender)
	if d.Status != core.StatusSigned {
		t.Fatalf("after both signatures: %s", d.Status)
	}
	sigs, err := f.DB.Signatures(ctx, d.ID)
	if err != nil || len(sigs) != 2 {
		t.Fatalf("signatures: %v, %v", sigs, err)
	}
	rows, err := f.DB.Pool.Query(ctx, `SELECT kind, payload->>'status' FROM outbox WHERE document_id = $1 ORDER BY created_at`, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var kind, status string
		if err := rows.Scan(&kind, &status); err != nil {
			t.Fatal(err)
		}
		got = append(got, kind+":"+status)
	}
	want := []string{"document.created:created", "document.signed:signing", "document.signed:signed"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outbox = %v, want %v", got, want)
	}
	if err := f.Svc.VerifyAudit(ctx, d.ID); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
}

// repeat runs a race several times: one run proves little about a race.
const repeat = 15

func TestTwoSignaturesAtOnce(t *testing.T) {
	f := storagetest.NewFixture(t)
	for i := 0; i < repeat; i++ {
		d := f.Create(t)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, side := range []core.Side{core.SideSender, core.SideRecipient} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[j] = f.Svc.Sign(ctx, d.ID, storagetest.Signature(f.Actor(side).Number), "race")
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("run %d: a signature was refused: %v", i, err)
			}
		}
		var status string
		var sigs, toSigned, signedEvents int
		err := f.DB.Pool.QueryRow(ctx, `SELECT status,
			(SELECT count(*) FROM signatures WHERE document_id = d.id),
			(SELECT count(*) FROM outbox WHERE document_id = d.id AND payload->>'status' = 'signed'),
			(SELECT count(*) FROM audit_events WHERE document_id = d.id AND details LIKE '%"status":"signed"%')
			FROM documents d WHERE id = $1`, d.ID).Scan(&status, &sigs, &toSigned, &signedEvents)
		if err != nil {
			t.Fatal(err)
		}
		if status != "signed" || sigs != 2 || toSigned != 1 || signedEvents != 1 {
			t.Fatalf("run %d: status %s, %d signatures, %d outbox transitions to signed, %d audit transitions", i, status, sigs, toSigned, signedEvents)
		}
		if err := f.Svc.VerifyAudit(ctx, d.ID); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}

func TestSignAndRevokeAtOnce(t *testing.T) {
	f := storagetest.NewFixture(t)
	wins := map[string]int{}
	for i := 0; i < repeat; i++ {
		d := f.InStatus(t, core.StatusSigning, core.SideSender)
		var wg sync.WaitGroup
		var signErr, revokeErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, _, signErr = f.Svc.Sign(ctx, d.ID, storagetest.Signature(f.Recipient.Number), "race")
		}()
		go func() {
			defer wg.Done()
			_, revokeErr = f.Svc.Revoke(ctx, f.Sender, d.ID)
		}()
		wg.Wait()
		got, _ := f.DB.Document(ctx, d.ID)
		switch {
		case signErr == nil && revokeErr != nil:
			wins["sign"]++
			if !errors.Is(revokeErr, core.ErrStatusForbids) || got.Status != core.StatusSigned {
				t.Fatalf("run %d: sign won, revoke got %v, status %s", i, revokeErr, got.Status)
			}
		case revokeErr == nil && signErr != nil:
			wins["revoke"]++
			if !errors.Is(signErr, core.ErrRevoked) || got.Status != core.StatusRevoked {
				t.Fatalf("run %d: revoke won, sign got %v, status %s", i, signErr, got.Status)
			}
			var sigs int
			_ = f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM signatures WHERE document_id = $1`, d.ID).Scan(&sigs)
			if sigs != 1 {
				t.Fatalf("run %d: the refused signature was recorded (%d signatures)", i, sigs)
			}
		default:
			t.Fatalf("run %d: sign error %v, revoke error %v: exactly one must win", i, signErr, revokeErr)
		}
	}
	t.Logf("winners over %d runs: %v", repeat, wins)
}

func TestDoubleTapHasOneEffect(t *testing.T) {
	f := storagetest.NewFixture(t)
	twice := func(fn func() error) []error {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = fn() }()
		}
		wg.Wait()
		return errs
	}
	count := func(q string, args ...any) int {
		var n int
		if err := f.DB.Pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := 0; i < repeat; i++ {
		// Create with one idempotency key.
		in := f.NewDocument()
		in.IdempotencyKey = uuid.NewString()
		ids := make([]uuid.UUID, 2)
		var n int
		var mu sync.Mutex
		errs := twice(func() error {
			d, err := f.Svc.CreateDocument(ctx, f.Sender, in, bytes.NewReader(f.PDF))
			if err == nil {
				mu.Lock()
				ids[n] = d.ID
				n++
				mu.Unlock()
			}
			return err
		})
		if errs[0] != nil || errs[1] != nil || ids[0] != ids[1] {
			t.Fatalf("run %d: create twice: %v, ids %v", i, errs, ids)
		}
		if c := count(`SELECT count(*) FROM documents WHERE idempotency_key = $1`, in.IdempotencyKey); c != 1 {
			t.Fatalf("run %d: %d documents for one idempotency key", i, c)
		}

		// Sign twice with the same side.
		sig := storagetest.Signature(f.Recipient.Number)
		errs = twice(func() error { _, _, err := f.Svc.Sign(ctx, ids[0], sig, "tap"); return err })
		if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), core.ErrAlreadySigned) {
			t.Fatalf("run %d: sign twice: %v", i, errs)
		}

		// Revoke twice.
		errs = twice(func() error { _, err := f.Svc.Revoke(ctx, f.Sender, ids[0]); return err })
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("run %d: revoke twice: %v", i, errs)
		}
		if c := count(`SELECT count(*) FROM outbox WHERE document_id = $1 AND kind = 'document.revoked'`, ids[0]); c != 1 {
			t.Fatalf("run %d: %d revoke events", i, c)
		}

		// Archive twice: both taps succeed, one event.
		errs = twice(func() error { _, err := f.Svc.Archive(ctx, f.Recipient, ids[0]); return err })
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("run %d: archive twice: %v", i, errs)
		}
		if c := count(`SELECT count(*) FROM audit_events WHERE document_id = $1 AND kind = 'archived'`, ids[0]); c != 1 {
			t.Fatalf("run %d: %d archive events", i, c)
		}
		if err := f.Svc.VerifyAudit(ctx, ids[0]); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
}

func TestAuditTamperingIsDetected(t *testing.T) {
	f := storagetest.NewFixture(t)
	d := f.InStatus(t, core.StatusSigned, core.SideSender)
	if err := f.Svc.VerifyAudit(ctx, d.ID); err != nil {
		t.Fatalf("intact: %v", err)
	}
	// The application cannot change the trail at all.
	if _, err := f.DB.Pool.Exec(ctx, `UPDATE audit_events SET actor = 'x' WHERE document_id = $1`, d.ID); err == nil {
		t.Fatal("UPDATE of audit_events succeeded; the append-only trigger is missing")
	}
	if _, err := f.DB.Pool.Exec(ctx, `DELETE FROM audit_events WHERE document_id = $1`, d.ID); err == nil {
		t.Fatal("DELETE of audit_events succeeded")
	}
	// Someone with the rights to bypass the trigger changes a row anyway.
	tamper := func(sql string) {
		t.Helper()
		c, err := f.DB.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		if _, err := c.Exec(ctx, `SET session_replication_role = replica`); err != nil {
			t.Fatal(err)
		}
		defer c.Exec(ctx, `SET session_replication_role = origin`) //nolint:errcheck
		if _, err := c.Exec(ctx, sql, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	tamper(`UPDATE audit_events SET details = replace(details, '"status":"signed"', '"status":"signing"') WHERE document_id = $1 AND seq = 3`)
	if err := f.Svc.VerifyAudit(ctx, d.ID); !errors.Is(err, core.ErrAuditTampered) {
		t.Fatalf("changed row: VerifyAudit = %v", err)
	}

	d = f.InStatus(t, core.StatusSigned, core.SideRecipient)
	tamper(`DELETE FROM audit_events WHERE document_id = $1 AND seq = (SELECT max(seq) FROM audit_events WHERE document_id = $1)`)
	if err := f.Svc.VerifyAudit(ctx, d.ID); !errors.Is(err, core.ErrAuditTampered) {
		t.Fatalf("removed last row: VerifyAudit = %v", err)
	}
}

func TestFolders(t *testing.T) {
	f := storagetest.NewFixture(t)
	created := f.Create(t)
	signing := f.InStatus(t, core.StatusSigning, core.SideSender)
	signed := f.InStatus(t, core.StatusSigned, core.SideSender)
	revoked := f.InStatus(t, core.StatusRevoked, core.SideSender)
	deleted := f.Create(t)
	if err := f.Svc.DeleteDocument(ctx, f.Sender, deleted.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.Archive(ctx, f.Recipient, signed.ID); err != nil {
		t.Fatal(err)
	}
	list := func(a core.Actor, folder core.Folder, search string) []uuid.UUID {
		docs, err := f.Svc.Folder(ctx, a, folder, core.FolderQuery{Search: search})
		if err != nil {
			t.Fatal(err)
		}
		var ids []uuid.UUID
		for _, d := range docs {
			ids = append(ids, d.ID)
		}
		return ids
	}
	want := func(a core.Actor, folder core.Folder, ids ...uuid.UUID) {
		t.Helper()
		got := list(a, folder, "")
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("%s of %s = %v, want %v", folder, a.Label, got, ids)
		}
	}
	// Newest first.
	want(f.Sender, core.FolderOutgoing, signing.ID, created.ID)
	want(f.Sender, core.FolderIncoming)
	want(f.Sender, core.FolderCompleted, revoked.ID, signed.ID)
	want(f.Sender, core.FolderArchived)
	want(f.Recipient, core.FolderIncoming, signing.ID, created.ID)
	want(f.Recipient, core.FolderOutgoing)
	want(f.Recipient, core.FolderCompleted, revoked.ID)
	want(f.Recipient, core.FolderArchived, signed.ID)

	counts, err := f.Svc.FolderCounts(ctx, f.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	if counts[core.FolderIncoming] != 2 || counts[core.FolderCompleted] != 1 || counts[core.FolderArchived] != 1 || counts[core.FolderOutgoing] != 0 {
		t.Fatalf("recipient counts = %v", counts)
	}
	if got := list(f.Sender, core.FolderOutgoing, signing.Number); fmt.Sprint(got) != fmt.Sprint([]uuid.UUID{signing.ID}) {
		t.Fatalf("search by number = %v", got)
	}
	if got := list(f.Sender, core.FolderOutgoing, "%"); len(got) != 0 {
		t.Fatalf("a %% in the search is a wildcard: %v", got)
	}
	if _, err := f.Svc.Unarchive(ctx, f.Recipient, signed.ID); err != nil {
		t.Fatal(err)
	}
	want(f.Recipient, core.FolderCompleted, revoked.ID, signed.ID)

	// A third organisation sees nothing and can touch nothing.
	stranger := storagetest.NewFixture(t).Sender
	for _, fl := range core.Folders {
		want(stranger, fl)
	}
	if _, _, err := f.Svc.Document(ctx, stranger, signing.ID); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("another organisation's document: %v", err)
	}
	if _, err := f.Svc.Revoke(ctx, stranger, signing.ID); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("revoke another organisation's document: %v", err)
	}
	if _, _, err := f.Svc.OpenOriginal(ctx, stranger, signing.ID); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("download another organisation's document: %v", err)
	}
}

func TestCreateRefusesAndStoresNothing(t *testing.T) {
	f := storagetest.NewFixture(t)
	expired := time.Now().AddDate(0, 0, -1)
	lapsed, _, err := f.Svc.RegisterOrganisation(ctx, storagetest.RandomBIN(), "ТОО «Без подписки»", &expired)
	if err != nil {
		t.Fatal(err)
	}
	lapsedActor := core.Actor{OrgID: lapsed.ID, Number: lapsed.Number, Label: "test"}
	badBIN := f.Recipient.Number[:11] + string('0'+(f.Recipient.Number[11]-'0'+1)%10)

	tests := []struct {
		name  string
		actor core.Actor
		edit  func(*core.NewDocument)
		file  []byte
		want  error
	}{
		{"subscription expired", lapsedActor, nil, nil, core.ErrSubscription},
		{"recipient BIN with a bad check digit", f.Sender, func(n *core.NewDocument) { n.Recipient.Number = badBIN }, nil, iinbin.ErrChecksum},
		{"recipient is the sender", f.Sender, func(n *core.NewDocument) { n.Recipient.Number = f.Sender.Number }, nil, core.ErrRecipientIsSender},
		{"employee with a BIN", f.Sender, func(n *core.NewDocument) { n.Recipient.Kind = core.PartyEmployee }, nil, &core.Refusal{Code: core.CodeInvalidPartyKind}},
		{"type not in the catalogue", f.Sender, func(n *core.NewDocument) { n.Type = "invoice" }, nil, &core.Refusal{Code: core.CodeInvalidType}},
		{"no number", f.Sender, func(n *core.NewDocument) { n.Number = "  " }, nil, &core.Refusal{Code: core.CodeInvalidNumber}},
		{"no date", f.Sender, func(n *core.NewDocument) { n.Date = time.Time{} }, nil, &core.Refusal{Code: core.CodeInvalidDate}},
		{"bad phone", f.Sender, func(n *core.NewDocument) { n.Recipient.Phone = "call me" }, nil, &core.Refusal{Code: core.CodeInvalidPhone}},
		{"base of «Прочее»", f.Sender, func(n *core.NewDocument) { n.Type = core.TypeOther; n.BaseRef = "1C-1" }, nil, &core.Refusal{Code: core.CodeBaseNotAccounting}},
		{"encrypted PDF", f.Sender, nil, pdftest.Encrypted(pdftest.PDF(1), "user", "owner"), pdfintake.ErrEncrypted},
		{"PNG", f.Sender, nil, pdftest.PNG(), pdfintake.ErrNotPDF},
		{"truncated PDF", f.Sender, nil, f.PDF[:len(f.PDF)/2], pdfintake.ErrBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := f.NewDocument()
			if tt.edit != nil {
				tt.edit(&in)
			}
			file := tt.file
			if file == nil {
				file = f.PDF
			}
			var before, after int
			_ = f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM documents`).Scan(&before)
			_, err := f.Svc.CreateDocument(ctx, tt.actor, in, bytes.NewReader(file))
			if !errors.Is(err, tt.want) {
				t.Fatalf("CreateDocument = %v, want %v", err, tt.want)
			}
			_ = f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM documents`).Scan(&after)
			if after != before {
				t.Fatalf("a refused document was stored")
			}
		})
	}
}

func TestLinkAndDelete(t *testing.T) {
	f := storagetest.NewFixture(t)
	d := f.Create(t)
	got, err := f.Svc.OpenLink(ctx, d.LinkToken, visitor)
	if err != nil || got.ID != d.ID {
		t.Fatalf("OpenLink = %v, %v", got, err)
	}
	if _, err := f.Svc.OpenLink(ctx, d.LinkToken[:len(d.LinkToken)-1]+"x", visitor); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("wrong token: %v", err)
	}
	// The recipient signs through the link; the certificate decides the side.
	if _, side, err := f.Svc.SignByLink(ctx, d.LinkToken, storagetest.Signature(f.Recipient.Number), "link"); err != nil || side != core.SideRecipient {
		t.Fatalf("SignByLink = %v, %v", side, err)
	}
	if _, _, err := f.Svc.SignByLink(ctx, d.LinkToken, storagetest.Signature(storagetest.RandomBIN()), "link"); !errors.Is(err, core.ErrIDNumberMismatch) {
		t.Fatalf("a stranger's certificate: %v", err)
	}
	if _, err := f.Svc.Revoke(ctx, f.Sender, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.OpenLink(ctx, d.LinkToken, visitor); !errors.Is(err, core.ErrRevoked) {
		t.Fatalf("revoked link: %v", err)
	}
	d2 := f.Create(t)
	if err := f.Svc.DeleteDocument(ctx, f.Sender, d2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.OpenLink(ctx, d2.LinkToken, visitor); !errors.Is(err, core.ErrRevoked) {
		t.Fatalf("deleted link: %v", err)
	}
	if err := f.Svc.VerifyAudit(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	evs, _ := f.DB.Events(ctx, d.ID)
	var kinds []core.EventKind
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	if fmt.Sprint(kinds) != fmt.Sprint([]core.EventKind{core.EventCreated, core.EventLinkOpened, core.EventSigned, core.EventRevoked}) {
		t.Fatalf("audit trail = %v", kinds)
	}
}

func TestEditAndCopy(t *testing.T) {
	f := storagetest.NewFixture(t)
	d := f.Create(t)
	newPDF := pdftest.PDF(5)
	n := "Д-NEW"
	edited, err := f.Svc.EditDocument(ctx, f.Sender, d.ID, core.DocumentEdit{Version: d.Version, Number: &n, File: bytes.NewReader(newPDF)})
	if err != nil {
		t.Fatal(err)
	}
	if edited.Number != n || edited.File.Pages != 5 || edited.File.SHA256 == d.File.SHA256 || edited.LinkToken != d.LinkToken {
		t.Fatalf("edited: %+v", edited)
	}
	// Views and downloads in between do not make a card stale.
	if _, err := f.Svc.OpenLink(ctx, edited.LinkToken, visitor); err != nil {
		t.Fatal(err)
	}
	n2 := "Д-NEW-2"
	if edited, err = f.Svc.EditDocument(ctx, f.Sender, d.ID, core.DocumentEdit{Version: edited.Version, Number: &n2}); err != nil {
		t.Fatalf("edit after the link was opened: %v", err)
	}
	// The recipient cannot replace the file.
	if _, err := f.Svc.EditDocument(ctx, f.Recipient, d.ID, core.DocumentEdit{File: bytes.NewReader(newPDF)}); !errors.Is(err, core.ErrSenderOnly) {
		t.Fatalf("recipient replaces the file: %v", err)
	}
	// An edit made from the card read before is refused.
	if _, err := f.Svc.EditDocument(ctx, f.Sender, d.ID, core.DocumentEdit{Version: d.Version, Number: &n}); !errors.Is(err, core.ErrStale) {
		t.Fatalf("stale edit: %v", err)
	}
	rc, _, err := f.Svc.OpenOriginal(ctx, f.Recipient, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, newPDF) {
		t.Fatal("download after replace does not return the new file")
	}
	// The old file is still stored, untouched.
	old, err := storage.Blobs{DB: f.DB}.Open(ctx, d.File.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	oldBytes, _ := io.ReadAll(old)
	if !bytes.Equal(oldBytes, f.PDF) {
		t.Fatal("the replaced file changed")
	}

	signed := f.InStatus(t, core.StatusSigned, core.SideSender)
	cp, err := f.Svc.Copy(ctx, f.Sender, signed.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if cp.Status != core.StatusCreated || cp.ID == signed.ID || cp.LinkToken == signed.LinkToken || cp.File != signed.File || cp.CopiedFrom != signed.ID {
		t.Fatalf("copy: %+v", cp)
	}
}

func TestBaseDocumentLock(t *testing.T) {
	f := storagetest.NewFixture(t)
	in := f.NewDocument()
	in.BaseRef = "1C:Реализация:000123"
	d, err := f.Svc.CreateDocument(ctx, f.Sender, in, bytes.NewReader(f.PDF))
	if err != nil {
		t.Fatal(err)
	}
	if d.BaseLocked() {
		t.Fatal("base locked before any signature")
	}
	if _, err := f.Svc.CreateDocument(ctx, f.Sender, in, bytes.NewReader(f.PDF)); !errors.Is(err, core.ErrBaseInUse) {
		t.Fatalf("second document on one base: %v", err)
	}
	d = f.Sign(t, d.ID, core.SideSender)
	if !d.BaseLocked() {
		t.Fatal("base not locked «На подписании»")
	}
	d, err = f.Svc.Revoke(ctx, f.Sender, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.BaseLocked() {
		t.Fatal("base still locked after revoke")
	}
	if _, err := f.Svc.CreateDocument(ctx, f.Sender, in, bytes.NewReader(f.PDF)); err != nil {
		t.Fatalf("a new document on a revoked one's base: %v", err)
	}
}

func TestAPIKeys(t *testing.T) {
	f := storagetest.NewFixture(t)
	key, org, err := f.Svc.CreateAPIKey(ctx, f.Sender.Number)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) < 40 || org.ID != f.Sender.OrgID {
		t.Fatalf("key %q for %v", key, org)
	}
	var stored int
	_ = f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE prefix = $1 AND key_hash <> convert_to($2, 'UTF8')`, key[:10], key).Scan(&stored)
	if stored != 1 {
		t.Fatal("the key is not stored as a hash")
	}
	a, err := f.Svc.Authenticate(ctx, key)
	if err != nil || a.OrgID != f.Sender.OrgID || a.Number != f.Sender.Number {
		t.Fatalf("Authenticate = %+v, %v", a, err)
	}
	for _, bad := range []string{"", key[:len(key)-1], key + "x", "Bearer " + key} {
		if _, err := f.Svc.Authenticate(ctx, bad); !errors.Is(err, core.ErrAPIKeyInvalid) {
			t.Fatalf("Authenticate(%q) = %v", bad, err)
		}
	}
	if _, _, err := f.Svc.CreateAPIKey(ctx, storagetest.RandomBIN()); !errors.Is(err, core.ErrOrgUnknown) {
		t.Fatalf("key for an unknown organisation: %v", err)
	}
}

func TestChatUsers(t *testing.T) {
	f := storagetest.NewFixture(t)
	id := uuid.NewString()
	u, err := f.Svc.ChatUser(ctx, core.ChannelTelegram, id, "Айгуль", "kk")
	if err != nil || u.ID == 0 || u.Language != "kk" || u.IIN != "" {
		t.Fatalf("first contact: %+v, %v", u, err)
	}
	if err := f.Svc.SetLanguage(ctx, u, "en"); err != nil {
		t.Fatal(err)
	}
	if err := f.Svc.SetLanguage(ctx, u, "de"); !errors.Is(err, &core.Refusal{Code: core.CodeInvalidLanguage}) {
		t.Fatalf("unknown language: %v", err)
	}
	again, err := f.Svc.ChatUser(ctx, core.ChannelTelegram, id, "Айгуль Н.", "ru")
	if err != nil || again.ID != u.ID || again.Language != "en" || again.Name != "Айгуль Н." {
		t.Fatalf("second contact: %+v, %v", again, err)
	}
	other, err := f.Svc.ChatUser(ctx, core.ChannelWhatsApp, id, "", "xx")
	if err != nil || other.ID == u.ID || other.Language != "ru" {
		t.Fatalf("same id on another channel: %+v, %v", other, err)
	}
}
