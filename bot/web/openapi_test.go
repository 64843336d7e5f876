package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"edobot/bot/web/openapitest"
	"edobot/core"
	"edobot/jobs"
	"edobot/storage/storagetest"
)

// apiHTTP is the HTTP client of the API's tests: every call under /api/v1/
// and its answer are checked against openapi.json.
func apiHTTP(t testing.TB) *http.Client {
	return openapitest.New(t, openapiJSON, "/api/v1/").Client(t)
}

func TestOpenAPIServed(t *testing.T) {
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: &core.Service{}}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := apiHTTP(t).Get(srv.URL + OpenAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" || !bytes.Equal(b, openapiJSON) {
		t.Fatalf("%d %v %.100s", resp.StatusCode, resp.Header, b)
	}
	v := openapitest.New(t, b, "/api/v1/")
	if v.Doc.OpenAPI != "3.1.0" || v.Doc.Webhooks["documentEvent"] == nil {
		t.Fatalf("not the 3.1 description with its webhook: %s", v.Doc.OpenAPI)
	}
}

// registeredAPIRoutes are the patterns of the package's source that serve
// the API ("GET /api/v1/documents/{id}"), read from the code itself.
func registeredAPIRoutes(t *testing.T) []string {
	files, _ := filepath.Glob("*.go")
	pattern := regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE) /api/`)
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if v, err := strconv.Unquote(lit.Value); err == nil && pattern.MatchString(v) {
					out = append(out, v)
				}
			}
			return true
		})
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIDescribesEveryRoute: every route the server registers under
// /api/ is reached by an operation of the description, and every operation
// reaches one of them, as http.ServeMux routes.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	routes := registeredAPIRoutes(t)
	if len(routes) < 10 {
		t.Fatalf("too few API routes found in the source: %v", routes)
	}
	mux := http.NewServeMux()
	for _, p := range routes {
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	doc := openapitest.New(t, openapiJSON, "/api/v1/").Doc
	param := regexp.MustCompile(`\{[^}]+\}`)
	reached := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			target := param.ReplaceAllString(path, uuid.NewString())
			_, p := mux.Handler(httptest.NewRequest(method, target, nil))
			if !strings.HasPrefix(p, method+" ") {
				t.Errorf("%s %s is described but not served (%q)", method, path, p)
				continue
			}
			reached[p] = true
		}
	}
	for _, p := range routes {
		if !reached[p] {
			t.Errorf("%s is served but not described in openapi.json", p)
		}
	}
}

// TestOpenAPIWebhook: a delivery as the jobs make it is what the description
// says a receiver gets.
func TestOpenAPIWebhook(t *testing.T) {
	f := storagetest.NewFixture(t)
	ctx := context.Background()
	d := f.Create(t)
	f.Sign(t, d.ID, core.SideSender)
	var msgs []core.OutboxMessage
	if _, err := f.DB.RelayOutbox(ctx, 100000, time.Now(), func(_ context.Context, b []core.OutboxMessage) ([]uuid.UUID, error) {
		// Only this document's: the package's tests share the database,
		// and events of chats and organisations are never sent to webhooks.
		for _, m := range b {
			if m.DocumentID == d.ID {
				msgs = append(msgs, m)
			}
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, m := range msgs {
		kinds[m.Kind] = true
	}
	if !kinds[core.OutboxCreated] || !kinds[core.OutboxSigned] {
		t.Fatalf("events: %v", kinds)
	}
	v := openapitest.New(t, openapiJSON, "/api/v1/")
	var mu sync.Mutex
	var errs []error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		err := v.ValidateWebhook(r.Context(), "documentEvent", r, b)
		ts, _ := strconv.ParseInt(r.Header.Get("X-Edobot-Timestamp"), 10, 64)
		if err == nil && !core.VerifyWebhookSignature("secret", ts, b, r.Header.Get("X-Edobot-Signature")) {
			err = fmt.Errorf("the signature does not verify as described")
		}
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}))
	defer hook.Close()
	for _, m := range msgs {
		if err := jobs.DeliverWebhook(ctx, hook.Client(), core.Webhook{URL: hook.URL, Secret: "secret"}, m, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i, err := range errs {
		if err != nil {
			t.Errorf("delivery of %s: %v", msgs[i].Kind, err)
		}
	}
	if len(errs) != len(msgs) {
		t.Fatalf("%d deliveries of %d", len(errs), len(msgs))
	}
}

// recorder is a test that records its errors instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestOpenAPIValidationCatchesDrift: with a description that says a
// document's version is a string, and one that forgets a status, the same
// calls fail; and a request the description does not allow must not be
// accepted.
func TestOpenAPIValidationCatchesDrift(t *testing.T) {
	f := storagetest.NewFixture(t)
	c, _ := apiTestServer(t, f)
	d := f.Create(t)
	path := "/api/v1/documents/" + d.ID.String()
	call := func(spec []byte, method, p string) []string {
		t.Helper()
		rec := &recorder{TB: t}
		client := openapitest.New(t, spec, "/api/v1/").Client(rec)
		req, _ := http.NewRequest(method, c.base+p, nil)
		req.Header.Set("Authorization", "Bearer "+c.key)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return rec.errs
	}
	if errs := call(openapiJSON, "GET", path); len(errs) != 0 {
		t.Fatalf("the true description: %v", errs)
	}
	mutate := func(edit func(doc map[string]any)) []byte {
		var doc map[string]any
		if err := json.Unmarshal(openapiJSON, &doc); err != nil {
			t.Fatal(err)
		}
		edit(doc)
		b, _ := json.Marshal(doc)
		return b
	}
	at := func(doc map[string]any, keys ...string) map[string]any {
		for _, k := range keys {
			doc = doc[k].(map[string]any)
		}
		return doc
	}
	wrongType := mutate(func(doc map[string]any) {
		at(doc, "components", "schemas", "Document", "properties")["version"] = map[string]any{"type": "string"}
	})
	if errs := call(wrongType, "GET", path); len(errs) != 1 || !strings.Contains(errs[0], "version") {
		t.Errorf("a wrong schema is not caught: %v", errs)
	}
	noStatus := mutate(func(doc map[string]any) {
		delete(at(doc, "paths", "/api/v1/documents/{id}", "get", "responses"), "404")
	})
	if errs := call(noStatus, "GET", "/api/v1/documents/"+uuid.NewString()); len(errs) != 1 || !strings.Contains(errs[0], "404") {
		t.Errorf("an undescribed status is not caught: %v", errs)
	}
	loose := mutate(func(doc map[string]any) {
		at(doc, "components", "parameters", "ID", "schema")["pattern"] = "^x"
	})
	if errs := call(loose, "GET", path); len(errs) != 1 || !strings.Contains(errs[0], "is not described, yet it was answered 200") {
		t.Errorf("an accepted undescribed request is not caught: %v", errs)
	}
}
