package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"
)

// InvoicesDeps are what the invoice use cases work with.
type InvoicesDeps struct {
	Store    ESFStore
	Client   ESFClient
	Verifier ESFTicketVerifier
	// Sealer keeps the cabinet passwords; without it (no EDOBOT_SECRET_KEY)
	// NewInvoices refuses to start.
	Sealer Sealer
	Clock  clockwork.Clock
	Logger *slog.Logger
	// TicketTTL is what a new ticket is asked for: 1 minute to 24 hours.
	TicketTTL time.Duration
	// Poll is how often the jobs sync an organisation; a session's turn is
	// held no longer than that.
	Poll time.Duration
	// CallTimeout bounds one call of ИС ЭСФ.
	CallTimeout time.Duration
	// DailyCalls is an organisation's budget of calls a day (Kazakhstan
	// time); 0 is unlimited.
	DailyCalls int
	// Backfill is how far back the first synchronisation reads.
	Backfill time.Duration
	// MaxPages bounds the pages one synchronisation reads; the rest waits
	// for the next.
	MaxPages int
	// WarnBefore: a ticket that lives longer than this is announced this
	// long before it expires.
	WarnBefore time.Duration
	// Links keeps the one-time password pages and ticket signings a chat
	// opens; PasswordPageTTL and SigningTTL are how long they serve.
	Links           ESFLinkStore
	PasswordPageTTL time.Duration
	SigningTTL      time.Duration
	// UnavailableAfter: when an organisation's syncs have failed this long
	// for reasons that pass (ИС ЭСФ down, timeouts, 5xx, unreadable
	// answers), its chats are told once that ИС ЭСФ is unavailable, and
	// once that it is back at the next sync that succeeds.
	UnavailableAfter time.Duration
}

// Defaults of InvoicesDeps.
const (
	DefaultESFTicketTTL   = 24 * time.Hour
	DefaultESFPoll        = 15 * time.Minute
	DefaultESFCallTimeout = time.Minute
	DefaultESFDailyCalls  = 3000
	DefaultESFBackfill    = 30 * 24 * time.Hour
	DefaultESFMaxPages    = 50
	// ESFSessionGap is ИС ЭСФ's five-minute rule.
	ESFSessionGap = 5 * time.Minute
	// ESFWarnBefore is how long before its expiry a ticket is announced.
	ESFWarnBefore = 24 * time.Hour
	// DefaultESFUnavailableAfter is InvoicesDeps.UnavailableAfter's default.
	DefaultESFUnavailableAfter = time.Hour
	maxESFPassword             = 256
)

// Invoices are the use cases of incoming electronic invoices (ИС ЭСФ):
// connecting an organisation (password, signed ticket), its active
// tickets, the scheduled synchronisation and «Получено».
type Invoices struct {
	d InvoicesDeps
}

