package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"edobot/core"
)

func TestHomePage(t *testing.T) {
	var redisDown atomic.Bool
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: &core.Service{}, Version: "1.2.3",
		Checks: []Check{
			{Name: "postgres", Ping: func(context.Context) error { return nil }},
			{Name: "redis", Ping: func(context.Context) error {
				if redisDown.Load() {
					return errors.New("connection refused")
				}
				return nil
			}},
		}}
	var whatsapp atomic.Pointer[string]
	whatsapp.Store(new(string))
	s.ChatLink = func(channel string) string {
		switch channel {
		case core.ChannelTelegram:
			return "https://t.me/edo_test_bot"
		case core.ChannelWhatsApp:
			return *whatsapp.Load()
		}
		return ""
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	get := func(path, lang string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	has := func(what, page string, words ...string) {
		t.Helper()
		for _, w := range words {
			if !strings.Contains(page, w) {
				t.Errorf("%s: no %q in\n%s", what, w, page)
			}
		}
	}

	resp, page := get("/", "ru-RU,ru;q=0.9")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	has("ru", page, `<html lang="ru">`, "подпись ЭЦП", `href="https://t.me/edo_test_bot"`, ">t.me/edo_test_bot<",
		`href="/api/v1/openapi.json"`, "Описание API", `class="ready">Работает`, "Версия 1.2.3", `href="/?lang=kk"`)
	if strings.Contains(page, "wa.me") {
		t.Errorf("a WhatsApp link without a linked account:\n%s", page)
	}

	_, page = get("/", "kk")
	has("kk", page, `<html lang="kk">`, "Боттар", "API сипаттамасы", "Жұмыс істеп тұр")
	_, page = get("/", "en-US,en;q=0.8")
	has("en", page, `<html lang="en">`, "Bots", "API description", ">Ready<")
	_, page = get("/?lang=kk", "en")
	has("?lang= over Accept-Language", page, `<html lang="kk">`)
	_, page = get("/", "de")
	has("another language", page, `<html lang="ru">`)

	// WhatsApp once linked; Redis down: not ready, as /readyz says.
	wa := "https://wa.me/77010000000"
	whatsapp.Store(&wa)
	redisDown.Store(true)
	_, page = get("/", "ru")
	has("not ready", page, `href="https://wa.me/77010000000"`, `class="down">Не готов: redis`)
	if resp, _ := get("/readyz", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz: %d", resp.StatusCode)
	}

	if resp, _ := get("/nothing-here", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("only / is the home page: %d", resp.StatusCode)
	}

	// Without any chat: said so.
	bare := httptest.NewServer((&Server{Log: s.Log, Service: &core.Service{}}).Handler())
	defer bare.Close()
	resp, err := http.Get(bare.URL + "/?lang=en")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	has("no bots", string(b), "No bots are connected", `class="ready">Ready`)
}
