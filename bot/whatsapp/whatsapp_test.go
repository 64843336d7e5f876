package whatsapp_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"edobot/bot/flow"
	"edobot/bot/i18n"
	"edobot/bot/whatsapp"
	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/egov"
	"edobot/core/pdfintake"
	"edobot/core/pdfintake/pdftest"
	"edobot/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// keepInbox has the fixture's service keep received messages until
// handled, once: a bot built after it replays what a stopped one left.
func keepInbox(f *storagetest.Fixture) {
	if f.Deps.Inbox == nil {
		f.Wire(func(d *core.Deps) { d.Inbox = f.DB })
	}
}

// keepOutreach has the fixture's service keep the cold-outreach budgets.
func keepOutreach(f *storagetest.Fixture) {
	if f.Deps.Outreach == nil {
		f.Wire(func(d *core.Deps) { d.Outreach = f.DB })
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startBot runs a WhatsApp bot over a client and the test database until
// the test ends. A second bot over the same database is a restart.
func startBot(t testing.TB, f *storagetest.Fixture, c whatsapp.Client, publicURL string) *whatsapp.Bot {
	t.Helper()
	keepInbox(f)
	b := whatsapp.New(c, whatsapp.Config{LIDs: lidsOf(c), Phone: "77000000001", Workers: 4}, flow.Flow{
		Service: f.Svc, Cat: i18n.MustNew(), PublicURL: publicURL, Log: quiet,
		Egov: egov.DefaultLinks,
	})
	run(t, b)
	if fc, ok := c.(*fakeClient); ok {
		fc.waitConnected(t)
	}
	return b
}

// run runs a bot until the test ends.
func run(t testing.TB, b *whatsapp.Bot) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func contains(parts ...string) func(sentMessage) bool {
	return func(m sentMessage) bool {
		for _, p := range parts {
			if !strings.Contains(m.Text(), p) {
				return false
			}
		}
		return true
	}
}

// say sends a message from a person and waits for the answer that
// satisfies cond.
func say(t testing.TB, c *fakeClient, p person, e *events.Message, cond func(sentMessage) bool) sentMessage {
	t.Helper()
	n := len(c.messages(p.JID))
	c.emit(e)
	return c.wait(t, p.JID, n, cond)
}

// TestNumberedMenus: screens become numbered text, a number or a word picks
// a choice, and the numbers survive a restart because they live in
// PostgreSQL.
func TestNumberedMenus(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := newFake()
	startBot(t, f, fc, "http://edobot.test")
	phone := newPhone()
	dana := newPerson(phone, "Дана")

	m := say(t, fc, dana, dana.text("/start"), contains("Здравствуйте, Дана", "подтвердите личность"))
	text := m.Text()
	if !strings.Contains(text, "\n\n1. 🔑 Войти с ЭЦП\n2. 🌐 Язык") {
		t.Fatalf("menu not numbered:\n%s", text)
	}
	// The chat user is the person's JID without a device, with the phone.
	u, err := f.DB.ChatUserByHandle(context.Background(), core.ChannelWhatsApp, "", phone)
	if err != nil || u.ExternalID != phone[1:]+"@s.whatsapp.net" || u.Language != "ru" || u.Name != "Дана" {
		t.Fatalf("chat user = %+v, %v", u, err)
	}

	// «1» signs in: eGov links come as text lines, the QR as a choice.
	m = say(t, fc, dana, dana.text("1"), contains("eGov"))
	for _, want := range []string{"📱 eGov Mobile: https://m.egov.kz/mobileSign/?link=", "💻 NCALayer: http://edobot.test/auth/", "1. 🔳 QR"} {
		if !strings.Contains(m.Text(), want) {
			t.Fatalf("no %q in\n%s", want, m.Text())
		}
	}
	// The QR is an image with its caption.
	m = say(t, fc, dana, dana.extText("1."), func(m sentMessage) bool { return m.Msg.GetImageMessage() != nil })
	if img := m.Msg.GetImageMessage(); img.GetMimetype() != "image/png" || img.GetFileLength() == 0 || img.GetDirectPath() == "" {
		t.Fatalf("qr image = %+v", img)
	}

	// A word of a label picks it, case and icons aside.
	m = say(t, fc, dana, dana.text("меню"), contains("1. 🔑 Войти с ЭЦП"))
	m = say(t, fc, dana, dana.text("2"), contains("1. Қазақша\n2. Русский\n3. English"))

	// A restart: a new bot over the same database understands «3». The menu
	// is stored just after it is sent; the new bot starts once it is.
	waitMenu(t, f, u.ID, "English")
	fc2 := newFake()
	startBot(t, f, fc2, "http://edobot.test")
	say(t, fc2, dana, dana.text("3"), contains("Language: English."))
	// Words in another language, and a number out of range is text.
	say(t, fc2, dana, dana.text("Language"), contains("1. Қазақша"))
	say(t, fc2, dana, dana.text("русский"), contains("Язык: русский."))
	say(t, fc2, dana, dana.text("/lang"), contains("3. English"))
	m = say(t, fc2, dana, dana.text("7"), func(sentMessage) bool { return true })
	if strings.Contains(m.Text(), "Language: English") || strings.Contains(m.Text(), "Язык: русский.") {
		t.Fatalf("«7» of a three-line menu was taken as a choice: %q", m.Text())
	}
}

// waitMenu waits until the chat's stored menu has a choice labelled label.
func waitMenu(t testing.TB, f *storagetest.Fixture, chatUserID int64, label string) {
	t.Helper()
	for deadline := time.Now().Add(coretest.Patience); ; time.Sleep(10 * time.Millisecond) {
		menu, err := f.DB.Menu(context.Background(), chatUserID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(menu), label) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the stored menu %s", label, menu)
		}
	}
}

// boundPerson is a WhatsApp user who proved an IIN of the fixture's sender.
func boundPerson(t testing.TB, f *storagetest.Fixture, phone, name string) person {
	t.Helper()
	p := newPerson(phone, name)
	ctx := context.Background()
	u, err := f.Svc.ChatUser(ctx, core.ChannelWhatsApp, p.JID.String(), name, "ru")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.DB.BindChatUser(ctx, u.ID, storagetest.RandomIIN(), f.Sender.OrgID, time.Now()); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDocuments: what WhatsApp declares of a document is checked before
// anything is downloaded; a real PDF is downloaded and starts a document.
func TestDocuments(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := newFake()
	startBot(t, f, fc, "http://edobot.test")
	cat := i18n.MustNew()
	asel := boundPerson(t, f, newPhone(), "Асель")

	tooLarge := cat.Error("ru", pdfintake.ErrTooLarge)
	say(t, fc, asel, asel.document(fc.put([]byte("%PDF-1.7")), "Большой.pdf", "application/pdf", 16<<20), contains(tooLarge))
	notPDF := cat.Error("ru", pdfintake.ErrNotPDF)
	say(t, fc, asel, asel.document(fc.put([]byte("\x89PNG")), "scan.png", "image/png", 1000), contains(notPDF))
	if n := fc.downloadCount(); n != 0 {
		t.Fatalf("%d downloads of refused files", n)
	}
	// What is downloaded is checked again: a "PDF" that is not one.
	fake := []byte("this is not a PDF at all")
	say(t, fc, asel, asel.document(fc.put(fake), "Договор.pdf", "application/pdf", uint64(len(fake))), contains("⚠️"))

	pdf := pdftest.PDF(2)
	m := say(t, fc, asel, asel.document(fc.put(pdf), "Договор.pdf", "application/pdf", uint64(len(pdf))),
		contains("Файл принят: Договор.pdf (2 стр.)"))
	if !strings.Contains(m.Text(), ". ➕ Новый получатель") {
		t.Fatalf("no numbered new party in\n%s", m.Text())
	}
	// A word picks the choice; then typed text is the answer.
	say(t, fc, asel, asel.text("Новый получатель"), contains("ИИН или БИН"))
	say(t, fc, asel, asel.text(storagetest.RandomBIN()), contains("наименование"))

	// A photo is not a PDF; a voice message cannot be used; a reaction
	// needs no answer.
	say(t, fc, asel, &events.Message{Info: asel.info(), Message: &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
		Mimetype: proto.String("image/jpeg")}}}, contains(cat.Text("ru", "chat.photo_not_pdf", nil)))
	say(t, fc, asel, &events.Message{Info: asel.info(), Message: &waE2E.Message{AudioMessage: &waE2E.AudioMessage{}}},
		contains(cat.Text("ru", "chat.unsupported", nil)))
}

