package whatsapp_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"edobot/bot/egovtest"
	"edobot/bot/flow"
	"edobot/bot/i18n"
	"edobot/bot/telegram"
	"edobot/bot/telegram/tgtest"
	"edobot/bot/web"
	"edobot/bot/whatsapp"
	"edobot/core"
	"edobot/core/egov"
	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/jobs"
	"edobot/storage/storagetest"
)

// numberOf is the number a numbered WhatsApp screen gives a label.
func numberOf(t testing.TB, text, label string) string {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if n, rest, ok := strings.Cut(line, ". "); ok && strings.Contains(rest, label) {
			if _, err := strconv.Atoi(n); err == nil {
				return n
			}
		}
	}
	t.Fatalf("no numbered %q in\n%s", label, text)
	return ""
}

// linkOf is the URL of a "Label: URL" line.
func linkOf(t testing.TB, text, label string) string {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if l, u, ok := strings.Cut(line, ": "); ok && strings.Contains(l, label) {
			return u
		}
	}
	t.Fatalf("no link %q in\n%s", label, text)
	return ""
}

var waLinkRe = regexp.MustCompile(`/d/([A-Za-z0-9_-]{43})`)

// TestTelegramManagerWhatsAppRecipient: a manager on Telegram creates a
// document for a counterparty known only by phone and sends it «to the
// recipient»: it arrives in the recipient's WhatsApp, who never wrote to
// the bot, with the sender and the document's name and numbered actions;
// the recipient answers with the number of «Подписать», signs through eGov
// from the link; the manager signs; both chats are told «Подписан».
func TestTelegramManagerWhatsAppRecipient(t *testing.T) {
	f := storagetest.NewFixture(t)
	root := sigtest.NewGOSTRoot(t, "NCA GOST TEST ROOT", sigtest.GOST2015)
	nca := root.IssueCA(t, "NCA GOST TEST", sigtest.GOST2015)
	f.Wire(func(deps *core.Deps) {
		deps.Verifier = &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Freshness: 15 * time.Minute}
	})
	f.Wire(func(deps *core.Deps) { deps.Egov = f.DB })

	srv := httptest.NewUnstartedServer(nil)
	ws := &web.Server{Log: quiet, Service: f.Svc}
	srv.Start()
	ws.PublicURL = srv.URL
	t.Cleanup(srv.Close)
	template := flow.Flow{Service: f.Svc, Cat: i18n.MustNew(), PublicURL: srv.URL, Log: quiet,
		Egov: egov.DefaultLinks}

	ctx, cancel := context.WithCancel(context.Background())
	fc := newFake()
	// Cold outreach is on, in the morning: the recipient never wrote.
	keepInbox(f)
	keepOutreach(f)
	wa := whatsapp.New(fc, whatsapp.Config{LIDs: fc.net, Phone: newPhone()[1:], Workers: 4,
		Cold: whatsapp.Cold{On: true}, Clock: clockAt(10)}, template)
	tgFlow := template
	tgFlow.Reach = wa.Reach
	tg := tgtest.New(t)
	tb, err := telegram.New(ctx, telegram.Config{Token: tgtest.Token, ServerURL: tg.URL, Workers: 4}, tgFlow)
	if err != nil {
		t.Fatal(err)
	}
	ws.StartLink = tb.StartLink
	srv.Config.Handler = ws.Handler()
	tgDone, waDone := make(chan struct{}), make(chan struct{})
	go func() { _ = tb.Run(ctx); close(tgDone) }()
	go func() { _ = wa.Run(ctx); close(waDone) }()

	// The notification jobs on a Redis database and queue prefix of this
	// test's own, with WhatsApp's own pacing.
	jcfg := jobs.DefaultConfig()
	jcfg.RedisDB, jcfg.QueuePrefix = 9, "watest-"+core.NewToken()[:8]+":"
	jcfg.RelayInterval, jcfg.QueuePoll, jcfg.DelayedPoll = 50*time.Millisecond, 20*time.Millisecond, 200*time.Millisecond
	runner := jobs.New(jcfg, jobs.Deps{Store: f.DB, Logger: quiet,
		Messengers: map[string]jobs.Messenger{core.ChannelTelegram: tb, core.ChannelWhatsApp: wa}})
	jobsDone, waJobsDone := make(chan struct{}), make(chan struct{})
	go func() { _ = runner.Run(ctx); close(jobsDone) }()
	go func() { _ = runner.ServeWhatsApp(ctx); close(waJobsDone) }() // this bot holds the session
	t.Cleanup(func() {
		cancel()
		<-tgDone
		<-waDone
		<-waJobsDone
		<-jobsDone
		rdb := redis.NewClient(&redis.Options{Addr: jcfg.RedisAddr, DB: jcfg.RedisDB})
		defer rdb.Close()
		keys, _ := rdb.Keys(context.Background(), "*"+jcfg.QueuePrefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	})

	bin, counterBIN := storagetest.RandomBIN(), storagetest.RandomBIN()
	managerKey := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: bin, Surname: "ӘБДІҚАДЫРОВ", Name: "ҒАЛЫМЖАН",
		Organisation: "ТОО «Ромашка»"}, sigtest.GOST2015, nca.Cert)
	counterKey := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: counterBIN, Surname: "СЕРІКОВА", Name: "ДАНА",
		Organisation: "ТОО «Лютик»"}, sigtest.GOST2015, nca.Cert)
	manager := tgtest.NewUser("Асель", "asel_manager", "ru")
	phone := newPhone()
	dana := newPerson(phone, "Дана")

	// The manager signs in on Telegram.
	menu := tg.Say(t, manager, "/start", tgtest.Has("Здравствуйте", "подтвердите личность"))
	login := tg.Tap(t, manager, menu, "ЭЦП", tgtest.Has("eGov"))
	if code, body := egovtest.Sign(t, egovtest.SessionURL(t, tgtest.ButtonOf(t, login, "eGov Mobile").URL), managerKey); code != http.StatusOK {
		t.Fatalf("sign-in: %d %s", code, body)
	}
	tg.Wait(t, manager.ID, tgtest.Has("Личность подтверждена"))

	// A new document for a counterparty known by phone only.
	n := len(tg.Messages(manager.ID))
	tg.SendDocument(manager, "Договор.pdf", "application/pdf", pdftest.PDF(2))
	m := tg.After(t, manager.ID, n, tgtest.Has("Файл принят"))
	m = tg.Tap(t, manager, m, "Новый получатель", tgtest.Has("ИИН или БИН"))
	m = tg.Say(t, manager, counterBIN, tgtest.Has("наименование"))
	m = tg.Say(t, manager, "ТОО «Лютик»", tgtest.Has("Телефон"))
	m = tg.Say(t, manager, "8 "+phone[2:5]+" "+phone[5:8]+" "+phone[8:10]+" "+phone[10:], tgtest.Has("тип документа")) // "8 701 555 12 34"
	m = tg.Tap(t, manager, m, "Договор", tgtest.Has("номер"))
	m = tg.Say(t, manager, "Д-77", tgtest.Has("Дата"))
	day := func() string { return time.Now().In(core.KazakhstanTime).Format("02.01.2006") }
	before := day()
	m = tg.Tap(t, manager, m, "Сегодня", tgtest.Has("Проверьте", "Д-77"))
	after := day() // «Сегодня» is one of these, should midnight pass meanwhile
	card := tg.Tap(t, manager, m, "Создать", tgtest.Has("Документ создан"))
	share := tg.Wait(t, manager.ID, tgtest.Has("Ссылка для получателя"))
	if waLinkRe.FindStringSubmatch(share.Text) == nil {
		t.Fatalf("no link in %q", share.Text)
	}

	// «Отправить получателю»: the number is on WhatsApp, so it goes there.
	tg.Tap(t, manager, share, "Отправить получателю", tgtest.Has("Документ отправлен в чат получателя", "ТОО «Лютик»"))
	got := fc.wait(t, dana.JID, 0, func(m sentMessage) bool {
		return contains("ТОО «Ромашка» отправил(а) вам на подпись: Договор №Д-77 от "+before)(m) ||
			contains("ТОО «Ромашка» отправил(а) вам на подпись: Договор №Д-77 от "+after)(m)
	})
	if !strings.Contains(got.Text(), "✍️ Подписать") || got.To.String() != phone[1:]+"@s.whatsapp.net" {
		t.Fatalf("the recipient got, at %s:\n%s", got.To, got.Text())
	}

	// The recipient answers with the number of «Подписать» and signs with
	// eGov from the deep link.
	m2 := say(t, fc, dana, dana.text(numberOf(t, got.Text(), "Подписать")), contains("eGov Mobile: "))
	if code, body := egovtest.Sign(t, egovtest.SessionURL(t, linkOf(t, m2.Text(), "eGov Mobile")), counterKey); code != http.StatusOK {
		t.Fatalf("recipient's signature: %d %s", code, body)
	}
	fc.wait(t, dana.JID, 0, contains("ТОО «Лютик» подписал(а) документ"))

	// The manager signs from the (now outdated) card.
	m = tg.Tap(t, manager, card, "Подписать", tgtest.Has("eGov Mobile"))
	if code, body := egovtest.Sign(t, egovtest.SessionURL(t, tgtest.ButtonOf(t, m, "eGov Mobile").URL), managerKey); code != http.StatusOK {
		t.Fatalf("manager's signature: %d %s", code, body)
	}
	tg.Wait(t, manager.ID, tgtest.Has("ТОО «Ромашка» подписал(а) документ", "Статус: ✅ Подписан"))
	done := fc.wait(t, dana.JID, 0, contains("ТОО «Ромашка» подписал(а) документ", "Статус: ✅ Подписан"))
	if !strings.Contains(done.Text(), ". ⬇️ ") {
		t.Fatalf("the recipient's last card has no numbered download:\n%s", done.Text())
	}

	// The recipient's chat is one, by JID, with the phone the manager typed.
	u, err := f.DB.ChatUserByHandle(context.Background(), core.ChannelWhatsApp, "", phone)
	if err != nil || u.ExternalID != dana.JID.String() || u.Language != "ru" {
		t.Fatalf("recipient's chat user = %+v, %v", u, err)
	}
}

