package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"edobot/core"
	"edobot/core/card"
	"edobot/core/pdfintake/pdftest"
	"edobot/storage/storagetest"
)

func TestCardDownloads(t *testing.T) {
	f := storagetest.NewFixture(t)
	f.Wire(func(deps *core.Deps) { deps.Cards, deps.Downloads = card.Renderer, f.DB })
	ctx := context.Background()
	senderKey, _, _ := f.Svc.CreateAPIKey(ctx, f.Sender.Number)
	recipientKey, _, _ := f.Svc.CreateAPIKey(ctx, f.Recipient.Number)
	stranger := storagetest.NewFixture(t)
	strangerKey, _, _ := stranger.Svc.CreateAPIKey(ctx, stranger.Sender.Number)
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc}
	srv := serve(t, s)

	get := func(path, key string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		req.Header.Set("Accept-Language", "ru")
		resp, err := apiHTTP(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	pdf := func(what string, resp *http.Response, d *core.Document) []byte {
		t.Helper()
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" ||
			downloadName(t, resp) != "Карточка — "+core.FileStem(d)+".pdf" ||
			!bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Fatalf("%s: %d %v %.200s", what, resp.StatusCode, resp.Header, b)
		}
		return b
	}
	status := func(resp *http.Response) int {
		resp.Body.Close()
		return resp.StatusCode
	}

	d := f.InStatus(t, core.StatusSigned, core.SideSender)
	link := srv.URL + "/d/" + d.LinkToken
	b := pdf("the sender's card", get("/api/v1/documents/"+d.ID.String()+"/files/card", senderKey), d)
	if text := pdftest.Text(t, b); text != "" && (!strings.Contains(text, link) || !strings.Contains(text, d.File.SHA256)) {
		t.Fatalf("the card does not point at the link page %s: %s", link, text)
	}
	pdf("the recipient's card", get("/api/v1/documents/"+d.ID.String()+"/files/card", recipientKey), d)
	pdf("the card through the link", get("/d/"+d.LinkToken+"/card", ""), d)
	if code := status(get("/api/v1/documents/"+d.ID.String()+"/files/card", strangerKey)); code != http.StatusNotFound {
		t.Fatalf("another organisation's card: %d", code)
	}
	if code := status(get("/api/v1/documents/"+d.ID.String()+"/files/card", "")); code != http.StatusUnauthorized {
		t.Fatalf("a card without a key: %d", code)
	}
	if code := status(get("/d/"+d.LinkToken[:20]+"/card", "")); code != http.StatusNotFound {
		t.Fatalf("a card through a wrong token: %d", code)
	}

	// The link page offers the card in Russian and Kazakh.
	resp := get("/d/"+d.LinkToken, "")
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`href="/d/` + d.LinkToken + `/card"`, "Электронная карточка", "Электрондық карточка"} {
		if !strings.Contains(string(page), want) {
			t.Fatalf("the link page lacks %q", want)
		}
	}

	// A revoked document: the sender's card says so on every page, while the
	// link, dead like the rest of it, answers 410 and the recipient is refused.
	r := f.InStatus(t, core.StatusRevoked, core.SideSender)
	b = pdf("the revoked card", get("/api/v1/documents/"+r.ID.String()+"/files/card", senderKey), r)
	if text := pdftest.Text(t, b); text != "" && strings.Count(text, card.RevokedMark) < r.File.Pages+1 {
		t.Fatalf("the revoked card does not say so on every page: %s", text)
	}
	if code := status(get("/d/"+r.LinkToken+"/card", "")); code != http.StatusGone {
		t.Fatalf("the card through a revoked link: %d", code)
	}
	if code := status(get("/api/v1/documents/"+r.ID.String()+"/files/card", recipientKey)); code < 400 || code >= 500 {
		t.Fatalf("the recipient's card of a revoked document: %d", code)
	}
}
