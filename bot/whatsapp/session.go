package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// This file keeps the session alive against what WhatsApp really does: it
// bans for a while, logs a device out, replaces a stream, refuses an old
// client. Each signal is logged, counted (edobot_whatsapp_session_events_total)
// and, where it stops the bot, shown on /readyz. whatsmeow's handler must
// return quickly, so what takes time (waiting out a ban, pairing again,
// telling WhatsApp the bot is available) is passed to the supervisor Run
// owns.

// Session events, as the metric labels them.
const (
	evConnected      = "connected"
	evDisconnected   = "disconnected"
	evLoggedOut      = "logged_out"
	evTemporaryBan   = "temporary_ban"
	evStreamReplaced = "stream_replaced"
	evClientOutdated = "client_outdated"
	evKeepAlive      = "keepalive_timeout"
	evKeepAliveOK    = "keepalive_restored"
	evConnectFailure = "connect_failure"
	evUndecryptable  = "undecryptable_message"
	evPaired         = "pair_success"
)

// Commands to the supervisor.
type (
	ctlBanned    struct{ until time.Time }
	ctlLoggedOut struct{}
	ctlRetry     struct{ after time.Duration }
)

// connectFailureRetry is how long after a connect failure whatsmeow does not
// retry by itself the supervisor connects again.
const connectFailureRetry = 5 * time.Minute

// tell passes a command to the supervisor without blocking whatsmeow.
func (b *Bot) tell(c any) {
	select {
	case b.ctl <- c:
	default:
		b.log.Error("whatsapp supervisor busy; a session command was dropped", "command", fmt.Sprintf("%T", c))
	}
}

// onEvent is whatsmeow's handler. It must return quickly: whatsmeow waits
// for it before reading the next event, so messages are queued.
//
// It answers whether an event was taken: a message is acknowledged only
// once kept (see receive), false leaving it for WhatsApp to deliver again.
func (b *Bot) onEvent(evt any) bool {
	switch e := evt.(type) {
	case *events.Message:
		return b.receive(e)
	case *events.Receipt:
		b.receipts.WithLabelValues(string(e.Type)).Inc()
		b.log.Debug("whatsapp receipt", "type", string(e.Type), "from", e.Sender.ToNonAD().User, "messages", len(e.MessageIDs))
	case *events.Connected:
		b.count(evConnected)
		b.connected.Store(true)
		b.setLost(time.Time{})
		b.failure.Store(nil)
		b.log.Info("whatsapp connected", "phone", b.Phone())
		select { // never dropped, unlike a command: presence and the replay wait for it
		case b.up <- struct{}{}:
		default:
		}
	case *events.Disconnected:
		b.count(evDisconnected)
		b.setLost(b.cfg.Clock.Now())
		b.log.Warn("whatsapp disconnected; whatsmeow reconnects")
	case *events.KeepAliveTimeout:
		b.count(evKeepAlive)
		b.setLost(e.LastSuccess)
		b.log.Warn("whatsapp keep-alive failing; whatsmeow reconnects if it goes on", "failures", e.ErrorCount, "last_success", e.LastSuccess)
	case *events.KeepAliveRestored:
		b.count(evKeepAliveOK)
		b.lostMu.Lock()
		b.lostAt = time.Time{}
		b.lostMu.Unlock()
		b.log.Info("whatsapp keep-alive restored")
	case *events.PairSuccess:
		b.count(evPaired)
		b.Linked(e.ID.User)
		b.log.Info("whatsapp account linked", "phone", e.ID.User, "business", e.BusinessName)
	case *events.LoggedOut:
		b.count(evLoggedOut)
		// The number is dead for the bot: no more wa.me links to it, and
		// a new pairing is offered at once.
		b.unlink(fmt.Sprintf("logged out (%s): scan the new QR at /admin/whatsapp/qr.png or run `edobot whatsapp link`", e.Reason))
		b.tell(ctlLoggedOut{})
	case *events.TemporaryBan:
		b.count(evTemporaryBan)
		until := b.cfg.Clock.Now().Add(e.Expire)
		b.bannedUntil.Store(&until)
		b.log.Error("WHATSAPP TEMPORARILY BANNED: nothing is sent until the ban ends, then the bot reconnects by itself; the Telegram side keeps working",
			"code", int(e.Code), "reason", e.Code.String(), "until", until, "phone", b.Phone())
		b.tell(ctlBanned{until: until})
	case *events.StreamReplaced:
		b.count(evStreamReplaced)
		b.fail("another process connected with the same WhatsApp session")
	case *events.ClientOutdated:
		b.count(evClientOutdated)
		b.fail(fmt.Sprintf("WhatsApp refuses this client version (%s): update go.mau.fi/whatsmeow", store.GetWAVersion()))
	case *events.ConnectFailure:
		b.count(evConnectFailure)
		why := fmt.Sprintf("connect failure %d (%s) %s; reconnecting in %s", int(e.Reason), e.Reason, e.Message, connectFailureRetry)
		b.failure.Store(&why)
		b.log.Error("whatsapp "+why, "phone", b.Phone())
		b.tell(ctlRetry{after: connectFailureRetry})
	case *events.UndecryptableMessage:
		b.count(evUndecryptable)
		// whatsmeow asks the sender's phone to send it again.
		b.log.Warn("whatsapp message could not be decrypted; whatsmeow asked for it again",
			"from", e.Info.Sender.ToNonAD().User, "unavailable", e.IsUnavailable, "mode", string(e.DecryptFailMode))
	}
	return true
}

