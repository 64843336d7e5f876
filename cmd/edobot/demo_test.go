package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"edobot/core/card"
	"edobot/core/coretest"
	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature/demo"
	"edobot/storage/storagetest"
)

// `edobot demo` makes a demo document, serves its link page, and the demo
// keys sign it there as recipient and sender; the card says ДЕМО.
func TestDemo(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv("DATABASE_URL", storagetest.URL(t))
	t.Setenv("HTTP_ADDR", addr)
	t.Setenv("PUBLIC_URL", "http://"+addr)
	t.Setenv("EDOBOT_TMPDIR", t.TempDir())
	t.Setenv("EDOBOT_NCA", "off")
	t.Setenv("REDIS_ADDR", "127.0.0.1:6379")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, logs coretest.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"demo"}, &out, &logs) }()

	linkRE := regexp.MustCompile(`Link page:\s+(\S+)`)
	var link, page string
	deadline := time.Now().Add(2 * coretest.Patience)
	for {
		if m := linkRE.FindStringSubmatch(out.String()); m != nil {
			link = m[1]
			if resp, err := http.Get(link); err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					page = string(body)
					break
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no demo link page in %v; stdout %q; logs:\n%s", 2*coretest.Patience, out.String(), logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "edo_") || !strings.Contains(page, "ДЕМО") || !strings.Contains(page, `id="demo"`) ||
		!strings.Contains(page, "Подписать демо-ключом") {
		t.Fatalf("demo output %q, page lacks the mark or the button:\n%s", out.String(), page)
	}
	sign := func() map[string]any {
		t.Helper()
		resp, err := http.Post(link+"/demo-sign", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&got)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("demo sign: %d %v; logs:\n%s", resp.StatusCode, got, logs.String())
		}
		return got
	}
	if got := sign(); got["side"] != "recipient" || got["status"] != "signing" {
		t.Fatalf("first demo signature: %v", got)
	}
	if got := sign(); got["side"] != "sender" || got["status"] != "signed" {
		t.Fatalf("second demo signature: %v", got)
	}
	resp, err := http.Get(link + "/status?version=0")
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st["status"] != "signed" {
		t.Fatalf("status: %v", st)
	}
	// The demo trusts no NCA certificate, and is ready without them.
	resp, err = http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(ready), "nca_trust") {
		t.Fatalf("readyz: %d %s", resp.StatusCode, ready)
	}
	// The printed curl lists the signed document.
	m := regexp.MustCompile(`curl -H 'Authorization: Bearer (\S+)' '(\S+)'`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no curl in the demo output %q", out.String())
	}
	req, _ := http.NewRequest("GET", m[2], nil)
	req.Header.Set("Authorization", "Bearer "+m[1])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	listed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if token := link[strings.LastIndex(link, "/")+1:]; resp.StatusCode != http.StatusOK || !strings.Contains(string(listed), token) {
		t.Fatalf("the printed curl: %d %s", resp.StatusCode, listed)
	}
	resp, err = http.Get(link + "/card")
	if err != nil {
		t.Fatal(err)
	}
	cardPDF, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(cardPDF, []byte("%PDF")) {
		t.Fatalf("card: %d %q", resp.StatusCode, cardPDF[:min(len(cardPDF), 200)])
	}
	if text := pdftest.Text(t, cardPDF); text != "" && !strings.Contains(text, card.DemoMark) {
		t.Fatalf("the card is not marked ДЕМО: %s", text)
	}
	// The database says it is a demo document: any serve shows it so.
	var isDemo bool
	token := link[strings.LastIndex(link, "/")+1:]
	db := storagetest.DB(t)
	if err := db.Pool.QueryRow(context.Background(), `SELECT demo FROM documents WHERE link_token = $1`, token).Scan(&isDemo); err != nil || !isDemo {
		t.Fatalf("documents.demo = %v, %v", isDemo, err)
	}
	cancel()
	waitServeExit(t, done, &logs)
}

// A demo key's signature is refused by a normal serve's verifier: the demo
// CA lives in the demo process only.
func TestDemoSignatureNotTrustedByServe(t *testing.T) {
	t.Setenv("DATABASE_URL", storagetest.URL(t))
	t.Setenv("EDOBOT_NCA", "test")
	kit, err := newDemoKit()
	if err != nil {
		t.Fatal(err)
	}
	file, err := demoPDF()
	if err != nil {
		t.Fatal(err)
	}
	cms, err := kit.ca.SignCMS(demo.Person{IIN: kit.iin, BIN: demoSenderBIN, Surname: "ДЕМО", Name: "Демо", Organisation: "ТОО «Демо»"}, file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The demo process's own verifier accepts it: the signature is sound.
	if sig, err := kit.verifier().VerifyDocument(ctx, cms, file); err != nil || sig.Signer.BIN != demoSenderBIN {
		t.Fatalf("the demo verifier: %+v %v", sig, err)
	}
	db := storagetest.DB(t)
	trust, err := openTrust(ctx, mustConfig(t), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	deps, err := serviceDeps(db, mustConfig(t), trust, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deps.Verifier.VerifyDocument(ctx, cms, file); err == nil {
		t.Fatal("a normal serve's verifier accepted a demo signature")
	}
	if deps.Demo {
		t.Fatal("a normal serve makes demo documents")
	}
}

// Without DATABASE_URL the demo runs on edobot_demo; a given one is kept.
func TestDemoDatabase(t *testing.T) {
	c, err := loadConfig(envOf())
	if err != nil {
		t.Fatal(err)
	}
	if c.databaseURLGiven {
		t.Fatal("DATABASE_URL unset, but given")
	}
	got, err := demoDatabase(c.DatabaseURL)
	if want := "postgres://postgres:postgres@127.0.0.1:5432/edobot_demo?sslmode=disable"; err != nil || got != want {
		t.Fatalf("demo database %q, %v; want %q", got, err, want)
	}
	if c, _ := loadConfig(envOf("DATABASE_URL", "postgres://db/mine")); !c.databaseURLGiven {
		t.Fatal("DATABASE_URL given, but not noted")
	}
}
