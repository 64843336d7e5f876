package telegram_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"edobot/bot/telegram/tgtest"
	"edobot/core"
	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// newSignedIn is a stack with a person signed in for the fixture's sender.
func newSignedIn(t *testing.T, lang string) (*stack, tgtest.User) {
	t.Helper()
	s := newStack(t)
	u := tgtest.NewUser("Айгерим", "", lang)
	key := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: s.f.Sender.Number, Surname: "ОМАРОВА", Name: "АЙГЕРИМ"},
		sigtest.GOST2015, s.nca.Cert)
	s.signIn(t, u, key)
	return s, u
}

// waitBare waits until the message id of the chat has no buttons left.
func waitBare(t *testing.T, s *stack, chat int64, id int) {
	t.Helper()
	s.tg.Wait(t, chat, func(m tgtest.Message) bool { return m.ID == id && len(m.Buttons) == 0 })
}

// TestNavigationEditsInPlace: taps on menus, folders and cards redraw the
// message the button is on; typed input gets a new screen, and the one
// before loses its buttons; a file comes as a message of its own.
func TestNavigationEditsInPlace(t *testing.T) {
	s, u := newSignedIn(t, "ru")
	d := s.f.Create(t)

	menu := s.tg.Say(t, u, "/menu", has("Отправьте PDF"))
	n := len(s.tg.Messages(u.ID))
	list := s.tg.Tap(t, u, menu, "Исходящие", func(m tgtest.Message) bool { return countPrefix(m, "🆕") == 1 })
	card := s.tg.Tap(t, u, list, d.Number, has("Статус: 🆕 Создан"))
	dl := s.tg.Tap(t, u, card, "Скачать", has("Что скачать?"))
	card = s.tg.Tap(t, u, dl, "Назад", has("Статус: 🆕 Создан"))
	if list.ID != menu.ID || card.ID != menu.ID || dl.ID != menu.ID || len(s.tg.Messages(u.ID)) != n {
		t.Fatalf("navigation sent new messages: menu %d, list %d, card %d; %d messages, want %d",
			menu.ID, list.ID, card.ID, len(s.tg.Messages(u.ID)), n)
	}

	// A file is something new: a message of its own; the card stays live.
	dl = s.tg.Tap(t, u, card, "Скачать", has("Что скачать?"))
	s.tg.Press(u, dl.ID, tgtest.ButtonOf(t, dl, "Оригинал").Data)
	s.tg.After(t, u.ID, n, func(m tgtest.Message) bool { return m.Document != nil })

	// Typed input answers with a new screen; the old one loses its buttons.
	s.tg.Say(t, u, d.Number, has("найдено 1"))
	waitBare(t, s, u.ID, menu.ID)

	// The wizard's steps: a tap edits, typed text moves on to a new message.
	n = len(s.tg.Messages(u.ID))
	s.tg.SendDocument(u, "Договор поставки.pdf", "application/pdf", pdftest.PDF(1))
	step := s.tg.After(t, u.ID, n, has("Файл принят"))
	ask := s.tg.Tap(t, u, step, "Новый получатель", has("ИИН или БИН"))
	if ask.ID != step.ID {
		t.Fatal("a wizard step came as a new message")
	}
	s.tg.Say(t, u, storagetest.RandomBIN(), has("наименование"))
	waitBare(t, s, u.ID, step.ID)
}

