package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProbes(t *testing.T) {
	redisDown := errors.New("dial tcp 127.0.0.1:6390: connection refused")
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test", Checks: []Check{
		{Name: "postgres", Ping: func(context.Context) error { return nil }},
		{Name: "redis", Ping: func(context.Context) error { return redisDown }},
	}}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	get := func(path string) (int, string) { return httpGet(t, srv.URL+path) }
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz = %d %s", code, body)
	}
	code, body := get("/readyz")
	var got map[string]string
	_ = json.Unmarshal([]byte(body), &got)
	if code != http.StatusServiceUnavailable || got["redis"] != "down" || got["postgres"] != "ok" {
		t.Fatalf("/readyz with Redis down = %d %s", code, body)
	}
	if strings.Contains(body, "6390") {
		t.Fatalf("/readyz leaks the error: %s", body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics = %d", code)
	}
}

// serve starts s for the test, closed at its end, as the public address of
// its links.
func serve(t testing.TB, s *Server) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	s.PublicURL = srv.URL
	return srv
}

// httpGet fetches url and returns the status and body.
func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
