// Package egovtest is the eGov Mobile / eGov Business app's side of the QR
// and cross-signing protocol, for tests. It follows NITEC's text (package
// bot/egov cites it) as the app does, and fails the test where our server
// strays from it: an API №1 without mgovSign, a field missing or misnamed,
// a version other than 1, an error without a top-level message.
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
	"time"

	"edobot/core/egov"
	"edobot/core/signature/sigtest"
)

// Key is a test signing key (sigtest.Key or sigtest.GOSTKey).
type Key interface {
	SignCMS(tb testing.TB, data []byte, o sigtest.CMSOptions) []byte
}

// App is one phone with the app, in one interface language.
type App struct {
	Lang   string // Accept-Language of every request: ru, kk or en; "" = ru
	Client *http.Client
}

// Result is what the person saw and what the server answered last.
type Result struct {
	Status      int    // HTTP status of the last request
	Message     string // the top-level message of an error, or "success"
	BackURL     string // where «Назад» leads after a success
	Description egov.Description
	Documents   egov.Documents // API №2 as the server sent it
	Data        []byte         // what was signed
}

// SessionURL takes API №1 out of a deep link
// ("https://m.egov.kz/mobileSign/?link=<API №1>") or a QR payload
// ("mobileSign:<API №1>"), and checks that it carries mgovSign as the text
// requires.
func SessionURL(tb testing.TB, link string) string {
	tb.Helper()
	api1, ok := strings.CutPrefix(link, egov.QRPrefix)
	if !ok {
		u, err := url.Parse(link)
		if err != nil || u.Query().Get("link") == "" {
			tb.Fatalf("not an eGov deep link: %q", link)
		}
		api1 = u.Query().Get("link")
	}
	if strings.ContainsAny(api1, " \n") || !strings.Contains(api1, egov.MgovSign) {
		tb.Fatalf("API №1 %q must contain %s and no spaces", api1, egov.MgovSign)
	}
	return api1
}

// Sign runs the protocol in Russian with key, from a QR payload, a deep
// link or API №1 itself, and returns the last answer's status and body.
func Sign(tb testing.TB, link string, key Key) (int, []byte) {
	tb.Helper()
	r := App{}.Sign(tb, link, key)
	if r.Status == http.StatusOK {
		return r.Status, []byte(`{"message":"` + r.Message + `","backUrl":"` + r.BackURL + `"}`)
	}
	return r.Status, []byte(`{"message":` + fmt.Sprintf("%q", r.Message) + `}`)
}

// Sign reads the session, shows the data, signs it with key and sends it
// back, as the app does.
func (a App) Sign(tb testing.TB, link string, key Key) Result {
	tb.Helper()
	return a.SignWith(tb, link, func(data []byte) []byte { return key.SignCMS(tb, data, sigtest.CMSOptions{}) })
}

// SignWith is Sign with any signer, e.g. one that returns a forged CMS.
func (a App) SignWith(tb testing.TB, link string, sign func(data []byte) []byte) Result {
	tb.Helper()
	api1 := link
	if !strings.HasPrefix(link, "http") || strings.Contains(link, "?link=") {
		api1 = SessionURL(tb, link)
	} else if !strings.Contains(api1, egov.MgovSign) {
		tb.Fatalf("API №1 %q must contain %s", api1, egov.MgovSign)
	}
	var res Result
	body, ok := a.call(tb, &res, "GET", api1, "", nil)
	if !ok {
		return res
	}
	res.Description = decodeDescription(tb, body)
	token := ""
	if res.Description.Document.AuthType == egov.AuthToken {
		token = res.Description.Document.AuthToken
	}
	api2 := res.Description.Document.URI
	if body, ok = a.call(tb, &res, "GET", api2, token, nil); !ok {
		return res
	}
	res.Documents = decodeDocuments(tb, body)
	var docs map[string]any // the app sends back what it got, only data replaced
	if err := json.Unmarshal(body, &docs); err != nil {
		tb.Fatalf("API №2: %v", err)
	}
	file := docs["documentsToSign"].([]any)[0].(map[string]any)["document"].(map[string]any)["file"].(map[string]any)
	data, err := base64.StdEncoding.DecodeString(file["data"].(string))
	if err != nil {
		tb.Fatalf("API №2 data is not base64: %v", err)
	}
	res.Data = data
	file["data"] = base64.StdEncoding.EncodeToString(sign(data))
	out, _ := json.Marshal(docs)
	if body, ok = a.call(tb, &res, "PUT", api2, token, out); !ok {
		return res
	}
	var done struct {
		Message string `json:"message"`
		BackURL string `json:"backUrl"`
	}
	if err := json.Unmarshal(body, &done); err != nil {
		tb.Fatalf("PUT answer %s: %v", body, err)
	}
	res.Message, res.BackURL = done.Message, done.BackURL
	return res
}

// call makes one request as the app does. An error answer must carry a
// top-level message, which the app shows as is; ok is false then.
func (a App) call(tb testing.TB, res *Result, method, u, token string, body []byte) ([]byte, bool) {
	tb.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	lang := a.Lang
	if lang == "" {
		lang = "ru"
	}
	req.Header.Set("Accept-Language", lang)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := a.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	res.Status = resp.StatusCode
	if resp.StatusCode == http.StatusOK {
		return b, true
	}
	var e struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Message == "" {
		tb.Fatalf("%s %s answered %d without a top-level message: %s", method, u, resp.StatusCode, b)
	}
	res.Message = e.Message
	return b, false
}

// decodeDescription reads API №1 with the text's exact field names.
func decodeDescription(tb testing.TB, body []byte) egov.Description {
	tb.Helper()
	var d egov.Description
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		tb.Fatalf("API №1 %s: %v", body, err)
	}
	if d.Description == "" || d.Document.URI == "" || d.Organisation.NameRu == "" {
		tb.Fatalf("API №1 lacks a field: %s", body)
	}
	if _, err := time.Parse(egov.ExpiryLayout, d.ExpiryDate); err != nil {
		tb.Fatalf("API №1 expiry_date %q is not yyyy-MM-dd'T'HH:mm:ss.SSSZ: %v", d.ExpiryDate, err)
	}
	switch d.Document.AuthType {
	case egov.AuthToken:
		if d.Document.AuthToken == "" {
			tb.Fatalf("API №1: auth_type Token without auth_token")
		}
	case "Eds", "None":
	default:
		tb.Fatalf("API №1: auth_type %q", d.Document.AuthType)
	}
	return d
}

// decodeDocuments reads API №2 with the text's exact field names and
// version 1.
func decodeDocuments(tb testing.TB, body []byte) egov.Documents {
	tb.Helper()
	var d egov.Documents
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		tb.Fatalf("API №2: %v", err)
	}
	if d.Version != egov.Version {
		tb.Fatalf("API №2 version %d, the text says %d", d.Version, egov.Version)
	}
	switch d.SignMethod {
	case "CMS_WITH_DATA", egov.SignCMSOnly:
	default:
		tb.Fatalf("API №2 signMethod %q: this app's side signs CMS only", d.SignMethod)
	}
	if len(d.DocumentsToSign) != 1 {
		tb.Fatalf("API №2: %d documents", len(d.DocumentsToSign))
	}
	doc := d.DocumentsToSign[0]
	if doc.NameRu == "" || doc.NameKz == "" || doc.NameEn == "" {
		tb.Fatalf("API №2: a name is missing: %+v", doc)
	}
	return d
}
