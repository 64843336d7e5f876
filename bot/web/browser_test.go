package web

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// fakeNCALayer speaks NCALayer's WebSocket protocol on TLS, as NCALayer does
// on the user's computer, and signs with a test key.
type fakeNCALayer struct {
	mu       sync.Mutex
	mode     string // "sign", "cancel"
	key      *sigtest.Key
	t        *testing.T
	requests []map[string]any
}

func (f *fakeNCALayer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)
	ctx := r.Context()
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"result":{"version":"1.4"}}`))
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		var req map[string]any
		_ = json.Unmarshal(msg, &req)
		f.mu.Lock()
		f.requests = append(f.requests, req)
		mode, key := f.mode, f.key
		f.mu.Unlock()
		var reply any
		args, _ := req["args"].(map[string]any)
		switch {
		case req["module"] != "kz.gov.pki.knca.basics" || req["method"] != "sign" || args == nil:
			reply = map[string]any{"status": false, "code": "500", "message": "unknown request"}
		case mode == "cancel":
			reply = map[string]any{"status": true, "body": map[string]any{}}
		default:
			data, _ := base64.StdEncoding.DecodeString(args["data"].(string))
			cms := key.SignCMS(f.t, data, sigtest.CMSOptions{})
			reply = map[string]any{"status": true, "body": map[string]any{"result": []string{base64.StdEncoding.EncodeToString(cms)}}}
		}
		b, _ := json.Marshal(reply)
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			return
		}
	}
}

func (f *fakeNCALayer) set(mode string, key *sigtest.Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode, f.key = mode, key
}

func browser(t *testing.T) (context.Context, context.CancelFunc) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Debian's chromium is required (scripts/setup.sh installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("ignore-certificate-errors", true), // the fake NCALayer's own certificate
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900), // a desktop: the link page frames the PDF
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// A bound on the whole test against a hung browser, not a speed target:
	// on a loaded machine under the race detector a test takes minutes.
	ctx, cancelTimeout := context.WithTimeout(ctx, 10*time.Minute)
	return ctx, func() { cancelTimeout(); cancelCtx(); cancelAlloc() }
}

// TestNCALayerInBrowser signs from the link page in headless Chromium, with
// our NCALayer client talking to a fake NCALayer over wss.
func TestNCALayerInBrowser(t *testing.T) {
	f := storagetest.NewFixture(t)
	root := sigtest.NewRoot(t, "NCA RSA TEST ROOT")
	nca := root.Intermediate(t, "NCA RSA TEST")
	f.Wire(func(deps *core.Deps) {
		deps.Verifier = &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Freshness: 15 * time.Minute}
	})
	f.Wire(func(deps *core.Deps) { deps.Egov = f.DB })
	recipient := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Recipient.Number, Surname: "НУРЛАНОВ", Name: "АСХАТ"}, nca.Cert)
	stranger := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: storagetest.RandomBIN(), Surname: "X", Name: "Y"}, nca.Cert)

	layer := &fakeNCALayer{t: t, mode: "sign", key: recipient}
	fake := httptest.NewTLSServer(layer)
	defer fake.Close()
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc,
		NCALayerURL: "wss://" + fake.Listener.Addr().String()}
	srv := serve(t, s)

	ctx, cancel := browser(t)
	defer cancel()
	// The pages run under their CSP: anything it refuses is in the log.
	var mu sync.Mutex
	var refused []string
	if err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			msg = e.Entry.Text
		case *cdpruntime.EventConsoleAPICalled:
			for _, a := range e.Args {
				msg += " " + string(a.Value) + a.Description
			}
		}
		if strings.Contains(msg, "Content Security Policy") || strings.Contains(msg, "Refused to") {
			mu.Lock()
			refused = append(refused, msg)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		if len(refused) > 0 {
			t.Errorf("the browser refused under the CSP: %q", refused)
		}
	}()
	text := func(sel string) string {
		out, err := chromedp.Run(ctx, chromedp.TextContent("#"+sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return out
	}
	waitText := func(sel, want string) {
		t.Helper()
		// Generous: under the race detector, with every other package's
		// tests on the same two cores, the 15 MiB round trip below takes
		// tens of seconds, and more on a loaded machine.
		deadline := time.Now().Add(3 * coretest.Patience)
		for time.Now().Before(deadline) {
			out, _ := chromedp.Run(ctx, chromedp.TextContent("#"+sel, chromedp.AtLeast(0)))
			if strings.Contains(out, want) {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("%s never showed %q (last: %q)", sel, want, text(sel))
	}

	// «Проверить работу» reports the version.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/ncalayer/check")); err != nil {
		t.Fatal(err)
	}
	waitText("result", "версия 1.4")

	// A signature by another organisation's key: refused with the product's words.
	d := f.Create(t)
	layer.set("sign", stranger)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/d/"+d.LinkToken), chromedp.Click("#ncalayer")); err != nil {
		t.Fatal(err)
	}
	waitText("error", "БИН/ИИН не соответствует созданному документу")

	// The sandboxed PDF still shows in the page's frame, in the browser's
	// own viewer.
	deadline := time.Now().Add(60 * time.Second)
	for viewer := false; !viewer; {
		targets, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range targets {
			viewer = viewer || strings.HasPrefix(ti.URL, "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/")
		}
		if !viewer && time.Now().After(deadline) {
			t.Fatalf("the PDF viewer never opened in the link page's frame: %d targets", len(targets))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// An authentication key picked for a document.
	auth := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: f.Recipient.Number, Surname: "X", Name: "Y", Auth: true}, nca.Cert)
	layer.set("sign", auth)
	if err := chromedp.Do(ctx, chromedp.Click("#ncalayer")); err != nil {
		t.Fatal(err)
	}
	waitText("error", "Этим ключом нельзя подписывать документы")

	// Cancelled in NCALayer's window.
	layer.set("cancel", recipient)
	if err := chromedp.Do(ctx, chromedp.Click("#ncalayer")); err != nil {
		t.Fatal(err)
	}
	waitText("error", "Подписание отменено")

	// The recipient signs; the page reloads into «На подписании».
	layer.set("sign", recipient)
	if err := chromedp.Do(ctx, chromedp.Click("#ncalayer")); err != nil {
		t.Fatal(err)
	}
	waitText("status", "На подписании")
	cur, _ := f.DB.Document(context.Background(), d.ID)
	if cur.Status != core.StatusSigning || cur.RecipientSignedAt == nil {
		t.Fatalf("after signing in the browser: %s", cur.Status)
	}
	layer.mu.Lock()
	req := layer.requests[len(layer.requests)-1]
	layer.mu.Unlock()
	args := req["args"].(map[string]any)
	if args["format"] != "cms" || args["signingParams"].(map[string]any)["encapsulate"] != false ||
		args["signerParams"].(map[string]any)["extKeyUsageOids"].([]any)[0] != "1.3.6.1.5.5.7.3.4" {
		t.Fatalf("the sign request: %v", req)
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		dir := os.Getenv("EDOBOT_ARTEFACTS")
		if dir == "" {
			dir = os.TempDir()
		}
		if os.MkdirAll(dir, 0o755) == nil {
			_ = os.WriteFile(dir+"/edobot-link-page.png", png, 0o644)
		}
	}

	// A 15 MiB PDF goes to NCALayer whole (base64, about 20 MiB in one
	// message) and its detached CMS comes back.
	big, err := f.Svc.CreateDocument(context.Background(), f.Sender, f.NewDocument(), bytes.NewReader(pdftest.PDFOfSize(200, 15<<20)))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/d/"+big.LinkToken), chromedp.Click("#ncalayer")); err != nil {
		t.Fatal(err)
	}
	waitText("status", "На подписании")

	// NCALayer not running.
	s.NCALayerURL = "wss://127.0.0.1:1"
	d2 := f.Create(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/d/"+d2.LinkToken), chromedp.Click("#ncalayer")); err != nil {
		t.Fatal(err)
	}
	waitText("error", "NCALayer не запущен")
}
