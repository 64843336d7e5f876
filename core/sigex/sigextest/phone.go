package sigextest

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

	"edobot/core/egov"
	"edobot/core/signature/sigtest"
)

// Key is a test signing key (sigtest.Key or sigtest.GOSTKey).
type Key interface {
	SignCMS(tb testing.TB, data []byte, o sigtest.CMSOptions) []byte
}

// Phone is eGov Mobile as the official text describes it: it opens API №1
// from a QR or a launch link, fetches the documents from API №2 with the
// token, signs each as signMethod says and PUTs the same JSON back with the
// CMS in place of the data.
type Phone struct {
	Key  Key
	Lang string // Accept-Language; "ru" when empty
}

// Shown is what the phone fetched and shows the person before signing.
type Shown struct {
	Description string
	SignMethod  string
	Documents   []Document
	uri, token  string
	body        map[string]any
}

// API1 takes the URL of API №1 out of a launch link
// ("https://m.egov.kz/mobileSign/?link=<API №1>") or a QR payload
// ("mobileSign:<API №1>").
func API1(tb testing.TB, link string) string {
	tb.Helper()
	if s, ok := strings.CutPrefix(link, qrPrefix); ok {
		return s
	}
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("link") == "" {
		tb.Fatalf("sigextest: not an eGov launch link: %q", link)
	}
	return u.Query().Get("link")
}

// Take opens the link and fetches the documents, as the app does before it
// shows them. A refusal on the way is returned as its status and body.
func (ph *Phone) Take(tb testing.TB, link string) (*Shown, int, []byte) {
	tb.Helper()
	api1 := API1(tb, link)
	if !strings.Contains(api1, "mgovSign") {
		tb.Fatalf("sigextest: API №1 %q lacks mgovSign", api1)
	}
	code, body := ph.do(tb, http.MethodGet, api1, "", nil)
	if code != http.StatusOK {
		return nil, code, body
	}
	var desc struct {
		Description string `json:"description"`
		Document    struct {
			URI       string `json:"uri"`
			AuthType  string `json:"auth_type"`
			AuthToken string `json:"auth_token"`
		} `json:"document"`
	}
	if err := json.Unmarshal(body, &desc); err != nil || desc.Document.URI == "" || desc.Document.AuthType != authToken {
		tb.Fatalf("sigextest: API №1 answer: %v: %s", err, body)
	}
	code, body = ph.do(tb, http.MethodGet, desc.Document.URI, desc.Document.AuthToken, nil)
	if code != http.StatusOK {
		return nil, code, body
	}
	t := &Shown{Description: desc.Description, uri: desc.Document.URI, token: desc.Document.AuthToken}
	var docs struct {
		SignMethod      string          `json:"signMethod"`
		Version         int             `json:"version"`
		DocumentsToSign []egov.Document `json:"documentsToSign"`
	}
	if err := json.Unmarshal(body, &docs); err != nil || docs.Version != 1 || len(docs.DocumentsToSign) == 0 {
		tb.Fatalf("sigextest: API №2 answer: %v: %s", err, body)
	}
	if err := json.Unmarshal(body, &t.body); err != nil {
		tb.Fatal(err)
	}
	t.SignMethod = docs.SignMethod
	for _, d := range docs.DocumentsToSign {
		data, err := base64.StdEncoding.DecodeString(d.Document.File.Data)
		if err != nil {
			tb.Fatalf("sigextest: API №2 data: %v", err)
		}
		t.Documents = append(t.Documents, Document{NameRu: d.NameRu, NameKz: d.NameKz, NameEn: d.NameEn,
			Mime: d.Document.File.Mime, Data: data})
	}
	return t, http.StatusOK, body
}

// Sign signs what was taken with the phone's key and sends it back; it
// returns the answer's status and body.
func (ph *Phone) Sign(tb testing.TB, t *Shown) (int, []byte) {
	tb.Helper()
	return ph.SignWith(tb, t, ph.Key)
}

// SignWith is Sign with another key.
func (ph *Phone) SignWith(tb testing.TB, t *Shown, key Key) (int, []byte) {
	tb.Helper()
	opts := sigtest.CMSOptions{Attached: t.SignMethod == "CMS_WITH_DATA"}
	list := t.body["documentsToSign"].([]any)
	for i := range list {
		file := list[i].(map[string]any)["document"].(map[string]any)["file"].(map[string]any)
		file["data"] = base64.StdEncoding.EncodeToString(key.SignCMS(tb, t.Documents[i].Data, opts))
	}
	out, err := json.Marshal(t.body)
	if err != nil {
		tb.Fatal(err)
	}
	return ph.do(tb, http.MethodPut, t.uri, t.token, out)
}

// Scan is Take then Sign; it fails the test on a refusal.
func (ph *Phone) Scan(tb testing.TB, link string) []byte {
	tb.Helper()
	t, code, body := ph.Take(tb, link)
	if t == nil {
		tb.Fatalf("sigextest: phone refused: %d %s", code, body)
	}
	code, body = ph.Sign(tb, t)
	if code != http.StatusOK {
		tb.Fatalf("sigextest: signatures refused: %d %s", code, body)
	}
	return body
}

func (ph *Phone) do(tb testing.TB, method, u, token string, body []byte) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	lang := ph.Lang
	if lang == "" {
		lang = "ru"
	}
	req.Header.Set("Accept-Language", lang)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(fmt.Errorf("sigextest phone: %s %s: %w", method, u, err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
