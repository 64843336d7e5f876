package telegram_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"edobot/bot/egovtest"
	"edobot/bot/i18n"
	"edobot/bot/telegram/tgtest"
	"edobot/bot/web"
	"edobot/core"
	"edobot/core/sigex"
	"edobot/core/sigex/sigextest"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// TestChatsThroughSIGEX: with EDOBOT_EGOV_VIA=sigex a manager signs in,
// and a counterparty signs a document, from the chat's buttons, which lead
// to SIGEX; the signatures come back through SIGEX and are recorded, and
// the manager's chat hears of the counterparty's.
func TestChatsThroughSIGEX(t *testing.T) {
	fake := sigextest.NewServer(t)
	var bg *core.Background
	s := newStackWith(t, func(f *storagetest.Fixture) {
		client := sigex.New(&http.Client{}, fake.URL)
		client.Now, client.RetryPause = fake.Now, time.Millisecond
		bg = core.NewBackground(context.Background())
		t.Cleanup(bg.Close)
		f.Wire(func(deps *core.Deps) {
			deps.Broker, deps.BrokerSessions, deps.Background = sigex.Broker{Client: client}, f.DB, bg
		})
		f.Wire(func(deps *core.Deps) { deps.EgovCaptions = web.EgovCaptions(i18n.MustNew()) })
	})
	ctx := context.Background()
	bin := storagetest.RandomBIN()
	managerKey := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: bin, Surname: "ӘБДІҚАДЫРОВ", Name: "ҒАЛЫМЖАН",
		Organisation: "ТОО «Ромашка»"}, sigtest.GOST2015, s.nca.Cert)
	counterKey := s.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: s.f.Recipient.Number, Surname: "СЕРІКОВА", Name: "ДАНА"},
		sigtest.GOST2015, s.nca.Cert)
	// Chats of this run's own: the test database outlives a run.
	id := 9_000_000 + rand.Int64N(1_000_000)*2
	manager := tgtest.User{ID: id, FirstName: "Асель", Username: fmt.Sprintf("asel_%d", id), LanguageCode: "ru"}
	counter := tgtest.User{ID: id + 1, FirstName: "Дана", LanguageCode: "ru"}

	// Sign-in: the app is shown the challenge as text, at SIGEX.
	menu := s.tg.Say(t, manager, "/start", has("подтвердите личность"))
	login := s.tg.Tap(t, manager, menu, "ЭЦП", has("eGov"))
	link := tgtest.ButtonOf(t, login, "eGov Mobile").URL
	if !strings.HasPrefix(egovtest.SessionURL(t, link), fake.URL) {
		t.Fatalf("the sign-in link does not lead to SIGEX: %s", link)
	}
	res := egovtest.App{}.Sign(t, link, managerKey)
	if res.Status != http.StatusOK || res.Documents.DocumentsToSign[0].Document.File.Mime != sigex.MimeText ||
		!strings.Contains(string(res.Data), "@"+manager.Username) {
		t.Fatalf("sign-in through SIGEX: %+v", res)
	}
	s.tg.Wait(t, manager.ID, has("Личность подтверждена"))
	org, err := s.f.DB.OrganisationByNumber(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}

	// A document from the manager's organisation to the fixture's
	// counterparty, opened by the counterparty from its start link.
	d, err := s.f.Svc.CreateDocument(ctx, core.Actor{OrgID: org.ID, Number: org.Number, Label: "test"}, core.NewDocument{
		Recipient: core.PartyInput{Kind: core.PartyCounterparty, Number: s.f.Recipient.Number, Name: "ТОО «Контрагент»"},
		Type:      core.TypeContract, Number: "С-1", Date: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		strings.NewReader(string(s.f.PDF)))
	if err != nil {
		t.Fatal(err)
	}
	m := s.tg.Say(t, counter, "/start "+d.LinkToken, has("ТОО «Контрагент»"))
	m = s.tg.Tap(t, counter, m, "Подписать", has("eGov Mobile"))
	link = tgtest.ButtonOf(t, m, "eGov Mobile").URL
	if !strings.HasPrefix(egovtest.SessionURL(t, link), fake.URL) {
		t.Fatalf("the sign link does not lead to SIGEX: %s", link)
	}
	// «QR»: SIGEX's own image, for another phone.
	qr := s.tg.Tap(t, counter, m, "QR", func(x tgtest.Message) bool { return x.Photo != nil })
	if qr.Photo.MIME != "image/png" || !strings.HasPrefix(string(qr.Photo.Data), "\x89PNG") {
		t.Fatalf("QR photo %+v", qr.Photo.MIME)
	}
	res = egovtest.App{}.Sign(t, link, counterKey)
	if res.Status != http.StatusOK || res.BackURL != "https://t.me/"+s.bot.Username()+"?start="+d.LinkToken {
		t.Fatalf("counterparty through SIGEX: %+v", res)
	}
	// The notification comes from the outbox row the signature wrote. (The
	// QR's own procedure still waits for a phone: it is not waited for.)
	s.tg.Wait(t, manager.ID, has("ТОО «Контрагент» подписал(а) документ"))
	if cur, _ := s.f.DB.Document(ctx, d.ID); cur.Status != core.StatusSigning || cur.RecipientSignedAt == nil {
		t.Fatalf("document %s", cur.Status)
	}
}
