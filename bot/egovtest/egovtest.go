// Package egovtest is the eGov Mobile / eGov Business app's side of the QR
// and cross-signing protocol, for tests. It follows NITEC's text (package
// core/egov cites it and keeps its table) as the app does, and fails the
// test where our server strays from it: an API №1 without mgovSign, a field
// missing or misnamed, a version other than 1, a document in the shape of
// another signMethod, an error without a top-level message.
//
// Two of the text's methods are signed: the CMS ones (CMS_SIGN_ONLY,
// CMS_WITH_DATA), whose document.file.data is replaced by the base64 CMS,
// and XML (egov.SignXML), whose documentXml — given instead of
// document.file, «только для метода XML» — is signed in place, an enveloped
// XMLDSig («Подпись осуществляется непосредственно в XML-документе»), and
// sent back in the same field of the same JSON.
package egovtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"edobot/core/egov"
	"edobot/core/signature/sigtest"
)

// Key is a test signing key (sigtest.Key or sigtest.GOSTKey).
type Key interface {
	SignCMS(tb testing.TB, data []byte, o sigtest.CMSOptions) []byte
}

// XMLKey is a key that also signs XML as the app does for signMethod XML:
// sigtest.Key and sigtest.GOSTKey are both.
type XMLKey interface {
	Key
	SignXML(tb testing.TB, xml []byte) []byte
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
	SignMethod  string            // API №2's signMethod
	Documents   egov.Documents    // API №2 as the server sent it, for a CMS method
	XML         egov.XMLDocuments // API №2 as the server sent it, for signMethod XML
	Data        []byte            // what was signed: the file's data, or the XML document
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

// Sign reads the session, shows the data, signs it with key as API №2's
// signMethod asks and sends it back, as the app does. For signMethod XML the
// key must be an XMLKey.
func (a App) Sign(tb testing.TB, link string, key Key) Result {
	tb.Helper()
	return a.run(tb, link, func(method string, data []byte) []byte {
		if method != egov.SignXML {
			return key.SignCMS(tb, data, sigtest.CMSOptions{})
		}
		xk, ok := key.(XMLKey)
		if !ok {
			tb.Fatalf("API №2 asks for signMethod %s and the key %T cannot sign XML", method, key)
		}
		return xk.SignXML(tb, data)
	})
}

// SignWith is Sign with any signer, e.g. one that returns a forged CMS or
// broken XML: it gets the data (the decoded file, or the XML document) and
// returns what the app sends back in its place.
func (a App) SignWith(tb testing.TB, link string, sign func(data []byte) []byte) Result {
	tb.Helper()
	return a.run(tb, link, func(_ string, data []byte) []byte { return sign(data) })
}

func (a App) run(tb testing.TB, link string, sign func(method string, data []byte) []byte) Result {
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
	res.SignMethod = signMethod(tb, body)
	var docs map[string]any // the app sends back what it got, only the signed value replaced
	if err := json.Unmarshal(body, &docs); err != nil {
		tb.Fatalf("API №2: %v", err)
	}
	doc := docs["documentsToSign"].([]any)[0].(map[string]any)
	if res.SignMethod == egov.SignXML {
		res.XML = decodeXMLDocuments(tb, body)
		res.Data = []byte(res.XML.DocumentsToSign[0].DocumentXML)
		signed := sign(res.SignMethod, res.Data)
		doc["documentXml"] = string(signed)
	} else {
		res.Documents = decodeDocuments(tb, body)
		file := doc["document"].(map[string]any)["file"].(map[string]any)
		data, err := base64.StdEncoding.DecodeString(file["data"].(string))
		if err != nil {
			tb.Fatalf("API №2 data is not base64: %v", err)
		}
		res.Data = data
		file["data"] = base64.StdEncoding.EncodeToString(sign(res.SignMethod, data))
	}
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

// signMethod is API №2's signMethod, one this side signs.
func signMethod(tb testing.TB, body []byte) string {
	tb.Helper()
	var m struct {
		SignMethod string `json:"signMethod"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		tb.Fatalf("API №2: %v", err)
	}
	switch m.SignMethod {
	case "CMS_WITH_DATA", egov.SignCMSOnly, egov.SignXML:
	default:
		tb.Fatalf("API №2 signMethod %q: this app's side signs CMS and XML only", m.SignMethod)
	}
	return m.SignMethod
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
	if len(d.DocumentsToSign) != 1 {
		tb.Fatalf("API №2: %d documents", len(d.DocumentsToSign))
	}
	doc := d.DocumentsToSign[0]
	if doc.NameRu == "" || doc.NameKz == "" || doc.NameEn == "" {
		tb.Fatalf("API №2: a name is missing: %+v", doc)
	}
	if doc.Document.File.Data == "" || doc.Document.File.Mime == "" {
		tb.Fatalf("API №2 signMethod %s without document.file's mime and data: %s", d.SignMethod, body)
	}
	return d
}

// decodeXMLDocuments reads API №2 of signMethod XML with the text's exact
// field names: documentXml in place of document (an API №2 that sends
// both, or a document.file, fails), version 1, one well-formed UTF-8 XML
// document with its names.
func decodeXMLDocuments(tb testing.TB, body []byte) egov.XMLDocuments {
	tb.Helper()
	var d egov.XMLDocuments
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		tb.Fatalf("API №2 of signMethod XML (documentXml instead of document): %v", err)
	}
	if d.Version != egov.Version {
		tb.Fatalf("API №2 version %d, the text says %d", d.Version, egov.Version)
	}
	if len(d.DocumentsToSign) != 1 {
		tb.Fatalf("API №2: %d documents", len(d.DocumentsToSign))
	}
	doc := d.DocumentsToSign[0]
	if doc.NameRu == "" || doc.NameKz == "" || doc.NameEn == "" {
		tb.Fatalf("API №2: a name is missing: %+v", doc)
	}
	if !utf8.ValidString(doc.DocumentXML) || strings.TrimSpace(doc.DocumentXML) == "" {
		tb.Fatalf("API №2: documentXml is empty or not UTF-8")
	}
	x := xml.NewDecoder(strings.NewReader(doc.DocumentXML))
	for {
		if _, err := x.Token(); err == io.EOF {
			break
		} else if err != nil {
			tb.Fatalf("API №2: documentXml is not well-formed XML: %v", err)
		}
	}
	return d
}
