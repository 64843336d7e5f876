package web

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"edobot/bot/egovtest"
	"edobot/bot/i18n"
	"edobot/core"
	"edobot/core/sigex"
	"edobot/core/sigex/sigextest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// viaFixture is the web server with eGov signing through a fake SIGEX
// (EDOBOT_EGOV_VIA=sigex), the recipient's head's key and a stranger's.
type viaFixture struct {
	*storagetest.Fixture
	fake                *sigextest.Server
	bg                  *core.Background
	srv                 *httptest.Server
	s                   *Server
	recipient, stranger *sigtest.GOSTKey
}

func newViaFixture(t *testing.T) *viaFixture {
	f := &viaFixture{Fixture: storagetest.NewFixture(t), fake: sigextest.NewServer(t)}
	root := sigtest.NewGOSTRoot(t, "NCA GOST TEST ROOT", sigtest.GOST2015)
	nca := root.IssueCA(t, "NCA GOST TEST", sigtest.GOST2015)
	f.Wire(func(deps *core.Deps) {
		deps.Verifier = &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Freshness: 15 * time.Minute}
	})
	f.Wire(func(deps *core.Deps) { deps.Egov = f.DB })
	f.recipient = nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Recipient.Number, Surname: "СЕРІКОВА", Name: "ДАНА"}, sigtest.GOST2015, nca.Cert)
	f.stranger = nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: storagetest.RandomBIN(), Surname: "X", Name: "Y"}, sigtest.GOST2015, nca.Cert)

	client := sigex.New(&http.Client{}, f.fake.URL)
	client.Now, client.RetryPause = f.fake.Now, time.Millisecond
	f.bg = core.NewBackground(context.Background())
	t.Cleanup(f.bg.Close)
	f.Wire(func(deps *core.Deps) {
		deps.Broker, deps.BrokerSessions, deps.Background = sigex.Broker{Client: client}, f.DB, f.bg
	})
	f.Wire(func(deps *core.Deps) { deps.EgovCaptions = EgovCaptions(i18n.MustNew()) })

	f.srv = httptest.NewUnstartedServer(nil)
	f.s = &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc}
	f.srv.Config.Handler = f.s.Handler()
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	f.s.PublicURL = f.srv.URL
	return f
}

// start is the link page's «eGov Mobile / eGov Business».
func (f *viaFixture) start(t *testing.T, d *core.Document) egovStart {
	t.Helper()
	code, body := app{t: t, lang: "ru"}.do("POST", f.srv.URL+"/d/"+d.LinkToken+"/egov", "", nil)
	var st egovStart
	if code != http.StatusCreated || json.Unmarshal(body, &st) != nil {
		t.Fatalf("start: %d %s", code, body)
	}
	return st
}

// status asks the page's status URL, as the page does: a long poll that
// answers once the state differs from since.
func (f *viaFixture) status(t *testing.T, st egovStart, since core.BrokerState, lang string) egovViaStatus {
	t.Helper()
	code, body := app{t: t, lang: lang}.do("GET", st.StatusURL+"?state="+string(since), "", nil)
	var out egovViaStatus
	if code != http.StatusOK || json.Unmarshal(body, &out) != nil {
		t.Fatalf("status: %d %s", code, body)
	}
	return out
}

// final is status once the background work has ended.
func (f *viaFixture) final(t *testing.T, st egovStart, since core.BrokerState, lang string) egovViaStatus {
	t.Helper()
	f.bg.Wait()
	return f.status(t, st, since, lang)
}

