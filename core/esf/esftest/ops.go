package esftest

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"edobot/core/esf"
)

const dateTimeLayout = "2006-01-02T15:04:05.000-07:00"

var almaty = time.FixedZone("UTC+5", 5*60*60)

func stamp(t time.Time) string { return t.In(almaty).Format(dateTimeLayout) }

// now is the clock to the millisecond, which is what a dateTime carries.
func (s *Server) now() time.Time { return s.Clock.Now().Truncate(time.Millisecond) }

func (s *Server) createAuthTicket(r *request) (string, error) {
	iin := r.field("iin")
	if len(iin) != 12 {
		return "", refuse(esf.CodeIINNotValid)
	}
	ttl := esf.DefaultTicketTTL
	if v := r.field("ttlInMinutes"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > esf.MaxTicketTTL {
			return "", fault{text: "ttlInMinutes must be between 1 and 1440"}
		}
		ttl = n
	}
	s.nextID++
	state := fmt.Sprintf("%x-%d", s.now().UnixNano(), s.nextID)
	s.tickets[state] = &ticket{iin: iin, expires: s.now().Add(time.Duration(ttl) * time.Minute)}
	t := fmt.Sprintf("<authSign><timeMark>%d</timeMark><state>%s</state><iin>%s</iin><ttlInMinutes>%d</ttlInMinutes></authSign>",
		s.now().UnixMilli(), state, iin, ttl)
	return "<authTicketXml>" + esc(t) + "</authTicketXml>", nil
}

// signedTicket is what the fake checks of a signed ticket: that an XML
// signature is there and whose ticket it is (the cryptography is
// core/signature's, tested there).
type signedTicket struct {
	XMLName   xml.Name
	State     string `xml:"state"`
	IIN       string `xml:"iin"`
	Signature *struct {
		Value string `xml:"SignatureValue"`
	} `xml:"http://www.w3.org/2000/09/xmldsig# Signature"`
}

func (s *Server) checkUser(r *request) error {
	if !r.hasToken {
		return fault{text: "An error was discovered processing the <wsse:Security> header"}
	}
	if pw, ok := s.users[r.user]; !ok {
		return refuse(esf.CodeUserNotRegistered)
	} else if pw != r.password {
		return refuse(esf.CodePasswordInvalid)
	}
	return nil
}

func (s *Server) createSessionSigned(r *request) (string, error) {
	if err := s.checkUser(r); err != nil {
		return "", err
	}
	var st signedTicket
	if err := xml.Unmarshal([]byte(r.field("signedAuthTicket")), &st); err != nil || st.XMLName.Local != "authSign" {
		return "", refuse(esf.CodeTicketInvalid)
	}
	if st.Signature == nil || strings.TrimSpace(st.Signature.Value) == "" {
		return "", refuse(esf.CodeSignatureInvalid)
	}
	t, ok := s.tickets[st.State]
	switch {
	case !ok:
		return "", refuse(esf.CodeTicketNotFound)
	case st.IIN != t.iin || st.IIN != r.user:
		return "", refuse(esf.CodeIINNotValid)
	case s.now().After(t.expires):
		return "", refuse(esf.CodeTicketExpired)
	case t.used && !s.ReusableTickets:
		return "", refuse(esf.CodeTicketInvalid)
	}
	for _, ss := range s.sessions {
		if ss.iin == r.user && ss.open {
			return "", fault{text: "User already has opened session"}
		}
	}
	if last, ok := s.lastOpen[r.user]; ok && !s.NoSessionGap && s.now().Sub(last) < esf.SessionGap {
		return "", refuse(esf.CodeSessionTooSoon)
	}
	t.used = true
	s.lastOpen[r.user] = s.now()
	s.nextID++
	id := fmt.Sprintf("%032x", s.nextID)
	s.sessions[id] = &session{iin: r.user, tin: r.field("tin"), open: true}
	return "<sessionId>" + id + "</sessionId>", nil
}

func (s *Server) session(r *request) (*session, error) {
	ss, ok := s.sessions[r.field("sessionId")]
	if !ok || !ss.open {
		return nil, fault{text: "Session closed", detail: "sessionClosedException", description: "Сессия закрыта"}
	}
	return ss, nil
}

func status(st esf.SessionStatus) string { return "<status>" + string(st) + "</status>" }

func (s *Server) closeSession(r *request) (string, error) {
	ss, ok := s.sessions[r.field("sessionId")]
	if !ok {
		return status(esf.SessionNotFound), nil
	}
	ss.open = false
	return status(esf.SessionClosed), nil
}

func (s *Server) currentSessionStatus(r *request) (string, error) {
	ss, ok := s.sessions[r.field("sessionId")]
	switch {
	case !ok:
		return status(esf.SessionNotFound), nil
	case !ss.open:
		return status(esf.SessionClosed), nil
	}
	return status(esf.SessionOK), nil
}

