package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"edobot/core/coretest"
	"edobot/storage/storagetest"
)

// ncaTestdata holds NCA's real certificates and a CMS by NCA's library.
const ncaTestdata = "../../core/nca/testdata"

// ncaSite serves NCA's test PKI as https://test.pki.gov.kz/cert/ does, with
// the certificates the repository has (the 2004-era test roots it lacks
// answer 404), and returns the base URL for EDOBOT_NCA_CERT_URL.
func ncaSite(t *testing.T) string {
	files := map[string]string{
		"/cert/root_test_gost_2022.cer": "root_test_gost_2022.cer",
		"/cert/nca_gost2022_test.cer":   "nca_gost2022_test.cer",
		"/cert/nca_gost_test.cer":       "nca_gost_test.cer",
		"/cert/nca_rsa_test.cer":        "nca_rsa_test.cer",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-cert")
		http.ServeFile(w, r, filepath.Join(ncaTestdata, name))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/cert/"
}

// TestTrustCommands: `trust update` downloads NCA's test PKI and says what
// it did, `trust show` lists it, and `verify` then accepts a CMS made by
// NCA's own library with no CA file given.
func TestTrustCommands(t *testing.T) {
	t.Setenv("DATABASE_URL", storagetest.URL(t))
	t.Setenv("EDOBOT_LANG", "en")
	t.Setenv("EDOBOT_TRUSTED_CA", "")
	t.Setenv("EDOBOT_NCA", "test")
	t.Setenv("EDOBOT_OCSP_URL", "off") // trust is tested here; NCA's responders are out of reach
	base := ncaSite(t)
	t.Setenv("EDOBOT_NCA_CERT_URL", base)

	if out, _, code := runCmd(t, "trust", "show"); code != 0 || !strings.Contains(out, "nothing is trusted (EDOBOT_NCA=test)") {
		t.Fatalf("show before any download: %d %q", code, out)
	}
	out, errOut, code := runCmd(t, "trust", "update")
	for _, want := range []string{
		"added     root ", "/cert/root_test_gost_2022.cer", "НЕГІЗГІ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST 2022",
		"added     intermediate ", "/cert/nca_gost2022_test.cer",
		"failed    " + base + "root_gost_test.cer: answered 404 Not Found",
		"/cert/nca_gost_test.cer: does not chain to a trusted root",
		"trusted now: 1 roots, 1 intermediates",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trust update lacks %q", want)
		}
	}
	if code != 1 || t.Failed() {
		t.Fatalf("trust update with some certificates missing: %d\n%s%s", code, out, errOut)
	}

	out, _, code = runCmd(t, "trust", "show")
	for _, want := range []string{"root  GOST 34.10-2015 512", "intermediate  GOST 34.10-2015 512", "valid    2022-07-07 to 2032-07-07",
		"subject  CN=ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST 2022,C=KZ", "source   http://127.0.0.1:", "sha256   "} {
		if !strings.Contains(out, want) {
			t.Errorf("trust show lacks %q", want)
		}
	}
	if code != 0 || t.Failed() {
		t.Fatalf("trust show: %d\n%s", code, out)
	}

	data, cms := filepath.Join(ncaTestdata, "data_test123.txt"), filepath.Join(ncaTestdata, "kalkan_attached_gost2015_rsa.der")
	out, _, code = runCmd(t, "verify", "--data", data, cms)
	var reports []signerReport
	if err := json.Unmarshal([]byte(out), &reports); err != nil || code != 1 || len(reports) != 2 {
		t.Fatalf("verify: %d %s %v", code, out, err)
	}
	if r := reports[0]; !r.Valid || r.IIN != "123456789012" || r.Key != "gost2015" || r.SignedAt != "2022-09-27T21:17:59Z" {
		t.Fatalf("the GOST 2015 signer: %+v", r)
	}
	if r := reports[1]; r.Valid || r.Code != "cert_expired" {
		t.Fatalf("the RSA signer, whose certificate had expired: %+v", r)
	}

	// Only what the site has: nothing fails, nothing changes.
	t.Setenv("EDOBOT_NCA_CERTS", "root_test_gost_2022.cer,nca_gost2022_test.cer")
	if out, _, code := runCmd(t, "trust", "update"); code != 0 || strings.Count(out, "unchanged") != 2 {
		t.Fatalf("trust update again: %d\n%s", code, out)
	}

	if out, _, _ := runCmd(t, "--help"); !strings.Contains(out, "edobot trust show") || !strings.Contains(out, "edobot trust update") {
		t.Fatalf("usage: %s", out)
	}
	t.Setenv("EDOBOT_NCA", "staging")
	if _, errOut, code := runCmd(t, "trust", "show"); code != 1 || !strings.Contains(errOut, "EDOBOT_NCA:") {
		t.Fatalf("a bad EDOBOT_NCA: %d %q", code, errOut)
	}
	t.Setenv("EDOBOT_NCA", "test")
	t.Setenv("EDOBOT_NCA_CERT_URL", "ftp://test.pki.gov.kz/cert/")
	if _, errOut, code := runCmd(t, "trust", "update"); code != 1 || !strings.Contains(errOut, "EDOBOT_NCA_CERT_URL:") {
		t.Fatalf("a bad EDOBOT_NCA_CERT_URL: %d %q", code, errOut)
	}
}

// TestServeWithNothingTrusted: a fresh start that cannot reach NCA and has
// nothing stored still serves, says in its log that nothing is trusted yet
// and retries, and /readyz names nca_trust as down.
func TestServeWithNothingTrusted(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv("DATABASE_URL", storagetest.URL(t))
	t.Setenv("HTTP_ADDR", addr)
	if os.Getenv("REDIS_ADDR") == "" {
		t.Setenv("REDIS_ADDR", "127.0.0.1:6379")
	}
	t.Setenv("EDOBOT_TRUSTED_CA", "")
	t.Setenv("EDOBOT_NCA", "test")
	// Nothing stored, whatever the other tests downloaded.
	if _, err := storagetest.DB(t).Pool.Exec(context.Background(), `DELETE FROM trusted_certificates`); err != nil {
		t.Fatal(err)
	}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // NCA out of reach
	t.Setenv("EDOBOT_NCA_CERT_URL", down.URL+"/cert/")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &coretest.Buffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, io.Discard, logs) }()

	// Generous: it only costs time when the test fails anyway.
	deadline := time.Now().Add(2 * coretest.Patience)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), `"nca_trust":"down"`) &&
				strings.Contains(string(body), `"postgres":"ok"`) && strings.Contains(logs.String(), "NCA's certificates could not be downloaded") {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no readiness failure naming nca_trust in %v; last error %v; logs:\n%s", 2*coretest.Patience, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if l := logs.String(); !strings.Contains(l, "nothing is trusted yet: no NCA certificate is stored") || !strings.Contains(l, `"retry_in":"1m0s"`) {
		t.Fatalf("the start-up log does not say nothing is trusted:\n%s", l)
	}
	cancel()
	waitServeExit(t, done, logs)
}
