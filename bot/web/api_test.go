package web

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"edobot/core"
	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

type apiClient struct {
	t    *testing.T
	base string
	key  string
}

func (c apiClient) do(method, path string, body io.Reader, contentType string) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, body)
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept-Language", "ru")
	resp, err := apiHTTP(c.t).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func multipartBody(t *testing.T, fields map[string]string, file []byte) (io.Reader, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if file != nil {
		fw, _ := w.CreateFormFile("file", "contract.pdf")
		_, _ = fw.Write(file)
	}
	_ = w.Close()
	return &buf, w.FormDataContentType()
}

func TestRESTAPI(t *testing.T) {
	f := storagetest.NewFixture(t)
	f.Wire(func(deps *core.Deps) { deps.Egov = f.DB })
	ctx := context.Background()
	senderKey, _, err := f.Svc.CreateAPIKey(ctx, f.Sender.Number)
	if err != nil {
		t.Fatal(err)
	}
	recipientKey, _, err := f.Svc.CreateAPIKey(ctx, f.Recipient.Number)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc}
	srv := serve(t, s)
	sender := apiClient{t, srv.URL, senderKey}
	recipient := apiClient{t, srv.URL, recipientKey}

	fields := map[string]string{"type": "contract", "number": "API-1", "date": "2026-11-01", "recipient_kind": "counterparty",
		"recipient_iin_bin": f.Recipient.Number, "recipient_name": "ТОО «Контрагент»", "base_ref": "1C:000777"}
	body, ct := multipartBody(t, fields, f.PDF)
	code, out := sender.do("POST", "/api/v1/documents", body, ct)
	var doc apiDocument
	if code != http.StatusCreated || json.Unmarshal(out, &doc) != nil || doc.Status != "created" || !strings.HasPrefix(doc.Link, srv.URL+"/d/") || doc.File.Pages != 2 {
		t.Fatalf("create: %d %s", code, out)
	}

	// Refusals, each with its status and Russian message.
	refusals := []struct {
		name   string
		edit   func(map[string]string)
		file   []byte
		status int
		words  string
	}{
		{"bad BIN", func(m map[string]string) { m["recipient_iin_bin"] = "123456789012" }, f.PDF, 400, "ИИН/БИН"},
		{"bad date", func(m map[string]string) { m["date"] = "31.02.2026" }, f.PDF, 400, "дата"},
		{"not a PDF", nil, pdftest.PNG(), 415, "Это не PDF"},
		{"encrypted", nil, pdftest.Encrypted(f.PDF, "u", "o"), 422, "паролем"},
		{"too large", nil, pdftest.PDFOfSize(2, 15<<20+1), 413, "15 МБ"},
		{"same base document", func(m map[string]string) { m["number"] = "API-2" }, f.PDF, 409, "учётному документу"},
	}
	for _, rf := range refusals {
		m := map[string]string{}
		for k, v := range fields {
			m[k] = v
		}
		if rf.edit != nil {
			rf.edit(m)
		}
		body, ct := multipartBody(t, m, rf.file)
		code, out := sender.do("POST", "/api/v1/documents", body, ct)
		if code != rf.status || !strings.Contains(string(out), rf.words) {
			t.Errorf("%s: %d %s", rf.name, code, out)
		}
	}
	if code, _ := (apiClient{t, srv.URL, "edo_wrong"}).do("GET", "/api/v1/documents?folder=outgoing", nil, ""); code != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d", code)
	}

	// Folders for each side.
	list := func(c apiClient, folder string) []apiDocument {
		code, out := c.do("GET", "/api/v1/documents?folder="+folder, nil, "")
		var l struct{ Documents []apiDocument }
		if code != 200 || json.Unmarshal(out, &l) != nil {
			t.Fatalf("list %s: %d %s", folder, code, out)
		}
		return l.Documents
	}
	if l := list(sender, "outgoing"); len(l) != 1 || l[0].ID != doc.ID {
		t.Fatalf("outgoing: %+v", l)
	}
	if l := list(recipient, "incoming"); len(l) != 1 || l[0].Side != core.SideRecipient {
		t.Fatalf("incoming: %+v", l)
	}

	// The action table through the API.
	id := doc.ID.String()
	if code, out := sender.do("POST", "/api/v1/documents/"+id+"/revoke", nil, ""); code != http.StatusConflict || !strings.Contains(string(out), "«Отозвать» недоступно") {
		t.Fatalf("revoke in created: %d %s", code, out)
	}
	if code, _ := recipient.do("PATCH", "/api/v1/documents/"+id, strings.NewReader(`{"number":"X"}`), "application/json"); code != http.StatusForbidden {
		t.Fatalf("recipient edits: %d", code)
	}
	code, out = sender.do("PATCH", "/api/v1/documents/"+id, strings.NewReader(`{"number":"API-1a","version":1}`), "application/json")
	if code != 200 || json.Unmarshal(out, &doc) != nil || doc.Number != "API-1a" {
		t.Fatalf("edit: %d %s", code, out)
	}
	if code, _ := sender.do("PATCH", "/api/v1/documents/"+id, strings.NewReader(`{"number":"again","version":1}`), "application/json"); code != http.StatusConflict {
		t.Fatalf("stale edit: %d", code)
	}
	code, out = recipient.do("GET", "/api/v1/documents/"+id+"/files/original", nil, "")
	if code != 200 || !bytes.Equal(out, f.PDF) {
		t.Fatalf("download: %d", code)
	}
	code, out = recipient.do("POST", "/api/v1/documents/"+id+"/egov", nil, "")
	if code != http.StatusCreated || !strings.Contains(string(out), "mobileSign:") {
		t.Fatalf("egov session through the API: %d %s", code, out)
	}

	// Another organisation sees nothing.
	stranger := storagetest.NewFixture(t)
	strangerKey, _, _ := f.Svc.CreateAPIKey(ctx, stranger.Sender.Number)
	if code, _ := (apiClient{t, srv.URL, strangerKey}).do("GET", "/api/v1/documents/"+id, nil, ""); code != http.StatusNotFound {
		t.Fatalf("another organisation's document: %d", code)
	}

	// Sign both sides, then archive and the base document is locked.
	f.Sign(t, doc.ID, core.SideSender)
	f.Sign(t, doc.ID, core.SideRecipient)
	code, out = sender.do("POST", "/api/v1/documents/"+id+"/archive", nil, "")
	if code != 200 || json.Unmarshal(out, &doc) != nil || !doc.Archived || doc.Status != "signed" || !doc.BaseLocked || len(doc.Signatures) != 2 {
		t.Fatalf("archive: %d %s", code, out)
	}
	if l := list(recipient, "completed"); len(l) != 1 {
		t.Fatalf("the recipient's completed folder: %+v", l)
	}
	code, out = sender.do("POST", "/api/v1/documents/"+id+"/copy", nil, "")
	var cp apiDocument
	if code != http.StatusCreated || json.Unmarshal(out, &cp) != nil || cp.Status != "created" || cp.ID == doc.ID {
		t.Fatalf("copy: %d %s", code, out)
	}
	if code, _ := sender.do("DELETE", "/api/v1/documents/"+cp.ID.String(), nil, ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := sender.do("DELETE", "/api/v1/documents/"+id, nil, ""); code != http.StatusConflict {
		t.Fatalf("delete a signed document: %d", code)
	}
}

