package sigex_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"edobot/core/sigex"
	"edobot/core/sigex/sigextest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

type fixture struct {
	fake     *sigextest.Server
	client   *sigex.Client
	phone    *sigextest.Phone
	key      *sigtest.Key
	verifier *signature.Verifier
	pdf      []byte
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := sigtest.NewRoot(t, "НУЦ РК (тест)")
	nca := root.Intermediate(t, "ҰКО (тест)")
	key := nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), Surname: "СЕРІКОВА", Name: "ДАНА"}, nca.Cert)
	fake := sigextest.NewServer(t)
	c := sigex.New(&http.Client{}, fake.URL+"/")
	c.Now, c.RetryPause = fake.Now, time.Millisecond
	return &fixture{fake: fake, client: c, phone: &sigextest.Phone{Key: key}, key: key,
		verifier: &signature.Verifier{Roots: []*x509.Certificate{root.Cert}},
		pdf:      []byte("%PDF-1.7\n" + strings.Repeat("договор ", 1000) + "\n%%EOF\n")}
}

func (f *fixture) docs() []sigex.Document {
	return []sigex.Document{{NameRu: "Договор №7 от 01.12.2026", NameKz: "Шарт №7, 01.12.2026", NameEn: "Contract No. 7",
		Meta: []sigex.Meta{{Name: "SHA-256", Value: "abc"}}, Mime: sigex.MimePDF, Data: f.pdf}}
}

// send starts SendData; its error arrives on the channel once SIGEX answers.
func (f *fixture) send(ctx context.Context, reg *sigex.Registration, method sigex.SignMethod) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- f.client.SendData(ctx, reg.DataURL, reg.ExpireAt, method, f.docs()) }()
	return errc
}

func (f *fixture) register(t *testing.T) (*sigex.Registration, string) {
	t.Helper()
	reg, err := f.client.Register(context.Background(), "Подписание: Договор №7", "https://edo.example/d/tok")
	if err != nil {
		t.Fatal(err)
	}
	return reg, f.fake.Last(t)
}

