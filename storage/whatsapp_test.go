package storage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"edobot/core"
	"edobot/storage/storagetest"
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
