// Package egovtest is the eGov Mobile / eGov Business app's side of the QR
// signing protocol, for tests: it reads a session, fetches what to sign,
// signs it with a test key and sends the CMS back, as the app does.
package egovtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"edobot/core/signature/sigtest"
)

// Key is a test signing key (sigtest.Key or sigtest.GOSTKey).
type Key interface {
	SignCMS(tb testing.TB, data []byte, o sigtest.CMSOptions) []byte
}

// SessionURL takes the session URL out of a deep link
// ("https://mgovsign.page.link/?link=<session>&…") or a QR payload
// ("mobileSign:<session>").
func SessionURL(tb testing.TB, link string) string {
	tb.Helper()
	if s, ok := strings.CutPrefix(link, "mobileSign:"); ok {
		return s
	}
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("link") == "" {
		tb.Fatalf("not an eGov deep link: %q", link)
	}
	return u.Query().Get("link")
}

// Sign runs the three requests of the protocol with key and returns the
// final answer's status and body.
func Sign(tb testing.TB, sessionURL string, key Key) (int, []byte) {
	tb.Helper()
	code, body := do(tb, "GET", sessionURL, "", nil)
	if code != http.StatusOK {
		return code, body
	}
	var desc struct {
		Document struct {
			URI       string `json:"uri"`
			AuthToken string `json:"auth_token"`
		} `json:"document"`
	}
	if err := json.Unmarshal(body, &desc); err != nil {
		tb.Fatalf("API №1: %v: %s", err, body)
	}
	code, body = do(tb, "GET", desc.Document.URI, desc.Document.AuthToken, nil)
	if code != http.StatusOK {
		return code, body
	}
	var docs map[string]any
	if err := json.Unmarshal(body, &docs); err != nil {
		tb.Fatalf("API №2: %v: %s", err, body)
	}
	list, _ := docs["documentsToSign"].([]any)
	if len(list) != 1 {
		tb.Fatalf("API №2: %d documents", len(list))
	}
	file := list[0].(map[string]any)["document"].(map[string]any)["file"].(map[string]any)
	data, err := base64.StdEncoding.DecodeString(file["data"].(string))
	if err != nil {
		tb.Fatalf("API №2 data: %v", err)
	}
	file["data"] = base64.StdEncoding.EncodeToString(key.SignCMS(tb, data, sigtest.CMSOptions{}))
	out, _ := json.Marshal(docs)
	return do(tb, "PUT", desc.Document.URI, desc.Document.AuthToken, out)
}

func do(tb testing.TB, method, u, token string, body []byte) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept-Language", "ru")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(fmt.Errorf("%s %s: %w", method, u, err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
