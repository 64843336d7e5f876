// Package openapitest holds tests to the API's OpenAPI description: an HTTP
// transport that checks every request a test makes under the described
// prefix, and the answer to it, against the description, so that the two
// cannot drift apart unnoticed.
package openapitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Validator checks requests and responses against one description.
type Validator struct {
	Doc    *openapi3.T
	router routers.Router
	prefix string
}

var (
	mu    sync.Mutex
	cache = map[[32]byte]*Validator{}
)

// New loads and checks an OpenAPI document; the requests it validates are
// those whose path begins with prefix ("/api/v1/"). A document that does not
// load or validate fails the test.
func New(t testing.TB, spec []byte, prefix string) *Validator {
	t.Helper()
	v, err := load(spec, prefix)
	if err != nil {
		t.Fatalf("OpenAPI description: %v", err)
	}
	return v
}

func load(spec []byte, prefix string) (*Validator, error) {
	key := sha256.Sum256(append([]byte(prefix+"\x00"), spec...))
	mu.Lock()
	defer mu.Unlock()
	if v, ok := cache[key]; ok {
		return v, nil
	}
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("invalid: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	v := &Validator{Doc: doc, router: router, prefix: prefix}
	cache[key] = v
	return v, nil
}

// Options are the validation's: every status an operation answers must be
// described, every error is told, and a request must carry a bearer token
// where the description asks for one (its value is the server's to judge).
func Options() *openapi3filter.Options {
	return &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			if in.SecurityScheme.Type == "http" && in.SecurityScheme.Scheme == "bearer" {
				h := in.RequestValidationInput.Request.Header.Get("Authorization")
				if len(h) <= len("Bearer ") || !strings.EqualFold(h[:len("Bearer ")], "Bearer ") {
					return errors.New("no bearer token")
				}
				return nil
			}
			return fmt.Errorf("security scheme %q is not checked here", in.SecuritySchemeName)
		},
	}
}

// Client is an HTTP client whose every call under the prefix is validated.
func (v *Validator) Client(t testing.TB) *http.Client {
	return &http.Client{Transport: v.Transport(t, http.DefaultTransport)}
}

// Transport validates the calls it carries under the prefix and fails t
// (without stopping it) for every disagreement: a request the description
// does not allow may be refused (4xx), never accepted; an answer must be
// one the description gives for the request, status, headers and body.
func (v *Validator) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if !strings.HasPrefix(req.URL.Path, v.prefix) {
			return base.RoundTrip(req)
		}
		// The body is copied as it is sent, not read first: a test may
		// stream it and look at the server while it arrives.
		var sent *teeBody
		if req.Body != nil && req.Body != http.NoBody {
			sent = &teeBody{body: req.Body, closed: make(chan struct{})}
			req.Body = sent
		}
		route, params, routeErr := v.router.FindRoute(req)

		resp, err := base.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(out))
		if err != nil {
			return resp, err
		}
		what := req.Method + " " + req.URL.RequestURI()
		check := req.Clone(req.Context())
		check.Body = http.NoBody
		var in *openapi3filter.RequestValidationInput
		if routeErr == nil {
			in = &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: Options()}
		}
		if resp.StatusCode < 400 {
			// Accepted: the request must be one the description allows.
			// The transport closes the body once it has sent it all.
			reqErr := routeErr
			if routeErr == nil {
				if sent != nil {
					<-sent.closed
					check.Body = io.NopCloser(bytes.NewReader(sent.bytes()))
				}
				reqErr = openapi3filter.ValidateRequest(req.Context(), in)
			}
			if reqErr != nil {
				t.Errorf("OpenAPI: %s is not described, yet it was answered %d: %s", what, resp.StatusCode, short(reqErr))
			}
		}
		// A refusal may answer a request the description does not allow;
		// whatever the request, the answer must be as described.
		if routeErr != nil {
			// Not a described operation: at least the refusal must be ours.
			if resp.StatusCode >= 400 && resp.StatusCode != http.StatusMethodNotAllowed {
				if err := v.ValidateError(resp.Header, out); err != nil {
					t.Errorf("OpenAPI: %s answered %d: %s", what, resp.StatusCode, short(err))
				}
			}
			return resp, nil
		}
		rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
			Header: resp.Header, Body: io.NopCloser(bytes.NewReader(out)), Options: Options()}
		if err := openapi3filter.ValidateResponse(req.Context(), rin); err != nil {
			t.Errorf("OpenAPI: the answer %d to %s is not as described: %s\n%.500s", resp.StatusCode, what, short(err), out)
		}
		return resp, nil
	})
}

// teeBody keeps a copy of a request body as the transport reads it.
type teeBody struct {
	body   io.ReadCloser
	mu     sync.Mutex
	buf    bytes.Buffer
	once   sync.Once
	closed chan struct{}
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.mu.Lock()
	b.buf.Write(p[:n])
	b.mu.Unlock()
	return n, err
}

func (b *teeBody) Close() error {
	err := b.body.Close()
	b.once.Do(func() { close(b.closed) })
	return err
}

func (b *teeBody) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// ValidateError checks a refusal's body against the description's Error
// schema.
func (v *Validator) ValidateError(h http.Header, body []byte) error {
	s, ok := v.Doc.Components.Schemas["Error"]
	if !ok {
		return errors.New("the description has no Error schema")
	}
	return ValidateJSON(v.Doc, s.Value, h, body)
}

// ValidateJSON checks a JSON body against a schema of the document.
func ValidateJSON(doc *openapi3.T, schema *openapi3.Schema, h http.Header, body []byte) error {
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("content type %q, not JSON", ct)
	}
	val, err := decodeJSON(body)
	if err != nil {
		return err
	}
	opts := []openapi3.SchemaValidationOption{openapi3.MultiErrors()}
	if doc.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.EnableJSONSchema2020())
	}
	return schema.VisitJSON(val, opts...)
}

func decodeJSON(b []byte) (any, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	return v, nil
}

// ValidateWebhook checks a webhook delivery the server made (the request a
// receiver gets) against the description's webhook of that name.
func (v *Validator) ValidateWebhook(ctx context.Context, name string, req *http.Request, body []byte) error {
	item, ok := v.Doc.Webhooks[name]
	if !ok || item.Post == nil {
		return fmt.Errorf("no webhook %q with a POST", name)
	}
	check := req.Clone(ctx)
	check.Body = io.NopCloser(bytes.NewReader(body))
	route := &routers.Route{Spec: v.Doc, Path: name, PathItem: item, Method: http.MethodPost, Operation: item.Post}
	return openapi3filter.ValidateRequest(ctx, &openapi3filter.RequestValidationInput{Request: check, Route: route, Options: Options()})
}

// short cuts an error's text, which quotes the whole value (a PDF too).
func short(err error) string {
	s := err.Error()
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
