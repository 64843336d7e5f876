package storage_test

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"edobot/core"
	"edobot/migrations"
	"edobot/storage/storagetest"
)

// whatsAppPair is one person's two WhatsApp ids, new each run.
func whatsAppPair() (pn, lid string) {
	return fmt.Sprintf("7701%07d", rand.IntN(10_000_000)), fmt.Sprintf("%015d", rand.Int64N(1e15))
}

// duplicate stores one person twice, as a bot that did not match hidden
// ids did: under the number with a conversation, language, menu, follows
// and deliveries, and under the hidden id bound to an organisation, with a
// follow and a delivery of its own and one of the same.
type duplicate struct {
	byPhone, byLID *core.ChatUser
	docs           []uuid.UUID
	events         []uuid.UUID
}

func storeDuplicate(t *testing.T, f *storagetest.Fixture, pn, lid string) duplicate {
	t.Helper()
	ctx := context.Background()
	byPhone, err := f.Svc.ChatUser(ctx, core.ChannelWhatsApp, pn+"@s.whatsapp.net", "Дана", "kk")
	if err != nil {
		t.Fatal(err)
	}
	// Reached by the bot, never wrote under this id.
	byLID, err := f.Svc.ReachedChatUser(ctx, core.ChannelWhatsApp, lid+"@lid", "", "ru")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.DB.SetChatContact(ctx, byPhone.ID, "", "+"+pn); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.DB.SaveConversation(ctx, &core.Conversation{ChatUserID: byPhone.ID, Step: "wizard.type", Data: []byte(`{"n":1}`)}); err != nil || !ok {
		t.Fatalf("conversation: %v %v", ok, err)
	}
	if err := f.DB.SaveMenu(ctx, byPhone.ID, []byte(`[{"l":"Договор","d":"w.t.1"}]`)); err != nil {
		t.Fatal(err)
	}
	if err := f.DB.BindChatUser(ctx, byLID.ID, storagetest.RandomIIN(), f.Sender.OrgID, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Rows of the tables added since chat users were first merged: an ИС
	// ЭСФ link and ticket, and a chat's own outbox event (sent already).
	if err := f.DB.InsertESFLink(ctx, []byte(core.NewToken()[:32]), core.ESFLink{Kind: "password", ChatUserID: byPhone.ID,
		ExpiresAt: time.Now().Add(time.Hour)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.DB.Pool.Exec(ctx, `INSERT INTO esf_tickets (org_id, iin, chat_user_id, key_serial, key_kind, certificate, signed_xml,
		expires_at, state, created_at) VALUES ($1, $2, $3, 's', 'k', 'c', '<x/>', now(), 'ended', now())`,
		f.Sender.OrgID, storagetest.RandomIIN(), byPhone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.DB.Pool.Exec(ctx, `INSERT INTO outbox (id, chat_user_id, kind, payload, created_at, sent_at)
		VALUES ($1, $2, 'test.merge', '{}', now(), now())`, uuid.New(), byPhone.ID); err != nil {
		t.Fatal(err)
	}
	d := duplicate{byPhone: byPhone, byLID: byLID}
	for range 3 {
		d.docs = append(d.docs, f.Create(t).ID)
		d.events = append(d.events, uuid.New())
	}
	for _, x := range []struct {
		u    int64
		i    int
		side core.Side
	}{{byPhone.ID, 0, core.SideRecipient}, {byPhone.ID, 1, core.SideRecipient}, {byLID.ID, 1, core.SideSender}, {byLID.ID, 2, core.SideSender}} {
		if err := f.DB.FollowDocument(ctx, d.docs[x.i], x.u, x.side); err != nil {
			t.Fatal(err)
		}
		if err := f.DB.RecordDelivery(ctx, d.events[x.i], x.u, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// checkMerged: one chat user is left, keyed on the hidden id, bound, with
// the number, the conversation, its language and menu, following every
// document once and with every delivery once.
func checkMerged(t *testing.T, f *storagetest.Fixture, d duplicate, pn, lid string) {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	rows, err := f.DB.Pool.Query(ctx, `SELECT id FROM chat_users WHERE channel = 'whatsapp' AND external_id IN ($1, $2)`,
		pn+"@s.whatsapp.net", lid+"@lid")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 1 {
		t.Fatalf("%d chat users left, want 1", len(ids))
	}
	u, err := f.DB.ChatUserByID(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if u.ExternalID != lid+"@lid" || u.Phone != "+"+pn || u.OrgID != f.Sender.OrgID || u.IIN == "" || u.Language != "kk" || u.Name != "Дана" {
		t.Fatalf("merged chat user = %+v", u)
	}
	if u.NeverWrote() {
		t.Fatal("the merged chat user lost the time the person wrote under the other id")
	}
	var moved int
	if err := f.DB.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM esf_links WHERE chat_user_id = $1)
		+ (SELECT count(*) FROM esf_tickets WHERE chat_user_id = $1)
		+ (SELECT count(*) FROM outbox WHERE chat_user_id = $1)`, u.ID).Scan(&moved); err != nil || moved != 3 {
		t.Fatalf("%d of the ИС ЭСФ link, ticket and outbox event moved to the merged chat user, %v", moved, err)
	}
	c, err := f.DB.Conversation(ctx, u.ID)
	if err != nil || c.Step != "wizard.type" {
		t.Fatalf("conversation = %+v, %v", c, err)
	}
	if m, err := f.DB.Menu(ctx, u.ID); err != nil || !strings.Contains(string(m), "w.t.1") {
		t.Fatalf("menu = %s, %v", m, err)
	}
	for i, doc := range d.docs {
		var n int
		if err := f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM document_chats WHERE document_id = $1 AND chat_user_id = $2`, doc, u.ID).Scan(&n); err != nil || n != 1 {
			t.Fatalf("document %d followed %d times, %v", i, n, err)
		}
		if ok, err := f.DB.Delivered(ctx, d.events[i], u.ID); err != nil || !ok {
			t.Fatalf("delivery %d: %v, %v", i, ok, err)
		}
	}
	var left int
	if err := f.DB.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM document_chats WHERE chat_user_id = ANY($1))
		+ (SELECT count(*) FROM notification_deliveries WHERE chat_user_id = ANY($1))
		+ (SELECT count(*) FROM conversations WHERE chat_user_id = ANY($1))
		+ (SELECT count(*) FROM whatsapp_menus WHERE chat_user_id = ANY($1))`,
		slices.DeleteFunc([]int64{d.byPhone.ID, d.byLID.ID}, func(id int64) bool { return id == u.ID })).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d rows still refer to the removed chat user, %v", left, err)
	}
}

// migrationStep is the statement of the identity migration that merges the
// pairs whatsmeow learned.
func migrationStep(t *testing.T) string {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*_whatsapp_identity.sql")
	if err != nil || len(names) != 1 {
		t.Fatalf("the identity migration: %v, %v", names, err)
	}
	raw, err := fs.ReadFile(migrations.FS, names[0])
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(raw), "-- +goose StatementBegin")
	if len(parts) < 3 {
		t.Fatal("the migration's merge step is not where it was")
	}
	step, _, _ := strings.Cut(parts[2], "-- +goose StatementEnd")
	return step
}

// TestMigrationMergesDuplicates: the migration's step makes the two rows of
// one person whose pair whatsmeow knows one. whatsmeow's map is a
// temporary table here, seen only by this transaction, so the step touches
// no other test's rows.
func TestMigrationMergesDuplicates(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	pn, lid := whatsAppPair()
	d := storeDuplicate(t, f, pn, lid)
	tx, err := f.DB.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	for _, q := range []string{
		`CREATE TEMPORARY TABLE whatsmeow_lid_map (lid text PRIMARY KEY, pn text UNIQUE NOT NULL) ON COMMIT DROP`,
		`INSERT INTO whatsmeow_lid_map VALUES ('` + lid + `', '` + pn + `')`,
		migrationStep(t),
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	checkMerged(t, f, d, pn, lid)
}

// TestChatUserAliasesMerge: a person found under their hidden id with their
// number beside it is one chat user, whichever rows were stored before.
func TestChatUserAliasesMerge(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	pn, lid := whatsAppPair()
	d := storeDuplicate(t, f, pn, lid)
	u, err := f.Svc.ChatUser(ctx, core.ChannelWhatsApp, lid+"@lid", "Дана", "ru", pn+"@s.whatsapp.net")
	if err != nil {
		t.Fatal(err)
	}
	checkMerged(t, f, d, pn, lid)
	again, err := f.Svc.ChatUser(ctx, core.ChannelWhatsApp, lid+"@lid", "Дана", "ru", pn+"@s.whatsapp.net")
	if err != nil || again.ID != u.ID {
		t.Fatalf("again = %+v, %v; want %d", again, err, u.ID)
	}

	// Only the number known before: the row is re-keyed, not duplicated.
	pn2, lid2 := whatsAppPair()
	old, err := f.Svc.ChatUser(ctx, core.ChannelWhatsApp, pn2+"@s.whatsapp.net", "Ерлан", "en")
	if err != nil {
		t.Fatal(err)
	}
	now, err := f.Svc.ChatUser(ctx, core.ChannelWhatsApp, lid2+"@lid", "Ерлан", "ru", pn2+"@s.whatsapp.net")
	if err != nil || now.ID != old.ID || now.ExternalID != lid2+"@lid" || now.Language != "en" {
		t.Fatalf("re-keyed = %+v, %v; was %+v", now, err, old)
	}
}

// TestReachingKeepsNameAndBlock: the bot writing first to a person it knows
// keeps their name and, when they blocked the bot, the block, whether the
// row is found directly or merged from their number; their writing again
// lifts the block.
func TestReachingKeepsNameAndBlock(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	pn, lid := whatsAppPair()
	u, err := f.Svc.ChatUser(ctx, core.ChannelWhatsApp, pn+"@s.whatsapp.net", "Дана", "kk")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.DB.MarkChatBlocked(ctx, u.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	reached, err := f.Svc.ReachedChatUser(ctx, core.ChannelWhatsApp, pn+"@s.whatsapp.net", "", "ru")
	if err != nil || reached.ID != u.ID || reached.Name != "Дана" || reached.BlockedAt == nil {
		t.Fatalf("reached = %+v, %v; want %d named Дана, blocked", reached, err, u.ID)
	}
	merged, err := f.Svc.ReachedChatUser(ctx, core.ChannelWhatsApp, lid+"@lid", "", "ru", pn+"@s.whatsapp.net")
	if err != nil || merged.ID != u.ID || merged.Name != "Дана" || merged.BlockedAt == nil {
		t.Fatalf("reached by hidden id = %+v, %v; want %d named Дана, blocked", merged, err, u.ID)
	}
	wrote, err := f.Svc.ChatUser(ctx, core.ChannelWhatsApp, lid+"@lid", "Дана", "ru")
	if err != nil || wrote.ID != u.ID || wrote.BlockedAt != nil {
		t.Fatalf("wrote = %+v, %v; want %d unblocked", wrote, err, u.ID)
	}
}
