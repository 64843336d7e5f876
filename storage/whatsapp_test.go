package storage_test

import (
	"context"
	"reflect"
	"testing"

	"edobot/core"
	"edobot/core/coretest"
	"edobot/storage"
)

// TestWhatsAppMenu: a chat's last menu is replaced, not merged, and a chat
// never shown one has none.
func TestWhatsAppMenu(t *testing.T) {
	f := coretest.New(t)
	ctx := context.Background()
	u, err := f.Svc.ChatUser(ctx, core.ChannelWhatsApp, "77011234567@s.whatsapp.net", "Дана", "ru")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := f.DB.Menu(ctx, u.ID); err != nil || len(m) != 0 {
		t.Fatalf("new chat's menu = %v, %v", m, err)
	}
	first := []storage.MenuChoice{{Label: "✍️ Подписать", Data: "d.x.1.sg"}, {Label: "🏠 Меню", Data: "m"}}
	if err := f.DB.SaveMenu(ctx, u.ID, first); err != nil {
		t.Fatal(err)
	}
	if m, err := f.DB.Menu(ctx, u.ID); err != nil || !reflect.DeepEqual(m, first) {
		t.Fatalf("menu = %v, %v; want %v", m, err, first)
	}
	second := []storage.MenuChoice{{Label: "Отмена", Data: "w.3.cancel"}}
	if err := f.DB.SaveMenu(ctx, u.ID, second); err != nil {
		t.Fatal(err)
	}
	if m, err := f.DB.Menu(ctx, u.ID); err != nil || !reflect.DeepEqual(m, second) {
		t.Fatalf("menu = %v, %v; want %v", m, err, second)
	}
	if err := f.DB.SaveMenu(ctx, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	if m, err := f.DB.Menu(ctx, u.ID); err != nil || len(m) != 0 {
		t.Fatalf("emptied menu = %v, %v", m, err)
	}
}
