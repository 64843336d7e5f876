// Package esftest is a fake ИС ЭСФ for tests: an httptest server speaking
// the same SOAP as the real one (the 2020 WSDLs of OnSwitchOff/ESF_kz
// and the other sources core/esf's package comment names): the signed-ticket sign-in with a UsernameToken, one
// open session per person and at most one new session per five minutes on
// an injected clock, inbound invoices made from the official sample
// (creolab-crm schemas/"One InvoiceV2.xml") with a queryUpdates cursor,
// status changes, confirmInvoiceById, and faults on demand.
package esftest

import (
	"bytes"
	_ "embed"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"edobot/core/esf"
)

//go:embed testdata/invoice_v2.xml
var sampleInvoice string

// Failure is a fault the server answers the next call of an operation with.
type Failure struct {
	Down      bool     // an HTTP 503 page, no SOAP
	Malformed bool     // HTTP 200 with an answer that is not the operation's
	Code      esf.Code // a SOAP fault with this faultstring
	Text      string   // a SOAP fault in free text (faultstring)
	Detail    string   // the fault detail's element; businessException when empty
}

// Server is the fake. Its zero settings are ИС ЭСФ's: single-use tickets,
// the five-minute rule.
type Server struct {
	*httptest.Server
	Clock clockwork.Clock
	// ReusableTickets lets one signed ticket open several sessions within
	// its TTL, which 1C's register of active tickets implies.
	ReusableTickets bool
	// NoSessionGap turns the five-minute rule off.
	NoSessionGap bool

	mu       sync.Mutex
	users    map[string]string // IIN → cabinet password
	tickets  map[string]*ticket
	sessions map[string]*session
	lastOpen map[string]time.Time // IIN → last session opened
	invoices []*invoice           // ordered by (lastUpdate, id)
	byID     map[int64]*invoice
	nextID   int64
	failures map[string][]Failure
	calls    map[string]int
}

type ticket struct {
	iin     string
	expires time.Time
	used    bool
}

type session struct {
	iin, tin string
	open     bool
}

type invoice struct {
	id                int64
	customer, seller  string
	num               string
	status            esf.InvoiceStatus
	input, lastUpdate time.Time
	delivered         time.Time
	body              string
	escapedBody       string // the body as invoiceBody carries it, escaped once
}

// New starts a fake ИС ЭСФ on clock; it stops with the test.
func New(tb testing.TB, clock clockwork.Clock) *Server {
	s := &Server{Clock: clock, users: map[string]string{}, tickets: map[string]*ticket{}, sessions: map[string]*session{},
		lastOpen: map[string]time.Time{}, byID: map[int64]*invoice{}, nextID: 100000, failures: map[string][]Failure{},
		calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

// BaseURL is what esf.New takes.
func (s *Server) BaseURL() string { return s.URL + "/esf-web/ws/api1" }

// AddUser registers a person with their cabinet password.
func (s *Server) AddUser(iin, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[iin] = password
}

// FailNext makes the next call of op fail as f (calls queue up).
func (s *Server) FailNext(op string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[op] = append(s.failures[op], f)
}

// Calls is how many times op was called.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// OpenSessions is how many sessions the person has open.
func (s *Server) OpenSessions(iin string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ss := range s.sessions {
		if ss.iin == iin && ss.open {
			n++
		}
	}
	return n
}

// AddInvoice issues an invoice from seller to customer (BINs) now, made
// from the official sample with its number, parties and id replaced, and
// returns its id.
func (s *Server) AddInvoice(seller, customer string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id := s.nextID
	num := strconv.FormatInt(id, 10)
	body := strings.NewReplacer("<num>2038556421124573223</num>", "<num>"+num+"</num>",
		"<tin>123456789011</tin>", "<tin>"+customer+"</tin>", "<tin>123456789021</tin>", "<tin>"+seller+"</tin>").Replace(sampleInvoice)
	now := s.now()
	inv := &invoice{id: id, customer: customer, seller: seller, num: num, status: esf.StatusCreated, input: now, lastUpdate: now, body: body, escapedBody: esc(body)}
	s.byID[id] = inv
	s.invoices = append(s.invoices, inv)
	return id
}

// SetStatus changes an invoice's status now, as its seller or ИС ЭСФ would.
func (s *Server) SetStatus(id int64, status esf.InvoiceStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setStatus(s.byID[id], status)
}

func (s *Server) setStatus(inv *invoice, status esf.InvoiceStatus) {
	inv.status = status
	inv.lastUpdate = s.now()
	if status == esf.StatusDelivered {
		inv.delivered = inv.lastUpdate
	}
	sort.SliceStable(s.invoices, func(i, j int) bool { return before(s.invoices[i], s.invoices[j]) })
}

// Status is an invoice's status.
func (s *Server) Status(id int64) esf.InvoiceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id].status
}

func before(a, b *invoice) bool {
	if !a.lastUpdate.Equal(b.lastUpdate) {
		return a.lastUpdate.Before(b.lastUpdate)
	}
	return a.id < b.id
}

