package esf

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"

	"edobot/core"
	"edobot/core/signature"
)

// Ticket is createAuthTicket's XML:
// <authSign><timeMark/><state/><iin/><ttlInMinutes/></authSign>.
type Ticket struct {
	TimeMark     string `xml:"timeMark"`
	State        string `xml:"state"` // the server's nonce
	IIN          string `xml:"iin"`
	TTLInMinutes int    `xml:"ttlInMinutes"`
}

// ParseTicket reads a ticket, signed or not.
func ParseTicket(ticketXML []byte) (Ticket, error) {
	var v struct {
		XMLName xml.Name
		Ticket
	}
	if err := xml.Unmarshal(ticketXML, &v); err != nil {
		return Ticket{}, ErrTicketMalformed.With(err)
	}
	if v.XMLName.Local != "authSign" || v.IIN == "" || v.State == "" {
		return Ticket{}, ErrTicketMalformed.With(fmt.Errorf("<%s> without iin or state", v.XMLName.Local))
	}
	return v.Ticket, nil
}

// SignedTicket is a ticket whose signature was checked.
type SignedTicket struct {
	Ticket
	Signer      core.Signer
	Purposes    signature.KeyPurposes
	Certificate *x509.Certificate
	XML         string // as signed, for createSessionSigned
}

// CertificateBase64 is the signer's certificate as
// closeSessionByCredentials takes it.
func (t SignedTicket) CertificateBase64() string {
	return base64.StdEncoding.EncodeToString(t.Certificate.Raw)
}

// VerifyTicket checks a signed ticket before it is kept or sent: an
// enveloped XML signature that verifies over the ticket, by a certificate
// trusted now, naming the person the ticket is for (iin, when given, too),
// made with the authentication key (the GOST 2015 single key has that
// purpose as well). The ticket's fields are read from what was signed.
func VerifyTicket(ctx context.Context, v *signature.Verifier, signedXML []byte, iin string) (SignedTicket, error) {
	r, err := v.VerifyXML(ctx, signedXML, signature.PurposeAuth)
	if err != nil {
		return SignedTicket{}, err
	}
	t, err := ParseTicket(r.Signed)
	if err != nil {
		return SignedTicket{}, err
	}
	st := SignedTicket{Ticket: t, Signer: r.Signer, Purposes: r.Purposes, Certificate: r.Certificate, XML: string(signedXML)}
	if t.IIN != r.Signer.IIN || (iin != "" && strings.TrimSpace(iin) != t.IIN) {
		return st, ErrTicketWrongSigner.With(fmt.Errorf("ticket for %s signed by %s", t.IIN, r.Signer.IIN))
	}
	if !r.Purposes.Auth {
		return st, ErrTicketNotAuthKey.With(fmt.Errorf("certificate %s", r.Signer.CertSerial))
	}
	return st, nil
}