func (b *Bot) count(event string) { b.events.WithLabelValues(event).Inc() }

// setLost notes when the connection was lost; zero clears it.
func (b *Bot) setLost(at time.Time) {
	b.lostMu.Lock()
	defer b.lostMu.Unlock()
	if at.IsZero() || b.lostAt.IsZero() {
		b.lostAt = at
	}
}

// fail records that the session stopped working, loudly: nothing is sent or
// received on WhatsApp until an operator acts.
func (b *Bot) fail(why string) {
	b.broken.Store(&why)
	b.log.Error("WHATSAPP SESSION LOST: "+why+"; the Telegram side keeps working", "phone", b.Phone())
}

// unlink forgets the bot's number after WhatsApp logged the device out.
func (b *Bot) unlink(why string) {
	empty := ""
	b.phone.Store(&empty)
	b.connected.Store(false)
	b.fail(why)
}

// banned is how long the temporary ban still lasts; 0 when there is none.
func (b *Bot) banned() time.Duration {
	until := b.bannedUntil.Load()
	if until == nil {
		return 0
	}
	return max(until.Sub(b.cfg.Clock.Now()), 0)
}

// supervise connects (or pairs an unlinked account) and then acts on what
// the event handler passes on, until ctx ends. Run calls it while holding
// the session, so only the holder connects or pairs. Once first connected,
// it replays the messages kept but not handled.
func (b *Bot) supervise(ctx context.Context) {
	// Commands of a session given up before are stale; a ban still running
	// is waited out before connecting.
	for len(b.ctl) > 0 {
		<-b.ctl
	}
	select {
	case <-b.up:
	default:
	}
	if d := b.banned(); d > 0 {
		b.log.Warn("whatsapp still banned; connecting when the ban ends", "in", d.Round(time.Second))
		if !b.wait(ctx, d) {
			return
		}
		b.bannedUntil.Store(nil)
	}
	if b.Phone() != "" {
		b.connect(ctx)
	} else {
		b.pair(ctx)
	}
	replayed := false
	if b.client.IsLoggedIn() {
		// Connected and logged in already, its event passed or never
		// coming: the kept messages can be answered now.
		replayed = true
		b.replay(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.up:
			// After every connect: WhatsApp is told the account is
			// available, and the first time the kept messages are answered.
			b.presence(ctx)
			if !replayed {
				replayed = true
				b.replay(ctx)
			}
		case c := <-b.ctl:
			switch c := c.(type) {
			case ctlBanned:
				if !b.wait(ctx, c.until.Sub(b.cfg.Clock.Now())) {
					return
				}
				b.bannedUntil.Store(nil)
				b.log.Info("whatsapp ban over; reconnecting")
				b.connect(ctx)
			case ctlLoggedOut:
				b.pair(ctx)
			case ctlRetry:
				if !b.wait(ctx, c.after) {
					return
				}
				if b.failure.Load() != nil && b.banned() == 0 && b.broken.Load() == nil {
					b.connect(ctx)
				}
			}
		}
	}
}

// wait waits d on the bot's clock; false when ctx ended first.
func (b *Bot) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := b.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.Chan():
		return true
	}
}

// connect retries a first connection until it is made: whatsmeow
// reconnects a dropped connection by itself, but not one that never was.
func (b *Bot) connect(ctx context.Context) {
	for delay := time.Second; ; delay = min(2*delay, time.Minute) {
		err := b.client.Connect()
		if err == nil || errors.Is(err, whatsmeow.ErrAlreadyConnected) {
			return
		}
		b.log.Error("whatsapp connect failed; the Telegram side keeps working", "err", err, "retry_in", delay)
		if !b.wait(ctx, delay) {
			return
		}
	}
}

// pair offers a new pairing until the account is linked; without a way to
// pair (tests, the link command) the operator links by hand.
func (b *Bot) pair(ctx context.Context) {
	if b.cfg.Pair == nil {
		b.log.Warn("WhatsApp not linked: run `edobot whatsapp link`")
		return
	}
	b.log.Warn("WhatsApp not linked: scan the QR at /admin/whatsapp/qr.png (EDOBOT_ADMIN_TOKEN) or run `edobot whatsapp link`")
	b.cfg.Pair(ctx)
}

