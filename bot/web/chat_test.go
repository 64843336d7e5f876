package web

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"edobot/bot/egovtest"
	"edobot/core"
	"edobot/core/egov"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

func TestChatPages(t *testing.T) {
	f := storagetest.NewFixture(t)
	root := sigtest.NewGOSTRoot(t, "NCA GOST TEST ROOT", sigtest.GOST2015)
	nca := root.IssueCA(t, "NCA GOST TEST", sigtest.GOST2015)
	f.Wire(func(deps *core.Deps) {
		deps.Verifier = &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Freshness: 15 * time.Minute}
	})
	f.Wire(func(deps *core.Deps) { deps.Egov = f.DB })
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc,
		StartLink:         func(token string) string { return "https://t.me/edobot_test_bot?start=" + token },
		WhatsAppStartLink: func(token string) string { return "https://wa.me/77010000000?text=%2Fstart+" + token },
		ChatLink: func(channel string) string {
			return map[string]string{core.ChannelTelegram: "https://t.me/edobot_test_bot", core.ChannelWhatsApp: "https://wa.me/77010000000"}[channel]
		}}
	srv := serve(t, s)
	ctx := context.Background()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		resp, err := noRedirect.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	// The link page offers the document in Telegram while it can be signed.
	d := f.Create(t)
	_, page := get("/d/" + d.LinkToken)
	if !strings.Contains(page, `href="https://t.me/edobot_test_bot?start=`+d.LinkToken+`"`) {
		t.Fatal("the link page does not open the document in Telegram")
	}
	if !strings.Contains(page, `href="https://wa.me/77010000000?text=%2Fstart&#43;`+d.LinkToken+`"`) {
		t.Fatal("the link page does not open the document in WhatsApp")
	}

	// The e-mail share button opens the mail app with the link.
	resp, _ := get("/d/" + d.LinkToken + "/mailto?lang=kk")
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "mailto:?subject=") {
		t.Fatalf("mailto: %d %q", resp.StatusCode, loc)
	}
	if body, _ := url.PathUnescape(loc[strings.Index(loc, "&body=")+6:]); !strings.Contains(body, srv.URL+"/d/"+d.LinkToken) ||
		!strings.Contains(body, "қол қоюға жіберді") {
		t.Fatalf("mail body %q", body)
	}
	if resp, _ := get("/d/" + strings.Repeat("x", 43) + "/mailto"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("mailto of an unknown link: %d", resp.StatusCode)
	}

	// Sign-in: the NCALayer page, and the eGov protocol over the challenge.
	u, err := f.Svc.ChatUser(ctx, core.ChannelTelegram, "web-"+d.Number, "Web", "ru")
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Svc.StartAuth(ctx, u, 0)
	if err != nil {
		t.Fatal(err)
	}
	if resp, page := get("/auth/" + c.ID); resp.StatusCode != 200 || !strings.Contains(page, "NCALayer") ||
		!strings.Contains(page, "Чат · Чат: Telegram: Web #web-") ||
		resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("auth page: %d", resp.StatusCode)
	}
	key := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Recipient.Number, Surname: "СЕРІКОВА", Name: "ДАНА"},
		sigtest.GOST2015, nca.Cert)
	// The app shows the challenge as text, and sends the person back to
	// the chat they sign in to.
	in := egovtest.App{Lang: "kk"}.Sign(t, egov.SignInAPI1(srv.URL, c.ID), key)
	if in.Status != http.StatusOK || in.BackURL != "https://t.me/edobot_test_bot" ||
		in.Documents.DocumentsToSign[0].Document.File.Mime != "text/plain" || !bytes.Equal(in.Data, c.Data) ||
		!strings.HasPrefix(in.Description.Description, "edobot-қа кіру — Telegram: Web") {
		t.Fatalf("eGov sign-in: %+v", in)
	}
	bound, err := f.DB.ChatUserByID(ctx, u.ID)
	if err != nil || bound.OrgID != f.Recipient.OrgID {
		t.Fatalf("after eGov sign-in: %+v %v", bound, err)
	}
	// Replayed or used: gone, in words for a person.
	if code, _ := egovtest.Sign(t, egov.SignInAPI1(srv.URL, c.ID), key); code != http.StatusGone {
		t.Fatalf("replayed sign-in: %d", code)
	}
	if resp, page := get("/auth/" + c.ID); resp.StatusCode != http.StatusGone || !strings.Contains(page, "недействителен") {
		t.Fatalf("used auth page: %d", resp.StatusCode)
	}
	// A POST with a forged CMS is refused and binds nothing.
	c2, _ := f.Svc.StartAuth(ctx, u, 0)
	req, _ := http.NewRequest("POST", srv.URL+"/auth/"+c2.ID+"/sign", strings.NewReader(`{"cms":"MIIBAAAA"}`))
	req.Header.Set("Accept-Language", "kk")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode < 400 || resp2.StatusCode >= 500 {
		t.Fatalf("forged CMS: %d", resp2.StatusCode)
	}
}