// TestIgnored: groups, status updates and the bot's own messages get no
// answer.
func TestIgnored(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := newFake()
	startBot(t, f, fc, "http://edobot.test")
	p := newPerson(newPhone(), "Ерлан")
	group := types.NewJID("120363000000000001", types.GroupServer)

	e := p.text("/start")
	e.Info.Chat, e.Info.IsGroup = group, true
	fc.emit(e)
	e = p.text("/start")
	e.Info.Chat = types.StatusBroadcastJID
	fc.emit(e)
	e = p.text("/start")
	e.Info.IsFromMe = true
	fc.emit(e)
	// Once a later message of the same person is answered, the earlier
	// ones were handled too: one person's messages go in order.
	say(t, fc, p, p.text("/start"), contains("Здравствуйте"))
	if n := len(fc.messages(group)); n != 0 {
		t.Fatalf("%d messages to a group", n)
	}
	if n := len(fc.messages(p.JID)); n != 1 {
		t.Fatalf("%d answers, want 1", n)
	}
}

// TestSession: a logged-out or banned session is reported on /readyz; a
// disconnection is once it lasts longer than whatsmeow needs to reconnect.
func TestSession(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := newFake()
	clock := coretest.NewClock()
	b := whatsapp.New(fc, whatsapp.Config{Phone: "77000000001", Workers: 4, Clock: clock},
		flow.Flow{Service: f.Svc, Cat: i18n.MustNew(), Log: quiet})
	run(t, b)
	fc.waitConnected(t)
	ctx := context.Background()
	fc.emit(&events.Connected{})
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	fc.emit(&events.Receipt{MessageSource: types.MessageSource{Sender: newPerson(newPhone(), "").JID},
		MessageIDs: []types.MessageID{"X"}, Type: types.ReceiptTypeRead})
	fc.emit(&events.Disconnected{})
	clock.Advance(2 * time.Minute) // the default ReconnectAfter
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("a disconnection of ReconnectAfter made the bot unready: %v", err)
	}
	clock.Advance(time.Microsecond)
	if err := b.Ready(ctx); err == nil || !strings.Contains(err.Error(), "disconnected since") {
		t.Fatalf("ready after a long disconnection: %v", err)
	}
	fc.emit(&events.Connected{})
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("ready once connected again: %v", err)
	}
	fc.emit(&events.LoggedOut{Reason: events.ConnectFailureLoggedOut})
	if err := b.Ready(ctx); err == nil || !strings.Contains(err.Error(), "logged out") {
		t.Fatalf("ready after logout: %v", err)
	}
	b.Linked("77000000001")
	fc.emit(&events.TemporaryBan{Code: events.TempBanSentToTooManyPeople, Expire: time.Hour})
	if err := b.Ready(ctx); err == nil || !strings.Contains(err.Error(), "banned") {
		t.Fatalf("ready after a ban: %v", err)
	}
	unlinked := whatsapp.New(newFake(), whatsapp.Config{}, flow.Flow{Service: f.Svc, Cat: i18n.MustNew(), Log: quiet})
	if err := unlinked.Ready(ctx); err == nil || unlinked.StartLink("x") != "" {
		t.Fatalf("an unlinked bot: ready %v, start link %q", err, unlinked.StartLink("x"))
	}
	if got := b.StartLink("tok"); got != "https://wa.me/77000000001?text=%2Fstart+tok" {
		t.Fatalf("start link %q", got)
	}
}

