package web

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"edobot/bot/egovtest"
	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// app is the eGov app's side of the protocol, byte for byte as the tests
// understand NITEC's text on QR signing (see core/egov).
type app struct {
	t    *testing.T
	lang string
}

func (a app) do(method, u, token string, body []byte) (int, []byte) {
	a.t.Helper()
	req, _ := http.NewRequest(method, u, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if a.lang != "" {
		req.Header.Set("Accept-Language", a.lang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func mustGet(t *testing.T, u string) []byte {
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

func TestEgovProtocol(t *testing.T) {
	f := storagetest.NewFixture(t)
	root := sigtest.NewGOSTRoot(t, "NCA GOST TEST ROOT", sigtest.GOST2015)
	nca := root.IssueCA(t, "NCA GOST TEST", sigtest.GOST2015)
	f.Wire(func(deps *core.Deps) {
		deps.Verifier = &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Freshness: 15 * time.Minute}
	})
	f.Wire(func(deps *core.Deps) { deps.Egov = f.DB })
	// The service's clock is the test's: a session expires when the test
	// says so.
	clock := coretest.NewClock()
	f.Wire(func(deps *core.Deps) { deps.Now = clock.Now })
	recipient := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Recipient.Number, Surname: "СЕРІКОВА", Name: "ДАНА"}, sigtest.GOST2015, nca.Cert)
	stranger := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: storagetest.RandomBIN(), Surname: "X", Name: "Y"}, sigtest.GOST2015, nca.Cert)

	srv := httptest.NewUnstartedServer(nil)
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc}
	srv.Config.Handler = s.Handler()
	srv.Start()
	defer srv.Close()
	s.PublicURL = srv.URL
	d := f.Create(t)
	a := app{t: t, lang: "ru"}

	start := func() egovStart {
		t.Helper()
		code, body := a.do("POST", srv.URL+"/d/"+d.LinkToken+"/egov", "", nil)
		var st egovStart
		if code != http.StatusCreated || json.Unmarshal(body, &st) != nil {
			t.Fatalf("start: %d %s", code, body)
		}
		return st
	}
	st := start()
	if st.QRPayload != "mobileSign:"+st.SessionURL || !strings.HasPrefix(st.SessionURL, srv.URL+"/egov/") ||
		!strings.HasSuffix(st.SessionURL, "/mgovSign") ||
		st.DeepLinks.EgovMobile != "https://m.egov.kz/mobileSign/?link="+url.QueryEscape(st.SessionURL) ||
		st.DeepLinks.EgovBusiness != "https://m.egov.kz/businessSign/?link="+url.QueryEscape(st.SessionURL) ||
		!st.ExpiresAt.Equal(clock.Now().Add(core.DefaultEgovTTL)) {
		t.Fatalf("start = %+v", st)
	}

	// The QR is a real PNG image.
	if code, body := a.do("GET", st.QRPNGURL, "", nil); code != http.StatusOK || !bytes.HasPrefix(body, []byte("\x89PNG")) {
		t.Fatalf("QR PNG: %d", code)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(mustGet(t, st.QRPNGURL))); err != nil || cfg.Width != 512 {
		t.Fatalf("QR PNG config: %+v %v", cfg, err)
	}

	// The app, following NITEC's text, from the QR: a third party's key is
	// refused with 403 and the product's words, nothing recorded, the QR
	// used up.
	res := egovtest.App{Lang: "ru"}.Sign(t, st.QRPayload, stranger)
	if res.Status != http.StatusForbidden || !strings.Contains(res.Message, "БИН/ИИН не соответствует созданному документу") {
		t.Fatalf("stranger's signature: %+v", res)
	}
	desc, docs := res.Description, res.Documents
	if desc.Description != "Подписание: Договор №"+d.Number+" от 01.11.2026" || desc.Organisation.BIN != f.Sender.Number ||
		desc.Document.URI != strings.TrimSuffix(st.SessionURL, "/mgovSign")+"/documents" || desc.Document.AuthType != "Token" ||
		len(desc.Document.AuthToken) < 40 {
		t.Fatalf("API №1 = %+v", desc)
	}
	if exp, err := time.Parse("2006-01-02T15:04:05.000-0700", desc.ExpiryDate); err != nil || !strings.HasSuffix(desc.ExpiryDate, "+0500") ||
		!exp.Equal(st.ExpiresAt.Truncate(time.Millisecond)) {
		t.Fatalf("expiry_date %q: %v", desc.ExpiryDate, err)
	}
	if docs.SignMethod != "CMS_SIGN_ONLY" || docs.Version != 1 || !bytes.Equal(res.Data, f.PDF) ||
		docs.DocumentsToSign[0].Document.File.Mime != "application/pdf" || docs.DocumentsToSign[0].NameKz == "" {
		t.Fatalf("API №2 = %+v", docs)
	}
	if cur, _ := f.DB.Document(context.Background(), d.ID); cur.Status != core.StatusCreated {
		t.Fatalf("a refused signature changed the status to %s", cur.Status)
	}
	// The used session answers the app's way: a message, in its language.
	code, body := a.do("GET", st.SessionURL, "", nil)
	var e struct {
		Message string `json:"message"`
	}
	if code != http.StatusGone || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Message, "QR") {
		t.Fatalf("a used session: %d %s", code, body)
	}

	// A forged CMS (garbage, or a valid one over other bytes): 403.
	st = start()
	forged := egovtest.App{Lang: "en"}.SignWith(t, st.SessionURL, func([]byte) []byte { return []byte("0\x80not a cms") })
	if forged.Status != http.StatusForbidden || forged.Message == "" || strings.Contains(forged.Message, "БИН") {
		t.Fatalf("garbage CMS: %+v", forged)
	}
	st = start()
	other := egovtest.App{Lang: "kk"}.SignWith(t, st.DeepLinks.EgovMobile, func([]byte) []byte {
		return recipient.SignCMS(t, []byte("other bytes"), sigtest.CMSOptions{})
	})
	if other.Status != http.StatusForbidden || other.Description.Description != "Қол қою: "+s.title("kk", d) {
		t.Fatalf("a CMS over other bytes: %+v", other)
	}

	// A fresh session signs, from the deep link, and the app is sent back
	// to the link page the session started from.
	st = start()
	ok := egovtest.App{Lang: "ru"}.Sign(t, st.DeepLinks.EgovBusiness, recipient)
	if ok.Status != http.StatusOK || ok.Message != "success" || ok.BackURL != srv.URL+"/d/"+d.LinkToken {
		t.Fatalf("sign: %+v", ok)
	}
	if cur, _ := f.DB.Document(context.Background(), d.ID); cur.Status != core.StatusSigning || cur.RecipientSignedAt == nil {
		t.Fatalf("after the app signed: %s", cur.Status)
	}
	// Replayed: refused, recorded once.
	cms := recipient.SignCMS(t, f.PDF, sigtest.CMSOptions{})
	docs.DocumentsToSign[0].Document.File.Data = base64.StdEncoding.EncodeToString(cms)
	replay, _ := json.Marshal(docs)
	if code, _ := a.do("PUT", ok.Description.Document.URI, ok.Description.Document.AuthToken, replay); code != http.StatusGone {
		t.Fatalf("replay: %d", code)
	}
	if code, _ := a.do("GET", st.SessionURL, "", nil); code != http.StatusGone {
		t.Fatalf("API №1 of a used session: %d", code)
	}
	if code, _ := a.do("GET", st.QRPNGURL, "", nil); code != http.StatusGone {
		t.Fatalf("QR of a used session: %d", code)
	}
	// The address without mgovSign, as sessions started before it had, still answers.
	st = start()
	if code, _ := a.do("GET", strings.TrimSuffix(st.SessionURL, "/mgovSign"), "", nil); code != http.StatusOK {
		t.Fatalf("old API №1 address: %d", code)
	}

	// Expired, unknown, revoked.
	s.EgovTTL = time.Minute
	st = start()
	clock.Advance(time.Minute)
	if code, body := (app{t: t, lang: "kk"}).do("GET", st.SessionURL, "", nil); code != http.StatusGone || !strings.Contains(string(body), "QR-кодты") {
		t.Fatalf("expired session: %d %s", code, body)
	}
	if code, _ := a.do("GET", srv.URL+"/egov/"+core.NewToken(), "", nil); code != http.StatusGone {
		t.Fatalf("unknown session: %d", code)
	}
	if _, err := f.Svc.Revoke(context.Background(), f.Sender, d.ID); err != nil {
		t.Fatal(err)
	}
	if code, body := a.do("POST", srv.URL+"/d/"+d.LinkToken+"/egov", "", nil); code != http.StatusGone || !strings.Contains(string(body), "Документ отозван") {
		t.Fatalf("revoked document: %d %s", code, body)
	}
	if code, _ := a.do("PUT", srv.URL+"/egov/x/documents", "", []byte("{not json")); code != http.StatusBadRequest {
		t.Fatalf("malformed PUT: %d", code)
	}
}