// TestCreateOnceAndTwice: «Создать» answers with one card carrying the
// ways to share it; a second quick tap shows the same document, and makes
// no second one.
func TestCreateOnceAndTwice(t *testing.T) {
	s, u := newSignedIn(t, "ru")
	n := len(s.tg.Messages(u.ID))
	s.tg.SendDocument(u, "a.pdf", "application/pdf", pdftest.PDF(1))
	m := s.tg.After(t, u.ID, n, has("Файл принят"))
	m = s.tg.Tap(t, u, m, "Новый получатель", has("ИИН или БИН"))
	m = s.tg.Say(t, u, storagetest.RandomBIN(), has("наименование"))
	m = s.tg.Say(t, u, "ТОО «Б»", has("@username"))
	m = s.tg.Tap(t, u, m, "Пропустить", has("тип документа"))
	m = s.tg.Tap(t, u, m, "Акт сверки", has("номер"))
	m = s.tg.Say(t, u, "АС-7", has("Дата"))
	m = s.tg.Say(t, u, "28.02.2026", has("Проверьте"))

	b := tgtest.ButtonOf(t, m, "Создать")
	n = len(s.tg.Messages(u.ID))
	first := s.tg.Press(u, m.ID, b.Data)
	second := s.tg.Press(u, m.ID, b.Data)
	s.tg.WaitAnswered(t, first)
	s.tg.WaitAnswered(t, second)
	s.tg.Say(t, u, "/menu", has("Отправьте PDF"))
	card := s.tg.Messages(u.ID)
	var got tgtest.Message
	for _, x := range card {
		if x.ID == m.ID {
			got = x
		}
	}
	if !has("Документ создан", "АС-7", "Ссылка для получателя")(got) || strings.Contains(got.Text, "устарела") {
		t.Fatalf("the confirm screen became %q", got.Text)
	}
	for _, x := range card[n:] {
		if strings.Contains(x.Text, "Ссылка для получателя") || strings.Contains(x.Text, "устарела") {
			t.Fatalf("a second screen after «Создать»: %q", x.Text)
		}
	}
	tgtest.ButtonOf(t, got, "Отправить получателю")
	tgtest.ButtonOf(t, got, "Подписать")
	for _, row := range got.Buttons {
		for _, x := range row {
			if strings.Contains(x.Text, "Поделиться") || strings.Contains(x.Text, "Назад") {
				t.Fatalf("the new card offers %q", x.Text)
			}
		}
	}
}

