package telegram_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
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
	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/egov"
	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/jobs"
	"edobot/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// stack is the whole bot on the real database: the fake Bot API server, the
// real library and adapter, the web server the eGov app and links reach.
type stack struct {
	f    *storagetest.Fixture
	tg   *tgtest.Server
	bot  *telegram.Bot
	web  *httptest.Server
	nca  *sigtest.GOSTKey
	jobs *jobs.Runner
	stop context.CancelFunc
	done <-chan struct{} // closed when the bot's Run returned
}

// option changes the stack before it starts.
type option func(*telegram.Config)

func newStack(t testing.TB, opts ...option) *stack {
	t.Helper()
	return newStackWith(t, nil, opts...)
}

// newStackWith is newStack with the service changed by prepare before
// anything starts.
func newStackWith(t testing.TB, prepare func(*storagetest.Fixture), opts ...option) *stack {
	t.Helper()
	return newStackFlow(t, prepare, nil, opts...)
}

// newStackFlow is newStackWith with the bot's flow changed by adjust.
func newStackFlow(t testing.TB, prepare func(*storagetest.Fixture), adjust func(*flow.Flow), opts ...option) *stack {
	t.Helper()
	f := storagetest.NewFixture(t)
	root := sigtest.NewGOSTRoot(t, "NCA GOST TEST ROOT", sigtest.GOST2015)
	nca := root.IssueCA(t, "NCA GOST TEST", sigtest.GOST2015)
	f.Wire(func(deps *core.Deps) {
		deps.Verifier = &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Freshness: 15 * time.Minute}
	})
	f.Wire(func(deps *core.Deps) { deps.Egov = f.DB })
	if prepare != nil {
		prepare(f)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	srv := httptest.NewUnstartedServer(nil)
	ws := &web.Server{Log: log, Service: f.Svc}
	srv.Start()
	ws.PublicURL = srv.URL
	t.Cleanup(srv.Close)

	tg := tgtest.New(t)
	tg.RefuseEmptyCopyText()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := telegram.Config{Token: tgtest.Token, ServerURL: tg.URL, Workers: 4}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.WebhookURL != "" {
		cfg.WebhookURL = srv.URL + cfg.WebhookURL
	}
	fl := flow.Flow{
		Service: f.Svc, Cat: i18n.MustNew(), PublicURL: srv.URL, Log: log,
		Egov: egov.DefaultLinks,
	}
	if adjust != nil {
		adjust(&fl)
	}
	b, err := telegram.New(ctx, cfg, fl)
	if err != nil {
		t.Fatal(err)
	}
	ws.StartLink, ws.MiniApp = b.StartLink, b.CheckMiniApp
	if cfg.WebhookURL != "" {
		ws.TelegramWebhook = b.WebhookHandler()
	}
	srv.Config.Handler = ws.Handler()
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()

	// The notification jobs, on a Redis database and queue prefix of this
	// test's own. Earlier tests' events in the shared database are theirs:
	// marked sent, they reach no chat of this test's server.
	if _, err := f.DB.Pool.Exec(context.Background(), `UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	jcfg := jobs.DefaultConfig()
	jcfg.RedisDB, jcfg.QueuePrefix = 8, "tgtest-"+core.NewToken()[:8]+":"
	jcfg.RelayInterval, jcfg.QueuePoll, jcfg.DelayedPoll = 50*time.Millisecond, 20*time.Millisecond, 200*time.Millisecond
	runner := jobs.New(jcfg, jobs.Deps{Store: f.DB, Messengers: map[string]jobs.Messenger{core.ChannelTelegram: b}, Logger: log})
	jobsDone := make(chan struct{})
	go func() { _ = runner.Run(ctx); close(jobsDone) }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-jobsDone
		rdb := redis.NewClient(&redis.Options{Addr: jcfg.RedisAddr, DB: jcfg.RedisDB})
		defer rdb.Close()
		keys, _ := rdb.Keys(context.Background(), "*"+jcfg.QueuePrefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	})
	return &stack{f: f, tg: tg, bot: b, web: srv, nca: nca, jobs: runner, stop: cancel, done: done}
}

// waitIdle waits until the notification jobs have nothing left to do: what
// the chats were told then is all they will be told.
func (s *stack) waitIdle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(coretest.Patience)
	for {
		idle, err := s.jobs.Idle(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the notification jobs still busy after %v", coretest.Patience)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle returns once the bot is done with the callback query cbID (and
// whatever u sent before it): the bot answers a query while it holds u's
// turn, so the answer to a later message of u's comes after the query's
// replies. The later message is /menu, which changes nothing.
func (s *stack) settle(t testing.TB, u tgtest.User, cbID string) {
	t.Helper()
	s.tg.WaitAnswered(t, cbID)
	s.tg.Say(t, u, "/menu", has("Отправьте PDF"))
}

// has is tgtest's, by a shorter name.
var has = tgtest.Has

// signIn proves the user's identity with key through the eGov protocol,
// starting from the chat's menu.
func (s *stack) signIn(t testing.TB, u tgtest.User, key egovtest.Key) {
	t.Helper()
	menu := s.tg.Say(t, u, "/start", has("Здравствуйте", "подтвердите личность"))
	login := s.tg.Tap(t, u, menu, "ЭЦП", has("eGov"))
	session := egovtest.SessionURL(t, tgtest.ButtonOf(t, login, "eGov Mobile").URL)
	if code, body := egovtest.Sign(t, session, key); code != http.StatusOK {
		t.Fatalf("sign-in: %d %s", code, body)
	}
	s.tg.Wait(t, u.ID, has("Личность подтверждена"))
}

var linkRe = regexp.MustCompile(`/d/([A-Za-z0-9_-]{43})`)

// TestManagerAndCounterpartySign drives the whole day: a manager signs in
// (registering the organisation), uploads a PDF, sends it to a new
// counterparty; the counterparty opens the start link and signs through
// eGov; the manager signs; both chats show «Подписан».
func TestManagerAndCounterpartySign(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	bin, counterBIN := storagetest.RandomBIN(), storagetest.RandomBIN()
	managerKey := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: bin, Surname: "ӘБДІҚАДЫРОВ", Name: "ҒАЛЫМЖАН",
		Organisation: "ТОО «Ромашка»"}, sigtest.GOST2015, s.nca.Cert)
	counterKey := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: counterBIN, Surname: "СЕРІКОВА", Name: "ДАНА",
		Organisation: "ТОО «Лютик»"}, sigtest.GOST2015, s.nca.Cert)
	manager := tgtest.NewUser("Асель", "asel_manager", "ru")
	counter := tgtest.NewUser("Дана", "dana_lutik", "kk")

	s.signIn(t, manager, managerKey)
	org, err := s.f.DB.OrganisationByNumber(ctx, bin)
	if err != nil || !org.SubscriptionActive(time.Now()) {
		t.Fatalf("the manager's organisation was not registered with a trial: %+v %v", org, err)
	}

	// The new document, step by step.
	n := len(s.tg.Messages(manager.ID))
	s.tg.SendDocument(manager, "Договор.pdf", "application/pdf", pdftest.PDF(3))
	m := s.tg.After(t, manager.ID, n, has("Файл принят", "3 стр."))
	m = s.tg.Tap(t, manager, m, "Новый получатель", has("ИИН или БИН"))
	m = s.tg.Say(t, manager, counterBIN, has("наименование"))
	m = s.tg.Say(t, manager, "ТОО «Лютик»", has("@username"))
	m = s.tg.Say(t, manager, "@"+counter.Username, has("тип документа"))
	m = s.tg.Tap(t, manager, m, "Договор", has("номер"))
	m = s.tg.Say(t, manager, "Д-15", has("Дата"))
	m = s.tg.Tap(t, manager, m, "Сегодня", has("Проверьте", "Д-15", "ТОО «Лютик»", counterBIN))
	card := s.tg.Tap(t, manager, m, "Создать", has("Документ создан", "Статус: 🆕 Создан", "Ссылка для получателя"))
	share := card
	token := linkRe.FindStringSubmatch(share.Text)
	if token == nil {
		t.Fatalf("no link in %q", share.Text)
	}

	// «Отправить получателю»: the counterparty has not written to the bot yet.
	s.tg.Tap(t, manager, share, "Отправить получателю", has("ещё не писал"))

	// The counterparty opens the start link, in Kazakh.
	m = s.tg.Say(t, counter, "/start "+token[1], has("Жіберуші", "ТОО «Лютик»"))
	m = s.tg.Tap(t, counter, m, "Қол қою", has("eGov Mobile"))
	// The app, in Kazakh, returns the counterparty to this chat's card.
	if res := (egovtest.App{Lang: "kk"}).Sign(t, tgtest.ButtonOf(t, m, "eGov Mobile").URL, counterKey); res.Status != http.StatusOK ||
		res.BackURL != "https://t.me/"+s.bot.Username()+"?start="+token[1] {
		t.Fatalf("counterparty's signature: %+v", res)
	}

	// The manager's old card is stale now: its sign button shows the card
	// as it is, and the next sign goes through.
	m = s.tg.Tap(t, manager, card, "Подписать", has("eGov Mobile"))
	if code, body := egovtest.Sign(t, egovtest.SessionURL(t, tgtest.ButtonOf(t, m, "eGov Mobile").URL), managerKey); code != http.StatusOK {
		t.Fatalf("manager's signature: %d %s", code, body)
	}
	// Every change comes into both chats by itself, once, in each one's
	// language.
	s.tg.Wait(t, manager.ID, has("ТОО «Лютик» подписал(а) документ"))
	s.tg.Wait(t, manager.ID, has("ТОО «Ромашка» подписал(а) документ", "Статус: ✅ Подписан", "ӘБДІҚАДЫРОВ ҒАЛЫМЖАН", "СЕРІКОВА ДАНА"))
	s.tg.Wait(t, counter.ID, has("ТОО «Ромашка» құжатқа қол қойды", "Мәртебесі: ✅ Қол қойылды"))
	// The counterparty is told of their own signature too: it may have been
	// made on another device. Once the jobs are idle, nothing more comes.
	s.waitIdle(t)
	for chat, want := range map[int64]string{manager.ID: "подписал(а) документ", counter.ID: "құжатқа қол қойды"} {
		n := 0
		for _, m := range s.tg.Messages(chat) {
			if strings.Contains(m.Text, want) {
				n++
			}
		}
		if wantN := map[int64]int{manager.ID: 2, counter.ID: 2}[chat]; n != wantN {
			t.Fatalf("chat %d got %d notifications, want %d", chat, n, wantN)
		}
	}
	m = s.tg.Tap(t, manager, m, "Обновить", has("Статус: ✅ Подписан"))
}

// TestBadInputs checks that every bad input gets its own explanation and
// stores nothing.
func TestBadInputs(t *testing.T) {
	s := newStack(t)
	bin := storagetest.RandomBIN()
	key := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: bin, Surname: "ИВАНОВ", Name: "ИВАН", Organisation: "ТОО «Тест»"},
		sigtest.GOST2015, s.nca.Cert)
	// A name no column could keep is kept without what makes it so.
	u := tgtest.NewUser("Иван\x00\u202e", "", "ru")
	s.signIn(t, u, key)

	n := len(s.tg.Messages(u.ID))
	s.tg.SendPhoto(u, pdftest.PNG())
	s.tg.After(t, u.ID, n, has("Это фото"))

	n = len(s.tg.Messages(u.ID))
	s.tg.SendDocumentSized(u, "big.pdf", "application/pdf", 16<<20)
	s.tg.After(t, u.ID, n, has("15 МБ"))
	if calls := s.tg.Calls("getFile"); calls != 0 {
		t.Fatalf("a file refused by its declared size was fetched (%d getFile calls)", calls)
	}

	n = len(s.tg.Messages(u.ID))
	s.tg.SendDocument(u, "secret.pdf", "application/pdf", pdftest.Encrypted(pdftest.PDF(1), "123", "456"))
	s.tg.After(t, u.ID, n, has("паролем"))

	n = len(s.tg.Messages(u.ID))
	s.tg.SendDocument(u, "photo.png", "image/png", pdftest.PNG())
	s.tg.After(t, u.ID, n, has("Это не PDF"))

	n = len(s.tg.Messages(u.ID))
	s.tg.SendDocument(u, "a.pdf", "application/pdf", pdftest.PDF(1))
	first := s.tg.After(t, u.ID, n, has("Файл принят"))
	m := s.tg.Tap(t, u, first, "Новый получатель", has("ИИН или БИН"))
	s.tg.Say(t, u, "123456789012", has("⚠️"))
	m = s.tg.Say(t, u, storagetest.RandomBIN(), has("наименование"))
	// A stale button: the recipient screen's button was drawn two steps ago.
	s.tg.Tap(t, u, first, "Новый получатель", has("устарела"))
	// Text that cannot be kept is refused naming the field; the step waits.
	s.tg.Say(t, u, "ТОО\x00 «Б»", has("⚠️", "«Наименование получателя»: недопустимые символы"))
	m = s.tg.Say(t, u, "ТОО «Б»", has("@username"))
	m = s.tg.Tap(t, u, m, "Пропустить", has("тип документа"))
	// Text where a button was expected.
	s.tg.Say(t, u, "договор", has("кнопкой"))
	m = s.tg.Tap(t, u, m, "Акт сверки", has("номер"))
	s.tg.Say(t, u, "АС\x00-1", has("⚠️", "«Номер документа»: недопустимые символы"))
	s.tg.Say(t, u, "АС-1", has("Дата"))
	s.tg.Say(t, u, "31.02.2026", has("⚠️", "дат"))
	m = s.tg.Say(t, u, "28.02.2026", has("Проверьте", "28.02.2026"))

	// Two quick taps on «Создать»: one document.
	b := tgtest.ButtonOf(t, m, "Создать")
	n = len(s.tg.Messages(u.ID))
	s.tg.WaitAnswered(t, s.tg.Press(u, m.ID, b.Data))
	s.tg.WaitAnswered(t, s.tg.Press(u, m.ID, b.Data))
	s.tg.Wait(t, u.ID, func(x tgtest.Message) bool { return x.ID == m.ID && has("Документ создан")(x) })
	if len(s.tg.Messages(u.ID)) != n {
		t.Fatalf("two taps on «Создать» sent new messages")
	}
	a := core.Actor{OrgID: mustOrg(t, s, bin).ID, Number: bin}
	docs, err := s.f.Svc.Folder(context.Background(), a, core.FolderOutgoing, core.FolderQuery{})
	if err != nil || len(docs) != 1 {
		t.Fatalf("two taps made %d documents (%v)", len(docs), err)
	}
	var name string
	if err := s.f.DB.Pool.QueryRow(context.Background(), `SELECT name FROM chat_users WHERE channel = 'telegram' AND external_id = $1`, strconv.FormatInt(u.ID, 10)).
		Scan(&name); err != nil || name != "Иван" {
		t.Fatalf("the chat user's name: %q %v", name, err)
	}
	s.tg.Say(t, u, "/search АС\x00", has("⚠️", "«Поиск»: недопустимые символы"))
	s.tg.Say(t, u, "АС-1", has("«АС-1»: найдено 1"))
}

func mustOrg(t testing.TB, s *stack, number string) *core.Organisation {
	t.Helper()
	o, err := s.f.DB.OrganisationByNumber(context.Background(), number)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestWebhookMode receives updates through the webhook, and refuses a call
// without the right secret token.
func TestWebhookMode(t *testing.T) {
	s := newStack(t, func(c *telegram.Config) { c.WebhookURL, c.WebhookSecret = "/telegram/webhook", "s3cret-Token_42" })
	u := tgtest.NewUser("Web", "", "en")
	deadline := time.Now().Add(coretest.Patience)
	for url, _ := s.tg.Webhook(); url == ""; url, _ = s.tg.Webhook() {
		if time.Now().After(deadline) {
			t.Fatal("the bot did not set its webhook")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if url, secret := s.tg.Webhook(); url != s.web.URL+"/telegram/webhook" || secret != "s3cret-Token_42" {
		t.Fatalf("webhook = %q %q", url, secret)
	}
	s.tg.Say(t, u, "/start", has("Hello, Web!"))

	forged := fmt.Sprintf(`{"update_id": 999, "message": {"message_id": 1, "date": 1, "chat": {"id": %d, "type": "private"},
		"from": {"id": %d, "first_name": "Mallory"}, "text": "/start"}}`, u.ID, u.ID)
	for _, secret := range []string{"", "wrong", "s3cret-Token_4"} {
		req, _ := http.NewRequest("POST", s.web.URL+"/telegram/webhook", strings.NewReader(forged))
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("secret %q: %d", secret, resp.StatusCode)
		}
	}
	// A real update after the forged ones is answered, and only it.
	n := len(s.tg.Messages(u.ID))
	s.tg.Say(t, u, "/start", has("Hello, Web!"))
	for _, m := range s.tg.Messages(u.ID)[n:] {
		if strings.Contains(m.Text, "Mallory") || !strings.Contains(m.Text, "Hello, Web!") {
			t.Fatalf("a forged update was answered: %q", m.Text)
		}
	}
}

// TestFoldersSearchAndActions: folders page by eight, search finds by
// number and counterparty, and the card's actions act once each: edit,
// download, revoke with its confirmation, and an old revoke button after
// the revoke shows the current card.
func TestFoldersSearchAndActions(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	u := tgtest.NewUser("Гүлназ", "", "ru")
	key := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: s.f.Sender.Number, Surname: "ОМАРОВА", Name: "ГҮЛНАЗ"},
		sigtest.GOST2015, s.nca.Cert)
	s.signIn(t, u, key)
	var docs []*core.Document
	for i := 0; i < 10; i++ {
		docs = append(docs, s.f.Create(t))
	}

	menu := s.tg.Say(t, u, "/menu", has("Отправьте PDF"))
	if b := tgtest.ButtonOf(t, menu, "Исходящие"); !strings.Contains(b.Text, "(10)") {
		t.Fatalf("outgoing count: %q", b.Text)
	}
	list := s.tg.Tap(t, u, menu, "Исходящие", func(m tgtest.Message) bool { return len(m.Buttons) >= 9 })
	if n := countPrefix(list, "🆕"); n != 8 {
		t.Fatalf("first page lists %d documents", n)
	}
	list = s.tg.Tap(t, u, list, "▶️", func(m tgtest.Message) bool { return countPrefix(m, "🆕") == 2 })
	tgtest.ButtonOf(t, list, "◀️")

	// Search by a number.
	target := docs[3]
	found := s.tg.Say(t, u, target.Number, has("найдено 1"))
	card := s.tg.Tap(t, u, found, target.Number, has("Статус: 🆕 Создан", target.Number))

	// Edit the number from the card.
	ask := s.tg.Tap(t, u, card, "Изменить", has("Что изменить?"))
	ask = s.tg.Tap(t, u, ask, "Номер", has("номер документа"))
	card = s.tg.Say(t, u, "НОВ-77", has("№НОВ-77"))

	// The original comes as a document in the chat.
	dl := s.tg.Tap(t, u, card, "Скачать", has("Что скачать?"))
	n := len(s.tg.Messages(u.ID))
	s.tg.Press(u, dl.ID, tgtest.ButtonOf(t, dl, "Оригинал").Data)
	file := s.tg.After(t, u.ID, n, func(m tgtest.Message) bool { return m.Document != nil })
	if !strings.HasSuffix(file.Document.Name, ".pdf") || string(file.Document.Data) != string(s.f.PDF) {
		t.Fatalf("original: %q, %d bytes", file.Document.Name, len(file.Document.Data))
	}

	// Sign as the sender, then revoke with confirmation; the old revoke
	// button does nothing more.
	if _, _, err := s.f.Svc.Sign(ctx, target.ID, storagetest.Signature(s.f.Sender.Number), "test"); err != nil {
		t.Fatal(err)
	}
	card = s.tg.Tap(t, u, card, "Обновить", has("На подписании"))
	confirm := s.tg.Tap(t, u, card, "Отозвать", has("Отозвать «"))
	s.tg.Tap(t, u, confirm, "Да", has("Статус: ⛔ Отозван"))
	s.tg.Tap(t, u, confirm, "Да", has("Документ изменился", "Отозван"))
	events, err := s.f.DB.Events(ctx, target.ID)
	if err != nil {
		t.Fatal(err)
	}
	revokes := 0
	for _, e := range events {
		if e.Kind == core.EventRevoked {
			revokes++
		}
	}
	if revokes != 1 {
		t.Fatalf("%d revokes recorded", revokes)
	}
}

func countPrefix(m tgtest.Message, prefix string) int {
	n := 0
	for _, row := range m.Buttons {
		for _, b := range row {
			if strings.HasPrefix(b.Text, prefix) {
				n++
			}
		}
	}
	return n
}

// TestReplyWaitsOutA429: a reply Telegram refuses with a short retry_after
// is sent once the wait is over, exactly once. The wait is on a test clock.
func TestReplyWaitsOutA429(t *testing.T) {
	clock := coretest.NewClock()
	s := newStack(t, func(c *telegram.Config) { c.Clock = clock })
	u := tgtest.NewUser("Slow", "", "en")
	s.tg.FailNext("sendMessage", tgtest.Failure{Code: 429, RetryAfter: 1, Chat: u.ID})
	s.tg.SendText(u, "/start")

	// The reply waits retry_after on the clock, and sends nothing meanwhile.
	clock.BlockUntil(t, 1)
	if w := clock.LastWait(); w != time.Second {
		t.Fatalf("the reply waits %v, want retry_after's 1s", w)
	}
	if n := s.tg.Calls("sendMessage"); n != 1 || len(s.tg.Messages(u.ID)) != 0 {
		t.Fatalf("%d sendMessage calls and %d messages while waiting, want 1 and 0", n, len(s.tg.Messages(u.ID)))
	}
	clock.Advance(time.Second)
	s.tg.Wait(t, u.ID, has("Hello, Slow!"))

	// The answer to a later message comes after the first reply is through.
	s.tg.Say(t, u, "/lang", has("Choose a language"))
	hello := 0
	for _, m := range s.tg.Messages(u.ID) {
		if strings.Contains(m.Text, "Hello, Slow!") {
			hello++
		}
	}
	if hello != 1 {
		t.Fatalf("the greeting came %d times, want 1", hello)
	}
}

// TestSendToRecipientInTelegram: a recipient known by @username who has
// written to the bot gets the card in their chat, on the recipient's side;
// one with no contact at all is explained as such.
func TestSendToRecipientInTelegram(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	manager := tgtest.NewUser("M", "", "ru")
	counter := tgtest.NewUser("Р", "Lutik_Buh", "kk")
	key := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: s.f.Sender.Number, Surname: "M", Name: "M"}, sigtest.GOST2015, s.nca.Cert)
	s.signIn(t, manager, key)
	s.tg.Say(t, counter, "/start", has("Сәлеметсіз бе"))

	in := s.f.NewDocument()
	in.Recipient.Telegram = "@" + strings.ToLower(counter.Username)
	d, err := s.f.Svc.CreateDocument(ctx, s.f.Sender, in, strings.NewReader(string(s.f.PDF)))
	if err != nil {
		t.Fatal(err)
	}
	card := s.tg.Say(t, manager, "/search "+d.Number, has("найдено 1"))
	card = s.tg.Tap(t, manager, card, d.Number, has(d.Number))
	share := s.tg.Tap(t, manager, card, "Поделиться", has("Ссылка для получателя"))
	s.tg.Tap(t, manager, share, "Отправить получателю", has("Документ отправлен в чат получателя"))
	got := s.tg.Wait(t, counter.ID, has("сізге қол қоюға жіберді", d.Number))
	tgtest.ButtonOf(t, got, "Қол қою")
	// A second tap sends nothing twice.
	s.settle(t, manager, s.tg.Press(manager, share.ID, tgtest.ButtonOf(t, share, "Отправить получателю").Data))
	n := 0
	for _, m := range s.tg.Messages(counter.ID) {
		if strings.Contains(m.Text, "сізге қол қоюға жіберді") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the recipient got the document %d times", n)
	}
	if side, ok, err := s.f.DB.Following(ctx, d.ID, mustChat(t, s, counter.ID).ID); err != nil || !ok || side != core.SideRecipient {
		t.Fatalf("the recipient's chat follows as %q %v %v", side, ok, err)
	}

	// The recipient blocked the bot: the manager is told so.
	s.tg.Block(counter.ID)
	blocked := s.f.Create(t) // the same party, still with its @username
	card = s.tg.Say(t, manager, "/search "+blocked.Number, has("найдено 1"))
	card = s.tg.Tap(t, manager, card, blocked.Number, has(blocked.Number))
	share = s.tg.Tap(t, manager, card, "Поделиться", has("Ссылка для получателя"))
	s.tg.Tap(t, manager, share, "Отправить получателю", has("заблокировал(а) бота"))

	in = s.f.NewDocument()
	in.Recipient = core.PartyInput{Kind: core.PartyCounterparty, Number: storagetest.RandomBIN(), Name: "ТОО «Без контактов»"}
	plain, err := s.f.Svc.CreateDocument(ctx, s.f.Sender, in, strings.NewReader(string(s.f.PDF)))
	if err != nil {
		t.Fatal(err)
	}
	card = s.tg.Say(t, manager, "/search "+plain.Number, has("найдено 1"))
	card = s.tg.Tap(t, manager, card, plain.Number, has(plain.Number))
	share = s.tg.Tap(t, manager, card, "Поделиться", has("Ссылка для получателя"))
	s.tg.Tap(t, manager, share, "Отправить получателю", has("не указаны телефон или @username"))
}

func mustChat(t testing.TB, s *stack, tgID int64) *core.ChatUser {
	t.Helper()
	u, err := s.f.Svc.ChatUser(context.Background(), core.ChannelTelegram, strconv.FormatInt(tgID, 10), "", "ru")
	if err != nil {
		t.Fatal(err)
	}
	return u
}
