package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"edobot/bot/web"
	"edobot/bot/web/openapitest"
	"edobot/core"
	"edobot/core/coretest"
	"edobot/storage"
	"edobot/storage/storagetest"
)

func TestMain(m *testing.M) {
	asDefault = func(*slog.Logger) {}
	storagetest.Main(m)
}

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestCommands(t *testing.T) {
	t.Setenv("DATABASE_URL", storagetest.URL(t))
	t.Setenv("EDOBOT_LANG", "ru")

	if out, _, code := runCmd(t, "migrate"); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate on a migrated database: %d %q", code, out)
	}
	bin := storagetest.RandomBIN()
	out, errOut, code := runCmd(t, "org", "add", "--bin", bin, "--name", "ТОО «Ромашка»", "--subscription-until", "2027-12-31")
	if code != 0 || !strings.Contains(out, bin+" registered") || !strings.Contains(out, "2027-12-31") {
		t.Fatalf("org add: %d %q %q", code, out, errOut)
	}
	// Without a date, one already registered keeps its subscription.
	out, _, code = runCmd(t, "org", "add", "--bin", bin, "--name", "ТОО «Ромашка-2»")
	if code != 0 || !strings.Contains(out, "updated") || !strings.Contains(out, "until 2027-12-31") || strings.Contains(out, "trial") {
		t.Fatalf("org add again: %d %q", code, out)
	}
	bad := bin[:11] + string('0'+(bin[11]-'0'+1)%10)
	_, errOut, code = runCmd(t, "org", "add", "--bin", bad, "--name", "X")
	if code != 1 || !strings.Contains(errOut, "контрольная цифра") {
		t.Fatalf("org add with a bad BIN: %d %q", code, errOut)
	}
	_, errOut, code = runCmd(t, "org", "add", "--bin", bin, "--name", "X", "--subscription-until", "31.12.2027")
	if code != 2 || !strings.Contains(errOut, "2027-12-31") {
		t.Fatalf("bad date: %d %q", code, errOut)
	}

	out, errOut, code = runCmd(t, "apikey", "create", "--org", bin)
	key := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(key, "edo_") || !strings.Contains(errOut, "shown only now") {
		t.Fatalf("apikey create: %d %q %q", code, out, errOut)
	}
	var stored int
	db := storagetest.DB(t)
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM api_keys k JOIN organisations o ON o.id = k.org_id
		WHERE o.number = $1 AND k.prefix = $2`, bin, key[:10]).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("stored keys: %d, %v", stored, err)
	}
	_, errOut, code = runCmd(t, "apikey", "create", "--org", storagetest.RandomBIN())
	if code != 1 || !strings.Contains(errOut, "не зарегистрирована") {
		t.Fatalf("apikey for an unknown organisation: %d %q", code, errOut)
	}

	out, errOut, code = runCmd(t, "webhook", "set", "--org", bin, "--url", "https://1c.example.kz/edo/hook")
	if code != 0 || len(strings.TrimSpace(out)) < 40 || !strings.Contains(errOut, "shown only now") {
		t.Fatalf("webhook set: %d %q %q", code, out, errOut)
	}
	if _, errOut, code := runCmd(t, "webhook", "set", "--org", bin, "--url", "http://1c.example.kz/hook"); code != 1 || !strings.Contains(errOut, "https://") {
		t.Fatalf("plain-HTTP webhook: %d %q", code, errOut)
	}

	if out, _, code := runCmd(t, "version"); code != 0 || !strings.HasPrefix(out, "edobot ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if _, errOut, code := runCmd(t, "frobnicate"); code != 2 || !strings.Contains(errOut, "Usage") {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServe starts the real server on the test database and the machine's
// Redis, waits until it is ready, and stops it as SIGTERM would.
func TestServe(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv("DATABASE_URL", storagetest.URL(t))
	t.Setenv("HTTP_ADDR", addr)
	// What a process killed mid-upload left: its spool, its lock free.
	tmp := t.TempDir()
	t.Setenv("EDOBOT_TMPDIR", tmp)
	dead := filepath.Join(tmp, spoolPrefix+"1-dead")
	if err := os.MkdirAll(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(dead, "edobot-upload-1"), dead + ".lock"} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getenv("REDIS_ADDR") == "" {
		t.Setenv("REDIS_ADDR", "127.0.0.1:6379")
	}
	// NCA's certificates from a local copy of its site: ready means trusted.
	t.Setenv("EDOBOT_NCA", "test")
	t.Setenv("EDOBOT_NCA_CERT_URL", ncaSite(t))
	t.Setenv("EDOBOT_NCA_CERTS", "root_test_gost_2022.cer nca_gost2022_test.cer")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, io.Discard, &logs) }()

	// Generous: it only costs time when the test fails anyway.
	deadline := time.Now().Add(2 * coretest.Patience)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"redis":"ok"`) && strings.Contains(string(body), `"nca_trust":"ok"`) {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server not ready in %v; last error %v; logs:\n%s", 2*coretest.Patience, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The dead process's spool is gone; this one's is there while it runs.
	spools, _ := filepath.Glob(filepath.Join(tmp, spoolPrefix+"*"))
	if len(spools) != 2 || slices.Contains(spools, dead) {
		t.Fatalf("spools while serving: %v", spools)
	}
	cancel()
	waitServeExit(t, done, &logs)
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("left in EDOBOT_TMPDIR after a clean stop: %v", left)
	}
}

