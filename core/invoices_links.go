package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// The one-time links of ИС ЭСФ a chat opens: the HTTPS page where the
// cabinet password is entered (never typed into a chat), and the signing
// of a ticket in the eGov app (signMethod XML) or on the NCALayer page.
// A link's id is 256 random bits; only its hash is kept. Each link serves
// once and for a short time; what came of it is told to the chats through
// the outbox.

// ESFLinkKind is what a one-time link is for.
type ESFLinkKind string

const (
	ESFLinkPassword ESFLinkKind = "password" // the cabinet password page
	ESFLinkTicket   ESFLinkKind = "ticket"   // signing a ticket; Data is the ticket
)

// ESFLink is a one-time link as kept.
type ESFLink struct {
	Kind       ESFLinkKind
	ChatUserID int64
	Data       string // the ticket's XML to sign
	TokenHash  []byte // the eGov app's bearer token, once API №1 was read
	ExpiresAt  time.Time
	Used       bool
}

// ESFLinkStore keeps the one-time links; *storage.DB implements it.
type ESFLinkStore interface {
	InsertESFLink(ctx context.Context, idHash []byte, l ESFLink, now time.Time) error
	// ESFLink is ErrNotFound for an unknown id.
	ESFLink(ctx context.Context, idHash []byte) (ESFLink, error)
	SetESFLinkToken(ctx context.Context, idHash, tokenHash []byte) error
	// UseESFLink marks a live link used; only the first call succeeds.
	UseESFLink(ctx context.Context, idHash []byte, now time.Time) (bool, error)
	ChatUserByID(ctx context.Context, id int64) (*ChatUser, error)
}

// Defaults of the links' lives.
const (
	DefaultESFPasswordPageTTL = 15 * time.Minute
	DefaultESFSigningTTL      = 10 * time.Minute
)

// Outbox kinds a person's own chat is told (the event's subject is the
// chat user; the notice names the organisation).
const (
	// OutboxESFConnected: a ticket was signed and works; synchronisation
	// runs. The organisation's chats are told.
	OutboxESFConnected = "esf.connected"
	// OutboxESFRefused: the signing or the password page was refused; the
	// notice's Code says why. Only the person's chat is told.
	OutboxESFRefused = "esf.refused"
	// OutboxESFPasswordSaved: the cabinet password was kept. Only the
	// person's chat is told.
	OutboxESFPasswordSaved = "esf.password_saved"
)

// CodeESFLinkGone: a password page or ticket signing that is unknown,
// used or expired.
const CodeESFLinkGone Code = "esf_link_gone"

// ErrESFLinkGone is CodeESFLinkGone's refusal.
var ErrESFLinkGone = &Refusal{Code: CodeESFLinkGone}

// ErrESFOff: the invoice use cases are not configured.
var ErrESFOff = errors.New("ИС ЭСФ is not configured")

// ESFOffer is a one-time link handed to a chat.
type ESFOffer struct {
	ID        string
	ExpiresAt time.Time
}

func (iv *Invoices) links() (ESFLinkStore, error) {
	if iv.d.Links == nil {
		return nil, errors.New("invoices: no link store")
	}
	return iv.d.Links, nil
}

func (iv *Invoices) openLink(ctx context.Context, who *ChatUser, kind ESFLinkKind, data string, ttl time.Duration) (ESFOffer, error) {
	ls, err := iv.links()
	if err != nil {
		return ESFOffer{}, err
	}
	now := iv.now()
	o := ESFOffer{ID: NewToken(), ExpiresAt: now.Add(ttl)}
	if err := ls.InsertESFLink(ctx, LinkHash(o.ID), ESFLink{Kind: kind, ChatUserID: who.ID, Data: data, ExpiresAt: o.ExpiresAt}, now); err != nil {
		return ESFOffer{}, err
	}
	return o, nil
}