// request is a SOAP request as the fake reads it: the UsernameToken, the
// operation and the texts of the body's leaf elements by name.
type request struct {
	user, password string
	hasToken       bool
	op             string
	fields         map[string][]string
}

func (r *request) field(name string) string {
	if v := r.fields[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	svc := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	if r.Method == http.MethodGet && svc == string(esf.VersionService) && r.URL.RawQuery == "wsdl" {
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<?xml version="1.0"?><wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" name="VersionService" targetNamespace="esf"/>`)
		return
	}
	req, err := readRequest(r.Body)
	if err != nil {
		writeFault(w, "Unmarshalling Error: "+err.Error(), "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[req.op]++
	if q := s.failures[req.op]; len(q) > 0 {
		s.failures[req.op] = q[1:]
		f := q[0]
		switch {
		case f.Down:
			http.Error(w, "<html><body>503 Service Unavailable</body></html>", http.StatusServiceUnavailable)
		case f.Malformed:
			writeAnswer(w, "somethingElse", "<x/>")
		case f.Code != "":
			writeFaultDetail(w, string(f.Code), f.Detail, "")
		default:
			writeFaultDetail(w, f.Text, f.Detail, "")
		}
		return
	}
	handlers := map[string]func(*request) (string, error){
		esf.OpCreateAuthTicket: s.createAuthTicket, esf.OpCreateSessionSigned: s.createSessionSigned,
		esf.OpCloseSession: s.closeSession, esf.OpCurrentSessionStatus: s.currentSessionStatus,
		esf.OpCloseSessionByCredentials: s.closeSessionByCredentials, esf.OpCurrentUser: s.currentUser,
		esf.OpQueryUpdates: s.queryUpdates, esf.OpQueryInvoiceByID: s.queryInvoiceByID, esf.OpConfirmInvoiceByID: s.confirm,
	}
	h, ok := handlers[req.op]
	if !ok {
		writeFault(w, "Unexpected wrapper element "+req.op+"Request found", "")
		return
	}
	body, err := h(req)
	if err != nil {
		f := err.(fault)
		writeFaultDetail(w, f.text, f.detail, f.description)
		return
	}
	writeAnswer(w, req.op, body)
}

// fault is a refusal the handlers return.
type fault struct{ text, detail, description string }

func (f fault) Error() string { return f.text }

func refuse(code esf.Code) error { return fault{text: string(code)} }

// readRequest reads the envelope strictly as the WSDL has it: the request
// element in namespace "esf", its descendants in none.
func readRequest(r io.Reader) (*request, error) {
	dec := xml.NewDecoder(r)
	req := &request{fields: map[string][]string{}}
	var path []xml.Name
	var text strings.Builder
	inBody := -1
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name)
			text.Reset()
			switch {
			case t.Name.Space == esf.NamespaceSOAP && t.Name.Local == "Body":
				inBody = len(path)
			case inBody > 0 && len(path) == inBody+1:
				if t.Name.Space != esf.NamespaceESF || !strings.HasSuffix(t.Name.Local, "Request") {
					return nil, fmt.Errorf("unexpected element {%s}%s", t.Name.Space, t.Name.Local)
				}
				req.op = strings.TrimSuffix(t.Name.Local, "Request")
			case inBody > 0 && t.Name.Space != "":
				return nil, fmt.Errorf("unexpected element {%s}%s: the children are unqualified", t.Name.Space, t.Name.Local)
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			switch {
			case t.Name.Space == esf.NamespaceWSSE && t.Name.Local == "Username":
				req.user, req.hasToken = text.String(), true
			case t.Name.Space == esf.NamespaceWSSE && t.Name.Local == "Password":
				req.password = text.String()
			case inBody > 0 && len(path) > inBody+1:
				req.fields[t.Name.Local] = append(req.fields[t.Name.Local], text.String())
			}
			text.Reset()
			path = path[:len(path)-1]
		}
	}
	if req.op == "" {
		return nil, fmt.Errorf("no request element")
	}
	return req, nil
}

func writeAnswer(w http.ResponseWriter, op, body string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	_, _ = io.WriteString(w, `<soap:Envelope xmlns:soap="`+esf.NamespaceSOAP+`"><soap:Body><ns2:`+op+`Response xmlns:ns2="esf">`+
		body+`</ns2:`+op+`Response></soap:Body></soap:Envelope>`)
}

func writeFault(w http.ResponseWriter, text, detail string) { writeFaultDetail(w, text, detail, "") }

func writeFaultDetail(w http.ResponseWriter, text, detail, description string) {
	if detail == "" {
		detail = "businessException"
	}
	if description == "" {
		description = text
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = fmt.Fprintf(w, `<soap:Envelope xmlns:soap="%s"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>%s</faultstring>`+
		`<detail><ns2:%s xmlns:ns2="esf"><description>%s</description></ns2:%s></detail></soap:Fault></soap:Body></soap:Envelope>`,
		esf.NamespaceSOAP, esc(text), detail, esc(description), detail)
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