// TestSendToNumberNotOnWhatsApp: a number WhatsApp does not know gets
// nothing, and the manager is told to pass the link on by hand.
func TestSendToNumberNotOnWhatsApp(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := newFake()
	gone, known := newPhone(), newPhone()
	fc.notOnWA[gone] = true
	wa := coldBot(t, f, fc, clockAt(10), whatsapp.Cold{On: true})
	o := flow.Outreach{OrgID: f.Sender.OrgID, Token: "tok"}
	u, d, err := wa.Reach(context.Background(), "+7 "+gone[2:5]+" "+gone[5:8]+" "+gone[8:10]+" "+gone[10:], o)
	if err != core.ErrNotFound || u != nil || d != nil {
		t.Fatalf("reach = %+v, %v", u, err)
	}
	u, _, err = wa.Reach(context.Background(), "8"+known[2:], o)
	if err != nil || u.Phone != known || u.ExternalID != known[1:]+"@s.whatsapp.net" || !u.NeverWrote() {
		t.Fatalf("reach = %+v, %v", u, err)
	}
	again, _, err := wa.Reach(context.Background(), known, o)
	if err != nil || again.ID != u.ID {
		t.Fatalf("reach again = %+v, %v", again, err)
	}
	// WhatsApp was asked about each number once: the answers are kept.
	if _, _, err := wa.Reach(context.Background(), gone, o); err != core.ErrNotFound {
		t.Fatalf("reach again = %v", err)
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.lookups != 2 {
		t.Fatalf("%d lookups, want 2", fc.lookups)
	}
}

// TestFailedSendAsksOnceWhetherOnWhatsApp: a send that fails asks WhatsApp
// whether the number is still on it, as Reach does, with the answer kept:
// the chat is then blocked, and the next failure asks nothing.
func TestFailedSendAsksOnceWhetherOnWhatsApp(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := newFake()
	clock := clockAt(10)
	wa := coldBot(t, f, fc, clock, whatsapp.Cold{On: true})
	ctx := context.Background()
	phone := newPhone()
	u, _, err := wa.Reach(ctx, phone, flow.Outreach{OrgID: f.Sender.OrgID, Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	// The kept answer grows old; the number leaves WhatsApp.
	clock.Advance(whatsapp.DefaultCold.LookupFresh + time.Hour)
	fc.mu.Lock()
	fc.notOnWA[phone] = true
	fc.mu.Unlock()
	for i := range 2 {
		if err := wa.Deliver(ctx, u, screen("уведомление")); !errors.Is(err, core.ErrChatBlocked) {
			t.Fatalf("deliver %d to a number gone from WhatsApp: %v", i, err)
		}
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.lookups != 2 {
		t.Fatalf("%d lookups, want 2: one by Reach, one by the first failed send", fc.lookups)
	}
}
