package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"edobot/core"
	"edobot/core/card"
	"edobot/storage/storagetest"
)

// inline finds what a page's CSP forbids: a script without src, a style
// element or attribute, an event handler attribute.
var inline = regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]|<script>|<style|\sstyle=|\son[a-z]+=`)

func TestSecurityHeaders(t *testing.T) {
	f := storagetest.NewFixture(t)
	f.Wire(func(deps *core.Deps) { deps.Cards = card.Renderer })
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc, NCALayerURL: "wss://127.0.0.1:13579"}
	srv := serve(t, s)
	d := f.Create(t)
	revoked := f.Create(t)
	f.Sign(t, revoked.ID, core.SideSender)
	if _, err := f.Svc.Revoke(context.Background(), f.Sender, revoked.ID); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	for _, path := range []string{"/d/" + d.LinkToken, "/ncalayer/check", "/d/" + revoked.LinkToken, "/auth/unknown"} {
		resp, body := get(path)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
			"connect-src 'self' wss://127.0.0.1:13579", "frame-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if m := inline.FindString(body); m != "" {
			t.Errorf("%s: the page has %q inline, which its CSP refuses", path, m)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" ||
			resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
	}
	if _, body := get("/static/link.js"); !strings.Contains(body, "getAttribute(\"data-base\")") {
		t.Fatalf("the link page's script is not served: %.100s", body)
	}

	// The PDF runs in a sandbox, framed by our own page at most.
	for _, path := range []string{"/d/" + d.LinkToken + "/file", "/d/" + d.LinkToken + "/card"} {
		resp, _ := get(path)
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") || !strings.Contains(csp, "frame-ancestors 'self'") ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Type") != "application/pdf" {
			t.Errorf("%s: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
	// Anything else allows nothing.
	for _, path := range []string{"/healthz", "/d/" + d.LinkToken + "/status?version=0"} {
		resp, _ := get(path)
		if resp.Header.Get("Content-Security-Policy") != noneCSP || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %v", path, resp.Header)
		}
	}
}

// TestPageKinds: a plain page, an ИС ЭСФ form page and the link page open
// in Telegram each get the base CSP with their own script, form and
// framing directives, and nothing of telegram.org but its script.
func TestPageKinds(t *testing.T) {
	f := storagetest.NewFixture(t)
	s := &Server{Log: slog.New(slog.NewTextHandler(os.Stderr, nil)), Service: f.Svc}
	srv := serve(t, s)
	d := f.Create(t)
	get := func(path string) http.Header {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return resp.Header
	}
	form := httptest.NewRecorder()
	s.esfPageHeaders(form)
	for _, c := range []struct {
		name                        string
		h                           http.Header
		script, formAction, framers string
		frameOptions                string
	}{
		{"plain", get("/d/" + d.LinkToken), "'self'", "'none'", "'none'", "DENY"},
		{"form", form.Header(), "'self'", "'self'", "'none'", "DENY"},
		{"mini app", get("/d/" + d.LinkToken + "?app=telegram"), "'self' https://telegram.org/js/telegram-web-app.js", "'none'",
			"https://web.telegram.org", ""},
	} {
		dirs := map[string]string{}
		for _, d := range strings.Split(c.h.Get("Content-Security-Policy"), ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
			dirs[name] = value
		}
		if dirs["default-src"] != "'none'" || dirs["script-src"] != c.script || dirs["form-action"] != c.formAction ||
			dirs["frame-ancestors"] != c.framers || dirs["style-src"] != "'self'" {
			t.Errorf("%s page: CSP %q", c.name, c.h.Get("Content-Security-Policy"))
		}
		if got := c.h.Get("X-Frame-Options"); got != c.frameOptions {
			t.Errorf("%s page: X-Frame-Options %q, want %q", c.name, got, c.frameOptions)
		}
	}
}
