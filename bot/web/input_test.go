package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"edobot/core"
	"edobot/core/pdfintake/pdftest"
	"edobot/storage"
	"edobot/storage/storagetest"
)

// apiError is the body of a refusal.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// send is a request with any headers; it returns the response (body read).
func (c apiClient) send(method, path string, body io.Reader, headers map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, body)
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept-Language", "ru")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := apiHTTP(c.t).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func apiTestServer(t *testing.T, f *storagetest.Fixture) (apiClient, *Server) {
	t.Helper()
	key, _, err := f.Svc.CreateAPIKey(t.Context(), f.Sender.Number)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc}
	srv := serve(t, s)
	return apiClient{t, srv.URL, key}, s
}

// Hostile text in any field is refused with a 400 naming the field, before
// PostgreSQL sees it: NUL bytes and broken UTF-8 (which a text column
// refuses), a base_ref over the btree index's 2.7 KB, a 200 KB
// Idempotency-Key; the database still answers afterwards.
func TestAPIRefusesHostileTextNamingTheField(t *testing.T) {
	f := storagetest.NewFixture(t)
	c, _ := apiTestServer(t, f)
	fields := func() map[string]string {
		return map[string]string{"type": "contract", "number": "H-1", "date": "2026-11-01", "recipient_kind": "counterparty",
			"recipient_iin_bin": f.Recipient.Number, "recipient_name": "ТОО «Контрагент»"}
	}
	cases := []struct {
		name    string
		field   string
		value   string
		code    string
		words   string
		headers map[string]string
	}{
		{"NUL in the number", "number", "H\x00-1", "invalid_text", "«Номер документа»: недопустимые символы", nil},
		{"broken UTF-8 in the number", "number", "H-\xff\xfe", "invalid_text", "«Номер документа»", nil},
		{"NUL in the name", "recipient_name", "ТОО\x00", "invalid_text", "«Наименование получателя»", nil},
		{"broken UTF-8 in the name", "recipient_name", "\xd0ТОО", "invalid_text", "«Наименование получателя»", nil},
		{"a right-to-left override in the number", "number", "H-1\u202e", "invalid_text", "«Номер документа»", nil},
		{"NUL in base_ref", "base_ref", "1C:\x00", "invalid_text", "base_ref", nil},
		{"a base_ref of 2.8 KB", "base_ref", strings.Repeat("x", 2800), "invalid_text_too_long", "не более 256 символов", nil},
		{"a base_ref of 300 Cyrillic letters", "base_ref", strings.Repeat("ж", 300), "invalid_text_too_long", "не более 256", nil},
		{"NUL in the phone", "recipient_phone", "+7701\x00", "invalid_text", "«Телефон получателя»", nil},
		{"a 65-character number", "number", strings.Repeat("1", 65), "invalid_document_number", "до 64 символов", nil},
		{"a 200 KB Idempotency-Key", "Idempotency-Key", "", "invalid_text_too_long", "не более 255",
			map[string]string{"Idempotency-Key": strings.Repeat("k", 200<<10)}},
		{"broken UTF-8 in the Idempotency-Key", "Idempotency-Key", "", "invalid_text", "Idempotency-Key",
			map[string]string{"Idempotency-Key": "key-\xff"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := fields()
			if tc.headers == nil {
				m[tc.field] = tc.value
			}
			body, ct := multipartBody(t, m, f.PDF)
			h := map[string]string{"Content-Type": ct}
			for k, v := range tc.headers {
				h[k] = v
			}
			resp, out := c.send("POST", "/api/v1/documents", body, h)
			var e apiError
			if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(out, &e) != nil || e.Error.Code != tc.code ||
				e.Error.Field != tc.field || !strings.Contains(e.Error.Message, tc.words) {
				t.Fatalf("%d %.300s", resp.StatusCode, out)
			}
		})
	}

	// The search, and a JSON edit with a NUL escaped as \u0000.
	for q, code := range map[string]string{"Д\x00": "invalid_text", "\xff": "invalid_text", strings.Repeat("я", 101): "invalid_text_too_long"} {
		resp, out := c.send("GET", "/api/v1/documents?folder=outgoing&q="+url.QueryEscape(q), nil, nil)
		var e apiError
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(out, &e) != nil || e.Error.Code != code || e.Error.Field != "q" {
			t.Errorf("q=%q: %d %s", q, resp.StatusCode, out)
		}
	}
	d := f.Create(t)
	resp, out := c.send("PATCH", "/api/v1/documents/"+d.ID.String(), strings.NewReader(`{"version":1,"number":"A\u0000B"}`),
		map[string]string{"Content-Type": "application/json"})
	var e apiError
	if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(out, &e) != nil || e.Error.Field != "number" {
		t.Fatalf("PATCH with \\u0000: %d %s", resp.StatusCode, out)
	}
	resp, out = c.send("PATCH", "/api/v1/documents/"+d.ID.String(), strings.NewReader(`{"version":1,"base_ref":"`+strings.Repeat("Я", 3000)+`"}`),
		map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(out, &e) != nil || e.Error.Field != "base_ref" {
		t.Fatalf("PATCH with a long base_ref: %d %s", resp.StatusCode, out)
	}

	// The API's date refusal names the API's format, in each language.
	for lang, words := range map[string]string{"ru": "YYYY-MM-DD", "kk": "YYYY-MM-DD", "en": "Use YYYY-MM-DD"} {
		m := fields()
		m["date"] = "01.11.2026"
		body, ct := multipartBody(t, m, f.PDF)
		resp, out := c.send("POST", "/api/v1/documents", body, map[string]string{"Content-Type": ct, "Accept-Language": lang})
		var e apiError
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(out, &e) != nil || e.Error.Field != "date" ||
			!strings.Contains(e.Error.Message, words) || strings.Contains(e.Error.Message, "ДД.ММ") || strings.Contains(e.Error.Message, "DD.MM") {
			t.Errorf("%s date: %d %s", lang, resp.StatusCode, out)
		}
	}

	// Well-formed input after all that still works, trimmed.
	m := fields()
	m["number"], m["base_ref"] = "  H-ok  ", " 1C:"+strings.Repeat("ж", 250)+" "
	body, ct := multipartBody(t, m, f.PDF)
	resp, out = c.send("POST", "/api/v1/documents", body, map[string]string{"Content-Type": ct, "Idempotency-Key": strings.Repeat("k", 255)})
	var doc apiDocument
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(out, &doc) != nil || doc.Number != "H-ok" || doc.BaseRef != "1C:"+strings.Repeat("ж", 250) {
		t.Fatalf("a good document after the bad ones: %d %s", resp.StatusCode, out)
	}
}

// An upload is spooled into the service's temporary directory under the
// spool prefix, never into the system's, while it arrives; nothing is left
// in either once it is answered.
func TestUploadSpoolsIntoTheServiceTempDir(t *testing.T) {
	f := storagetest.NewFixture(t)
	sysTmp := t.TempDir()
	t.Setenv("TMPDIR", sysTmp) // where Go's own multipart parsing would spool
	c, _ := apiTestServer(t, f)

	pdf := pdftest.PDFOfSize(2, 3<<20)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	type result struct {
		code int
		body []byte
	}
	done := make(chan result, 1)
	go func() {
		resp, out := c.send("POST", "/api/v1/documents", pr, map[string]string{"Content-Type": mw.FormDataContentType()})
		done <- result{resp.StatusCode, out}
	}()
	for k, v := range map[string]string{"type": "contract", "number": "SP-1", "date": "2026-11-01", "recipient_kind": "counterparty",
		"recipient_iin_bin": f.Recipient.Number, "recipient_name": "ТОО «Контрагент»"} {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "big.pdf")
	if _, err := fw.Write(pdf[:2<<20]); err != nil {
		t.Fatal(err)
	}
	// Half the file is in: it is on disk, in the service's directory.
	var spooled []string
	deadline := time.Now().Add(30 * time.Second)
	for len(spooled) == 0 {
		spooled, _ = filepath.Glob(filepath.Join(f.Svc.TempDir(), SpoolPrefix+"*"))
		if time.Now().After(deadline) {
			t.Fatal("no spool file in the service's temporary directory")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if left, _ := os.ReadDir(sysTmp); len(left) != 0 {
		t.Fatalf("the system's temporary directory holds %v", left)
	}
	if _, err := fw.Write(pdf[2<<20:]); err != nil {
		t.Fatal(err)
	}
	_ = mw.Close()
	_ = pw.Close()
	if r := <-done; r.code != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.code, r.body)
	}
	for _, dir := range []string{f.Svc.TempDir(), sysTmp} {
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%s still holds %v", dir, left)
		}
	}
}

