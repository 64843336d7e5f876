package nca_test

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"edobot/core/nca"
	"edobot/core/signature"
	"edobot/storage"
	"edobot/storage/storagetest"
)

var ctx = context.Background()

func TestMain(m *testing.M) { storagetest.Main(m) }

// site stands in for NCA's certificate sites — pki.gov.kz, root.gov.kz,
// test.pki.gov.kz — as one local HTTP server: the client's transport sends
// every host there, keeping the host in the request, and the server answers
// host+path with the files a test puts there (404 for the others), counting
// the requests.
type site struct {
	srv   *httptest.Server
	mu    sync.Mutex
	files map[string][]byte // "pki.gov.kz/cert/nca_rsa.cer" → body
	codes map[string]int    // a status other than 200
	hits  map[string]int
}

func newSite(t *testing.T) *site {
	s := &site{files: map[string][]byte{}, codes: map[string]int{}, hits: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Host + r.URL.Path
		s.mu.Lock()
		s.hits[key]++
		body, ok := s.files[key]
		code := s.codes[key]
		s.mu.Unlock()
		if r.Method != http.MethodGet {
			http.Error(w, "method", http.StatusMethodNotAllowed)
			return
		}
		if code != 0 {
			http.Error(w, http.StatusText(code), code)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-cert")
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// put serves body at key ("host/path"); nil body takes the file's bytes.
func (s *site) put(key string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.codes, key)
	s.files[key] = body
}

func (s *site) fail(key string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[key] = code
}

func (s *site) hitsOf(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[key]
}

// client reaches the site whatever the URL's host and scheme.
func (s *site) client() *http.Client {
	to, _ := url.Parse(s.srv.URL)
	return &http.Client{Transport: toSite{to: to, next: s.srv.Client().Transport}}
}

type toSite struct {
	to   *url.URL
	next http.RoundTripper
}

func (rt toSite) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Host = req.URL.Hostname()
	r.URL.Scheme, r.URL.Host = rt.to.Scheme, rt.to.Host
	return rt.next.RoundTrip(r)
}

// testdata reads a file of testdata/.
func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	c, err := signature.ParseCertificate(testdata(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// emptyStore is the test database with no trusted certificate; the tests of
// this package share it, one at a time.
func emptyStore(t *testing.T) *storage.DB {
	t.Helper()
	db := storagetest.DB(t)
	if _, err := db.Pool.Exec(ctx, `DELETE FROM trusted_certificates`); err != nil {
		t.Fatal(err)
	}
	return db
}

// clock is a fixed time a test moves, and an After whose waits the test
// sees and ends.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan time.Duration
	fire  chan time.Time
}

func newClock(at time.Time) *clock {
	return &clock{now: at, waits: make(chan time.Duration, 1), fire: make(chan time.Time)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *clock) After(d time.Duration) <-chan time.Time {
	c.waits <- d
	return c.fire
}

// nextWait is the wait Run asks for after its work; it fails the test if Run
// stops instead.
func (c *clock) nextWait(t *testing.T, done <-chan error) time.Duration {
	t.Helper()
	select {
	case d := <-c.waits:
		return d
	case err := <-done:
		t.Fatalf("Run returned %v", err)
	}
	return 0
}

// sources is the list for a mode with the names given ("" for the mode's own).
func sources(t *testing.T, mode nca.Mode, names string) []nca.Source {
	t.Helper()
	s, err := nca.Sources(mode, "", names)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
