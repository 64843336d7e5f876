package telegram_test

import (
	"context"
	"strconv"
	"testing"

	"edobot/bot/telegram/tgtest"
	"edobot/core"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// TestDemoMarkInTheChat: a document of `edobot demo` is marked as a demo on
// its card and in its notifications, in the chat's language.
func TestDemoMarkInTheChat(t *testing.T) {
	s := newStackWith(t, func(f *storagetest.Fixture) {
		f.Wire(func(deps *core.Deps) { deps.Demo = true })
	})
	ctx := context.Background()
	for _, c := range []struct{ lang, mark string }{
		{"ru", "🧪 ДЕМО · "},
		{"kk", "🧪 ДЕМО · "},
		{"en", "🧪 DEMO · "},
	} {
		u := tgtest.NewUser("Айгерим", "", "ru")
		key := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: s.f.Sender.Number, Surname: "ОМАРОВА", Name: "АЙГЕРИМ"},
			sigtest.GOST2015, s.nca.Cert)
		s.signIn(t, u, key)
		if c.lang != "ru" {
			if _, err := s.f.DB.Pool.Exec(ctx, `UPDATE chat_users SET language = $1 WHERE channel = 'telegram' AND external_id = $2`,
				c.lang, strconv.FormatInt(u.ID, 10)); err != nil {
				t.Fatal(err)
			}
		}
		d := s.f.Create(t)
		if !d.Demo {
			t.Fatal("the demo service made a document that is not a demo one")
		}
		card := s.tg.Say(t, u, "/search "+d.Number, has(d.Number))
		card = s.tg.Tap(t, u, card, d.Number, has(d.Number))
		if !has(c.mark)(card) {
			t.Fatalf("the card of a demo document (%s) is not marked: %q", c.lang, card.Text)
		}
		if _, _, err := s.f.Svc.Sign(ctx, d.ID, storagetest.Signature(s.f.Recipient.Number), "test"); err != nil {
			t.Fatal(err)
		}
		s.tg.Wait(t, u.ID, func(m tgtest.Message) bool { return m.ID != card.ID && has(c.mark, d.Number)(m) })
	}
}