func (f *viaFixture) signatures(t *testing.T, d *core.Document) int {
	sigs, err := f.DB.Signatures(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(sigs)
}

// The direct-mode scenario, through SIGEX: the page shows SIGEX's QR and
// links, the app (following NITEC's text) signs at SIGEX, and our server
// verifies and records the CMS: the status changes, the chats' outbox row
// is written, and the page hears of it.
func TestEgovViaSIGEXSigns(t *testing.T) {
	f := newViaFixture(t)
	d := f.Create(t)
	st := f.start(t, d)
	if st.Via != ViaSIGEX || st.SessionURL != "" || !strings.HasPrefix(st.StatusURL, f.srv.URL+"/egov-via/") ||
		!strings.HasPrefix(egovtest.SessionURL(t, st.DeepLinks.EgovMobile), f.fake.URL) ||
		!strings.HasPrefix(egovtest.SessionURL(t, st.DeepLinks.EgovBusiness), f.fake.URL) || time.Until(st.ExpiresAt) < 9*time.Minute {
		t.Fatalf("start = %+v", st)
	}
	if code, body := (app{t: t}).do("GET", st.QRPNGURL, "", nil); code != http.StatusOK || !bytes.HasPrefix(body, []byte("\x89PNG")) {
		t.Fatalf("SIGEX's QR through us: %d", code)
	}
	if s := f.status(t, st, "", "ru"); s.State != core.BrokerWaiting || s.Final || !strings.Contains(s.Message, "QR") {
		t.Fatalf("first status %+v", s)
	}
	_, before := linkVersion(t, f.srv.URL, d.LinkToken)

	res := egovtest.App{Lang: "ru"}.Sign(t, st.DeepLinks.EgovMobile, f.recipient)
	if res.Status != http.StatusOK || res.Message != "success" || res.BackURL != f.srv.URL+"/d/"+d.LinkToken {
		t.Fatalf("the app: %+v", res)
	}
	if res.Description.Description != "Подписание: "+f.s.title("ru", d) || !bytes.Equal(res.Data, f.PDF) ||
		res.Documents.DocumentsToSign[0].Document.File.Mime != sigex.MimePDF ||
		res.Documents.DocumentsToSign[0].NameKz != f.s.title("kk", d) {
		t.Fatalf("the app was shown %+v", res)
	}
	if s := f.final(t, st, core.BrokerWaiting, "kk"); s.State != core.BrokerSigned || !s.Final || s.Message == "" {
		t.Fatalf("status after signing %+v", s)
	}
	cur, err := f.DB.Document(context.Background(), d.ID)
	if err != nil || cur.Status != core.StatusSigning || cur.RecipientSignedAt == nil || f.signatures(t, d) != 1 {
		t.Fatalf("document %s, %d signatures, %v", cur.Status, f.signatures(t, d), err)
	}
	var outbox int
	if err := f.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE document_id = $1 AND payload->>'status' = $2`,
		d.ID, core.StatusSigning).Scan(&outbox); err != nil || outbox != 1 {
		t.Fatalf("%d outbox rows, %v", outbox, err)
	}
	if status, after := linkVersion(t, f.srv.URL, d.LinkToken); status != string(core.StatusSigning) || after == before {
		t.Fatalf("the link page's poll: %s, version %d → %d", status, before, after)
	}
	// The QR is spent.
	if code, _ := (app{t: t}).do("GET", st.QRPNGURL, "", nil); code != http.StatusGone {
		t.Fatalf("a used QR: %d", code)
	}
}

// linkVersion is the link page's status poll at its current version.
func linkVersion(t *testing.T, base, token string) (string, int64) {
	t.Helper()
	code, body := app{t: t}.do("GET", base+"/d/"+token+"/status?version=-1", "", nil)
	var out struct {
		Status  string `json:"status"`
		Version int64  `json:"version"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &out) != nil {
		t.Fatalf("link status: %d %s", code, body)
	}
	return out.Status, out.Version
}

// A stranger's signature reaches us through SIGEX, which the app cannot be
// told of; we refuse it as in direct mode, record nothing, and the page
// says why in the person's language.
func TestEgovViaSIGEXRefusesAStranger(t *testing.T) {
	f := newViaFixture(t)
	d := f.Create(t)
	st := f.start(t, d)
	if res := (egovtest.App{Lang: "ru"}).Sign(t, st.DeepLinks.EgovBusiness, f.stranger); res.Status != http.StatusOK {
		t.Fatalf("SIGEX took the signature: %+v", res)
	}
	s := f.final(t, st, core.BrokerWaiting, "ru")
	if s.State != core.BrokerRefused || !s.Final || !strings.Contains(s.Message, "БИН/ИИН не соответствует созданному документу") {
		t.Fatalf("status %+v", s)
	}
	if cur, _ := f.DB.Document(context.Background(), d.ID); cur.Status != core.StatusCreated || f.signatures(t, d) != 0 {
		t.Fatalf("a refused signature changed the document: %s", cur.Status)
	}
}

