package telegram_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"edobot/bot/telegram/tgtest"
	"edobot/core"
	"edobot/core/prefill/prefilltest"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// contractPDF is a contract between the sender and a counterparty, its
// requisites on the last page, without the counterparty's phone.
func contractPDF(number, date, sender, senderBIN, counterparty, counterBIN string) []byte {
	return prefilltest.PDF(
		prefilltest.Page{Title: "ДОГОВОР ОКАЗАНИЯ УСЛУГ № " + number, Lines: []string{
			"г. Алматы    " + date,
			sender + ", именуемое в дальнейшем «Исполнитель», в лице директора, с одной стороны, и " + counterparty +
				", именуемое в дальнейшем «Заказчик», с другой стороны, заключили настоящий договор:",
			"1. Исполнитель оказывает услуги по доставке, Заказчик принимает и оплачивает их.",
		}},
		prefilltest.Page{Lines: []string{"РЕКВИЗИТЫ СТОРОН"},
			Left:  []string{sender, "БИН " + senderBIN, "ИИК KZ926010131000123456", "Тел.: +7 727 300 00 00"},
			Right: []string{counterparty, "БИН " + counterBIN, "ИИК KZ926010131000654321"}},
	)
}

// TestPrefillTaps: a PDF whose text names everything is one question. A
// new counterparty takes three taps from the PDF to a shared link («Создать
// и поделиться», «Пропустить» the optional phone, a share button); a known
// one two («Создать и поделиться», a share button).
func TestPrefillTaps(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	bin, counterBIN := storagetest.RandomBIN(), storagetest.RandomBIN()
	key := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: bin, Surname: "ӘБДІҚАДЫРОВ", Name: "ҒАЛЫМЖАН",
		Organisation: "ТОО «Ромашка»"}, sigtest.GOST2015, s.nca.Cert)
	manager := tgtest.NewUser("Асель", "", "ru")
	s.signIn(t, manager, key)
	org := mustOrg(t, s, bin)

	// A new counterparty: the proposal, then the optional phone.
	n := len(s.tg.Messages(manager.ID))
	s.tg.SendDocument(manager, "Договор.pdf", "application/pdf",
		contractPDF("12/2026", "1 ноября 2026 г.", "ТОО «Ромашка»", bin, "ТОО «Лютик»", counterBIN))
	m := s.tg.After(t, manager.ID, n, has("Договор №12/2026 от 01.11.2026 с ТОО «Лютик» (БИН "+counterBIN+")?"))
	taps := 0
	tap := func(m tgtest.Message, label string, cond func(tgtest.Message) bool) tgtest.Message {
		taps++
		return s.tg.Tap(t, manager, m, label, cond)
	}
	m = tap(m, "Создать и поделиться", has("@username"))
	tap(m, "Пропустить", has("Документ создан"))
	share := s.tg.After(t, manager.ID, n, has("Ссылка для получателя"))
	if b := tgtest.ButtonOf(t, share, "WhatsApp"); !strings.Contains(b.URL, "wa.me") {
		t.Fatalf("share button %+v", b)
	}
	taps++ // the share button: a link the messenger opens, no call to the bot
	if taps != 3 {
		t.Fatalf("a new counterparty took %d taps, want 3", taps)
	}
	docs, err := s.f.DB.ListFolder(ctx, core.Actor{OrgID: org.ID, Number: org.Number}, core.FolderOutgoing, core.FolderQuery{Limit: 10})
	if err != nil || len(docs) != 1 {
		t.Fatalf("documents: %v %v", docs, err)
	}
	d := docs[0]
	if d.Type != core.TypeContract || d.Number != "12/2026" || !d.Date.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) ||
		d.RecipientNumber != counterBIN || d.RecipientName != "ТОО «Лютик»" {
		t.Fatalf("created %+v", d)
	}

	// The same counterparty again, now in the directory: no question.
	taps = 0
	n = len(s.tg.Messages(manager.ID))
	s.tg.SendDocument(manager, "Договор 2.pdf", "application/pdf",
		contractPDF("13/2026", "02.11.2026", "ТОО «Ромашка»", bin, "ТОО «Лютик»", counterBIN))
	m = s.tg.After(t, manager.ID, n, has("Договор №13/2026 от 02.11.2026 с ТОО «Лютик»"))
	tap(m, "Создать и поделиться", has("Документ создан"))
	share = s.tg.After(t, manager.ID, n, has("Ссылка для получателя"))
	tgtest.ButtonOf(t, share, "WhatsApp")
	taps++
	if taps != 2 {
		t.Fatalf("a known counterparty took %d taps, want 2", taps)
	}
}

// TestPrefillEditAndScan: «Изменить» opens today's wizard with the proposal
// offered at each step; a scan without text gets today's questions.
func TestPrefillEditAndScan(t *testing.T) {
	s := newStack(t)
	bin, counterBIN := storagetest.RandomBIN(), storagetest.RandomBIN()
	key := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: bin, Surname: "ӘБДІҚАДЫРОВ", Name: "ҒАЛЫМЖАН",
		Organisation: "ТОО «Ромашка»"}, sigtest.GOST2015, s.nca.Cert)
	manager := tgtest.NewUser("Асель", "", "ru")
	s.signIn(t, manager, key)

	n := len(s.tg.Messages(manager.ID))
	s.tg.SendDocument(manager, "Договор.pdf", "application/pdf",
		contractPDF("7", "01.11.2026", "ТОО «Ромашка»", bin, "ТОО «Лютик»", counterBIN))
	m := s.tg.After(t, manager.ID, n, has("Договор №7 от 01.11.2026 с ТОО «Лютик»"))
	m = s.tg.Tap(t, manager, m, "Изменить", has("Выберите получателя"))
	m = s.tg.Tap(t, manager, m, "ТОО «Лютик» · "+counterBIN, has("тип документа"))
	m = s.tg.Tap(t, manager, m, "📄 Договор", has("номер"))
	m = s.tg.Say(t, manager, "7-А", has("Дата"))
	m = s.tg.Tap(t, manager, m, "📄 01.11.2026", has("Проверьте", "7-А", "ТОО «Лютик»", counterBIN))
	s.tg.Tap(t, manager, m, "Создать", has("Документ создан"))

	// A scan: nothing to read, the questions of every day.
	n = len(s.tg.Messages(manager.ID))
	s.tg.SendDocument(manager, "Скан.pdf", "application/pdf", prefilltest.Scan())
	m = s.tg.After(t, manager.ID, n, has("Файл принят"))
	tgtest.ButtonOf(t, m, "Новый получатель")
}
