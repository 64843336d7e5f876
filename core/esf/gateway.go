package esf

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"edobot/core"
	"edobot/core/signature"
)

// Gateway is the client and the ticket check as core's invoice use cases
// call them (core.ESFClient, core.ESFTicketVerifier): core's own shapes,
// and every failure a *core.ESFFault of its kind.
type Gateway struct {
	Client   *Client
	Verifier *signature.Verifier
	// PageSize is queryUpdates' limit; 0 is the service's default.
	PageSize int
}

var (
	_ core.ESFClient         = (*Gateway)(nil)
	_ core.ESFTicketVerifier = (*Gateway)(nil)
)

// faultKinds sorts the codes by what the use cases do about them.
var faultKinds = map[Code]core.ESFFaultKind{
	CodeSystemDown: core.ESFTransient, CodeUnavailable: core.ESFTransient, CodeOCSPNotAvailable: core.ESFTransient,
	CodeSessionClosed:   core.ESFTransient,
	CodeMalformed:       core.ESFMalformed,
	CodePasswordInvalid: core.ESFPasswordWrong,
	CodeUserHasSession:  core.ESFUserHasSession,
	CodeSessionTooSoon:  core.ESFTooSoon,
	CodeTicketExpired:   core.ESFTicketRefused, CodeTicketNotFound: core.ESFTicketRefused, CodeTicketInvalid: core.ESFTicketRefused,
	CodeSignatureInvalid: core.ESFTicketRefused, CodeIINNotValid: core.ESFTicketRefused,
	CodeCertificateExpired: core.ESFTicketRefused, CodeCertificateNotYetValid: core.ESFTicketRefused,
	CodeCertificateRevoked: core.ESFTicketRefused, CodeCertificateNotValid: core.ESFTicketRefused,
	CodeCertificateNotForAuth: core.ESFTicketRefused, CodeGOST2015NotSupported: core.ESFTicketRefused,
}

// fault wraps a client error into a core.ESFFault. A timeout of the call's
// context is transient; an HTTP 5xx that is not a SOAP fault is already
// CodeUnavailable.
func fault(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		return &core.ESFFault{Kind: core.ESFTransient, Code: string(CodeUnavailable), Err: err}
	}
	kind, ok := faultKinds[e.Code]
	if !ok {
		kind = core.ESFRefused
	}
	return &core.ESFFault{Kind: kind, Code: string(e.Code), Err: err}
}

func (g *Gateway) CreateAuthTicket(ctx context.Context, iin string, ttlMinutes int) (string, error) {
	x, err := g.Client.CreateAuthTicket(ctx, iin, ttlMinutes)
	return x, fault(err)
}

func (g *Gateway) OpenSession(ctx context.Context, c core.ESFCredentials, bin, signedTicket string) (string, error) {
	id, err := g.Client.CreateSessionSigned(ctx, c, bin, signedTicket)
	return id, fault(err)
}

func (g *Gateway) CloseSession(ctx context.Context, sessionID string) error {
	_, err := g.Client.CloseSession(ctx, sessionID)
	return fault(err)
}

func (g *Gateway) CloseSessionByCredentials(ctx context.Context, c core.ESFCredentials, bin, certificate string) error {
	_, err := g.Client.CloseSessionByCredentials(ctx, c, bin, certificate)
	return fault(err)
}

