package core

import (
	"context"
	"time"
)

// OutreachSend is a first message to a WhatsApp number that never wrote to
// the bot, about to go: what the cold-outreach budgets count.
type OutreachSend struct {
	Account  string // the bot's own number
	OrgID    int64  // the organisation on whose behalf it goes
	Phone    string // the recipient, E.164
	TextHash []byte // SHA-256 of the text, to keep one text from many numbers
	At       time.Time
	// DayStart is when the day of At began in Kazakhstan time: the budgets
	// are per day.
	DayStart time.Time
	// SameTextSince is how far back a text sent to another number counts.
	SameTextSince time.Time
}

// OutreachStats is what the budgets decide on, read under a lock held
// until the send is recorded or refused.
type OutreachStats struct {
	AccountFirst time.Time // the account's first cold message ever; zero before
	AccountToday int       // the account's cold messages today
	OrgToday     int       // the organisation's cold messages today
	OrgPausedTil time.Time // the organisation's cold messages are paused until then
	PauseReason  string
	SameText     bool // the account sent the same text to another number since SameTextSince
}

// Lookup is WhatsApp's answer whether a number is on it.
type Lookup struct {
	Phone      string
	JID        string
	OnWhatsApp bool
	CheckedAt  time.Time
}

// OutreachStore keeps the cold-outreach budgets' counts, the organisations'
// pauses and the lookups.
type OutreachStore interface {
	// ReserveOutreach reads the statistics of s's account and organisation
	// under a lock, asks allow, and records the send when allow accepts it;
	// allow's error is returned as it is.
	ReserveOutreach(ctx context.Context, s OutreachSend, allow func(OutreachStats) error) error
	PauseOutreach(ctx context.Context, orgID int64, until time.Time, reason string, at time.Time) error
	// Lookup returns the answer kept for phone if checked since since;
	// ErrNotFound otherwise.
	Lookup(ctx context.Context, phone string, since time.Time) (*Lookup, error)
	SaveLookup(ctx context.Context, l Lookup) error
}

// ColdBudget is how many first messages to numbers that never wrote may go
// a day: the account's, Start at first growing evenly to Full over WarmUp
// after its first, and one organisation's, PerOrg.
type ColdBudget struct {
	Start, Full int
	WarmUp      time.Duration
	PerOrg      int
}

// Account is the account's budget on the day of now, when its first cold
// message went at first (zero: none yet).
func (b ColdBudget) Account(first, now time.Time) int {
	if first.IsZero() {
		return b.Start
	}
	age := now.Sub(first)
	if age >= b.WarmUp {
		return b.Full
	}
	return b.Start + int(float64(b.Full-b.Start)*float64(age)/float64(b.WarmUp))
}

// ColdRefusal is a first message the budgets hold back; its value says why.
type ColdRefusal string

// Why the budgets hold a first message back.
const (
	ColdPaused        ColdRefusal = "paused"
	ColdAccountBudget ColdRefusal = "account_budget"
	ColdOrgBudget     ColdRefusal = "org_budget"
	ColdSameText      ColdRefusal = "same_text"
	// ColdOff: no budgets are kept (Deps.Outreach nil), so none may go.
	ColdOff ColdRefusal = "cold_off"
)

func (r ColdRefusal) Error() string { return "cold outreach: " + string(r) }

// Outreach are the cold-outreach use cases: the budgets of first messages
// to numbers that never wrote, the organisations' pauses and the kept
// answers whether a number is on the messenger.
type Outreach struct {
	store OutreachStore
}

// Kept reports whether the budgets are kept (Deps.Outreach set); without
// them no cold message may go.
func (o *Outreach) Kept() bool { return o.store != nil }

// ReserveColdSend records s if the budgets allow it: the organisation not
// paused, the account's budget of the day (with its warm-up) and the
// organisation's not spent, and the text not one that went to another
// number since s.SameTextSince. A ColdRefusal when they hold it back. Two
// instances deciding at once cannot both take the last message of a budget.
func (o *Outreach) ReserveColdSend(ctx context.Context, s OutreachSend, b ColdBudget) error {
	if o.store == nil {
		return ColdOff
	}
	return o.store.ReserveOutreach(ctx, s, func(st OutreachStats) error {
		switch {
		case st.OrgPausedTil.After(s.At):
			return ColdPaused
		case st.AccountToday >= b.Account(st.AccountFirst, s.At):
			return ColdAccountBudget
		case st.OrgToday >= b.PerOrg:
			return ColdOrgBudget
		case st.SameText:
			return ColdSameText
		}
		return nil
	})
}

// PauseColdSends stops an organisation's first messages until until, after
// the messenger refused one as restricted for reason.
func (o *Outreach) PauseColdSends(ctx context.Context, orgID int64, until time.Time, reason string, at time.Time) error {
	if o.store == nil || orgID == 0 {
		return nil
	}
	return o.store.PauseOutreach(ctx, orgID, until, reason, at)
}

// Lookup returns the kept answer whether phone is on the messenger, if it
// was checked since since; ErrNotFound when none is (nor kept at all).
func (o *Outreach) Lookup(ctx context.Context, phone string, since time.Time) (*Lookup, error) {
	if o.store == nil {
		return nil, ErrNotFound
	}
	return o.store.Lookup(ctx, phone, since)
}

// SaveLookup keeps the messenger's answer whether a number is on it.
func (o *Outreach) SaveLookup(ctx context.Context, l Lookup) error {
	if o.store == nil {
		return nil
	}
	return o.store.SaveLookup(ctx, l)
}
