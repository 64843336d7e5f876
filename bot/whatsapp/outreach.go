package whatsapp

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/types"

	"edobot/bot/flow"
	"edobot/core"
)

// Cold is the operator's word on cold outreach: a first message to a
// WhatsApp number that never wrote to the bot. WhatsApp bans accounts that
// write to many strangers, so it is off unless turned on, and then held to
// small daily budgets, in the day only.
type Cold struct {
	On bool
	// Start is the account's budget a day at first, growing evenly to Full
	// over WarmUp.
	Start, Full int
	WarmUp      time.Duration
	// PerOrg is one organisation's budget a day.
	PerOrg int
	// Pause is how long an organisation's first messages stop after
	// WhatsApp refused one as restricted.
	Pause time.Duration
	// LookupFresh is how long WhatsApp's answer whether a number is on it
	// is trusted.
	LookupFresh time.Duration
}

// DefaultCold is off, and when turned on: 5 a day growing to 20 over two
// weeks, 5 a day per organisation, a week's pause after a refusal, lookups
// kept for a week.
var DefaultCold = Cold{Start: 5, Full: 20, WarmUp: 14 * 24 * time.Hour, PerOrg: 5, Pause: 7 * 24 * time.Hour, LookupFresh: 7 * 24 * time.Hour}

// coldHours are the hours, Kazakhstan time, a first message may go in.
const coldFrom, coldUntil = 9, 20

// sameTextWindow is how far back one text sent to another number keeps it
// from going again.
const sameTextWindow = 30 * 24 * time.Hour

func (c *Cold) fill() {
	d := DefaultCold
	if c.Start <= 0 {
		c.Start = d.Start
	}
	if c.Full < c.Start {
		c.Full = max(d.Full, c.Start)
	}
	if c.WarmUp <= 0 {
		c.WarmUp = d.WarmUp
	}
	if c.PerOrg <= 0 {
		c.PerOrg = d.PerOrg
	}
	if c.Pause <= 0 {
		c.Pause = d.Pause
	}
	if c.LookupFresh <= 0 {
		c.LookupFresh = d.LookupFresh
	}
}

// budget is the budgets of the policy, which core holds first messages to.
func (c Cold) budget() core.ColdBudget {
	return core.ColdBudget{Start: c.Start, Full: c.Full, WarmUp: c.WarmUp, PerOrg: c.PerOrg}
}

// dayStart is the beginning of t's day in Kazakhstan.
func dayStart(t time.Time) time.Time {
	k := t.In(core.KazakhstanTime)
	return time.Date(k.Year(), k.Month(), k.Day(), 0, 0, 0, 0, core.KazakhstanTime)
}

func coldHours(t time.Time) bool {
	h := t.In(core.KazakhstanTime).Hour()
	return h >= coldFrom && h < coldUntil
}

// invitation is the answer that the sender forwards the start link
// instead; an error when there is no link to give (the account unlinked).
func (b *Bot) invitation(token, why string) error {
	b.cold.WithLabelValues("invited_" + why).Inc()
	link := b.StartLink(token)
	if link == "" {
		return errors.New("whatsapp: the session is not working")
	}
	return &flow.Invitation{Link: link, Why: why}
}

// Reach finds the WhatsApp chat of a phone number for «Отправить
// получателю»: the person's chat when they wrote to the bot. A number that
// never wrote is written to only with cold outreach on, in the day and
// within the budgets; otherwise the answer is a *flow.Invitation with the
// link for the sender to forward. core.ErrNotFound when the number is not
// on WhatsApp.
func (b *Bot) Reach(ctx context.Context, phone string, o flow.Outreach) (*core.ChatUser, flow.Send, error) {
	phone, ok := core.NormalizePhone(phone)
	if !ok {
		return nil, nil, core.ErrNotFound
	}
	known, err := b.svc.ChatUserByHandle(ctx, core.ChannelWhatsApp, "", phone)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return nil, nil, err
	}
	if known != nil && known.BlockedAt == nil && !known.NeverWrote() {
		return known, b.Deliver, nil
	}
	if b.broken.Load() != nil || b.Phone() == "" {
		return nil, nil, errors.New("whatsapp: the session is not working")
	}
	now := b.cfg.Clock.Now()
	switch {
	case !b.cfg.Cold.On || !b.svc.Outreach.Kept():
		return nil, nil, b.invitation(o.Token, "cold_off")
	case known != nil && known.BlockedAt != nil:
		// Their own message to the bot clears the block.
		return nil, nil, b.invitation(o.Token, "blocked")
	case !coldHours(now):
		return nil, nil, b.invitation(o.Token, "night")
	case b.banned() > 0:
		return nil, nil, b.invitation(o.Token, "banned")
	}
	if known != nil {
		return known, b.coldDeliver(o, phone), nil
	}
	jid, err := b.lookup(ctx, phone)
	if err != nil {
		return nil, nil, err
	}
	// The chat is keyed like a person who wrote: on their LID when known.
	key, alias := jid.ToNonAD(), types.JID{}
	if key.Server == types.DefaultUserServer {
		if lid, pn := b.pairJIDs(ctx, types.JID{}, key); !lid.IsEmpty() {
			key, alias = lid, pn
		}
	}
	u, err := b.svc.ReachedChatUser(ctx, core.ChannelWhatsApp, key.String(), "", "ru", alias.String())
	if err != nil {
		return nil, nil, err
	}
	if u.Phone != phone {
		if err := b.svc.SetChatContact(ctx, u.ID, "", phone); err != nil {
			return nil, nil, err
		}
		u.Phone = phone
	}
	return u, b.coldDeliver(o, phone), nil
}

