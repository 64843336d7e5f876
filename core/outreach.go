package core

import "time"

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