// The person refuses in the app, or lets the QR expire: the page says so.
func TestEgovViaSIGEXCanceledAndExpired(t *testing.T) {
	f := newViaFixture(t)
	d := f.Create(t)

	st := f.start(t, d)
	phone := &sigextest.Phone{Key: f.recipient}
	if shown, code, body := phone.Take(t, st.DeepLinks.EgovMobile); shown == nil {
		t.Fatalf("phone: %d %s", code, body)
	}
	id := f.fake.Last(t)
	f.fake.WaitFor(t, id, sigextest.Taken)
	if s := f.status(t, st, core.BrokerWaiting, "ru"); s.State != core.BrokerTaken || s.Final {
		t.Fatalf("status once the phone has it %+v", s)
	}
	f.fake.Cancel(id)
	if s := f.final(t, st, core.BrokerTaken, "kk"); s.State != core.BrokerCanceled || s.Message != "eGov қосымшасында қол қою тоқтатылды." {
		t.Fatalf("status after a cancel %+v", s)
	}

	st = f.start(t, d)
	f.fake.WaitFor(t, f.fake.Last(t), sigextest.DataPosted)
	f.fake.Advance(sigextest.DefaultTTL)
	if s := f.final(t, st, core.BrokerWaiting, "ru"); s.State != core.BrokerExpired || !strings.Contains(s.Message, "QR") {
		t.Fatalf("status after expiry %+v", s)
	}
	if f.signatures(t, d) != 0 {
		t.Fatal("a signature was recorded")
	}
}

// The API's eGov session goes through SIGEX too, and the app's «Назад»
// leads to the document's link page.
func TestEgovViaSIGEXFromTheAPI(t *testing.T) {
	f := newViaFixture(t)
	d := f.Create(t)
	key, _, err := f.Svc.CreateAPIKey(context.Background(), f.Recipient.Number)
	if err != nil {
		t.Fatal(err)
	}
	c := apiClient{t: t, base: f.srv.URL, key: key}
	code, body := c.do("POST", "/api/v1/documents/"+d.ID.String()+"/egov", nil, "")
	var st egovStart
	if code != http.StatusCreated || json.Unmarshal(body, &st) != nil || st.Via != ViaSIGEX {
		t.Fatalf("API start: %d %s", code, body)
	}
	if p, _ := f.fake.Get(f.fake.Last(t)); p.BackURL != f.srv.URL+"/d/"+d.LinkToken {
		t.Fatalf("backUrl %q", p.BackURL)
	}
	if res := (egovtest.App{}).Sign(t, st.DeepLinks.EgovMobile, f.recipient); res.Status != http.StatusOK {
		t.Fatalf("%+v", res)
	}
	if s := f.final(t, st, core.BrokerWaiting, "en"); s.State != core.BrokerSigned {
		t.Fatalf("status %+v", s)
	}
}

// TestEgovViaSIGEXInBrowser: the link page in headless Chromium shows
// SIGEX's QR and links, follows the signing, and shows a refusal in its
// eGov box; a good signature reloads it into «На подписании».
func TestEgovViaSIGEXInBrowser(t *testing.T) {
	f := newViaFixture(t)
	d := f.Create(t)
	ctx, cancel := browser(t)
	defer cancel()
	waitFor := func(sel, want string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			out, _ := chromedp.Run(ctx, chromedp.TextContent("#"+sel, chromedp.AtLeast(0)))
			if strings.Contains(out, want) {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("#%s never showed %q", sel, want)
	}
	// mobileLink waits for the page to show a launch link other than old.
	mobileLink := func(old string) string {
		t.Helper()
		var href string
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) && (!strings.Contains(href, "link=") || href == old) {
			a, err := chromedp.Run(ctx, chromedp.AttributeValue("#mobile", "href"))
			if err != nil {
				t.Fatal(err)
			}
			href = a.Value
			time.Sleep(100 * time.Millisecond)
		}
		return href
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/d/"+d.LinkToken), chromedp.Click("#egov")); err != nil {
		t.Fatal(err)
	}
	waitFor("egovstate", "QR")
	first := mobileLink("")
	if res := (egovtest.App{}).Sign(t, first, f.stranger); res.Status != http.StatusOK {
		t.Fatalf("%+v", res)
	}
	waitFor("error", "БИН/ИИН не соответствует созданному документу")

	if err := chromedp.Do(ctx, chromedp.Click("#egov")); err != nil {
		t.Fatal(err)
	}
	if res := (egovtest.App{}).Sign(t, mobileLink(first), f.recipient); res.Status != http.StatusOK {
		t.Fatalf("%+v", res)
	}
	waitFor("status", "На подписании")
}