// A repeated Idempotency-Key with the same request returns the first
// document; with a different request it is refused with 422, naming the
// key, and nothing is created.
func TestIdempotencyKeyBindsTheRequest(t *testing.T) {
	f := storagetest.NewFixture(t)
	c, _ := apiTestServer(t, f)
	fields := map[string]string{"type": "contract", "number": "IK-1", "date": "2026-11-01", "recipient_kind": "counterparty",
		"recipient_iin_bin": f.Recipient.Number, "recipient_name": "ТОО «Контрагент»"}
	post := func(m map[string]string, file []byte, key string) (int, apiDocument, apiError) {
		body, ct := multipartBody(t, m, file)
		resp, out := c.send("POST", "/api/v1/documents", body, map[string]string{"Content-Type": ct, "Idempotency-Key": key})
		var d apiDocument
		var e apiError
		_ = json.Unmarshal(out, &d)
		_ = json.Unmarshal(out, &e)
		return resp.StatusCode, d, e
	}
	code, first, _ := post(fields, f.PDF, "key-1")
	if code != http.StatusCreated {
		t.Fatalf("first: %d", code)
	}
	// The same request, spelled differently (spaces), is the same request.
	same := map[string]string{}
	for k, v := range fields {
		same[k] = v
	}
	same["recipient_name"] = "  ТОО   «Контрагент» "
	if code, again, _ := post(same, f.PDF, "key-1"); code != http.StatusCreated || again.ID != first.ID {
		t.Fatalf("the same request again: %d %s, want %s", code, again.ID, first.ID)
	}
	for name, change := range map[string]func(m map[string]string) []byte{
		"another number": func(m map[string]string) []byte { m["number"] = "IK-2"; return f.PDF },
		"another file":   func(m map[string]string) []byte { return pdftest.PDF(3) },
		"another date":   func(m map[string]string) []byte { m["date"] = "2026-11-02"; return f.PDF },
	} {
		m := map[string]string{}
		for k, v := range fields {
			m[k] = v
		}
		file := change(m)
		code, _, e := post(m, file, "key-1")
		if code != http.StatusUnprocessableEntity || e.Error.Code != "idempotency_key_reused" || !strings.Contains(e.Error.Message, "Idempotency-Key") {
			t.Errorf("%s under the same key: %d %+v", name, code, e)
		}
	}
	var n int
	if err := f.DB.Pool.QueryRow(t.Context(), `SELECT count(*) FROM documents WHERE sender_org_id = $1`, f.Sender.OrgID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d documents, want 1 (%v)", n, err)
	}

	// A copy's key is bound to the document copied.
	other := f.Create(t)
	cp := func(id string) int {
		resp, _ := c.send("POST", "/api/v1/documents/"+id+"/copy", nil, map[string]string{"Idempotency-Key": "copy-1"})
		return resp.StatusCode
	}
	if a, b, x := cp(first.ID.String()), cp(first.ID.String()), cp(other.ID.String()); a != 201 || b != 201 || x != 422 {
		t.Fatalf("copies under one key: %d %d %d, want 201 201 422", a, b, x)
	}
}

