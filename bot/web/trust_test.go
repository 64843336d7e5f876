package web

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"edobot/core"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// TestSignWhileNothingTrusted: while the service trusts no CA yet (NCA's
// certificates not downloaded), a signature is answered 503 with its own
// code and words, not as a bad certificate.
func TestSignWhileNothingTrusted(t *testing.T) {
	f := storagetest.NewFixture(t)
	f.Wire(func(deps *core.Deps) { deps.Verifier = &signature.Verifier{} }) // nothing trusted
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	d := f.Create(t)
	root := sigtest.NewRoot(t, "NCA RSA TEST ROOT")
	key := root.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Recipient.Number, Surname: "А", Name: "Б"})
	body := `{"cms":"` + base64.StdEncoding.EncodeToString(key.SignCMS(t, f.PDF, sigtest.CMSOptions{})) + `"}`
	req, _ := http.NewRequest("POST", srv.URL+"/d/"+d.LinkToken+"/sign", strings.NewReader(body))
	req.Header.Set("Accept-Language", "kk")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error struct{ Code, Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusServiceUnavailable ||
		out.Error.Code != "trust_not_loaded" || !strings.Contains(out.Error.Message, "ҰКО") {
		t.Fatalf("sign with nothing trusted: %d %+v %v", resp.StatusCode, out, err)
	}
}