// QueryUpdates reads one page and the invoices' bodies; a body that
// cannot be read makes the page malformed, so that the cursor stays before
// it.
func (g *Gateway) QueryUpdates(ctx context.Context, sessionID string, from core.ESFCursor) (core.ESFUpdates, error) {
	p, err := g.Client.QueryUpdates(ctx, sessionID, from, g.PageSize)
	if err != nil {
		return core.ESFUpdates{}, fault(err)
	}
	out := core.ESFUpdates{Next: p.Next, Last: p.LastBlock, Invoices: make([]core.ESFInvoice, 0, len(p.Invoices))}
	for _, info := range p.Invoices {
		b, err := ParseInvoiceBody(info.Body)
		if err != nil {
			return core.ESFUpdates{}, fault(err)
		}
		cur := b.Currency
		if cur == "" {
			cur = "KZT"
		}
		out.Invoices = append(out.Invoices, core.ESFInvoice{ESFID: info.ID, RegistrationNumber: info.RegistrationNumber,
			Number: b.Num, Date: b.Date, SellerName: b.SellerName, SellerBIN: b.SellerTIN, Total: b.TotalPriceWithTax,
			Currency: cur, Status: string(info.Status), UpdatedAt: info.LastUpdateDate})
	}
	return out, nil
}

func (g *Gateway) ConfirmInvoices(ctx context.Context, sessionID string, ids ...int64) error {
	_, err := g.Client.ConfirmInvoiceByID(ctx, sessionID, ids...)
	return fault(err)
}

// ticketRefusals are the ticket check's refusals in core's codes. The XML
// signature's have words of a ticket's own: the signature package's speak
// of CMS files.
var ticketRefusals = []struct {
	from error
	to   *core.Refusal
}{
	{ErrTicketMalformed, core.ErrESFTicketMalformed},
	{ErrTicketWrongSigner, core.ErrESFTicketWrongSigner},
	{ErrTicketNotAuthKey, core.ErrESFTicketNotAuth},
	{signature.ErrWrongKeyPurpose, core.ErrESFTicketNotAuth},
	{signature.ErrNoSigners, core.ErrESFTicketUnsigned},
	{signature.ErrMalformed, core.ErrESFTicketBroken}, // well-formed XML: not XML at all is ErrESFTicketNotXML
	{signature.ErrBadSignature, core.ErrESFTicketBroken},
	{signature.ErrContentMismatch, core.ErrESFTicketBroken},
}

// VerifyESFTicket is VerifyTicket in core's terms.
func (g *Gateway) VerifyESFTicket(ctx context.Context, signedXML []byte, iin string) (core.ESFSignedTicket, error) {
	st, err := VerifyTicket(ctx, g.Verifier, signedXML, iin)
	if err != nil {
		if errors.Is(err, signature.ErrMalformed) && !wellFormedXML(signedXML) {
			return core.ESFSignedTicket{}, &core.Refusal{Code: core.CodeESFTicketNotXML, Detail: err.Error()}
		}
		for _, m := range ticketRefusals {
			if errors.Is(err, m.from) {
				return core.ESFSignedTicket{}, &core.Refusal{Code: m.to.Code, Detail: err.Error()}
			}
		}
		return core.ESFSignedTicket{}, err
	}
	ttl := st.TTLInMinutes
	if ttl <= 0 {
		ttl = DefaultTicketTTL
	}
	return core.ESFSignedTicket{Signer: st.Signer, Certificate: st.CertificateBase64(), Issued: timeMark(st.TimeMark),
		TTL: time.Duration(ttl) * time.Minute, State: st.State, XML: st.XML}, nil
}

// ESFTicketState is ParseTicket's state.
func (g *Gateway) ESFTicketState(ticketXML []byte) (string, error) {
	t, err := ParseTicket(ticketXML)
	if err != nil {
		return "", err
	}
	return t.State, nil
}

// wellFormedXML reports whether b is one well-formed XML document.
func wellFormedXML(b []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(b))
	roots := 0
	for depth := 0; ; {
		tok, err := d.Token()
		if err == io.EOF {
			return roots == 1 && depth == 0
		}
		if err != nil {
			return false
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

// timeMark reads a ticket's timeMark: milliseconds since the epoch, or an
// xs:dateTime; zero when neither.
func timeMark(s string) time.Time {
	s = strings.TrimSpace(s)
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms)
	}
	t, err := ParseDateTime(s)
	if err != nil {
		return time.Time{}
	}
	return t
}
