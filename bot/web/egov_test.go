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

	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// app is the eGov app's side of the protocol, byte for byte as the tests
// understand PROTOCOLS.md §2.
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
	f := coretest.New(t)
	root := sigtest.NewGOSTRoot(t, "NCA GOST TEST ROOT", sigtest.GOST2015)
	nca := root.IssueCA(t, "NCA GOST TEST", sigtest.GOST2015)
	f.Svc.Verifier = &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Freshness: 15 * time.Minute}
	f.Svc.Egov = f.DB
	// The service's clock is the test's: a session expires when the test
	// says so.
	clock := coretest.NewClock()
	f.Svc.Now = clock.Now
	recipient := nca.Issue(t, sigtest.Person{IIN: coretest.RandomIIN(), BIN: f.Recipient.Number, Surname: "СЕРІКОВА", Name: "ДАНА"}, sigtest.GOST2015, nca.Cert)
	stranger := nca.Issue(t, sigtest.Person{IIN: coretest.RandomIIN(), BIN: coretest.RandomBIN(), Surname: "X", Name: "Y"}, sigtest.GOST2015, nca.Cert)

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
		!strings.Contains(st.DeepLinks.EgovMobile, "link="+url.QueryEscape(st.SessionURL)) ||
		!strings.HasPrefix(st.DeepLinks.EgovBusiness, "https://egovbusiness.page.link/") || !st.ExpiresAt.Equal(clock.Now().Add(core.DefaultEgovTTL)) {
		t.Fatalf("start = %+v", st)
	}

	// The QR is a real PNG image.
	if code, body := a.do("GET", st.QRPNGURL, "", nil); code != http.StatusOK || !bytes.HasPrefix(body, []byte("\x89PNG")) {
		t.Fatalf("QR PNG: %d", code)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(mustGet(t, st.QRPNGURL))); err != nil || cfg.Width != 512 {
		t.Fatalf("QR PNG config: %+v %v", cfg, err)
	}

	// API №1: the description, with a one-time token.
	describe := func(u string) egovDescription {
		t.Helper()
		code, body := a.do("GET", u, "", nil)
		var desc egovDescription
		if code != http.StatusOK || json.Unmarshal(body, &desc) != nil {
			t.Fatalf("API №1: %d %s", code, body)
		}
		return desc
	}
	desc := describe(st.SessionURL)
	if desc.Description != "Подписание: Договор №"+d.Number+" от 01.11.2026" || desc.Organisation.BIN != f.Sender.Number ||
		desc.Document.URI != st.SessionURL+"/documents" || desc.Document.AuthType != "Token" || len(desc.Document.AuthToken) < 40 {
		t.Fatalf("API №1 = %+v", desc)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", desc.ExpiryDate); err != nil {
		t.Fatalf("expiry_date %q: %v", desc.ExpiryDate, err)
	}

	// API №2: the document, only with the token.
	if code, _ := a.do("GET", desc.Document.URI, "wrong", nil); code != http.StatusForbidden {
		t.Fatalf("wrong token: %d", code)
	}
	code, body := a.do("GET", desc.Document.URI, desc.Document.AuthToken, nil)
	var docs egovDocuments
	if code != http.StatusOK || json.Unmarshal(body, &docs) != nil || len(docs.DocumentsToSign) != 1 {
		t.Fatalf("API №2: %d %s", code, body)
	}
	pdf, _ := base64.StdEncoding.DecodeString(docs.DocumentsToSign[0].Document.File.Data)
	if docs.SignMethod != "CMS_SIGN_ONLY" || docs.Version != 2 || !bytes.Equal(pdf, f.PDF) ||
		docs.DocumentsToSign[0].Document.File.Mime != "@file/pdf" || docs.DocumentsToSign[0].NameKz == "" {
		t.Fatalf("API №2 = %+v", docs)
	}

	// The app signs and PUTs the same structure back with the CMS.
	put := func(uri, token string, cms []byte) (int, []byte) {
		docs.DocumentsToSign[0].Document.File.Data = base64.StdEncoding.EncodeToString(cms)
		b, _ := json.Marshal(docs)
		return a.do("PUT", uri, token, b)
	}
	// A third party's key: refused with the product's words, nothing recorded, the QR used up.
	code, body = put(desc.Document.URI, desc.Document.AuthToken, stranger.SignCMS(t, pdf, sigtest.CMSOptions{}))
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "БИН/ИИН не соответствует созданному документу") {
		t.Fatalf("stranger's signature: %d %s", code, body)
	}
	if cur, _ := f.DB.Document(context.Background(), d.ID); cur.Status != core.StatusCreated {
		t.Fatalf("a refused signature changed the status to %s", cur.Status)
	}
	cms := recipient.SignCMS(t, pdf, sigtest.CMSOptions{})
	if code, body := put(desc.Document.URI, desc.Document.AuthToken, cms); code != http.StatusGone {
		t.Fatalf("a used session: %d %s", code, body)
	}

	// A fresh session signs.
	st = start()
	desc = describe(st.SessionURL)
	a.do("GET", desc.Document.URI, desc.Document.AuthToken, nil)
	code, body = put(desc.Document.URI, desc.Document.AuthToken, cms)
	if code != http.StatusOK || !strings.Contains(string(body), `"success"`) {
		t.Fatalf("sign: %d %s", code, body)
	}
	if cur, _ := f.DB.Document(context.Background(), d.ID); cur.Status != core.StatusSigning || cur.RecipientSignedAt == nil {
		t.Fatalf("after the app signed: %s", cur.Status)
	}
	// Replayed: refused, recorded once.
	if code, _ := put(desc.Document.URI, desc.Document.AuthToken, cms); code != http.StatusGone {
		t.Fatalf("replay: %d", code)
	}
	if code, _ := a.do("GET", st.SessionURL, "", nil); code != http.StatusGone {
		t.Fatalf("API №1 of a used session: %d", code)
	}
	if code, _ := a.do("GET", st.QRPNGURL, "", nil); code != http.StatusGone {
		t.Fatalf("QR of a used session: %d", code)
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