func TestAPIFileReplaceAndEzSigner(t *testing.T) {
	f := storagetest.NewFixture(t)
	root := sigtest.NewRoot(t, "NCA RSA TEST ROOT")
	nca := root.Intermediate(t, "NCA RSA TEST")
	verifier := &signature.Verifier{Roots: []*x509.Certificate{root.Cert}}
	f.Wire(func(deps *core.Deps) { deps.Verifier, deps.Combine = verifier, signature.Combine })
	ctx := context.Background()
	key, _, _ := f.Svc.CreateAPIKey(ctx, f.Sender.Number)
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c := apiClient{t, srv.URL, key}
	d := f.Create(t)
	id := d.ID.String()

	// Replace the file (and the number) with a multipart PATCH.
	newPDF := pdftest.PDF(4)
	body, ct := multipartBody(t, map[string]string{"number": "R-2", "version": strconv.FormatInt(d.Version, 10)}, newPDF)
	code, out := c.do("PATCH", "/api/v1/documents/"+id, body, ct)
	var doc apiDocument
	if code != 200 || json.Unmarshal(out, &doc) != nil || doc.File.Pages != 4 || doc.Number != "R-2" {
		t.Fatalf("replace the file: %d %s", code, out)
	}
	if code, out := c.do("GET", "/api/v1/documents/"+id+"/files/ezsigner", nil, ""); code != http.StatusUnprocessableEntity || !strings.Contains(string(out), "никто не подписал") {
		t.Fatalf("ezsigner before any signature: %d %s", code, out)
	}
	for _, side := range []core.Side{core.SideSender, core.SideRecipient} {
		k := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Actor(side).Number, Surname: "А", Name: "Б"}, nca.Cert)
		if _, _, err := f.Svc.SignCMS(ctx, d.ID, k.SignCMS(t, newPDF, sigtest.CMSOptions{}), "test"); err != nil {
			t.Fatalf("sign as %s: %v", side, err)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/documents/"+id+"/files/ezsigner", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := apiHTTP(c.t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cms, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || downloadName(t, resp) != "Подписи — contract.pdf.cms" {
		t.Fatalf("ezsigner: %d %v", resp.StatusCode, resp.Header)
	}
	results, err := verifier.Verify(ctx, cms, nil, signature.PurposeSign)
	if err != nil || len(results) != 2 || results[0].Err != nil || results[1].Err != nil {
		t.Fatalf("the ezSigner file does not verify: %v %+v", err, results)
	}
	if _, err := verifier.Verify(ctx, cms, signature.NewContent(newPDF), signature.PurposeSign); err != nil {
		t.Fatalf("the ezSigner file does not carry the document: %v", err)
	}
}