// TestQRHandler: the current pairing code is served as a PNG, only with
// the admin token.
func TestQRHandler(t *testing.T) {
	h := whatsapp.QRHandler("admin-token-123", func() string { return "2@abc,def,ghi" })
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/admin/whatsapp/qr.png", nil)
	r.Header.Set("Authorization", "Bearer admin-token-123")
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" || !bytes.HasPrefix(rec.Body.Bytes(), []byte("\x89PNG")) {
		t.Fatalf("qr: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	rec = httptest.NewRecorder()
	r.Header.Set("Authorization", "Bearer admin-token-12")
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", rec.Code)
	}
}

// TestNumbersThatAreAnswers: where a document number is asked for, "1" is
// the number; a notification arriving mid-way numbers its choices after the
// menu being answered instead of taking its numbers over.
func TestNumbersThatAreAnswers(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := newFake()
	b := startBot(t, f, fc, "http://edobot.test")
	ctx := context.Background()
	phone := newPhone()
	asel := boundPerson(t, f, phone, "Асель")
	pdf := pdftest.PDF(1)
	say(t, fc, asel, asel.document(fc.put(pdf), "a.pdf", "application/pdf", uint64(len(pdf))), contains("Файл принят"))
	say(t, fc, asel, asel.text("Новый получатель"), contains("ИИН или БИН"))
	say(t, fc, asel, asel.text(storagetest.RandomBIN()), contains("наименование"))
	say(t, fc, asel, asel.text("ТОО «Один»"), contains("@username"))
	m := say(t, fc, asel, asel.text("пропустить"), contains("тип документа"))
	if !strings.Contains(m.Text(), "4. Договор") {
		t.Fatalf("type menu:\n%s", m.Text())
	}

	// A notification of another document arrives now, once the type menu
	// is stored (just after it was sent).
	u, err := f.DB.ChatUserByHandle(ctx, core.ChannelWhatsApp, "", phone)
	if err != nil {
		t.Fatal(err)
	}
	waitMenu(t, f, u.ID, "Договор")
	n := len(fc.messages(asel.JID))
	if err := b.Deliver(ctx, u, []flow.Screen{{Text: "уведомление", Buttons: [][]flow.Button{{{Label: "Скачать", Data: "d.x.1.dl"}}}}}); err != nil {
		t.Fatal(err)
	}
	note := fc.wait(t, asel.JID, n, contains("уведомление"))
	if !strings.Contains(note.Text(), "9. Скачать") {
		t.Fatalf("the notification's choice should follow the eight of the menu:\n%s", note.Text())
	}
	// «4» is still «Договор».
	say(t, fc, asel, asel.text("4"), contains("номер документа"))
	// «1» is the document's number, not «Отмена».
	m = say(t, fc, asel, asel.text("1"), contains("Дата документа"))
	say(t, fc, asel, asel.text("сегодня"), contains("Проверьте", "№1"))
}