func (s *Server) closeSessionByCredentials(r *request) (string, error) {
	if err := s.checkUser(r); err != nil {
		return "", err
	}
	if r.field("x509Certificate") == "" {
		return "", refuse(esf.CodeCertificateNotValid)
	}
	for _, ss := range s.sessions {
		if ss.iin == r.user && ss.tin == r.field("tin") {
			ss.open = false
		}
	}
	return status(esf.SessionClosed), nil
}

func (s *Server) currentUser(r *request) (string, error) {
	ss, err := s.session(r)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("<user><login>%s</login><status>ACTIVE</status><taxpayer><tin>%s</tin><nameRu>ТОО \"ПОКУПАТЕЛЬ\"</nameRu><resident>true</resident><resourceUser>false</resourceUser></taxpayer></user>",
		ss.iin, ss.tin), nil
}

// defaultLimit is the page size when the request names none.
const defaultLimit = 100

func (s *Server) queryUpdates(r *request) (string, error) {
	ss, err := s.session(r)
	if err != nil {
		return "", err
	}
	from, err := esf.ParseDateTime(r.field("lastEventDate"))
	if err != nil || r.field("direction") != string(esf.Inbound) {
		return "", fault{text: "Unmarshalling Error: lastEventDate or direction"}
	}
	var lastID int64
	if v := r.field("lastInvoiceId"); v != "" {
		lastID, _ = strconv.ParseInt(v, 10, 64)
	}
	limit := defaultLimit
	if v := r.field("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	cursor := &invoice{lastUpdate: from, id: lastID}
	var page []*invoice
	more := false
	for _, inv := range s.invoices {
		if inv.customer != ss.tin || !before(cursor, inv) {
			continue
		}
		if len(page) == limit {
			more = true
			break
		}
		page = append(page, inv)
	}
	last := cursor
	if len(page) > 0 {
		last = page[len(page)-1]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<lastEventDate>%s</lastEventDate>", stamp(last.lastUpdate))
	if last.id != 0 {
		fmt.Fprintf(&b, "<lastInvoiceId>%d</lastInvoiceId>", last.id)
	}
	fmt.Fprintf(&b, "<lastBlock>%t</lastBlock><invoiceInfoList>", !more)
	for _, inv := range page {
		writeInfo(&b, inv)
	}
	b.WriteString("</invoiceInfoList>")
	return b.String(), nil
}

func writeInfo(b *strings.Builder, inv *invoice) {
	b.WriteString("<invoiceInfo><invoiceBody>")
	b.WriteString(inv.escapedBody)
	fmt.Fprintf(b, "</invoiceBody><invoiceId>%d</invoiceId><registrationNumber>ESF-%s-%d</registrationNumber><inputDate>%s</inputDate>",
		inv.id, inv.seller, inv.id, stamp(inv.input))
	if !inv.delivered.IsZero() {
		fmt.Fprintf(b, "<deliveryDate>%s</deliveryDate>", stamp(inv.delivered))
	}
	fmt.Fprintf(b, "<lastUpdateDate>%s</lastUpdateDate><signatureValid>true</signatureValid><invoiceStatus>%s</invoiceStatus>"+
		"<version>InvoiceV2</version><signature>c2lnbmF0dXJl</signature><signatureType>COMPANY</signatureType><certificate>Y2VydA==</certificate></invoiceInfo>",
		stamp(inv.lastUpdate), inv.status)
}

func (s *Server) invoicesOf(r *request, ss *session) ([]*invoice, error) {
	var out []*invoice
	for _, v := range r.fields["id"] {
		id, _ := strconv.ParseInt(v, 10, 64)
		inv, ok := s.byID[id]
		if !ok || (inv.customer != ss.tin && inv.seller != ss.tin) {
			return nil, refuse(esf.CodeAccessDenied)
		}
		out = append(out, inv)
	}
	return out, nil
}

func (s *Server) queryInvoiceByID(r *request) (string, error) {
	ss, err := s.session(r)
	if err != nil {
		return "", err
	}
	invs, err := s.invoicesOf(r, ss)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<lastBlock>true</lastBlock><currPage>1</currPage><rsCount>%d</rsCount><invoiceInfoList>", len(invs))
	for _, inv := range invs {
		writeInfo(&b, inv)
	}
	b.WriteString("</invoiceInfoList>")
	return b.String(), nil
}

func (s *Server) confirm(r *request) (string, error) {
	ss, err := s.session(r)
	if err != nil {
		return "", err
	}
	invs, err := s.invoicesOf(r, ss)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("<invoiceSummaryList>")
	for _, inv := range invs {
		if inv.customer == ss.tin && inv.status == esf.StatusCreated {
			s.setStatus(inv, esf.StatusDelivered)
		}
		fmt.Fprintf(&b, "<invoiceSummary><invoiceId>%d</invoiceId><date>03.10.2017</date><invoiceStatus>%s</invoiceStatus><num>%s</num><lastUpdateDate>%s</lastUpdateDate></invoiceSummary>",
			inv.id, inv.status, inv.num, stamp(inv.lastUpdate))
	}
	b.WriteString("</invoiceSummaryList>")
	return b.String(), nil
}