// TestDoubleSignOneSession: two taps on «Подписать» offer one eGov session.
func TestDoubleSignOneSession(t *testing.T) {
	s, u := newSignedIn(t, "ru")
	d := s.f.Create(t)
	card := s.tg.Say(t, u, "/search "+d.Number, has("найдено 1"))
	card = s.tg.Tap(t, u, card, d.Number, has("Статус: 🆕 Создан"))
	sign := tgtest.ButtonOf(t, card, "Подписать")
	s.settle(t, u, s.tg.Press(u, card.ID, sign.Data))
	s.settle(t, u, s.tg.Press(u, card.ID, sign.Data))
	var sessions int
	if err := s.f.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM egov_sessions WHERE document_id = $1`, d.ID).Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	if sessions != 1 {
		t.Fatalf("two taps on «Подписать» opened %d eGov sessions", sessions)
	}
}

// TestNoNotificationToTheActor: the chat that revoked a document sees the
// revoked card in its reply and is not told again; a colleague's chat is.
func TestNoNotificationToTheActor(t *testing.T) {
	s, u := newSignedIn(t, "ru")
	colleague := tgtest.NewUser("Ерлан", "", "ru")
	key := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: s.f.Sender.Number, Surname: "ЕРЛАНОВ", Name: "ЕРЛАН"},
		sigtest.GOST2015, s.nca.Cert)
	s.signIn(t, colleague, key)
	d := s.f.Create(t)
	if _, _, err := s.f.Svc.Sign(context.Background(), d.ID, storagetest.Signature(s.f.Sender.Number), "test"); err != nil {
		t.Fatal(err)
	}
	card := s.tg.Say(t, u, "/search "+d.Number, has("найдено 1"))
	card = s.tg.Tap(t, u, card, d.Number, has("На подписании"))
	card = s.tg.Tap(t, u, card, "Отозвать", has("Отозвать «"))
	s.tg.Tap(t, u, card, "Да", has("Статус: ⛔ Отозван"))
	s.tg.Wait(t, colleague.ID, has("отозвал", d.Number))
	s.waitIdle(t)
	n := 0
	for _, m := range s.tg.Messages(u.ID) {
		if strings.Contains(m.Text, "отозвал(а) документ") {
			n++
		}
	}
	if n != 0 {
		t.Fatalf("the revoker's chat was told of its own revoke %d times", n)
	}
}

// TestLoginWhenSignedIn: «Войти с ЭЦП» for a person signed in already says
// so, and offers to sign in for another organisation.
func TestLoginWhenSignedIn(t *testing.T) {
	s, u := newSignedIn(t, "ru")
	m := s.tg.Say(t, u, "/login", has("Вы уже вошли", s.f.Sender.Number))
	s.tg.Tap(t, u, m, "Сменить организацию", has("Подпишите запрос на вход"))
}

// TestRecipientReasons: «Отправить получателю» tells a person who never
// wrote to the bot from a phone the bot cannot match to a chat; the card
// tells the file's size exactly, in the chat's language; a date out of
// range is refused naming the range.
func TestRecipientReasons(t *testing.T) {
	s, u := newSignedIn(t, "ru")
	ctx := context.Background()
	for _, c := range []struct {
		recipient func(*core.PartyInput)
		want      string
	}{
		{func(p *core.PartyInput) { p.Telegram = "@never_wrote_" + storagetest.RandomIIN()[:6] }, "ещё не писал"},
		{func(p *core.PartyInput) { p.Phone = "+7701" + storagetest.RandomIIN()[:7] }, "по номеру телефона"},
	} {
		in := s.f.NewDocument()
		in.Recipient = core.PartyInput{Kind: core.PartyCounterparty, Number: storagetest.RandomBIN(), Name: "ТОО «Где-то»"}
		c.recipient(&in.Recipient)
		d, err := s.f.Svc.CreateDocument(ctx, s.f.Sender, in, bytes.NewReader(s.f.PDF))
		if err != nil {
			t.Fatal(err)
		}
		card := s.tg.Say(t, u, "/search "+d.Number, has("найдено 1"))
		card = s.tg.Tap(t, u, card, d.Number, has(d.Number))
		size := strconv.Itoa(len(s.f.PDF)) + " байт"
		if len(s.f.PDF) >= 1024 {
			size = strings.Replace(strconv.FormatFloat(float64(len(s.f.PDF))/1024, 'f', 1, 64), ".", ",", 1) + " КБ"
		}
		if !strings.Contains(card.Text, size) {
			t.Fatalf("the card does not tell the size as %q: %q", size, card.Text)
		}
		share := s.tg.Tap(t, u, card, "Поделиться", has("Ссылка для получателя"))
		got := s.tg.Tap(t, u, share, "Отправить получателю", has(c.want))
		if strings.Contains(got.Text, "ещё не писал") && strings.Contains(got.Text, "по номеру телефона") {
			t.Fatalf("both reasons at once: %q", got.Text)
		}
	}

	n := len(s.tg.Messages(u.ID))
	s.tg.SendDocument(u, "a.pdf", "application/pdf", pdftest.PDF(1))
	m := s.tg.After(t, u.ID, n, has("Файл принят"))
	m = s.tg.Tap(t, u, m, "Новый получатель", has("ИИН или БИН"))
	s.tg.Say(t, u, storagetest.RandomBIN(), has("наименование"))
	m = s.tg.Say(t, u, "ТОО «Б»", has("@username"))
	m = s.tg.Tap(t, u, m, "Пропустить", has("тип документа"))
	s.tg.Tap(t, u, m, "Акт сверки", has("номер"))
	s.tg.Say(t, u, "АС-1", has("Дата"))
	s.tg.Say(t, u, "01.01.1980", has("⚠️", "с 1991 по 2100"))
}

// TestCommandsAndDescription: the bot sets its command menu and description
// in each language, Russian for the rest.
func TestCommandsAndDescription(t *testing.T) {
	s := newStack(t)
	// The profile is set before the bot takes updates.
	s.tg.Say(t, tgtest.NewUser("A", "", "en"), "/start", has("Hello"))
	for lang, want := range map[string][2]string{"": {"Главное меню", "PDF"}, "ru": {"Главное меню", "ЭЦП"},
		"kk": {"Басты мәзір", "ЭЦҚ"}, "en": {"Main menu", "EDS"}} {
		cmds := s.tg.CommandsFor(lang)
		if len(cmds) == 0 || cmds[0].Command != "start" || cmds[0].Description != want[0] {
			t.Errorf("commands for %q: %+v", lang, cmds)
		}
		if d := s.tg.DescriptionFor(lang); !strings.Contains(d, want[1]) {
			t.Errorf("description for %q: %q", lang, d)
		}
	}
}