// lookup asks WhatsApp whether a number is on it, once in LookupFresh:
// every question is counted, and asked often they are a bot's signature.
// The service keeps the answers (it asks each time when it keeps none).
func (b *Bot) lookup(ctx context.Context, phone string) (types.JID, error) {
	now := b.cfg.Clock.Now()
	l, err := b.svc.Outreach.Lookup(ctx, phone, now.Add(-b.cfg.Cold.LookupFresh))
	switch {
	case err == nil:
		b.lookups.WithLabelValues("cached").Inc()
		if !l.OnWhatsApp {
			return types.JID{}, core.ErrNotFound
		}
		return types.ParseJID(l.JID)
	case !errors.Is(err, core.ErrNotFound):
		return types.JID{}, err
	}
	b.lookups.WithLabelValues("asked").Inc()
	res, err := b.client.IsOnWhatsApp(ctx, []string{phone})
	if err != nil {
		return types.JID{}, fmt.Errorf("whatsapp: is %s on WhatsApp: %w", phone, err)
	}
	l = &core.Lookup{Phone: phone, CheckedAt: now}
	if len(res) == 1 && res[0].IsIn && !res[0].JID.IsEmpty() {
		l.OnWhatsApp, l.JID = true, res[0].JID.ToNonAD().String()
	}
	if err := b.svc.Outreach.SaveLookup(ctx, *l); err != nil {
		b.log.Warn("whatsapp lookup not kept", "err", err)
	}
	if !l.OnWhatsApp {
		return types.JID{}, core.ErrNotFound
	}
	return types.ParseJID(l.JID)
}

// coldDeliver sends the first message to a number that never wrote, if the
// budgets allow it: the account's (with its warm-up) and the organisation's
// for the day, the organisation not paused, and the text not one that went
// to another number. What they hold back becomes an invitation.
func (b *Bot) coldDeliver(o flow.Outreach, phone string) flow.Send {
	return func(ctx context.Context, to *core.ChatUser, screens []flow.Screen) error {
		msgs, _ := b.render(to, screens, nil)
		var text strings.Builder
		for _, m := range msgs {
			text.WriteString(m.text)
			text.WriteByte(0)
		}
		sum := sha256.Sum256([]byte(text.String()))
		now := b.cfg.Clock.Now()
		if !coldHours(now) {
			return b.invitation(o.Token, "night")
		}
		err := b.svc.Outreach.ReserveColdSend(ctx, core.OutreachSend{Account: b.Phone(), OrgID: o.OrgID, Phone: phone,
			TextHash: sum[:], At: now, DayStart: dayStart(now), SameTextSince: now.Add(-sameTextWindow)}, b.cfg.Cold.budget())
		var refused core.ColdRefusal
		if errors.As(err, &refused) {
			return b.invitation(o.Token, string(refused))
		}
		if err != nil {
			return err
		}
		err = b.Deliver(ctx, to, screens)
		var r *core.RestrictedError
		if errors.As(err, &r) {
			b.pauseOrg(ctx, o.OrgID, r)
			return b.invitation(o.Token, "restricted")
		}
		if err == nil {
			b.cold.WithLabelValues("sent").Inc()
		}
		return err
	}
}

// restrict handles WhatsApp's refusal of a send as restricted: recorded for
// /readyz, counted, logged at error level; the send is not retried.
func (b *Bot) restrict(code int, reason string, err error) *core.RestrictedError {
	now := b.cfg.Clock.Now()
	b.restricted.Store(&restriction{code: code, reason: reason, at: now})
	b.refused.WithLabelValues(fmt.Sprint(code)).Inc()
	b.log.Error("WHATSAPP REFUSED A MESSAGE: the account is restricted; not retried, first messages paused",
		"code", code, "reason", reason, "err", err, "phone", b.Phone())
	return &core.RestrictedError{Code: code, Reason: reason}
}

// pauseOrg stops an organisation's first messages for Cold.Pause.
func (b *Bot) pauseOrg(ctx context.Context, orgID int64, r *core.RestrictedError) {
	now := b.cfg.Clock.Now()
	if err := b.svc.Outreach.PauseColdSends(context.WithoutCancel(ctx), orgID, now.Add(b.cfg.Cold.Pause), r.Error(), now); err != nil {
		b.log.Error("whatsapp: pausing the organisation's first messages", "org", orgID, "err", err)
	}
}