// link is a live link of kind and its person, still bound to an
// organisation.
func (iv *Invoices) link(ctx context.Context, id string, kind ESFLinkKind) (ESFLink, *ChatUser, error) {
	ls, err := iv.links()
	if err != nil {
		return ESFLink{}, nil, err
	}
	l, err := ls.ESFLink(ctx, LinkHash(id))
	if errors.Is(err, ErrNotFound) || err == nil && (l.Kind != kind || l.Used || !iv.now().Before(l.ExpiresAt)) {
		return ESFLink{}, nil, ErrESFLinkGone
	}
	if err != nil {
		return ESFLink{}, nil, err
	}
	u, err := ls.ChatUserByID(ctx, l.ChatUserID)
	if errors.Is(err, ErrNotFound) {
		return ESFLink{}, nil, ErrESFLinkGone
	}
	if err != nil {
		return ESFLink{}, nil, err
	}
	if err := bound(u); err != nil {
		return ESFLink{}, nil, err
	}
	return l, u, nil
}

func (iv *Invoices) use(ctx context.Context, id string) error {
	ok, err := iv.d.Links.UseESFLink(ctx, LinkHash(id), iv.now())
	if err != nil {
		return err
	}
	if !ok {
		return ErrESFLinkGone
	}
	return nil
}

// OpenPasswordPage opens the one-time page where the person enters their
// cabinet password.
func (iv *Invoices) OpenPasswordPage(ctx context.Context, who *ChatUser) (ESFOffer, error) {
	if err := bound(who); err != nil {
		return ESFOffer{}, err
	}
	return iv.openLink(ctx, who, ESFLinkPassword, "", iv.d.PasswordPageTTL)
}

// PasswordPage is whose page a live link opens, and their organisation.
func (iv *Invoices) PasswordPage(ctx context.Context, id string) (*ChatUser, *Organisation, time.Time, error) {
	l, u, err := iv.link(ctx, id, ESFLinkPassword)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	org, err := iv.d.Store.OrganisationByID(ctx, u.OrgID)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	return u, org, l.ExpiresAt, nil
}

// SetPasswordByPage keeps the password entered on the page and uses the
// page up; the person's chat is told. An empty password leaves the page
// usable.
func (iv *Invoices) SetPasswordByPage(ctx context.Context, id, password string) error {
	_, u, err := iv.link(ctx, id, ESFLinkPassword)
	if err != nil {
		return err
	}
	if err := validPassword(password); err != nil {
		return err
	}
	if err := iv.use(ctx, id); err != nil {
		return err
	}
	return iv.setPassword(ctx, u, password, func(ctx context.Context, tx ESFTx) error {
		return addESFOutbox(ctx, tx, OutboxMessage{ChatUserID: u.ID, Kind: OutboxESFPasswordSaved, CreatedAt: iv.now()},
			ESFNotice{OrgID: u.OrgID, IIN: u.IIN})
	})
}

// StartTicketSigning asks ИС ЭСФ for a ticket for the person and keeps it
// behind a one-time link, which the eGov app (API №1 of the XML signing)
// or the NCALayer page signs.
func (iv *Invoices) StartTicketSigning(ctx context.Context, who *ChatUser) (ESFOffer, error) {
	if _, err := iv.links(); err != nil {
		return ESFOffer{}, err
	}
	xml, err := iv.StartTicket(ctx, who)
	if err != nil {
		return ESFOffer{}, err
	}
	ttl := iv.d.SigningTTL
	if ttl > iv.d.TicketTTL {
		ttl = iv.d.TicketTTL
	}
	return iv.openLink(ctx, who, ESFLinkTicket, xml, ttl)
}

// TicketToSign is a live signing's ticket and whose it is: what the
// NCALayer page signs.
func (iv *Invoices) TicketToSign(ctx context.Context, id string) (string, *ChatUser, time.Time, error) {
	l, u, err := iv.link(ctx, id, ESFLinkTicket)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	return l.Data, u, l.ExpiresAt, nil
}

// DescribeTicket answers the eGov app's API №1 of a signing: whose it is,
// and a fresh bearer token for API №2.
func (iv *Invoices) DescribeTicket(ctx context.Context, id string) (*ChatUser, string, time.Time, error) {
	l, u, err := iv.link(ctx, id, ESFLinkTicket)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	token := NewToken()
	if err := iv.d.Links.SetESFLinkToken(ctx, LinkHash(id), LinkHash(token)); err != nil {
		return nil, "", time.Time{}, err
	}
	return u, token, l.ExpiresAt, nil
}

