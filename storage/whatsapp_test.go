package storage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"edobot/core"
	"edobot/storage/storagetest"

	"github.com/jackc/pgx/v5"
)

// TestWhatsAppMenu: a chat's last menu is replaced, not merged, and a chat
// never shown one has none.
func TestWhatsAppMenu(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	u, err := f.Svc.ChatUser(ctx, core.ChannelWhatsApp, fmt.Sprintf("7701%07d@s.whatsapp.net", rand.IntN(10_000_000)), "Дана", "ru") // new each run
	if err != nil {
		t.Fatal(err)
	}
	if m, err := f.DB.Menu(ctx, u.ID); err != nil || m != nil {
		t.Fatalf("new chat's menu = %s, %v", m, err)
	}
	same := func(got []byte, want string) bool {
		var a, b any
		return json.Unmarshal(got, &a) == nil && json.Unmarshal([]byte(want), &b) == nil && jsonEqual(a, b)
	}
	first := `[{"label":"✍️ Подписать","data":"d.x.1.sg"},{"label":"🏠 Меню","data":"m"}]`
	if err := f.DB.SaveMenu(ctx, u.ID, []byte(first)); err != nil {
		t.Fatal(err)
	}
	if m, err := f.DB.Menu(ctx, u.ID); err != nil || !same(m, first) {
		t.Fatalf("menu = %s, %v; want %s", m, err, first)
	}
	second := `[{"label":"Отмена","data":"w.3.cancel"}]`
	if err := f.DB.SaveMenu(ctx, u.ID, []byte(second)); err != nil {
		t.Fatal(err)
	}
	if m, err := f.DB.Menu(ctx, u.ID); err != nil || !same(m, second) {
		t.Fatalf("menu = %s, %v; want %s", m, err, second)
	}
	if err := f.DB.SaveMenu(ctx, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	if m, err := f.DB.Menu(ctx, u.ID); err != nil || !same(m, `[]`) {
		t.Fatalf("emptied menu = %s, %v", m, err)
	}
	if err := f.DB.SaveMenu(ctx, u.ID, []byte("{not json")); err == nil {
		t.Fatal("a menu that is not JSON was saved")
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestHandledInboundExpires: a handled WhatsApp message is kept until the
// expiry job's horizon passes it.
func TestHandledInboundExpires(t *testing.T) {
	db := storagetest.DB(t)
	ctx := context.Background()
	// Long ago, so that the expiry touches no other test's rows; both are
	// handled, so that no other test's bot takes them for its own.
	at := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	var older, newer core.InboundMessage
	for i, m := range []*core.InboundMessage{&older, &newer} {
		*m = core.InboundMessage{ID: core.NewToken(), Person: "1@lid", Payload: []byte{1}, ReceivedAt: at}
		if fresh, err := db.SaveInbound(ctx, m); err != nil || !fresh {
			t.Fatalf("save: %v %v", fresh, err)
		}
		if err := db.InboundHandled(ctx, m.Seq, at.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_, _ = db.Pool.Exec(ctx, `DELETE FROM whatsapp_inbox WHERE id IN ($1, $2)`, older.ID, newer.ID)
	})
	kept := func() []string {
		t.Helper()
		rows, err := db.Pool.Query(ctx, `SELECT id FROM whatsapp_inbox WHERE id IN ($1, $2) ORDER BY seq`, older.ID, newer.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if _, _, err := db.DeleteExpired(ctx, at); err != nil {
		t.Fatal(err)
	}
	if got := kept(); len(got) != 2 {
		t.Fatalf("before the horizon kept %v, want both", got)
	}
	if _, _, err := db.DeleteExpired(ctx, at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := kept(); len(got) != 1 || got[0] != newer.ID {
		t.Fatalf("after the horizon kept %v, want only %s", got, newer.ID)
	}
}