// An edit must name the version it was made on — "version" in the body, or
// If-Match with the ETag GET returned — or it is refused with 428; a stale
// If-Match is 412, a stale body version 409.
func TestEditNamesTheVersionItWasMadeOn(t *testing.T) {
	f := storagetest.NewFixture(t)
	c, _ := apiTestServer(t, f)
	d := f.Create(t)
	path := "/api/v1/documents/" + d.ID.String()
	resp, _ := c.send("GET", path, nil, nil)
	tag := resp.Header.Get("ETag")
	if tag != `"1"` {
		t.Fatalf("GET's ETag: %q", tag)
	}
	patch := func(body string, headers map[string]string) (*http.Response, apiError, apiDocument) {
		t.Helper()
		h := map[string]string{"Content-Type": "application/json"}
		for k, v := range headers {
			h[k] = v
		}
		resp, out := c.send("PATCH", path, strings.NewReader(body), h)
		var e apiError
		var doc apiDocument
		_ = json.Unmarshal(out, &e)
		_ = json.Unmarshal(out, &doc)
		return resp, e, doc
	}
	for name, h := range map[string]map[string]string{"no version": nil, "If-Match: *": {"If-Match": "*"}} {
		if resp, e, _ := patch(`{"number":"silent"}`, h); resp.StatusCode != http.StatusPreconditionRequired ||
			e.Error.Code != "version_required" || !strings.Contains(e.Error.Message, "If-Match") {
			t.Fatalf("%s: %d %+v", name, resp.StatusCode, e)
		}
	}
	body, ct := multipartBody(t, map[string]string{"number": "silent"}, pdftest.PDF(1))
	if resp, _ := c.send("PATCH", path, body, map[string]string{"Content-Type": ct}); resp.StatusCode != http.StatusPreconditionRequired {
		t.Fatalf("multipart without a version: %d", resp.StatusCode)
	}

	resp, _, doc := patch(`{"number":"E-2"}`, map[string]string{"If-Match": tag})
	if resp.StatusCode != http.StatusOK || doc.Number != "E-2" || doc.Version != 2 || resp.Header.Get("ETag") != `"2"` {
		t.Fatalf("PATCH with If-Match: %d %+v %q", resp.StatusCode, doc, resp.Header.Get("ETag"))
	}
	for name, tc := range map[string]struct {
		body, ifMatch string
		status        int
	}{
		"the old ETag":                   {`{"number":"lost"}`, `"1"`, http.StatusPreconditionFailed},
		"a weak ETag":                    {`{"number":"lost"}`, `W/"2"`, http.StatusPreconditionFailed},
		"a body version against the tag": {`{"number":"lost","version":1}`, `"2"`, http.StatusPreconditionFailed},
		"a stale body version":           {`{"number":"lost","version":1}`, "", http.StatusConflict},
	} {
		h := map[string]string{}
		if tc.ifMatch != "" {
			h["If-Match"] = tc.ifMatch
		}
		if resp, e, _ := patch(tc.body, h); resp.StatusCode != tc.status || e.Error.Code != "document_changed" {
			t.Errorf("%s: %d %+v", name, resp.StatusCode, e)
		}
	}
	if resp, _, doc := patch(`{"number":"E-3"}`, map[string]string{"If-Match": `"1", "2"`}); resp.StatusCode != http.StatusOK || doc.Number != "E-3" {
		t.Fatalf("If-Match listing the current ETag: %d %+v", resp.StatusCode, doc)
	}
}

