// Package sigextest is SIGEX's egovQr broker for tests, and a phone that
// signs through it the way eGov Mobile does.
//
// The fake speaks SIGEX's side to our client exactly as docs/sigex.md
// describes it (registration; a data POST held until the phone takes the
// data; a signature GET held until the person signs, refuses or the QR
// expires; one use per QR; refusals as {"message","requestID"} with HTTP
// 200), and eGov's official QR protocol to the phone (API №1 under a URL
// that contains mgovSign, API №2 with a bearer token, version 1, errors as
// a top-level {"message"}). Its clock moves only when a test says so.
package sigextest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"

	"edobot/core/egov"
)

// The eGov side of the fake (NITEC's «Документация по QR/Кросс подписанию в
// приложении eGov Mobile», see core/egov), and the texts SIGEX is seen to
// use for its refusals.
const (
	qrPrefix       = "mobileSign:"
	mobileLink     = "https://m.egov.kz/mobileSign/?link="
	businessLink   = "https://m.egov.kz/businessSign/?link="
	egovExpiryDate = "2006-01-02T15:04:05.000-0700" // "yyyy-MM-dd'T'HH:mm:ss.SSSz", as the text's example
	authToken      = "Token"

	msgExpired  = "QR signing procedure expired"
	msgUsed     = "QR code already used"
	msgNotFound = "QR signing procedure not found"
	msgBadData  = "bad request"
)

var astana = time.FixedZone("+05", 5*60*60)

// DefaultTTL is how long the fake keeps a QR; SIGEX states its own in
// expireAt and does not publish it.
const DefaultTTL = 10 * time.Minute

// State is where a procedure is.
type State int

const (
	Registered State = iota
	DataPosted       // our data arrived; the POST is held
	Taken            // the phone took the data; the POST was answered
	Signed           // the phone sent the signatures back
	Delivered        // the signatures went to the GET; the QR is spent
	Canceled         // the person refused
	Expired
)

func (s State) final() bool { return s >= Signed }

// onPath: the states of a procedure that goes well, in order.
func (s State) onPath() bool { return s <= Delivered }

// Procedure is what a test may look at of one signing procedure.
type Procedure struct {
	ID          string
	Description string
	BackURL     string
	State       State
	ExpireAt    time.Time
	DataPosts   int    // data POSTs that arrived, held or not
	Link        string // eGov Mobile launch link
	QRPayload   string
	SignMethod  string
	Documents   []Document // as posted by the client
}

// Document is one posted document.
type Document struct {
	NameRu, NameKz, NameEn string
	Mime                   string
	Data                   []byte
}

type procedure struct {
	Procedure
	token   string
	posted  json.RawMessage // the client's documentsToSign, returned to the phone as is
	signed  json.RawMessage // the phone's documentsToSign, with the CMS
	changed chan struct{}
}

// Server is the fake SIGEX.
type Server struct {
	URL string
	TTL time.Duration

	srv *httptest.Server
	mu  sync.Mutex
	now time.Time
	ps  map[string]*procedure
	// refusal, when set, is the answer to the next registration.
	refusal       string
	refusalStatus int
	breakHeld     int
	seq           int
}

// NewServer starts a fake SIGEX; it stops when the test ends.
func NewServer(tb testing.TB) *Server {
	s := &Server{TTL: DefaultTTL, now: time.Now(), ps: map[string]*procedure{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/egovQr", s.register)
	mux.HandleFunc("POST /api/egovQr/{id}", s.data)
	mux.HandleFunc("GET /api/egovQr/{id}", s.signatures)
	mux.HandleFunc("GET /egovQr/{id}/mgovSign", s.api1)
	mux.HandleFunc("GET /egovQr/{id}/mgovSign/documents", s.api2)
	mux.HandleFunc("PUT /egovQr/{id}/mgovSign/documents", s.api2Put)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	tb.Cleanup(s.Close)
	return s
}

// Close ends every held request and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	for _, p := range s.ps {
		if !p.State.final() {
			p.State = Expired
		}
		s.wake(p)
	}
	s.mu.Unlock()
	s.srv.Close()
}