// The whole procedure: the data waits for the phone, the phone shows what
// we sent, and the CMS that comes back verifies over our PDF.
func TestSignedThroughSIGEX(t *testing.T) {
	f := newFixture(t)
	reg, id := f.register(t)
	if !bytes.HasPrefix(reg.QRPNG, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("qrCode is not a PNG: % x", reg.QRPNG[:8])
	}
	if want := f.fake.Now().Add(sigextest.DefaultTTL).Truncate(time.Millisecond); !reg.ExpireAt.Equal(want) {
		t.Fatalf("expireAt %v, want %v", reg.ExpireAt, want)
	}
	p, _ := f.fake.Get(id)
	if p.Description != "Подписание: Договор №7" || p.BackURL != "https://edo.example/d/tok" {
		t.Fatalf("registered %+v", p)
	}
	if reg.MobileLink == "" || reg.BusinessLink == "" || sigextest.API1(t, reg.MobileLink) != sigextest.API1(t, p.QRPayload) {
		t.Fatalf("launch links %q %q, QR %q", reg.MobileLink, reg.BusinessLink, p.QRPayload)
	}

	errc := f.send(context.Background(), reg, sigex.MethodDetached)
	f.fake.WaitFor(t, id, sigextest.DataPosted)
	select {
	case err := <-errc:
		t.Fatalf("SendData answered before the phone took the data: %v", err)
	default:
	}

	taken, code, body := f.phone.Take(t, reg.MobileLink)
	if taken == nil {
		t.Fatalf("phone: %d %s", code, body)
	}
	if err := <-errc; err != nil {
		t.Fatalf("SendData: %v", err)
	}
	want := f.docs()[0]
	got := taken.Documents[0]
	if taken.SignMethod != "CMS_SIGN_ONLY" || taken.Description != "Подписание: Договор №7" || len(taken.Documents) != 1 ||
		got.Mime != "@file/pdf" || got.NameRu != want.NameRu || got.NameKz != want.NameKz || !bytes.Equal(got.Data, f.pdf) {
		t.Fatalf("the phone was shown %+v", taken)
	}

	code, body = f.phone.Sign(t, taken)
	var answer struct{ BackURL string }
	if code != http.StatusOK || json.Unmarshal(body, &answer) != nil || answer.BackURL != "https://edo.example/d/tok" {
		t.Fatalf("phone's PUT: %d %s", code, body)
	}
	cms, err := f.client.AwaitSignatures(context.Background(), reg.SignURL, reg.ExpireAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(cms) != 1 {
		t.Fatalf("%d signatures", len(cms))
	}
	v, err := f.verifier.VerifyDocument(context.Background(), cms[0], f.pdf)
	if err != nil {
		t.Fatalf("the CMS does not verify over the PDF: %v", err)
	}
	if v.Signer.IIN != f.key.Cert.Subject.SerialNumber[3:] {
		t.Fatalf("signer %+v", v.Signer)
	}
}

// CMS_WITH_DATA: the app puts the PDF inside the CMS.
func TestAttachedSignature(t *testing.T) {
	f := newFixture(t)
	reg, _ := f.register(t)
	errc := f.send(context.Background(), reg, sigex.MethodAttached)
	f.phone.Scan(t, reg.BusinessLink)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	cms, err := f.client.AwaitSignatures(context.Background(), reg.SignURL, reg.ExpireAt)
	if err != nil {
		t.Fatal(err)
	}
	results, err := f.verifier.Verify(context.Background(), cms[0], nil, signature.PurposeSign)
	if err != nil || len(results) != 1 || results[0].Err != nil {
		t.Fatalf("attached CMS: %v %+v", err, results)
	}
}

func TestCanceledInTheApp(t *testing.T) {
	f := newFixture(t)
	reg, id := f.register(t)
	errc := f.send(context.Background(), reg, sigex.MethodDetached)
	if taken, code, body := f.phone.Take(t, reg.MobileLink); taken == nil {
		t.Fatalf("phone: %d %s", code, body)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	f.fake.Cancel(id)
	_, err := f.client.AwaitSignatures(context.Background(), reg.SignURL, reg.ExpireAt)
	if !errors.Is(err, sigex.ErrCanceled) {
		t.Fatalf("got %v, want ErrCanceled", err)
	}
}

// Nobody scans: the held data POST ends with the QR.
func TestExpiredUnscanned(t *testing.T) {
	f := newFixture(t)
	reg, id := f.register(t)
	errc := f.send(context.Background(), reg, sigex.MethodDetached)
	f.fake.WaitFor(t, id, sigextest.DataPosted)
	f.fake.Advance(sigextest.DefaultTTL)
	err := <-errc
	var se *sigex.Error
	if !errors.Is(err, sigex.ErrExpired) || !errors.As(err, &se) || se.Status != http.StatusOK || se.RequestID == "" {
		t.Fatalf("got %v, want ErrExpired over SIGEX's message", err)
	}
	// A phone that scans the dead QR is told so in eGov's shape.
	_, code, body := f.phone.Take(t, reg.MobileLink)
	var m struct{ Message string }
	if code != http.StatusGone || json.Unmarshal(body, &m) != nil || m.Message == "" {
		t.Fatalf("late scan: %d %s", code, body)
	}
}

// The phone took the data but the person never signed.
func TestExpiredUnsigned(t *testing.T) {
	f := newFixture(t)
	reg, id := f.register(t)
	errc := f.send(context.Background(), reg, sigex.MethodDetached)
	taken, _, _ := f.phone.Take(t, reg.MobileLink)
	if err := <-errc; err != nil || taken == nil {
		t.Fatal(err)
	}
	awaited := make(chan error, 1)
	go func() {
		_, err := f.client.AwaitSignatures(context.Background(), reg.SignURL, reg.ExpireAt)
		awaited <- err
	}()
	f.fake.Advance(sigextest.DefaultTTL)
	if err := <-awaited; !errors.Is(err, sigex.ErrExpired) {
		t.Fatalf("got %v, want ErrExpired", err)
	}
	if code, _ := f.phone.Sign(t, taken); code != http.StatusGone {
		t.Fatalf("a signature after expiry answered %d", code)
	}
	if p, _ := f.fake.Get(id); p.State != sigextest.Expired {
		t.Fatalf("state %d", p.State)
	}
}

// One QR, one use: a second phone, a second data POST and a second wait
// are all refused, and none of it is taken for expiry.
func TestOneUsePerQR(t *testing.T) {
	f := newFixture(t)
	reg, _ := f.register(t)
	errc := f.send(context.Background(), reg, sigex.MethodDetached)
	f.phone.Scan(t, reg.MobileLink)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.AwaitSignatures(context.Background(), reg.SignURL, reg.ExpireAt); err != nil {
		t.Fatal(err)
	}
	if _, code, _ := f.phone.Take(t, reg.MobileLink); code != http.StatusGone {
		t.Fatalf("second scan answered %d", code)
	}
	var se *sigex.Error
	if err := f.client.SendData(context.Background(), reg.DataURL, reg.ExpireAt, sigex.MethodDetached, f.docs()); !errors.As(err, &se) || errors.Is(err, sigex.ErrExpired) {
		t.Fatalf("second data POST: %v", err)
	}
	if _, err := f.client.AwaitSignatures(context.Background(), reg.SignURL, reg.ExpireAt); !errors.As(err, &se) || errors.Is(err, sigex.ErrExpired) {
		t.Fatalf("second wait: %v", err)
	}
}

// SIGEX refuses with HTTP 200 and {"message","requestID"}, or with another
// status.
func TestRefusals(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusTooManyRequests, http.StatusInternalServerError} {
		f := newFixture(t)
		f.fake.RefuseRegistration("Too many requests", status)
		_, err := f.client.Register(context.Background(), "x", "")
		var se *sigex.Error
		if !errors.As(err, &se) || se.Status != status || se.Message != "Too many requests" || se.RequestID == "" {
			t.Fatalf("status %d: got %v", status, err)
		}
	}
	f := newFixture(t)
	reg, _ := f.register(t)
	err := f.client.SendData(context.Background(), reg.DataURL, reg.ExpireAt, "XML", f.docs())
	var se *sigex.Error
	if !errors.As(err, &se) || se.Status != http.StatusOK {
		t.Fatalf("a signMethod SIGEX refuses: %v", err)
	}
}

// A held request that a proxy drops is sent again; the phone sees one
// procedure.
func TestBrokenHeldRequestsAreSentAgain(t *testing.T) {
	f := newFixture(t)
	reg, id := f.register(t)
	f.fake.BreakHeld(1)
	errc := f.send(context.Background(), reg, sigex.MethodDetached)
	taken, _, _ := f.phone.Take(t, reg.MobileLink)
	if err := <-errc; err != nil || taken == nil {
		t.Fatal(err)
	}
	if p, _ := f.fake.Get(id); p.DataPosts != 2 {
		t.Fatalf("%d data POSTs, want 2", p.DataPosts)
	}
	f.fake.BreakHeld(2)
	if code, body := f.phone.Sign(t, taken); code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	cms, err := f.client.AwaitSignatures(context.Background(), reg.SignURL, reg.ExpireAt)
	if err != nil || len(cms) != 1 {
		t.Fatalf("%v, %d signatures", err, len(cms))
	}
}

// A connection that keeps breaking after expireAt is an expiry, not a
// loop.
func TestBrokenPastExpiryIsExpiry(t *testing.T) {
	f := newFixture(t)
	reg, _ := f.register(t)
	f.fake.BreakHeld(1 << 20)
	f.client.Now = func() time.Time { return reg.ExpireAt }
	if err := f.client.SendData(context.Background(), reg.DataURL, reg.ExpireAt, sigex.MethodDetached, f.docs()); !errors.Is(err, sigex.ErrExpired) {
		t.Fatalf("got %v", err)
	}
}

func TestCancelledContextEndsTheWait(t *testing.T) {
	f := newFixture(t)
	reg, id := f.register(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := f.send(ctx, reg, sigex.MethodDetached)
	f.fake.WaitFor(t, id, sigextest.DataPosted)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

// Answers this client cannot use are ErrMalformed, not a panic or a
// registration without a QR.
func TestMalformedAnswers(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":   "<html>",
		"no qrCode":  `{"dataURL":"SELF/x","signURL":"SELF/x","expireAt":1}`,
		"no dataURL": `{"qrCode":"iVBORw0KGgo=","signURL":"SELF/x","expireAt":1}`,
		// The PDF would go to another host, and the URLs be kept for a restart.
		"dataURL elsewhere": `{"qrCode":"iVBORw0KGgo=","dataURL":"http://169.254.169.254/x","signURL":"SELF/x","expireAt":1,
			"eGovMobileLaunchLink":"https://m.egov.kz/mobileSign/?link=a","eGovBusinessLaunchLink":"https://m.egov.kz/businessSign/?link=a"}`,
		"signURL elsewhere": `{"qrCode":"iVBORw0KGgo=","dataURL":"SELF/x","signURL":"https://evil.test/x","expireAt":1,
			"eGovMobileLaunchLink":"https://m.egov.kz/mobileSign/?link=a","eGovBusinessLaunchLink":"https://m.egov.kz/businessSign/?link=a"}`,
		// Launch links become chat buttons.
		"javascript link": `{"qrCode":"iVBORw0KGgo=","dataURL":"SELF/x","signURL":"SELF/x","expireAt":1,
			"eGovMobileLaunchLink":"javascript:alert(1)","eGovBusinessLaunchLink":"https://m.egov.kz/businessSign/?link=a"}`,
	} {
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.ReplaceAll(body, "SELF", srv.URL)))
		}))
		_, err := sigex.New(srv.Client(), srv.URL).Register(context.Background(), "x", "")
		srv.Close()
		if !errors.Is(err, sigex.ErrMalformed) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