// apikey list shows an organisation's keys; apikey revoke makes the API
// refuse a key from its very next request, while the other keeps working.
func TestAPIKeyListAndRevoke(t *testing.T) {
	t.Setenv("DATABASE_URL", storagetest.URL(t))
	t.Setenv("EDOBOT_LANG", "ru")
	bin := storagetest.RandomBIN()
	if _, errOut, code := runCmd(t, "org", "add", "--bin", bin, "--name", "ТОО «Ключи»", "--subscription-until", "2099-12-31"); code != 0 {
		t.Fatalf("org add: %s", errOut)
	}
	var keys []string
	for range 2 {
		out, _, code := runCmd(t, "apikey", "create", "--org", bin)
		if code != 0 {
			t.Fatalf("apikey create: %d", code)
		}
		keys = append(keys, strings.TrimSpace(out))
	}
	// The id of a key, from the list, by its prefix; and its row.
	row := func(key string) (string, []string) {
		t.Helper()
		out, errOut, code := runCmd(t, "apikey", "list", "--org", bin)
		if code != 0 || !strings.Contains(out, "ТОО «Ключи»") {
			t.Fatalf("apikey list: %d %q %q", code, out, errOut)
		}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && f[1] == key[:10]+"…" {
				return f[0], f
			}
		}
		t.Fatalf("no key %s… in %q", key[:10], out)
		return "", nil
	}
	id, fields := row(keys[0])
	if fields[len(fields)-1] != "-" || fields[len(fields)-2] != "-" {
		t.Fatalf("a new key is neither used nor revoked: %q", fields)
	}

	db := storagetest.DB(t)
	svc := core.New(core.Deps{Store: db, Blobs: storage.Blobs{DB: db}, Chats: db})
	srv := httptest.NewServer((&web.Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: svc}).Handler())
	defer srv.Close()
	get := func(key string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/documents?folder=outgoing", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := openapitest.New(t, web.OpenAPI(), "/api/v1/").Client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := get(keys[0]), get(keys[1]); a != 200 || b != 200 {
		t.Fatalf("before: %d %d", a, b)
	}
	if _, fields := row(keys[0]); fields[len(fields)-2] == "-" {
		t.Fatalf("the key's use is not shown: %q", fields)
	}

	out, _, code := runCmd(t, "apikey", "revoke", id)
	if code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("apikey revoke: %d %q", code, out)
	}
	if a, b := get(keys[0]), get(keys[1]); a != http.StatusUnauthorized || b != 200 {
		t.Fatalf("after revoking the first: %d %d, want 401 200", a, b)
	}
	if _, fields := row(keys[0]); fields[len(fields)-1] == "-" {
		t.Fatalf("the revocation is not shown: %q", fields)
	}
	if out, _, code := runCmd(t, "apikey", "revoke", id); code != 0 || !strings.Contains(out, "already revoked") {
		t.Fatalf("revoke twice: %d %q", code, out)
	}
	if _, errOut, code := runCmd(t, "apikey", "revoke", "999999999"); code != 1 || !strings.Contains(errOut, "API-ключа с таким номером нет") {
		t.Fatalf("revoke an unknown key: %d %q", code, errOut)
	}
	if _, _, code := runCmd(t, "apikey", "revoke", "edo_abc"); code != 2 {
		t.Fatalf("revoke by text: %d", code)
	}
	if _, errOut, code := runCmd(t, "apikey", "list", "--org", storagetest.RandomBIN()); code != 1 || !strings.Contains(errOut, "не зарегистрирована") {
		t.Fatalf("list of an unknown organisation: %d %q", code, errOut)
	}
}

// waitServeExit waits for serve, whose context ended, to return 0.
func waitServeExit(t *testing.T, done <-chan int, logs fmt.Stringer) {
	t.Helper()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d; logs:\n%s", code, logs.String())
		}
	case <-time.After(2 * coretest.Patience):
		t.Fatal("serve did not stop after its context ended")
	}
}

// The command's JSON logger becomes the process's default, so a library
// that logs through slog writes JSON lines too.
func TestLoggerIsTheDefault(t *testing.T) {
	var got *slog.Logger
	prev := asDefault
	asDefault = func(l *slog.Logger) { got = l }
	defer func() { asDefault = prev }()
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"version"}, io.Discard, &errOut); code != 0 || got == nil {
		t.Fatalf("version: %d, default logger %v", code, got)
	}
	got.Info("from a library", "k", "v")
	if !strings.Contains(errOut.String(), `"msg":"from a library","k":"v"}`) {
		t.Fatalf("the default logger wrote %q", errOut.String())
	}
}
