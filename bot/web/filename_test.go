package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"edobot/core"
	"edobot/core/card"
	"edobot/storage/storagetest"
)

// downloadName is the file name a download's Content-Disposition gives, as
// a client that reads RFC 5987's filename* takes it; the header must carry
// an ASCII filename= too.
func downloadName(t *testing.T, resp *http.Response) string {
	t.Helper()
	h := resp.Header.Get("Content-Disposition")
	for _, c := range h {
		if c > 0x7e {
			t.Fatalf("Content-Disposition is not ASCII: %q", h)
		}
	}
	if !strings.Contains(h, `; filename="`) || !strings.Contains(h, `; filename*=UTF-8''`) {
		t.Fatalf("Content-Disposition without filename and filename*: %q", h)
	}
	_, params, err := mime.ParseMediaType(h)
	if err != nil {
		t.Fatalf("Content-Disposition %q: %v", h, err)
	}
	return params["filename"]
}

// TestDownloadsKeepTheFileName: a document created through the API with a
// file named in Cyrillic downloads under that name, on the API and on the
// link page; its card is named in the reader's language around it; a
// replaced file brings its own name.
func TestDownloadsKeepTheFileName(t *testing.T) {
	f := storagetest.NewFixture(t)
	f.Wire(func(deps *core.Deps) { deps.Cards, deps.Downloads = card.Renderer, f.DB })
	ctx := context.Background()
	key, _, _ := f.Svc.CreateAPIKey(ctx, f.Sender.Number)
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc}
	srv := serve(t, s)

	upload := func(method, path, fileName string, fields map[string]string) apiDocument {
		t.Helper()
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range fields {
			_ = w.WriteField(k, v)
		}
		fw, _ := w.CreateFormFile("file", fileName)
		_, _ = fw.Write(f.PDF)
		_ = w.Close()
		code, out := apiClient{t, srv.URL, key}.do(method, path, &buf, w.FormDataContentType())
		var doc apiDocument
		if code/100 != 2 || json.Unmarshal(out, &doc) != nil {
			t.Fatalf("%s %s: %d %s", method, path, code, out)
		}
		return doc
	}
	get := func(path, lang string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if strings.HasPrefix(path, "/api/") {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		resp, err := apiHTTP(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return downloadName(t, resp)
	}

	doc := upload("POST", "/api/v1/documents", `C:\Документы\Акт сверки №5 "итог".pdf`, map[string]string{
		"type": "reconciliation_act", "number": "АС-5", "date": "2026-11-01", "recipient_kind": "counterparty",
		"recipient_iin_bin": f.Recipient.Number, "recipient_name": "ТОО «Б»"})
	id := doc.ID.String()
	d, _, err := f.Svc.Document(ctx, f.Sender, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	const kept = "Акт сверки №5 _итог_.pdf"
	for path, want := range map[string]string{
		"/api/v1/documents/" + id + "/files/original": kept,
		"/d/" + d.LinkToken + "/file":                 kept,
		"/api/v1/documents/" + id + "/files/card":     "Карточка — Акт сверки №5 _итог_.pdf",
		"/d/" + d.LinkToken + "/card?lang=kk":         "Карточка — Акт сверки №5 _итог_.pdf",
	} {
		if got := get(path, "ru"); got != want {
			t.Errorf("%s is named %q, want %q", path, got, want)
		}
	}
	if got := get("/api/v1/documents/"+id+"/files/card", "en-US,en;q=0.9"); got != "Card — Акт сверки №5 _итог_.pdf" {
		t.Errorf("the card in English is named %q", got)
	}

	upload("PATCH", "/api/v1/documents/"+id, "Акт сверки №5 (исправленный).PDF",
		map[string]string{"version": "1"})
	if got := get("/api/v1/documents/"+id+"/files/original", ""); got != "Акт сверки №5 (исправленный).pdf" {
		t.Errorf("the replaced file is named %q", got)
	}
}

func TestContentDisposition(t *testing.T) {
	got := contentDisposition("attachment", `Счёт "1".pdf`)
	want := `attachment; filename="Schet _1_.pdf"; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82%20%221%22.pdf`
	if got != want {
		t.Fatalf("contentDisposition = %s\nwant %s", got, want)
	}
}