// TicketForApp is API №2's ticket, for the app that holds the token.
func (iv *Invoices) TicketForApp(ctx context.Context, id, token string) (string, *ChatUser, error) {
	l, u, err := iv.appLink(ctx, id, token)
	if err != nil {
		return "", nil, err
	}
	return l.Data, u, nil
}

func (iv *Invoices) appLink(ctx context.Context, id, token string) (ESFLink, *ChatUser, error) {
	l, u, err := iv.link(ctx, id, ESFLinkTicket)
	if err != nil {
		return ESFLink{}, nil, err
	}
	if !tokenMatches(l.TokenHash, token) {
		return ESFLink{}, nil, ErrEgovToken
	}
	return l, u, nil
}

// SignTicketApp takes the ticket the eGov app signed (XMLDSig). The
// attempt uses the signing up, as a document's QR; the person's chat is
// told the outcome either way.
func (iv *Invoices) SignTicketApp(ctx context.Context, id, token string, signedXML []byte) (*ChatUser, ESFTicket, error) {
	l, u, err := iv.appLink(ctx, id, token)
	if err != nil {
		return nil, ESFTicket{}, err
	}
	return iv.signTicket(ctx, id, l, u, signedXML)
}

// SignTicketPage takes the ticket signed on the NCALayer page.
func (iv *Invoices) SignTicketPage(ctx context.Context, id string, signedXML []byte) (*ChatUser, ESFTicket, error) {
	l, u, err := iv.link(ctx, id, ESFLinkTicket)
	if err != nil {
		return nil, ESFTicket{}, err
	}
	return iv.signTicket(ctx, id, l, u, signedXML)
}

// signTicket completes the ticket signed through link l, which must be
// the ticket l gave.
func (iv *Invoices) signTicket(ctx context.Context, id string, l ESFLink, u *ChatUser, signedXML []byte) (*ChatUser, ESFTicket, error) {
	if err := iv.use(ctx, id); err != nil {
		return nil, ESFTicket{}, err
	}
	t, err := iv.completeTicket(ctx, u, signedXML, l.Data, func(ctx context.Context, tx ESFTx, t *ESFTicket) error {
		exp := t.ExpiresAt
		return addESFOutbox(ctx, tx, OutboxMessage{OrgID: u.OrgID, Kind: OutboxESFConnected, CreatedAt: iv.now()},
			ESFNotice{OrgID: u.OrgID, IIN: u.IIN, Who: t.Name, TicketID: t.ID, ExpiresAt: &exp})
	})
	if err != nil {
		if code := refusedFor(err); code != "" {
			iv.tellChat(ctx, u, OutboxESFRefused, ESFNotice{OrgID: u.OrgID, IIN: u.IIN, Code: code})
		}
		return u, ESFTicket{}, err
	}
	return u, t, nil
}

// refusedFor is the code of a refusal: core's own, or the signature
// check's (a ticket that is not signed XML, an untrusted certificate…),
// which the chats have texts for too. "" for other errors.
func refusedFor(err error) Code {
	if rf, ok := AsRefusal(err); ok {
		return rf.Code
	}
	var coded interface{ Code() string }
	if errors.As(err, &coded) {
		return Code(coded.Code())
	}
	return ""
}

// tellChat tells the person's own chat; a failure is logged, the outcome
// being the caller's answer already.
func (iv *Invoices) tellChat(ctx context.Context, u *ChatUser, kind string, n ESFNotice) {
	err := iv.d.Store.InESFTx(context.WithoutCancel(ctx), func(tx ESFTx) error {
		return addESFOutbox(ctx, tx, OutboxMessage{ChatUserID: u.ID, Kind: kind, CreatedAt: iv.now()}, n)
	})
	if err != nil {
		iv.d.Logger.Error("esf: chat not told", "chat_user", u.ID, "kind", kind, "err", err)
	}
}

func addESFOutbox(ctx context.Context, tx ESFTx, m OutboxMessage, n ESFNotice) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("esf notice: %w", err)
	}
	m.ID, m.Payload = uuid.New(), b
	return tx.AddOutbox(ctx, &m)
}