// presence tells WhatsApp the bot is available, after every connect:
// without it people see the bot's name as «-» and receipts stay off.
func (b *Bot) presence(ctx context.Context) {
	if err := b.client.SendPresence(ctx, types.PresenceAvailable); err != nil {
		b.log.Warn("whatsapp presence", "err", err)
		return
	}
	b.log.Debug("whatsapp presence sent")
}

// readiness is why WhatsApp does not work, as /readyz shows it beside
// "down". Degraded ones leave the service ready.
type readiness struct {
	why      string
	degraded bool
}

func (r *readiness) Error() string  { return "whatsapp: " + r.why }
func (r *readiness) Detail() string { return r.why }
func (r *readiness) Degraded() bool { return r.degraded }

// Ready tells /readyz whether WhatsApp works: connected and logged in, not
// before the first connection; an instance waiting for the session (another
// one holds it) is shown as standing by, and stays ready. A session WhatsApp ended (logged out,
// replaced by another process, outdated client), a ban, a connect failure
// or a connection lost for longer than whatsmeow needs to restore it is
// down; a restricted account (its first messages refused) is shown but
// leaves the service ready.
func (b *Bot) Ready(context.Context) error {
	down := func(format string, args ...any) error { return &readiness{why: fmt.Sprintf(format, args...)} }
	if b.cfg.Lease != nil && !b.holding.Load() {
		// Standing by is this instance's normal state beside the holder.
		return &readiness{why: "another instance holds the WhatsApp session; this one takes it over when it is given up", degraded: true}
	}
	if why := b.broken.Load(); why != nil {
		return down("%s", *why)
	}
	if d := b.banned(); d > 0 {
		return down("temporarily banned for %s more; reconnects by itself", d.Round(time.Second))
	}
	if b.Phone() == "" {
		return down("the account is not linked (edobot whatsapp link)")
	}
	if why := b.failure.Load(); why != nil {
		return down("%s", *why)
	}
	if !b.connected.Load() {
		return down("not connected yet")
	}
	b.lostMu.Lock()
	lost := b.lostAt
	b.lostMu.Unlock()
	switch {
	case !lost.IsZero() && b.cfg.Clock.Since(lost) > b.cfg.ReconnectAfter:
		return down("disconnected since %s", lost.Format(time.RFC3339))
	case lost.IsZero() && !(b.client.IsConnected() && b.client.IsLoggedIn()):
		return down("connected but not logged in")
	}
	if r := b.restricted.Load(); r != nil && b.cfg.Clock.Since(r.at) < b.cfg.Cold.Pause {
		return &readiness{why: fmt.Sprintf("WhatsApp refused a message at %s (%d %s): first messages paused for the organisation",
			r.at.Format(time.RFC3339), r.code, r.reason), degraded: true}
	}
	return nil
}

// LatestVersion asks WhatsApp Web which client version it expects now
// (whatsmeow.GetLatestVersion in the service).
type LatestVersion func(ctx context.Context) (*store.WAVersionContainer, error)

// AnnounceVersion makes the client announce the version WhatsApp Web
// expects now, so that a whatsmeow a few weeks old is not refused as
// outdated; when WhatsApp cannot be asked, the compiled version stays. It
// returns the version announced.
func AnnounceVersion(ctx context.Context, latest LatestVersion, log *slog.Logger) store.WAVersionContainer {
	compiled := store.GetWAVersion()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := latest(ctx)
	switch {
	case err != nil:
		log.Warn("whatsapp: could not ask WhatsApp Web for its version; announcing the compiled one", "version", compiled.String(), "err", err)
		return compiled
	case v == nil || v.IsZero():
		return compiled
	}
	store.SetWAVersion(*v)
	if *v != compiled {
		log.Info("whatsapp: announcing WhatsApp Web's current version", "version", v.String(), "compiled", compiled.String())
	}
	return *v
}

// restriction is WhatsApp's last refusal of a message for the account's
// sake.
type restriction struct {
	code   int
	reason string
	at     time.Time
}

// restrictedCodes are WhatsApp's answers to a send that mean the account is
// restricted: retrying or asking about the number only makes it worse.
var restrictedCodes = map[int]string{
	463: "reach-out time-locked: WhatsApp stopped this account from starting chats",
}

// restrictedError reads a send error as a restriction.
func restrictedError(err error) (int, string, bool) {
	if !errors.Is(err, whatsmeow.ErrServerReturnedError) {
		return 0, "", false
	}
	msg := err.Error()
	for code, reason := range restrictedCodes {
		if strings.HasSuffix(msg, fmt.Sprintf(" %d", code)) {
			return code, reason, true
		}
	}
	return 0, "", false
}