// NewInvoices checks deps and fills the defaults.
func NewInvoices(d InvoicesDeps) (*Invoices, error) {
	if d.Store == nil || d.Client == nil || d.Verifier == nil {
		return nil, errors.New("invoices: store, client and verifier are required")
	}
	if d.Sealer == nil {
		return nil, ErrNoSecretKey
	}
	if d.TicketTTL == 0 {
		d.TicketTTL = DefaultESFTicketTTL
	}
	if d.TicketTTL < time.Minute || d.TicketTTL > 24*time.Hour {
		return nil, fmt.Errorf("invoices: ticket TTL %s is not between 1m and 24h", d.TicketTTL)
	}
	if d.Clock == nil {
		d.Clock = clockwork.NewRealClock()
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Poll <= 0 {
		d.Poll = DefaultESFPoll
	}
	if d.CallTimeout <= 0 {
		d.CallTimeout = DefaultESFCallTimeout
	}
	if d.Backfill <= 0 {
		d.Backfill = DefaultESFBackfill
	}
	if d.WarnBefore <= 0 {
		d.WarnBefore = ESFWarnBefore
	}
	if d.MaxPages <= 0 {
		d.MaxPages = DefaultESFMaxPages
	}
	if d.PasswordPageTTL <= 0 {
		d.PasswordPageTTL = DefaultESFPasswordPageTTL
	}
	if d.SigningTTL <= 0 {
		d.SigningTTL = DefaultESFSigningTTL
	}
	if d.UnavailableAfter <= 0 {
		d.UnavailableAfter = DefaultESFUnavailableAfter
	}
	return &Invoices{d: d}, nil
}

// Poll is how often the organisations are synchronised.
func (iv *Invoices) Poll() time.Duration { return iv.d.Poll }

func (iv *Invoices) now() time.Time { return iv.d.Clock.Now() }

func bound(who *ChatUser) error {
	if who == nil || !who.Bound() {
		return ErrESFNotBound
	}
	return nil
}

func passwordAAD(orgID int64, iin string) []byte {
	return []byte("esf-password/" + strconv.FormatInt(orgID, 10) + "/" + iin)
}

// SetPassword keeps (or replaces) the person's ИС ЭСФ cabinet password for
// their organisation, sealed. It comes from the one-time HTTPS page, never
// from the chat.
func (iv *Invoices) SetPassword(ctx context.Context, who *ChatUser, password string) error {
	return iv.setPassword(ctx, who, password, nil)
}

// setPassword is SetPassword; also, when set, runs in its transaction.
func (iv *Invoices) setPassword(ctx context.Context, who *ChatUser, password string, also func(ctx context.Context, tx ESFTx) error) error {
	if err := bound(who); err != nil {
		return err
	}
	if err := validPassword(password); err != nil {
		return err
	}
	sealed, nonce, err := iv.d.Sealer.Seal([]byte(password), passwordAAD(who.OrgID, who.IIN))
	if err != nil {
		return fmt.Errorf("seal password: %w", err)
	}
	return iv.d.Store.InESFTx(ctx, func(tx ESFTx) error {
		if err := tx.SaveESFPassword(ctx, who.OrgID, who.IIN, sealed, nonce, iv.now()); err != nil {
			return err
		}
		// A new password may be what a paused synchronisation waited for.
		s, err := tx.LockESFSync(ctx, who.OrgID)
		if err != nil {
			return err
		}
		s.PausedNotified = false
		if err := tx.SaveESFSync(ctx, s); err != nil {
			return err
		}
		if also != nil {
			return also(ctx, tx)
		}
		return nil
	})
}

func validPassword(password string) error {
	if strings.TrimSpace(password) == "" || utf8.RuneCountInString(password) > maxESFPassword {
		return &Refusal{Code: CodeESFPasswordEmpty, Limit: maxESFPassword}
	}
	return nil
}

// DeletePassword forgets the person's password and ends their tickets,
// which cannot open a session without it.
func (iv *Invoices) DeletePassword(ctx context.Context, who *ChatUser) error {
	if err := bound(who); err != nil {
		return err
	}
	return iv.d.Store.InESFTx(ctx, func(tx ESFTx) error {
		found, err := tx.DeleteESFPassword(ctx, who.OrgID, who.IIN)
		if err != nil {
			return err
		}
		if !found {
			return ErrESFNoPassword
		}
		return tx.EndESFTicketsOf(ctx, who.OrgID, who.IIN, iv.now())
	})
}

// HasPassword reports whether the person's password is kept.
func (iv *Invoices) HasPassword(ctx context.Context, who *ChatUser) (bool, error) {
	if err := bound(who); err != nil {
		return false, err
	}
	_, err := iv.credentials(ctx, who.OrgID, who.IIN)
	if errors.Is(err, ErrESFNoPassword) {
		return false, nil
	}
	return err == nil, err
}

func (iv *Invoices) credentials(ctx context.Context, orgID int64, iin string) (ESFCredentials, error) {
	sealed, nonce, err := iv.d.Store.ESFPassword(ctx, orgID, iin)
	if errors.Is(err, ErrNotFound) {
		return ESFCredentials{}, ErrESFNoPassword
	}
	if err != nil {
		return ESFCredentials{}, err
	}
	p, err := iv.d.Sealer.Open(sealed, nonce, passwordAAD(orgID, iin))
	if err != nil {
		return ESFCredentials{}, fmt.Errorf("password of %d/%s: %w", orgID, iin, err)
	}
	return ESFCredentials{IIN: iin, Password: string(p)}, nil
}

// StartTicket asks ИС ЭСФ for a ticket for the person and returns its XML,
// which they sign with their AUTH key (eGov Mobile: signMethod XML;
// NCALayer: signXml with the AUTHENTICATION key).
func (iv *Invoices) StartTicket(ctx context.Context, who *ChatUser) (string, error) {
	if err := bound(who); err != nil {
		return "", err
	}
	if _, err := iv.credentials(ctx, who.OrgID, who.IIN); err != nil {
		return "", err
	}
	calls := iv.counter(who.OrgID)
	defer calls.flush(ctx)
	if err := calls.spend(ctx, 1); err != nil {
		return "", err
	}
	cctx, cancel := context.WithTimeout(ctx, iv.d.CallTimeout)
	defer cancel()
	xml, err := iv.d.Client.CreateAuthTicket(cctx, who.IIN, int(iv.d.TicketTTL/time.Minute))
	if err != nil {
		return "", esfRefusal(err)
	}
	return xml, nil
}

// CompleteTicket checks the ticket the person signed, opens a first
// session with it to prove it (and reads the updates in that session), and
// keeps it as an active ticket of their organisation.
func (iv *Invoices) CompleteTicket(ctx context.Context, who *ChatUser, signedXML []byte) (ESFTicket, error) {
	return iv.completeTicket(ctx, who, signedXML, "", nil)
}

// completeTicket is CompleteTicket; also, when set, runs in the
// transaction that keeps the ticket. linkTicket, when set, is the ticket a
// link gave to sign: another one signed (an older one of the same person,
// replayed) is refused.
func (iv *Invoices) completeTicket(ctx context.Context, who *ChatUser, signedXML []byte, linkTicket string,
	also func(ctx context.Context, tx ESFTx, t *ESFTicket) error) (ESFTicket, error) {
	if err := bound(who); err != nil {
		return ESFTicket{}, err
	}
	org, err := iv.d.Store.OrganisationByID(ctx, who.OrgID)
	if err != nil {
		return ESFTicket{}, err
	}
	cred, err := iv.credentials(ctx, who.OrgID, who.IIN)
	if err != nil {
		return ESFTicket{}, err
	}
	st, err := iv.d.Verifier.VerifyESFTicket(ctx, signedXML, who.IIN)
	if err != nil {
		return ESFTicket{}, err
	}
	if st.Signer.BIN != org.Number {
		return ESFTicket{}, &Refusal{Code: CodeESFTicketWrongOrg, Detail: st.Signer.BIN}
	}
	if linkTicket != "" {
		state, err := iv.d.Verifier.ESFTicketState([]byte(linkTicket))
		if err != nil {
			return ESFTicket{}, fmt.Errorf("the link's ticket: %w", err)
		}
		if st.State != state {
			return ESFTicket{}, &Refusal{Code: CodeESFTicketNotIssued, Detail: st.State}
		}
	}
	now := iv.now()
	issued := st.Issued
	if issued.IsZero() || issued.After(now) {
		issued = now
	}
	t := ESFTicket{OrgID: org.ID, IIN: who.IIN, ChatUserID: who.ID, Name: st.Signer.FullName, KeySerial: st.Signer.CertSerial,
		KeyKind: st.Signer.KeyKind, Certificate: st.Certificate, SignedXML: st.XML, ExpiresAt: issued.Add(st.TTL),
		State: ESFTicketActive, CreatedAt: now}
	if !t.ExpiresAt.After(now) {
		return ESFTicket{}, &Refusal{Code: CodeESFTicketRefused, Detail: "expired"}
	}
	run := &syncRun{iv: iv, org: org, calls: iv.counter(org.ID)}
	defer run.calls.flush(ctx)
	if err := run.session(ctx, &t, cred); err != nil {
		return ESFTicket{}, esfRefusal(err) // nothing kept: the person signs again
	}
	defer run.release(ctx)
	pages, err := run.read(ctx)
	run.close(ctx)
	if err != nil {
		// The ticket works; the updates wait for the next synchronisation.
		iv.d.Logger.Warn("esf: first read failed", "org", org.ID, "err", err)
		pages = nil
	}
	err = iv.d.Store.InESFTx(ctx, func(tx ESFTx) error {
		if err := tx.InsertESFTicket(ctx, &t); err != nil {
			return err
		}
		if also != nil {
			if err := also(ctx, tx, &t); err != nil {
				return err
			}
		}
		return run.commit(ctx, tx, pages, &t, err == nil)
	})
	return t, err
}

// ActiveTickets are the organisation's tickets that can open a session:
// who signed, with which key, until when («Активные сессии»).
func (iv *Invoices) ActiveTickets(ctx context.Context, who *ChatUser) ([]ESFTicket, error) {
	if err := bound(who); err != nil {
		return nil, err
	}
	return iv.d.Store.ActiveESFTickets(ctx, who.OrgID, iv.now())
}

// EndTicket ends one of the organisation's active tickets.
func (iv *Invoices) EndTicket(ctx context.Context, who *ChatUser, ticketID int64) error {
	if err := bound(who); err != nil {
		return err
	}
	return iv.d.Store.InESFTx(ctx, func(tx ESFTx) error {
		found, err := tx.SetESFTicketState(ctx, who.OrgID, ticketID, ESFTicketEnded, iv.now())
		if err == nil && !found {
			err = ErrNotFound
		}
		return err
	})
}

// Invoice is one incoming invoice of the person's organisation, as kept.
func (iv *Invoices) Invoice(ctx context.Context, who *ChatUser, esfID int64) (*ESFInvoice, error) {
	if err := bound(who); err != nil {
		return nil, err
	}
	return iv.d.Store.ESFInvoice(ctx, who.OrgID, esfID)
}

// Confirm tells ИС ЭСФ that the invoice was received («Получено»): it
// becomes DELIVERED, which the next synchronisation reports as a status
// change.
func (iv *Invoices) Confirm(ctx context.Context, who *ChatUser, esfID int64) error {
	inv, err := iv.Invoice(ctx, who, esfID)
	if err != nil {
		return err
	}
	org, err := iv.d.Store.OrganisationByID(ctx, who.OrgID)
	if err != nil {
		return err
	}
	tickets, err := iv.d.Store.ActiveESFTickets(ctx, org.ID, iv.now())
	if err != nil {
		return err
	}
	run := &syncRun{iv: iv, org: org, calls: iv.counter(org.ID)}
	defer run.calls.flush(ctx)
	var none *noSession
	if err := run.open(ctx, tickets); errors.As(err, &none) {
		if none.reason == ESFPausedPassword {
			return ErrESFPasswordInvalid
		}
		return ErrESFNoTicket
	} else if err != nil {
		return esfRefusal(err)
	}
	defer run.release(ctx)
	defer run.close(ctx)
	if err := run.calls.spend(ctx, 1); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, iv.d.CallTimeout)
	defer cancel()
	if err := iv.d.Client.ConfirmInvoices(cctx, run.sessionID, inv.ESFID); err != nil {
		return esfRefusal(err)
	}
	return nil
}

