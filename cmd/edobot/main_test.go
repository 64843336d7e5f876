package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"edobot/core/coretest"
	"edobot/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

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
	bin := coretest.RandomBIN()
	out, errOut, code := runCmd(t, "org", "add", "--bin", bin, "--name", "ТОО «Ромашка»", "--subscription-until", "2027-12-31")
	if code != 0 || !strings.Contains(out, bin+" registered") || !strings.Contains(out, "2027-12-31") {
		t.Fatalf("org add: %d %q %q", code, out, errOut)
	}
	out, _, code = runCmd(t, "org", "add", "--bin", bin, "--name", "ТОО «Ромашка-2»")
	if code != 0 || !strings.Contains(out, "updated") || !strings.Contains(out, "no subscription") {
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

	out, _, code = runCmd(t, "apikey", "create", "--org", bin)
	key := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(key, "edo_") {
		t.Fatalf("apikey create: %d %q", code, out)
	}
	var stored int
	db := storagetest.DB(t)
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM api_keys k JOIN organisations o ON o.id = k.org_id
		WHERE o.number = $1 AND k.prefix = $2`, bin, key[:10]).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("stored keys: %d, %v", stored, err)
	}
	_, errOut, code = runCmd(t, "apikey", "create", "--org", coretest.RandomBIN())
	if code != 1 || !strings.Contains(errOut, "не зарегистрирована") {
		t.Fatalf("apikey for an unknown organisation: %d %q", code, errOut)
	}

	out, _, code = runCmd(t, "webhook", "set", "--org", bin, "--url", "https://1c.example.kz/edo/hook")
	if code != 0 || len(strings.TrimSpace(out)) < 40 {
		t.Fatalf("webhook set: %d %q", code, out)
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
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d; logs:\n%s", code, logs.String())
		}
	case <-time.After(2 * coretest.Patience):
		t.Fatal("serve did not stop after its context ended")
	}
}