// PostgreSQL out of reach is a 503 with Retry-After, in the caller's
// language, not a 500: a server at a closed port, and a connection whose
// backend was terminated (the next request is served again).
func TestDatabaseOutOfReachIs503(t *testing.T) {
	f := storagetest.NewFixture(t)
	key, _, err := f.Svc.CreateAPIKey(t.Context(), f.Sender.Number)
	if err != nil {
		t.Fatal(err)
	}
	d := f.Create(t)
	serve := func(db *storage.DB) apiClient {
		svc := core.New(core.Deps{Store: db, Blobs: storage.Blobs{DB: db}, Chats: db, TempDir: t.TempDir()})
		s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: svc}
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(srv.Close)
		return apiClient{t, srv.URL, key}
	}
	unavailable := func(resp *http.Response, out []byte) bool {
		var e apiError
		return resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "5" &&
			json.Unmarshal(out, &e) == nil && e.Error.Code == "service_unavailable" && strings.Contains(e.Error.Message, "дерекқор")
	}

	down := serve(storagetest.Unreachable(t))
	for _, path := range []string{"/api/v1/documents?folder=outgoing", "/api/v1/documents/" + d.ID.String(), "/d/" + d.LinkToken} {
		if resp, out := down.send("GET", path, nil, map[string]string{"Accept-Language": "kk"}); !unavailable(resp, out) {
			t.Errorf("%s with the server gone: %d %q %s", path, resp.StatusCode, resp.Header.Get("Retry-After"), out)
		}
	}

	one := storagetest.OneConnection(t)
	c := serve(one)
	if resp, out := c.send("GET", "/api/v1/documents/"+d.ID.String(), nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("before: %d %s", resp.StatusCode, out)
	}
	storagetest.Terminate(t, one)
	if resp, out := c.send("GET", "/api/v1/documents/"+d.ID.String(), nil, map[string]string{"Accept-Language": "kk"}); !unavailable(resp, out) {
		t.Fatalf("on the terminated backend: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	if resp, out := c.send("GET", "/api/v1/documents/"+d.ID.String(), nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the retry: %d %s", resp.StatusCode, out)
	}
}
