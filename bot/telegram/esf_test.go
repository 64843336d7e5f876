package telegram_test

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"edobot/bot/egovtest"
	"edobot/bot/telegram/tgtest"
	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/egov"
	"edobot/core/esf"
	"edobot/core/esf/esftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// esfStack is the whole bot with ИС ЭСФ on: the invoice use cases on a test
// clock against the fake ИС ЭСФ, their tickets checked on a CA of their own
// (a person's AUTH key is another certificate than the one they signed in
// with).
type esfStack struct {
	*stack
	clock *coretest.Clock
	fake  *esftest.Server
	iv    *core.Invoices
	ca    *sigtest.CA // issues the AUTH and RSA signing keys the tickets are signed with
}

const esfTicketTTL = 3 * time.Hour

func newESFStack(t *testing.T) *esfStack {
	t.Helper()
	e := &esfStack{clock: coretest.NewClock()}
	e.fake = esftest.New(t, e.clock)
	e.fake.ReusableTickets = true
	root := sigtest.NewRoot(t, "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (ESF TEST ROOT)")
	e.ca = root.Intermediate(t, "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA ESF TEST)")
	verifier := &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Intermediates: []*x509.Certificate{e.ca.Cert}}
	e.stack = newStackWith(t, func(f *storagetest.Fixture) {
		sealer, err := core.NewSecretSealer(strings.Repeat("s", core.MinSecretKey))
		if err != nil {
			t.Fatal(err)
		}
		gw := &esf.Gateway{Client: esf.New(http.DefaultClient, e.fake.BaseURL()), Verifier: verifier, PageSize: 2}
		e.iv, err = core.NewInvoices(core.InvoicesDeps{Store: f.DB, Client: gw, Verifier: gw, Sealer: sealer, Links: f.DB,
			Clock: e.clock, TicketTTL: esfTicketTTL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		f.Svc.ESF = e.iv
	})
	return e
}

// esfManager is a manager signed in to the chat, with the keys they sign
// ИС ЭСФ tickets with.
type esfManager struct {
	u       tgtest.User
	iin     string
	auth    *sigtest.Key // AUTH (authentication) key, this person and organisation
	signing *sigtest.Key // RSA signing key of the same person
}

// manager signs a new manager of bin in (GOST key through eGov) and gives
// them an AUTH and a signing key, and a cabinet in the fake ИС ЭСФ.
func (e *esfStack) manager(t *testing.T, name, bin, password string) esfManager {
	t.Helper()
	iin := storagetest.RandomIIN()
	p := sigtest.Person{IIN: iin, BIN: bin, Surname: "МЕНЕДЖЕРОВ", Name: strings.ToUpper(name), Organisation: "ТОО «Ромашка»"}
	u := tgtest.NewUser(name, "esf_"+strings.ToLower(iin[6:]), "ru")
	e.signIn(t, u, e.nca.Issue(t, p, sigtest.GOST2015, e.nca.Cert))
	if password != "" {
		e.fake.AddUser(iin, password)
	}
	signing := e.ca.Issue(t, p, e.ca.Cert)
	p.Auth = true
	return esfManager{u: u, iin: iin, auth: e.ca.Issue(t, p, e.ca.Cert), signing: signing}
}

// screen opens «🧾 ИС ЭСФ» from the menu.
func (e *esfStack) screen(t *testing.T, m esfManager) tgtest.Message {
	t.Helper()
	menu := e.tg.Say(t, m.u, "/menu", has("Отправьте PDF"))
	return e.tg.Tap(t, m.u, menu, "ИС ЭСФ", has("🧾 ИС ЭСФ —"))
}

// enterPassword taps «Ввести пароль» (or «Заменить пароль») on msg, opens
// the one-time page and posts password there; the page's answer status is
// returned, and the page's URL.
func (e *esfStack) enterPassword(t *testing.T, m esfManager, msg tgtest.Message, label, password string) (int, string) {
	t.Helper()
	page := e.tg.Tap(t, m.u, msg, label, has("защищённую страницу", "Не отправляйте пароль в чат"))
	link := linkIn(t, page, "Открыть страницу")
	if !strings.HasPrefix(link, e.web.URL+"/esf/password/") {
		t.Fatalf("password page %q", link)
	}
	if body := get(t, link); !strings.Contains(body, m.iin) || !strings.Contains(body, "Пароль от кабинета ИС ЭСФ") {
		t.Fatalf("the password page does not name the person: %s", body)
	}
	return postPassword(t, link, password), link
}

// linkIn is the URL of a message's link labelled label: a URL button, or
// the line "label: URL" the adapter writes for a URL Telegram refuses on a
// button (the test server's http://127.0.0.1).
func linkIn(t *testing.T, m tgtest.Message, label string) string {
	t.Helper()
	for _, row := range m.Buttons {
		for _, b := range row {
			if strings.Contains(b.Text, label) && b.URL != "" {
				return b.URL
			}
		}
	}
	for _, line := range strings.Split(m.Text, "\n") {
		if i := strings.Index(line, label+": "); i >= 0 {
			return strings.TrimSpace(line[i+len(label)+2:])
		}
	}
	t.Fatalf("no link %q in %q", label, m.Text)
	return ""
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

func postPassword(t *testing.T, link, password string) int {
	t.Helper()
	resp, err := http.PostForm(link, url.Values{"password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// signTicket taps «Подписать тикет» on msg and signs the ticket in the eGov
// app (signMethod XML) with key: the app's last answer.
func (e *esfStack) signTicket(t *testing.T, m esfManager, msg tgtest.Message, key egovtest.XMLKey) egovtest.Result {
	t.Helper()
	how := e.tg.Tap(t, m.u, msg, "Подписать тикет", has("Подпишите тикет ИС ЭСФ ключом AUTH"))
	if nca := linkIn(t, how, "NCALayer"); !strings.HasPrefix(nca, e.web.URL+"/esf/ticket/") {
		t.Fatalf("NCALayer page %q", nca)
	}
	res := egovtest.App{Lang: "ru"}.Sign(t, tgtest.ButtonOf(t, how, "eGov Mobile").URL, key)
	if res.SignMethod != egov.SignXML || !strings.Contains(string(res.Data), "<authSign>") || !strings.Contains(string(res.Data), m.iin) {
		t.Fatalf("the app was given %s %q, not the ticket to sign as XML", res.SignMethod, res.Data)
	}
	return res
}

// sync runs the scheduled synchronisation of the organisation a poll later.
func (e *esfStack) sync(t *testing.T, orgID int64) core.ESFSyncResult {
	t.Helper()
	e.clock.Advance(core.DefaultESFPoll)
	res, err := e.iv.Sync(context.Background(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func invoiceText(id int64) string { return "📥 ЭСФ №" + strconv.FormatInt(id, 10) + " от " }

// counted is how many of the chat's messages hold text.
func (e *esfStack) counted(chat int64, text string) int {
	n := 0
	for _, m := range e.tg.Messages(chat) {
		if strings.Contains(m.Text, text) {
			n++
		}
	}
	return n
}

// TestESFInTheChat is the whole connection and synchronisation through the
// chat: two managers of one organisation; one enters the cabinet password
// on the one-time page and signs a ticket in the eGov app (XML, AUTH key);
// both chats hear that ИС ЭСФ is connected and get the three incoming
// invoices, a status change, «✅ Получено» reaching ИС ЭСФ; the ticket
// expires and each chat is told once; a new ticket resumes from the cursor
// with nothing missed or repeated.
func TestESFInTheChat(t *testing.T) {
	e := newESFStack(t)
	ctx := context.Background()
	bin, seller := storagetest.RandomBIN(), storagetest.RandomBIN()
	asel := e.manager(t, "Асель", bin, "кабинет-1")
	berik := e.manager(t, "Берик", bin, "")
	org, err := e.f.DB.OrganisationByNumber(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	chats := []int64{asel.u.ID, berik.u.ID}

	screen := e.screen(t, asel)
	if !strings.Contains(screen.Text, "Пароль от кабинета ИС ЭСФ не сохранён") || !strings.Contains(screen.Text, "Действующих тикетов нет") {
		t.Fatalf("screen %q", screen.Text)
	}
	if code, _ := e.enterPassword(t, asel, screen, "Ввести пароль", "кабинет-1"); code != http.StatusOK {
		t.Fatalf("password page answered %d", code)
	}
	saved := e.tg.Wait(t, asel.u.ID, has("Пароль от кабинета ИС ЭСФ сохранён. Теперь подпишите тикет"))

	res := e.signTicket(t, asel, saved, asel.auth)
	if res.Status != http.StatusOK || res.Message != egov.Success {
		t.Fatalf("eGov app: %d %q", res.Status, res.Message)
	}
	for _, c := range chats {
		e.tg.Wait(t, c, has("✅ ИС ЭСФ подключена", "ИИН "+asel.iin))
	}
	if e.fake.OpenSessions(asel.iin) != 0 || e.fake.Calls(esf.OpCreateSessionSigned) != 1 {
		t.Fatalf("the first session: %d opened, %d open", e.fake.Calls(esf.OpCreateSessionSigned), e.fake.OpenSessions(asel.iin))
	}
	if sessions := e.tg.Tap(t, asel.u, e.screen(t, asel), "Активные сессии (1)", has("📋 Активные сессии ИС ЭСФ")); !strings.Contains(sessions.Text, asel.iin) {
		t.Fatalf("sessions %q", sessions.Text)
	}

	// The first scheduled synchronisation: three invoices, both chats.
	var ids []int64
	for range 3 {
		ids = append(ids, e.fake.AddInvoice(seller, bin))
	}
	e.fake.AddInvoice(seller, storagetest.RandomBIN()) // another customer's
	if r := e.sync(t, org.ID); r.New != 3 {
		t.Fatalf("first sync %+v", r)
	}
	var first tgtest.Message
	for _, c := range chats {
		for i, id := range ids {
			m := e.tg.Wait(t, c, has(invoiceText(id), "БИН "+seller, "₸", "статус «Создан»"))
			if i == 0 && c == asel.u.ID {
				first = m
			}
		}
	}

	// A status change.
	e.fake.SetStatus(ids[2], esf.StatusRevoked)
	if r := e.sync(t, org.ID); r.New != 0 || r.Changed != 1 {
		t.Fatalf("status sync %+v", r)
	}
	for _, c := range chats {
		e.tg.Wait(t, c, has("🔄 ЭСФ №"+strconv.FormatInt(ids[2], 10)+" от ", "новый статус «Отозван»"))
	}

	// «✅ Получено» reaches ИС ЭСФ, and comes back as a status change.
	e.clock.Advance(core.ESFSessionGap)
	e.tg.Tap(t, asel.u, first, "Получено", has("✅ ЭСФ №"+strconv.FormatInt(ids[0], 10), "отмечен в ИС ЭСФ как полученный"))
	if e.fake.Status(ids[0]) != esf.StatusDelivered || e.fake.Calls(esf.OpConfirmInvoiceByID) != 1 {
		t.Fatalf("confirm: %s, %d calls", e.fake.Status(ids[0]), e.fake.Calls(esf.OpConfirmInvoiceByID))
	}
	if r := e.sync(t, org.ID); r.Changed != 1 {
		t.Fatalf("after confirm %+v", r)
	}
	for _, c := range chats {
		e.tg.Wait(t, c, has("🔄 ЭСФ №"+strconv.FormatInt(ids[0], 10)+" от ", "новый статус «Доставлен»"))
	}

	// The ticket expires: paused, each chat told once however many polls.
	e.clock.Advance(esfTicketTTL)
	for range 3 {
		if r := e.sync(t, org.ID); !r.Paused {
			t.Fatalf("expired ticket: %+v", r)
		}
	}
	e.waitIdle(t)
	const paused = "⏸ Синхронизация с ИС ЭСФ приостановлена: нет действующего тикета"
	for _, c := range chats {
		if n := e.counted(c, paused); n != 1 {
			t.Fatalf("chat %d told %d times that the sync paused", c, n)
		}
	}
	pause := e.tg.Wait(t, asel.u.ID, has(paused))

	// Three invoices while paused; a new ticket reads them in its first
	// session, from the cursor.
	var more []int64
	for range 3 {
		more = append(more, e.fake.AddInvoice(seller, bin))
	}
	if res := e.signTicket(t, asel, pause, asel.auth); res.Status != http.StatusOK {
		t.Fatalf("new ticket: %d %q", res.Status, res.Message)
	}
	for _, c := range chats {
		for _, id := range more {
			e.tg.Wait(t, c, has(invoiceText(id)))
		}
	}
	if r := e.sync(t, org.ID); r.New != 0 || r.Changed != 0 || r.Paused {
		t.Fatalf("a sync after the new ticket found %+v", r)
	}
	e.waitIdle(t)
	for _, c := range chats {
		for _, id := range append(ids, more...) {
			if n := e.counted(c, invoiceText(id)); n != 1 {
				t.Errorf("chat %d: invoice %d announced %d times", c, id, n)
			}
		}
		if n := e.counted(c, "📥 ЭСФ №"); n != 6 {
			t.Errorf("chat %d: %d invoices announced, want 6", c, n)
		}
	}
}

// TestESFBadInputInTheChat: each bad input is a clear message in the
// person's chat and keeps nothing: a ticket signed with another person's
// key, with a signing key instead of AUTH, a wrong cabinet password, a
// malformed SOAP answer; ИС ЭСФ down for an hour moves no cursor and loses
// nothing, and the invoices come once it is back.
func TestESFBadInputInTheChat(t *testing.T) {
	e := newESFStack(t)
	ctx := context.Background()
	bin, seller := storagetest.RandomBIN(), storagetest.RandomBIN()
	asel := e.manager(t, "Асель", bin, "верный")
	stranger := e.manager(t, "Данияр", bin, "")
	org, err := e.f.DB.OrganisationByNumber(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	who, err := e.f.DB.ChatUserByID(ctx, chatUserOf(t, e, asel))
	if err != nil {
		t.Fatal(err)
	}
	const refused = "⚠️ Тикет ИС ЭСФ не принят: "
	nothingKept := func(what string) {
		t.Helper()
		if ts, err := e.iv.ActiveTickets(ctx, who); err != nil || len(ts) != 0 {
			t.Fatalf("%s: tickets kept %+v %v", what, ts, err)
		}
	}

	// A wrong password on the page: kept (ИС ЭСФ alone can tell), refused
	// when the ticket opens a session.
	if code, _ := e.enterPassword(t, asel, e.screen(t, asel), "Ввести пароль", "не тот"); code != http.StatusOK {
		t.Fatalf("password page answered %d", code)
	}
	saved := e.tg.Wait(t, asel.u.ID, has("Пароль от кабинета ИС ЭСФ сохранён"))
	n := len(e.tg.Messages(asel.u.ID))
	if res := e.signTicket(t, asel, saved, asel.auth); res.Status == http.StatusOK {
		t.Fatal("a ticket with a wrong password was taken")
	}
	wrongPassword := e.tg.After(t, asel.u.ID, n, has(refused+"ИС ЭСФ не приняла пароль от кабинета: введите его заново."))
	tgtest.ButtonOf(t, wrongPassword, "Ввести пароль")
	nothingKept("wrong password")
	if code, _ := e.enterPassword(t, asel, wrongPassword, "Ввести пароль", "верный"); code != http.StatusOK {
		t.Fatalf("password page answered %d", code)
	}
	saved = e.tg.After(t, asel.u.ID, n, has("Пароль от кабинета ИС ЭСФ сохранён"))

	// Keys that are not this person's AUTH key: the app is told 403 with
	// the reason, the chat too.
	for _, tc := range []struct {
		name string
		key  *sigtest.Key
		want string
	}{
		{"another person's key", stranger.auth, "Тикет подписан ключом другого человека: подпишите своим ключом AUTH."},
		{"a signing key", asel.signing, "Тикет подписан ключом для подписи; нужен ключ AUTH (для входа)."},
	} {
		n := len(e.tg.Messages(asel.u.ID))
		res := e.signTicket(t, asel, saved, tc.key)
		if res.Status != http.StatusForbidden || !strings.Contains(res.Message, tc.want) {
			t.Fatalf("%s: the app got %d %q", tc.name, res.Status, res.Message)
		}
		saved = e.tg.After(t, asel.u.ID, n, has(refused+tc.want))
		nothingKept(tc.name)
	}

	// A malformed SOAP answer to the session's opening.
	e.fake.FailNext(esf.OpCreateSessionSigned, esftest.Failure{Malformed: true})
	n = len(e.tg.Messages(asel.u.ID))
	if res := e.signTicket(t, asel, saved, asel.auth); res.Status == http.StatusOK {
		t.Fatal("a ticket was taken on a malformed answer")
	}
	saved = e.tg.After(t, asel.u.ID, n, has(refused+"ИС ЭСФ сейчас недоступна или ответила непонятно. Попробуем позже."))
	nothingKept("malformed answer")

	// Now it works.
	n = len(e.tg.Messages(asel.u.ID))
	if res := e.signTicket(t, asel, saved, asel.auth); res.Status != http.StatusOK {
		t.Fatalf("the right key: %d %q", res.Status, res.Message)
	}
	e.tg.After(t, asel.u.ID, n, has("✅ ИС ЭСФ подключена"))
	var ids []int64
	for range 3 {
		ids = append(ids, e.fake.AddInvoice(seller, bin))
	}
	before, err := e.f.DB.ESFSyncState(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}

	// Down for an hour: every poll of the hour fails as it may (503, a
	// SYSTEM_DOWN fault, a malformed page), retryably; nothing moves, no
	// invoice is told. The manager who tries meanwhile reads why.
	for i := range 4 {
		switch i % 3 {
		case 0:
			e.fake.FailNext(esf.OpQueryUpdates, esftest.Failure{Down: true})
		case 1:
			e.fake.FailNext(esf.OpCreateSessionSigned, esftest.Failure{Code: esf.CodeSystemDown})
		case 2:
			e.fake.FailNext(esf.OpQueryUpdates, esftest.Failure{Malformed: true})
		}
		e.clock.Advance(core.DefaultESFPoll)
		_, err := e.iv.Sync(ctx, org.ID)
		if f := core.ESFFaultOf(err); f == nil || !f.Retryable() {
			t.Fatalf("poll %d of the outage: %v", i, err)
		}
		if s, _ := e.f.DB.ESFSyncState(ctx, org.ID); s.Cursor != before.Cursor {
			t.Fatalf("poll %d moved the cursor to %+v", i, s.Cursor)
		}
	}
	e.fake.FailNext(esf.OpCreateAuthTicket, esftest.Failure{Down: true})
	n = len(e.tg.Messages(asel.u.ID))
	e.tg.Tap(t, asel.u, e.screen(t, asel), "Подписать тикет", has("⚠️ ИС ЭСФ сейчас недоступна или ответила непонятно. Попробуем позже."))
	e.waitIdle(t)
	if got := e.counted(asel.u.ID, "📥 ЭСФ №"); got != 0 {
		t.Fatalf("%d invoices told during the outage", got)
	}

	// Back: the three invoices, once each.
	if r := e.sync(t, org.ID); r.New != 3 {
		t.Fatalf("after the outage %+v", r)
	}
	for _, id := range ids {
		e.tg.Wait(t, asel.u.ID, has(invoiceText(id)))
	}
	e.sync(t, org.ID)
	e.waitIdle(t)
	for _, id := range ids {
		if got := e.counted(asel.u.ID, invoiceText(id)); got != 1 {
			t.Errorf("invoice %d told %d times", id, got)
		}
	}
	if e.fake.OpenSessions(asel.iin) != 0 {
		t.Fatal("a session was left open")
	}
}

// chatUserOf is the chat user of a manager's Telegram chat.
func chatUserOf(t *testing.T, e *esfStack, m esfManager) int64 {
	t.Helper()
	var id int64
	if err := e.f.DB.Pool.QueryRow(context.Background(), `SELECT id FROM chat_users WHERE channel = $1 AND external_id = $2`,
		core.ChannelTelegram, strconv.FormatInt(m.u.ID, 10)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