// Now is the fake's clock; give it to the client as its Now.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the clock; procedures it carries past expireAt expire, and
// their held requests are answered.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
	for _, p := range s.ps {
		s.expire(p)
	}
}

// expire ends p if its time is up; s.mu is held.
func (s *Server) expire(p *procedure) {
	if !p.State.final() && !s.now.Before(p.ExpireAt) {
		p.State = Expired
		s.wake(p)
	}
}

// RefuseRegistration makes the next registration answer {"message"} with
// the given HTTP status (SIGEX refuses with 200 too).
func (s *Server) RefuseRegistration(message string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusal, s.refusalStatus = message, status
}

// BreakHeld makes the next n held requests (data POSTs or signature GETs)
// lose their connection before any answer, as a proxy would.
func (s *Server) BreakHeld(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.breakHeld += n
}

// Cancel refuses a procedure as the person does in the app. How the app
// tells SIGEX is not public; the GET learns it as {"status":"CANCELED"}.
func (s *Server) Cancel(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.ps[id]; p != nil && !p.State.final() {
		p.State = Canceled
		s.wake(p)
	}
}

// Get returns a procedure as it is now.
func (s *Server) Get(id string) (Procedure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.ps[id]
	if p == nil {
		return Procedure{}, false
	}
	out := p.Procedure
	out.Documents = append([]Document(nil), p.Documents...)
	return out, true
}

// Last returns the newest procedure's ID.
func (s *Server) Last(tb testing.TB) string {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var last *procedure
	for _, p := range s.ps {
		if last == nil || p.ID > last.ID {
			last = p
		}
	}
	if last == nil {
		tb.Fatal("sigextest: nothing registered")
	}
	return last.ID
}

// WaitFor blocks until the procedure reaches state (or a state past it,
// for the states a procedure passes through on the way to being signed).
func (s *Server) WaitFor(tb testing.TB, id string, state State) Procedure {
	tb.Helper()
	for {
		s.mu.Lock()
		p := s.ps[id]
		if p == nil {
			s.mu.Unlock()
			tb.Fatalf("sigextest: no procedure %s", id)
		}
		reached := p.State == state || (state.onPath() && p.State.onPath() && p.State > state)
		if reached {
			out := p.Procedure
			s.mu.Unlock()
			return out
		}
		if p.State.final() && !(state == Delivered && p.State == Signed) {
			st := p.State
			s.mu.Unlock()
			tb.Fatalf("sigextest: procedure %s is in state %d, not %d", id, st, state)
		}
		ch := p.changed
		s.mu.Unlock()
		<-ch
	}
}

// wake tells every waiter on p that it changed; s.mu is held.
func (s *Server) wake(p *procedure) {
	close(p.changed)
	p.changed = make(chan struct{})
}

