package web

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"edobot/bot/i18n"
	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/egov"
	"edobot/core/esf"
	"edobot/core/esf/esftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// lockedBuffer is a log sink the server's goroutines share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// esfWeb is the web server with ИС ЭСФ on: a manager bound to the
// fixture's sender, the fake ИС ЭСФ and the invoice use cases on a test
// clock, every log line (the server's and the use cases', debug and up)
// kept.
type esfWeb struct {
	f       *storagetest.Fixture
	clock   *coretest.Clock
	fake    *esftest.Server
	iv      *core.Invoices
	url     string
	log     *lockedBuffer
	manager *core.ChatUser
	auth    *sigtest.Key
}

func newESFWeb(t *testing.T) *esfWeb {
	t.Helper()
	ctx := context.Background()
	w := &esfWeb{f: storagetest.NewFixture(t), clock: coretest.NewClock(), log: &lockedBuffer{}}
	w.fake = esftest.New(t, w.clock)
	root := sigtest.NewRoot(t, "ESF WEB TEST ROOT")
	nca := root.Intermediate(t, "ESF WEB TEST NCA")
	verifier := &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Intermediates: []*x509.Certificate{nca.Cert}}
	log := slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sealer, err := core.NewSecretSealer(strings.Repeat("w", core.MinSecretKey))
	if err != nil {
		t.Fatal(err)
	}
	gw := &esf.Gateway{Client: esf.New(http.DefaultClient, w.fake.BaseURL()), Verifier: verifier}
	w.iv, err = core.NewInvoices(core.InvoicesDeps{Store: w.f.DB, Client: gw, Verifier: gw, Sealer: sealer, Links: w.f.DB,
		Clock: w.clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w.f.Svc.ESF = w.iv
	w.manager, err = w.f.Svc.ChatUser(ctx, core.ChannelTelegram, core.NewToken()[:12], "Асель", "ru")
	if err != nil {
		t.Fatal(err)
	}
	iin := storagetest.RandomIIN()
	if err := w.f.DB.BindChatUser(ctx, w.manager.ID, iin, w.f.Sender.OrgID, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	w.manager.IIN, w.manager.OrgID = iin, w.f.Sender.OrgID
	w.auth = nca.Issue(t, sigtest.Person{IIN: iin, BIN: w.f.Sender.Number, Surname: "ИВАНОВА", Name: "АСЕЛЬ", Auth: true}, nca.Cert)
	srv := httptest.NewUnstartedServer(nil)
	s := &Server{Log: log, Service: w.f.Svc}
	srv.Start()
	t.Cleanup(srv.Close)
	s.PublicURL = srv.URL
	srv.Config.Handler = s.Handler()
	w.url = srv.URL
	return w
}

func (w *esfWeb) post(t *testing.T, path, contentType string, body io.Reader) (int, string) {
	t.Helper()
	resp, err := http.Post(w.url+path, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (w *esfWeb) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(w.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (w *esfWeb) postPassword(t *testing.T, id, password string) (int, string) {
	t.Helper()
	return w.post(t, egov.ESFPasswordPath+id+"?lang=ru", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"password": {password}}.Encode()))
}

// told counts the outbox events of kind for the manager's own chat.
func (w *esfWeb) told(t *testing.T, kind string) int {
	t.Helper()
	var n int
	if err := w.f.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE chat_user_id = $1 AND kind = $2`,
		w.manager.ID, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestESFPasswordPage: the page serves once and for a short time; what is
// typed there is kept sealed and is never written to a log.
func TestESFPasswordPage(t *testing.T) {
	w := newESFWeb(t)
	ctx := context.Background()
	const password = "Пароль-Кабинета-7f3c9e"
	o, err := w.iv.OpenPasswordPage(ctx, w.manager)
	if err != nil {
		t.Fatal(err)
	}
	code, body := w.get(t, egov.ESFPasswordPath+o.ID+"?lang=ru")
	if code != http.StatusOK || !strings.Contains(body, w.manager.IIN) || !strings.Contains(body, "Пароль от кабинета ИС ЭСФ") ||
		!strings.Contains(body, `type="password"`) {
		t.Fatalf("GET: %d %s", code, body)
	}
	// An empty password and one that is too long leave the page usable.
	if code, body := w.postPassword(t, o.ID, " "); code != http.StatusUnprocessableEntity || !strings.Contains(body, "Пароль пуст") {
		t.Fatalf("empty password: %d %s", code, body)
	}
	long := strings.Repeat("ж", 300)
	if code, _ := w.postPassword(t, o.ID, long); code != http.StatusUnprocessableEntity {
		t.Fatalf("long password: %d", code)
	}
	if code, body := w.postPassword(t, o.ID, password); code != http.StatusOK || !strings.Contains(body, "Пароль сохранён") {
		t.Fatalf("POST: %d %s", code, body)
	}
	if kept, err := w.iv.HasPassword(ctx, w.manager); err != nil || !kept {
		t.Fatalf("password kept: %v %v", kept, err)
	}
	if w.told(t, core.OutboxESFPasswordSaved) != 1 {
		t.Fatal("the chat was not told the password was saved")
	}
	// One time: the second POST is refused and changes nothing.
	if code, body := w.postPassword(t, o.ID, "другой"); code != http.StatusGone || !strings.Contains(body, "Ссылка недействительна") {
		t.Fatalf("second POST: %d %s", code, body)
	}
	if code, _ := w.get(t, egov.ESFPasswordPath+o.ID); code != http.StatusGone {
		t.Fatalf("GET after use: %d", code)
	}
	if w.told(t, core.OutboxESFPasswordSaved) != 1 {
		t.Fatal("a used page saved again")
	}
	// Expired: neither shown nor taken.
	o2, err := w.iv.OpenPasswordPage(ctx, w.manager)
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(core.DefaultESFPasswordPageTTL)
	if code, _ := w.get(t, egov.ESFPasswordPath+o2.ID); code != http.StatusGone {
		t.Fatalf("GET expired: %d", code)
	}
	if code, _ := w.postPassword(t, o2.ID, "просрочен"); code != http.StatusGone {
		t.Fatalf("POST expired: %d", code)
	}
	if code, _ := w.postPassword(t, "no-such-page", password); code != http.StatusGone {
		t.Fatalf("POST unknown: %d", code)
	}
	// What was kept is the first password, sealed.
	var sealed []byte
	if err := w.f.DB.Pool.QueryRow(ctx, `SELECT sealed FROM esf_credentials WHERE org_id = $1 AND iin = $2`,
		w.manager.OrgID, w.manager.IIN).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(password)) {
		t.Fatal("the password is kept in the clear")
	}
	w.fake.AddUser(w.manager.IIN, password)
	if _, err := w.iv.StartTicket(ctx, w.manager); err != nil {
		t.Fatal(err)
	}
	logs := w.log.String()
	for _, p := range []string{password, long, "другой", "просрочен", url.QueryEscape(password)} {
		if strings.Contains(logs, p) {
			t.Fatalf("a password in the log:\n%s", logs)
		}
	}
}

// TestESFTicketPage: the NCALayer page shows the ticket to sign; a signed
// ticket posted back connects the organisation, a malformed one is
// refused and keeps nothing.
func TestESFTicketPage(t *testing.T) {
	w := newESFWeb(t)
	ctx := context.Background()
	w.fake.AddUser(w.manager.IIN, "пароль")
	if err := w.iv.SetPassword(ctx, w.manager, "пароль"); err != nil {
		t.Fatal(err)
	}
	start := func() (core.ESFOffer, string) {
		t.Helper()
		o, err := w.iv.StartTicketSigning(ctx, w.manager)
		if err != nil {
			t.Fatal(err)
		}
		code, body := w.get(t, egov.ESFTicketPath+o.ID+"?lang=ru")
		if code != http.StatusOK || !strings.Contains(body, w.manager.IIN) || !strings.Contains(body, "ключом AUTH") ||
			!strings.Contains(body, `data-base="`+egov.ESFTicketPath+o.ID+`"`) {
			t.Fatalf("GET: %d %s", code, body)
		}
		i := strings.Index(body, `<textarea id="ticket" readonly rows="6">`)
		j := strings.Index(body, "</textarea>")
		if i < 0 || j < i {
			t.Fatalf("no ticket on the page: %s", body)
		}
		ticket := html.UnescapeString(body[i+len(`<textarea id="ticket" readonly rows="6">`) : j])
		if !strings.HasPrefix(ticket, "<authSign>") || !strings.Contains(ticket, "<iin>"+w.manager.IIN+"</iin>") {
			t.Fatalf("the page's ticket %q", ticket)
		}
		return o, ticket
	}
	sign := func(id string, xml string) (int, string) {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"xml": xml})
		return w.post(t, egov.ESFTicketPath+id+"/sign", "application/json", bytes.NewReader(b))
	}

	// refused checks a refusal's answer: its code, and words of an XML
	// ticket, not of a CMS file.
	refused := func(what string, code int, body string, want core.Code, words string) {
		t.Helper()
		var out struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || code < 400 || code >= 500 ||
			out.Error.Code != string(want) || !strings.Contains(out.Error.Message, words) || strings.Contains(out.Error.Message, "CMS") {
			t.Fatalf("%s: %d %s, want %s «%s»", what, code, body, want, words)
		}
	}
	// Malformed: not XML at all, a ticket unsigned, a signed ticket changed
	// after signing.
	bad, ticket := start()
	code, body := sign(bad.ID, "<authSign><state>")
	refused("not XML", code, body, core.CodeESFTicketNotXML, "Подписанный тикет — не XML-документ.")
	if code, _ := sign(bad.ID, ticket); code != http.StatusGone {
		t.Fatalf("a used signing took another: %d", code)
	}
	unsigned, ticket := start()
	code, body = sign(unsigned.ID, ticket)
	refused("unsigned", code, body, core.CodeESFTicketUnsigned, "В тикете нет XML-подписи")
	changed, ticket := start()
	signed := string(w.auth.SignXML(t, []byte(ticket)))
	if !strings.Contains(signed, "<state>") {
		t.Fatalf("no state in the ticket %q", signed)
	}
	code, body = sign(changed.ID, strings.Replace(signed, "<state>", "<state>0", 1))
	refused("changed after signing", code, body, core.CodeESFTicketBroken, "XML-подпись тикета повреждена или тикет изменён после подписания")
	if ts, _ := w.iv.ActiveTickets(ctx, w.manager); len(ts) != 0 || w.fake.Calls(esf.OpCreateSessionSigned) != 0 {
		t.Fatalf("a refused ticket was kept or sent: %+v", ts)
	}
	if n := w.told(t, core.OutboxESFRefused); n != 3 {
		t.Fatalf("the chat was told %d refusals, want 3", n)
	}
	var codes []string
	if err := w.f.DB.Pool.QueryRow(ctx, `SELECT array_agg(payload->>'code' ORDER BY payload->>'code') FROM outbox WHERE chat_user_id = $1 AND kind = $2`,
		w.manager.ID, core.OutboxESFRefused).Scan(&codes); err != nil {
		t.Fatal(err)
	}
	if strings.Join(codes, " ") != "esf_ticket_not_xml esf_ticket_signature_broken esf_ticket_unsigned" {
		t.Fatalf("the chat was told %v", codes)
	}
	if code, _ := sign(unsigned.ID, "x"); code != http.StatusGone {
		t.Fatalf("second POST: %d", code)
	}
	if code, body := w.post(t, egov.ESFTicketPath+unsigned.ID+"/sign?lang=kk", "application/json", strings.NewReader(`{"xml":`)); code != http.StatusBadRequest ||
		!strings.Contains(body, `"message":"Сұрау танылмады."`) {
		t.Fatalf("not JSON: %d %s", code, body)
	}

	// Signed with the AUTH key, as NCALayer's signXml does: connected.
	good, ticket := start()
	code, body = sign(good.ID, string(w.auth.SignXML(t, []byte(ticket))))
	if code != http.StatusOK {
		t.Fatalf("signed ticket: %d %s", code, body)
	}
	var out struct {
		TicketID  int64     `json:"ticket_id"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.TicketID == 0 || !out.ExpiresAt.After(w.clock.Now()) {
		t.Fatalf("answer %s: %v", body, err)
	}
	if ts, err := w.iv.ActiveTickets(ctx, w.manager); err != nil || len(ts) != 1 || ts[0].ID != out.TicketID {
		t.Fatalf("active tickets %+v %v", ts, err)
	}
	var connected int
	if err := w.f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE org_id = $1 AND kind = $2`,
		w.manager.OrgID, core.OutboxESFConnected).Scan(&connected); err != nil || connected != 1 {
		t.Fatalf("connected told %d times: %v", connected, err)
	}
	if code, _ := w.get(t, egov.ESFTicketPath+good.ID); code != http.StatusGone {
		t.Fatalf("GET after signing: %d", code)
	}
	if code, _ := sign(good.ID, string(w.auth.SignXML(t, []byte(ticket)))); code != http.StatusGone {
		t.Fatalf("a signed ticket taken twice: %d", code)
	}
}

// TestESFTicketRefusalsForbidden: the eGov app is told a signed ticket
// that did not pass validation with 403 and the refusal in its language.
func TestESFTicketRefusalsForbidden(t *testing.T) {
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Cat: i18n.MustNew()}
	for _, err := range []error{core.ErrESFTicketWrongSigner, core.ErrESFTicketNotAuth, core.ErrESFTicketWrongOrg,
		core.ErrESFTicketMalformed, core.ErrESFTicketNotXML, core.ErrESFTicketUnsigned, core.ErrESFTicketBroken} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("PUT", "/", nil)
		r.Header.Set("Accept-Language", "kk")
		s.failApp(w, r, fmt.Errorf("signing: %w", err))
		var out egov.Error
		if jerr := json.Unmarshal(w.Body.Bytes(), &out); jerr != nil || w.Code != http.StatusForbidden ||
			out.Code != i18n.ErrorCode(err) || out.Message != s.Cat.Error("kk", err) {
			t.Errorf("%v: %d %s", err, w.Code, w.Body.String())
		}
	}
}
