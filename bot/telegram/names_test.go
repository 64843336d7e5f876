package telegram_test

import (
	"testing"

	"edobot/bot/telegram/tgtest"
	"edobot/core"
	"edobot/core/card"
	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// TestDownloadNamesInTheChat: a PDF sent to the bot comes back under its
// own name; the card is named around it in the chat's language (the web
// test names it in Kazakh and English too).
func TestDownloadNamesInTheChat(t *testing.T) {
	s := newStackWith(t, func(f *storagetest.Fixture) {
		f.Wire(func(deps *core.Deps) { deps.Cards, deps.Downloads = card.Renderer, f.DB })
	})
	u := tgtest.NewUser("Айгерим", "", "ru")
	key := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: s.f.Sender.Number, Surname: "ОМАРОВА", Name: "АЙГЕРИМ"},
		sigtest.GOST2015, s.nca.Cert)
	s.signIn(t, u, key)

	n := len(s.tg.Messages(u.ID))
	s.tg.SendDocument(u, "Акт сверки №7 «итог».pdf", "application/pdf", pdftest.PDF(1))
	m := s.tg.After(t, u.ID, n, has("Файл принят"))
	m = s.tg.Tap(t, u, m, "Новый получатель", has("ИИН или БИН"))
	m = s.tg.Say(t, u, storagetest.RandomBIN(), has("наименование"))
	m = s.tg.Say(t, u, "ТОО «Б»", has("@username"))
	m = s.tg.Tap(t, u, m, "Пропустить", has("тип документа"))
	m = s.tg.Tap(t, u, m, "Акт сверки", has("номер"))
	m = s.tg.Say(t, u, "АС-7", has("Дата"))
	m = s.tg.Say(t, u, "28.02.2026", has("Проверьте"))
	card := s.tg.Tap(t, u, m, "Создать", has("Документ создан"))

	dl := s.tg.Tap(t, u, card, "Скачать", has("Что скачать?"))
	for _, c := range []struct{ button, name string }{
		{"Оригинал", "Акт сверки №7 «итог».pdf"},
		{"Электронная карточка", "Карточка — Акт сверки №7 «итог».pdf"},
	} {
		n := len(s.tg.Messages(u.ID))
		s.tg.Press(u, dl.ID, tgtest.ButtonOf(t, dl, c.button).Data)
		got := s.tg.After(t, u.ID, n, func(m tgtest.Message) bool { return m.Document != nil })
		if got.Document.Name != c.name {
			t.Errorf("%s came as %q, want %q", c.button, got.Document.Name, c.name)
		}
	}
}