// wait blocks until cond (evaluated under s.mu) holds or ctx ends.
func (s *Server) wait(ctx context.Context, p *procedure, cond func() bool) bool {
	for {
		s.mu.Lock()
		s.expire(p)
		if cond() {
			s.mu.Unlock()
			return true
		}
		ch := p.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// refuse answers as SIGEX does: HTTP 200 and {"message","requestID"}.
func refuse(w http.ResponseWriter, message string) {
	writeJSON(w, http.StatusOK, map[string]string{"message": message, "requestID": newID()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func jsonRequest(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Description string `json:"description"`
		WhenDone    *struct {
			BackURL string `json:"backUrl"`
		} `json:"whenDone"`
	}
	s.mu.Lock()
	refusal, status := s.refusal, s.refusalStatus
	s.refusal = ""
	s.mu.Unlock()
	if refusal != "" {
		writeJSON(w, status, map[string]string{"message": refusal, "requestID": newID()})
		return
	}
	if !jsonRequest(r) || json.NewDecoder(r.Body).Decode(&in) != nil || in.Description == "" {
		refuse(w, msgBadData)
		return
	}
	s.mu.Lock()
	// IDs sort by registration: a counter before the random part.
	s.seq++
	p := &procedure{Procedure: Procedure{ID: fmt.Sprintf("%06d%s", s.seq, newID()[:16]),
		Description: in.Description, ExpireAt: s.now.Add(s.TTL)}, token: newID(), changed: make(chan struct{})}
	if in.WhenDone != nil {
		p.BackURL = in.WhenDone.BackURL
	}
	api1 := s.URL + "/egovQr/" + p.ID + "/mgovSign"
	p.QRPayload = qrPrefix + api1
	p.Link = mobileLink + url.QueryEscape(api1)
	s.ps[p.ID] = p
	s.mu.Unlock()
	png, err := qrcode.Encode(p.QRPayload, qrcode.Medium, 256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	own := s.URL + "/api/egovQr/" + p.ID
	writeJSON(w, http.StatusOK, map[string]any{
		"qrCode": base64.StdEncoding.EncodeToString(png), "dataURL": own, "signURL": own,
		"eGovMobileLaunchLink": p.Link, "eGovBusinessLaunchLink": businessLink + url.QueryEscape(api1),
		"expireAt": p.ExpireAt.UnixMilli(),
	})
}

// lookup finds a procedure and ends it if its time is up.
func (s *Server) lookup(id string) *procedure {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.ps[id]
	if p != nil {
		s.expire(p)
	}
	return p
}

// breakIfAsked drops the connection of a held request when the test asked.
func (s *Server) breakIfAsked(w http.ResponseWriter) bool {
	s.mu.Lock()
	brk := s.breakHeld > 0
	if brk {
		s.breakHeld--
	}
	s.mu.Unlock()
	if !brk {
		return false
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
	return true
}

// data takes the client's documents and holds the request until the phone
// has taken them.
func (s *Server) data(w http.ResponseWriter, r *http.Request) {
	p := s.lookup(r.PathValue("id"))
	if p == nil {
		refuse(w, msgNotFound)
		return
	}
	var in struct {
		SignMethod      string          `json:"signMethod"`
		DocumentsToSign json.RawMessage `json:"documentsToSign"`
	}
	var docs []egov.Document
	if !jsonRequest(r) || json.NewDecoder(r.Body).Decode(&in) != nil ||
		(in.SignMethod != "CMS_SIGN_ONLY" && in.SignMethod != "CMS_WITH_DATA") ||
		json.Unmarshal(in.DocumentsToSign, &docs) != nil || len(docs) == 0 {
		refuse(w, msgBadData)
		return
	}
	parsed := make([]Document, len(docs))
	for i, d := range docs {
		b, err := base64.StdEncoding.DecodeString(d.Document.File.Data)
		if err != nil || d.NameRu == "" || d.ID == 0 {
			refuse(w, msgBadData)
			return
		}
		parsed[i] = Document{NameRu: d.NameRu, NameKz: d.NameKz, NameEn: d.NameEn, Mime: d.Document.File.Mime, Data: b}
	}
	s.mu.Lock()
	p.DataPosts++
	s.mu.Unlock()
	// A broken request never reached SIGEX proper: the data is not kept.
	if s.breakIfAsked(w) {
		return
	}
	s.mu.Lock()
	switch {
	case p.State == Expired:
		s.mu.Unlock()
		refuse(w, msgExpired)
		return
	case p.State >= Taken:
		s.mu.Unlock()
		refuse(w, msgUsed)
		return
	}
	// A POST sent again after a broken one replaces the data.
	p.State, p.SignMethod, p.Documents, p.posted = DataPosted, in.SignMethod, parsed, in.DocumentsToSign
	s.wake(p)
	s.mu.Unlock()
	var state State
	if !s.wait(r.Context(), p, func() bool { state = p.State; return p.State >= Taken }) {
		return
	}
	if state == Expired {
		refuse(w, msgExpired)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"signURL": s.URL + "/api/egovQr/" + p.ID, "expireAt": p.ExpireAt.UnixMilli()})
}

// signatures holds the GET until the procedure ends.
func (s *Server) signatures(w http.ResponseWriter, r *http.Request) {
	p := s.lookup(r.PathValue("id"))
	if p == nil {
		refuse(w, msgNotFound)
		return
	}
	if s.breakIfAsked(w) {
		return
	}
	var state State
	if !s.wait(r.Context(), p, func() bool { state = p.State; return p.State.final() }) {
		return
	}
	switch state {
	case Canceled:
		writeJSON(w, http.StatusOK, map[string]string{"status": "CANCELED"})
	case Expired:
		refuse(w, msgExpired)
	case Delivered:
		refuse(w, msgUsed)
	case Signed:
		s.mu.Lock()
		body := map[string]any{"signMethod": p.SignMethod, "version": 1, "documentsToSign": p.signed}
		p.State = Delivered
		s.wake(p)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, body)
	}
}

// egovRefuse answers the phone as eGov's text asks: a top-level message.
func egovRefuse(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"message": message})
}

// api1 is eGov's API №1: what the app shows first, and where to fetch the
// documents. A QR serves one phone.
func (s *Server) api1(w http.ResponseWriter, r *http.Request) {
	p := s.lookup(r.PathValue("id"))
	if p == nil {
		egovRefuse(w, http.StatusNotFound, msgNotFound)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.State == Expired {
		egovRefuse(w, http.StatusGone, msgExpired)
		return
	}
	if p.State >= Taken {
		egovRefuse(w, http.StatusGone, msgUsed)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"description": p.Description,
		"expiry_date": p.ExpireAt.In(astana).Format(egovExpiryDate),
		"organisation": map[string]string{"nameRu": "SIGEX (тест)", "nameKz": "SIGEX (тест)", "nameEn": "SIGEX (test)",
			"bin": ""},
		"document": map[string]string{"uri": s.URL + "/egovQr/" + p.ID + "/mgovSign/documents",
			"auth_type": authToken, "auth_token": p.token},
	})
}

func (s *Server) authorised(w http.ResponseWriter, r *http.Request) *procedure {
	p := s.lookup(r.PathValue("id"))
	if p == nil {
		egovRefuse(w, http.StatusNotFound, msgNotFound)
		return nil
	}
	if r.Header.Get("Authorization") != "Bearer "+p.token {
		egovRefuse(w, http.StatusForbidden, "bad token")
		return nil
	}
	return p
}

// api2 gives the phone the documents, once our data is there; the phone
// taking them is what answers our held POST.
func (s *Server) api2(w http.ResponseWriter, r *http.Request) {
	p := s.authorised(w, r)
	if p == nil {
		return
	}
	var state State
	if !s.wait(r.Context(), p, func() bool { state = p.State; return p.State >= DataPosted }) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case state == Expired:
		egovRefuse(w, http.StatusGone, msgExpired)
		return
	case state != DataPosted:
		egovRefuse(w, http.StatusGone, msgUsed)
		return
	}
	p.State = Taken
	s.wake(p)
	writeJSON(w, http.StatusOK, map[string]any{"signMethod": p.SignMethod, "version": 1, "documentsToSign": p.posted})
}

// api2Put takes the phone's signatures.
func (s *Server) api2Put(w http.ResponseWriter, r *http.Request) {
	p := s.authorised(w, r)
	if p == nil {
		return
	}
	var in struct {
		DocumentsToSign json.RawMessage `json:"documentsToSign"`
	}
	var docs []egov.Document
	if json.NewDecoder(r.Body).Decode(&in) != nil || json.Unmarshal(in.DocumentsToSign, &docs) != nil || len(docs) == 0 {
		egovRefuse(w, http.StatusBadRequest, msgBadData)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch p.State {
	case Taken:
	case Expired:
		egovRefuse(w, http.StatusGone, msgExpired)
		return
	default:
		egovRefuse(w, http.StatusGone, msgUsed)
		return
	}
	p.State, p.signed = Signed, in.DocumentsToSign
	s.wake(p)
	out := map[string]string{"message": "success"} // the text: HTTP 200 and "success"
	if p.BackURL != "" {
		out["backUrl"] = p.BackURL
	}
	writeJSON(w, http.StatusOK, out)
}