// CallsToday are the calls of each organisation (by BIN) today, Kazakhstan
// time: the budget's use, for /metrics.
func (iv *Invoices) CallsToday(ctx context.Context) (map[string]int64, error) {
	return iv.d.Store.ESFCallsOn(ctx, day(iv.now()))
}

func day(t time.Time) time.Time {
	k := t.In(KazakhstanTime)
	return time.Date(k.Year(), k.Month(), k.Day(), 0, 0, 0, 0, time.UTC)
}

// callCounter counts an organisation's calls during one use case and adds
// them to the day's count at the end, whatever the outcome.
type callCounter struct {
	iv    *Invoices
	orgID int64
	n     int
	used  int64 // the day's count before this use case; -1 unread
}

func (iv *Invoices) counter(orgID int64) *callCounter {
	return &callCounter{iv: iv, orgID: orgID, used: -1}
}

// spend notes n calls about to be made, refusing when they would go over
// the day's budget.
func (c *callCounter) spend(ctx context.Context, n int) error {
	if c.iv.d.DailyCalls > 0 {
		if c.used < 0 {
			used, err := c.iv.d.Store.ESFCallsOf(ctx, c.orgID, day(c.iv.now()))
			if err != nil {
				return err
			}
			c.used = used
		}
		if c.used+int64(c.n+n) > int64(c.iv.d.DailyCalls) {
			return ErrESFBudget
		}
	}
	c.n += n
	return nil
}

func (c *callCounter) flush(ctx context.Context) {
	if c.n == 0 {
		return
	}
	if err := c.iv.d.Store.AddESFCalls(context.WithoutCancel(ctx), c.orgID, day(c.iv.now()), c.n); err != nil {
		c.iv.d.Logger.Error("esf: calls not counted", "org", c.orgID, "calls", c.n, "err", err)
	}
	c.n = 0
}
