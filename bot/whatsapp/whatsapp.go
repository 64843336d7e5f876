// Package whatsapp is the WhatsApp front end: it turns whatsmeow's events
// into the shared conversation's inputs and draws its screens as numbered
// text, because a bot's linked account has no buttons. A person answers a
// screen with a number or a word of it; the numbers of the last screen each
// chat was shown are kept by the service (core), so a restart or another instance
// still understands "2". It also tells chats of document changes for the
// notification jobs and reaches recipients by phone for «Отправить
// получателю».
package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"edobot/bot/flow"
	"edobot/core"
)

// Client is what the adapter needs of whatsmeow. *whatsmeow.Client
// satisfies it as it is; tests put a fake in its place that records what
// would be sent and feeds whatsmeow's own event values in.
type Client interface {
	// AddEventHandlerWithSuccessStatus: a handler returning false leaves a
	// message unacknowledged (with Client.SynchronousAck), so WhatsApp
	// delivers it again.
	AddEventHandlerWithSuccessStatus(handler whatsmeow.EventHandlerWithSuccessStatus) uint32
	Connect() error
	Disconnect()
	IsConnected() bool
	IsLoggedIn() bool
	SendMessage(ctx context.Context, to types.JID, message *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error)
	Upload(ctx context.Context, plaintext []byte, mediaType whatsmeow.MediaType) (whatsmeow.UploadResponse, error)
	Download(ctx context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error)
	IsOnWhatsApp(ctx context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error)
	SendPresence(ctx context.Context, state types.Presence) error
	MarkRead(ctx context.Context, ids []types.MessageID, timestamp time.Time, chat, sender types.JID, receiptTypeExtra ...types.ReceiptType) error
}

// LIDMap is whatsmeow's map between the hidden ids (LID) WhatsApp
// addresses people by and their phone numbers (Client.Store.LIDs).
type LIDMap interface {
	GetPNForLID(ctx context.Context, lid types.JID) (types.JID, error)
	GetLIDForPN(ctx context.Context, pn types.JID) (types.JID, error)
}

// Lease is the right to hold the WhatsApp session: one instance at a time
// connects the account (storage.Lease implements it). It stays the bot's
// own, like LIDMap (whatsmeow's store): which instance holds a messenger
// session is plumbing, not a use case. The chat state — the menus, the
// inbox — and the cold-outreach budgets are the service's (core).
type Lease interface {
	// Acquire waits until this instance holds the session; held ends when
	// it is lost, release gives it up.
	Acquire(ctx context.Context) (held context.Context, release func(), err error)
}

// Config is what the bot needs besides the client.
type Config struct {
	// LIDs maps hidden ids to phone numbers and back; nil knows none.
	LIDs LIDMap
	// Lease, when set, is taken before connecting and held for the
	// session's life; nil connects at once.
	Lease Lease
	// WhileHeld, when set, runs while this instance holds the session (the
	// WhatsApp deliveries); its ctx ends when the session is being given
	// up, and the connection closes only after it returned.
	WhileHeld func(ctx context.Context)
	// Phone is the bot's own number, digits only ("77010000000"), once the
	// account is linked; "" before.
	Phone string
	// Workers handle messages in parallel; one person's messages are still
	// handled one after another.
	Workers int
	// ReconnectAfter is how long a lost connection may last before Ready
	// reports it; whatsmeow reconnects by itself meanwhile.
	ReconnectAfter time.Duration
	// Clock tells how long the connection has been lost, when a ban ends
	// and which day and hour it is for the budgets; nil = the real one.
	// Tests put a fake in its place.
	Clock clockwork.Clock
	// Drain is how long the messages taken may take to be handled once
	// the session is being given up (Run's context ended, or the lease
	// lost); then their context is cancelled, Run still waits for them to
	// return, and the next holder handles them again. 0 = 30 seconds.
	Drain time.Duration
	// Pair offers pairing until the account is linked or ctx ends (the
	// service's Pairing.Run): at start when unlinked, and again when
	// WhatsApp logs the device out, only while this instance holds the
	// session. nil: linking is left to the operator.
	Pair func(ctx context.Context)
	// Cold is the cold-outreach policy; the service's Outreach keeps its
	// counts. When it keeps none, no number that never wrote is written to.
	Cold Cold
}

// Bot is the WhatsApp front end.
type Bot struct {
	client Client
	flow   flow.Flow
	svc    *core.Service
	log    *slog.Logger
	cfg    Config

	phone atomic.Pointer[string]
	// broken is why the session cannot work any more (logged out,
	// replaced, outdated); nil while it can.
	broken atomic.Pointer[string]
	// failure is the last connect failure whatsmeow does not retry; nil
	// once connected.
	failure atomic.Pointer[string]
	// bannedUntil is when WhatsApp's temporary ban ends; nil without one.
	bannedUntil atomic.Pointer[time.Time]
	// restricted is WhatsApp's last refusal of a message as restricted.
	restricted atomic.Pointer[restriction]
	// connected is whether a connection was made since start (or since the
	// last logout).
	connected atomic.Bool
	// up tells the supervisor the connection is up (the replay waits for
	// it).
	up chan struct{}
	// ctl passes what takes time from whatsmeow's handler to Run.
	ctl chan any
	// lostAt is when the connection was lost, zero while connected.
	lostMu sync.Mutex
	lostAt time.Time

	// intake holds the queues of the session being served: they keep one
	// person's messages in order while different people are served in
	// parallel, a person always landing in the same queue. nil while no
	// session takes messages. While replaying, the messages received are
	// kept in the service's inbox only, and the replay queues them after the older
	// ones.
	intakeMu  sync.RWMutex
	intake    []chan inbound
	replaying bool
	holding   atomic.Bool

	messages *prometheus.CounterVec
	receipts *prometheus.CounterVec
	latency  prometheus.Histogram
	events   *prometheus.CounterVec
	refused  *prometheus.CounterVec
	lookups  *prometheus.CounterVec
	cold     *prometheus.CounterVec
	reads    *prometheus.CounterVec
}

// New builds the bot over a client. f is the conversation template; New
// fills in its channel, start links, delivery and reach.
func New(client Client, cfg Config, f flow.Flow) *Bot {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.ReconnectAfter <= 0 {
		cfg.ReconnectAfter = 2 * time.Minute
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 30 * time.Second
	}
	cfg.Cold.fill()
	b := &Bot{ctl: make(chan any, 16), up: make(chan struct{}, 1), client: client, flow: f, svc: f.Service, log: f.Log, cfg: cfg}
	if b.log == nil {
		b.log = slog.Default()
	}
	b.log = b.log.With("channel", core.ChannelWhatsApp)
	phone := cfg.Phone
	b.phone.Store(&phone)
	b.messages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edobot_whatsapp_messages_total",
		Help: "WhatsApp messages received, by kind."}, []string{"kind"})
	b.receipts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edobot_whatsapp_receipts_total",
		Help: "WhatsApp receipts of the bot's messages, by type."}, []string{"type"})
	b.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "edobot_whatsapp_message_seconds",
		Help: "Time to handle one WhatsApp message.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)})
	b.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edobot_whatsapp_session_events_total",
		Help: "WhatsApp session events: connected, disconnected, logged_out, temporary_ban, stream_replaced, client_outdated, keepalive_timeout, connect_failure, undecryptable_message…"}, []string{"event"})
	b.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edobot_whatsapp_restricted_total",
		Help: "Messages WhatsApp refused because the account is restricted, by its error code (463: may not start chats)."}, []string{"code"})
	b.lookups = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edobot_whatsapp_lookups_total",
		Help: "Is-on-WhatsApp questions about a number: asked of WhatsApp, or answered from the kept answers."}, []string{"source"})
	b.cold = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edobot_whatsapp_cold_outreach_total",
		Help: "First messages to numbers that never wrote: sent, or replaced by an invitation link and why."}, []string{"result"})
	b.reads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edobot_whatsapp_read_marks_total",
		Help: "Read marks sent on handled messages, by result."}, []string{"result"})
	b.flow.Channel = core.ChannelWhatsApp
	b.flow.StartLink = b.StartLink
	b.flow.Deliver = b.Deliver
	b.flow.Reach = b.Reach
	b.flow.Prepare()
	client.AddEventHandlerWithSuccessStatus(b.onEvent)
	return b
}

// Collectors are the bot's metrics.
func (b *Bot) Collectors() []prometheus.Collector {
	return []prometheus.Collector{b.messages, b.receipts, b.latency, b.events, b.refused, b.lookups, b.cold, b.reads}
}

// Phone is the bot's own number, digits only; "" until the account is linked.
func (b *Bot) Phone() string { return *b.phone.Load() }

// Linked records the bot's number once pairing succeeded.
func (b *Bot) Linked(phone string) {
	b.phone.Store(&phone)
	b.broken.Store(nil)
}

// StartLink opens a chat with the bot that carries a document's link token;
// "" while the account is not linked (before pairing, or logged out).
func (b *Bot) StartLink(token string) string {
	p := b.Phone()
	if p == "" {
		return ""
	}
	return "https://wa.me/" + p + "?text=" + url.QueryEscape("/start "+token)
}

// Run serves WhatsApp until ctx ends: it waits to hold the session (the
// Lease), then connects when the account is linked, offering pairing
// (Config.Pair) when it is not, and handles messages until the session is
// lost or ctx ends, and waits again. It never fails the service: WhatsApp
// trouble is logged and shown on /readyz. It returns once the session was
// given up in order (see session).
func (b *Bot) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if b.cfg.Lease == nil {
			b.session(ctx)
			break
		}
		held, release, err := b.cfg.Lease.Acquire(ctx)
		if err != nil {
			if ctx.Err() == nil {
				b.log.Error("whatsapp: cannot wait for the session", "err", err)
			}
			continue // Acquire retries by itself; only ctx's end gets here
		}
		b.log.Info("holding the WhatsApp session")
		b.session(held)
		release()
		b.log.Info("gave up the WhatsApp session")
	}
	return nil
}

// session serves the session until ctx ends: it connects (or pairs) and
// supervises the connection, replays the messages kept but not handled
// once connected, and runs WhileHeld. When ctx ends it gives the session up
// in order: it stops taking messages (those arriving now stay
// unacknowledged, and WhatsApp delivers them to the next holder), ends
// WhileHeld and waits for it, lets the messages taken be handled, their
// answers still going out over the connection, for up to Config.Drain
// (then their context is cancelled and they are still waited for; the next
// holder handles them again), and only then disconnects.
func (b *Bot) session(ctx context.Context) {
	b.holding.Store(true)
	defer b.holding.Store(false)
	handling, stopHandling := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHandling()
	queues := make([]chan inbound, b.cfg.Workers)
	var workers sync.WaitGroup
	for i := range queues {
		q := make(chan inbound, 64)
		queues[i] = q
		workers.Go(func() {
			for in := range q {
				b.onMessage(handling, in)
			}
		})
	}
	b.intakeMu.Lock()
	b.intake = queues
	b.replaying = b.svc.KeepsInbound()
	b.intakeMu.Unlock()

	var held sync.WaitGroup
	whileCtx, stopWhile := context.WithCancel(ctx)
	if b.cfg.WhileHeld != nil {
		held.Go(func() { b.cfg.WhileHeld(whileCtx) })
	}
	b.supervise(ctx)

	b.intakeMu.Lock()
	b.intake = nil
	b.replaying = false
	for _, q := range queues {
		close(q)
	}
	b.intakeMu.Unlock()
	stopWhile()
	late := b.cfg.Clock.AfterFunc(b.cfg.Drain, func() {
		b.log.Warn("whatsapp: messages in flight are cancelled: they took longer than the drain allows; the next holder handles them again", "drain", b.cfg.Drain)
		stopHandling()
	})
	held.Wait()
	workers.Wait()
	late.Stop()
	b.client.Disconnect()
	b.connected.Store(false)
}

// replay queues the messages kept but not handled (a process stopped or
// killed before it could handle them, or one that lost the session) once
// the session is connected, so that their answers can go out. The messages
// received meanwhile are kept only, and queued here after them, in the
// order they arrived.
func (b *Bot) replay(ctx context.Context) {
	if !b.svc.KeepsInbound() {
		return
	}
	var after int64
	for ctx.Err() == nil {
		pending, err := b.svc.PendingInbound(ctx, after, 500)
		if err == nil && len(pending) == 0 {
			// The last read under the lock: nothing is kept unseen after it.
			b.intakeMu.Lock()
			pending, err = b.svc.PendingInbound(ctx, after, 500)
			if err == nil && len(pending) == 0 {
				b.replaying = false
				b.intakeMu.Unlock()
				return
			}
			b.intakeMu.Unlock()
		}
		if err != nil {
			b.log.Error("whatsapp: kept messages cannot be read; they are handled at the next session", "err", err)
			b.intakeMu.Lock()
			b.replaying = false
			b.intakeMu.Unlock()
			return
		}
		for _, m := range pending {
			after = m.Seq
			in, err := inboundFrom(m)
			if err != nil {
				b.log.Error("whatsapp: a kept message cannot be read", "seq", m.Seq, "err", err)
				continue
			}
			b.enqueue(in)
		}
	}
}

// inbound is a received message, ready to be handled.
type inbound struct {
	seq    int64     // its row in the service's inbox; 0 when not kept
	person types.JID // the chat user's key
	alias  types.JID // the person's other JID, when known
	name   string
	msg    *waE2E.Message
	edit   bool
	// id, chat and sender are what the read mark names.
	id     types.MessageID
	chat   types.JID
	sender types.JID
}

func inboundFrom(m core.InboundMessage) (inbound, error) {
	in := inbound{seq: m.Seq, name: m.Name, edit: m.Edit, msg: &waE2E.Message{}, id: m.MessageID}
	var err error
	if in.person, err = types.ParseJID(m.Person); err != nil {
		return in, err
	}
	for _, j := range []struct {
		to   *types.JID
		from string
	}{{&in.alias, m.Alias}, {&in.chat, m.Chat}, {&in.sender, m.Sender}} {
		if j.from == "" {
			continue
		}
		if *j.to, err = types.ParseJID(j.from); err != nil {
			return in, err
		}
	}
	return in, proto.Unmarshal(m.Payload, in.msg)
}

// receive keeps a message and queues it. It is not acknowledged when no
// session takes messages or when it cannot be kept.
func (b *Bot) receive(e *events.Message) bool {
	if ignored(e.Info) {
		b.messages.WithLabelValues("ignored").Inc()
		return true
	}
	b.intakeMu.RLock()
	defer b.intakeMu.RUnlock()
	if b.intake == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	person, alias := b.identify(ctx, e.Info)
	in := inbound{person: person, alias: alias, name: e.Info.PushName, msg: e.Message, edit: e.IsEdit,
		id: e.Info.ID, chat: e.Info.Chat, sender: e.Info.Sender}
	if b.svc.KeepsInbound() {
		payload, err := proto.Marshal(e.Message)
		if err != nil {
			b.log.Error("whatsapp: a message cannot be encoded", "id", e.Info.ID, "err", err)
			return true // it never will be
		}
		m := &core.InboundMessage{ID: e.Info.Sender.ToNonAD().String() + "/" + e.Info.ID, Person: person.String(),
			Alias: alias.String(), Name: e.Info.PushName, Payload: payload, Edit: e.IsEdit, ReceivedAt: b.cfg.Clock.Now(),
			Chat: e.Info.Chat.String(), Sender: e.Info.Sender.String(), MessageID: e.Info.ID}
		fresh, err := b.svc.SaveInbound(ctx, m)
		if err != nil {
			b.log.Error("whatsapp: a message cannot be kept; WhatsApp delivers it again", "id", e.Info.ID, "err", err)
			return false
		}
		if !fresh {
			return true // kept before: handled, or queued already
		}
		in.seq = m.Seq
		if b.replaying {
			return true // the replay queues it after the older ones
		}
	}
	b.queueLocked(in)
	return true
}

// enqueue queues a message for its person's worker; it is dropped when no
// session takes messages (a kept one is handled at the next).
func (b *Bot) enqueue(in inbound) {
	b.intakeMu.RLock()
	defer b.intakeMu.RUnlock()
	if b.intake != nil {
		b.queueLocked(in)
	}
}

// queueLocked queues under intakeMu's read lock: the workers keep
// consuming until the session closes the queues under its write lock.
func (b *Bot) queueLocked(in inbound) {
	h := fnv.New32a()
	h.Write([]byte(in.person.User))
	b.intake[h.Sum32()%uint32(len(b.intake))] <- in
}

// identify is who wrote: the chat user's key, their hidden id (LID) when
// known, like mautrix-whatsapp keys people, else their phone-number JID; and
// their other JID when known. A message tells the other form beside the
// sender (SenderAlt) when WhatsApp sends it; whatsmeow's map tells it
// otherwise. One person is one chat user whichever form they write with.
func (b *Bot) identify(ctx context.Context, info types.MessageInfo) (key, alias types.JID) {
	var lid, pn types.JID
	for _, j := range []types.JID{info.Sender.ToNonAD(), info.SenderAlt.ToNonAD()} {
		switch j.Server {
		case types.HiddenUserServer:
			lid = j
		case types.DefaultUserServer:
			pn = j
		}
	}
	lid, pn = b.pairJIDs(ctx, lid, pn)
	switch {
	case !lid.IsEmpty():
		return lid, pn
	case !pn.IsEmpty():
		return pn, types.JID{}
	}
	return info.Sender.ToNonAD(), types.JID{}
}

// pairJIDs fills the missing one of a person's LID and phone-number JID
// from whatsmeow's map.
func (b *Bot) pairJIDs(ctx context.Context, lid, pn types.JID) (types.JID, types.JID) {
	if b.cfg.LIDs == nil {
		return lid, pn
	}
	var err error
	switch {
	case lid.IsEmpty() && !pn.IsEmpty():
		var l types.JID
		if l, err = b.cfg.LIDs.GetLIDForPN(ctx, pn); err == nil && !l.IsEmpty() {
			lid = l.ToNonAD()
		}
	case pn.IsEmpty() && !lid.IsEmpty():
		var p types.JID
		if p, err = b.cfg.LIDs.GetPNForLID(ctx, lid); err == nil && !p.IsEmpty() {
			pn = p.ToNonAD()
		}
	}
	if err != nil {
		b.log.Warn("whatsapp: the LID map cannot be read", "lid", lid.User, "err", err)
	}
	return lid, pn
}

// ignored are messages the bot does not answer: its own, groups, status
// updates and broadcasts, channels.
func ignored(info types.MessageInfo) bool {
	if info.IsFromMe || info.IsGroup || info.Chat.IsBroadcastList() {
		return true
	}
	switch info.Chat.Server {
	case types.DefaultUserServer, types.HiddenUserServer:
		return false
	}
	return true
}

// input turns a message into the flow's input; ok is false for what needs
// no answer at all (reactions, edits, protocol messages).
func (b *Bot) input(e inbound) (flow.Input, string, bool) {
	m := e.msg
	switch {
	case m == nil || e.edit:
		return flow.Input{}, "other", false
	case m.GetConversation() != "":
		return flow.Input{Text: m.GetConversation()}, "text", true
	case m.GetExtendedTextMessage().GetText() != "":
		return flow.Input{Text: m.GetExtendedTextMessage().GetText()}, "text", true
	case m.GetDocumentMessage() != nil:
		doc := m.GetDocumentMessage()
		return flow.Input{Upload: &flow.Upload{Name: doc.GetFileName(), MIME: doc.GetMimetype(), Size: int64(doc.GetFileLength()),
			Open: func(ctx context.Context) (io.ReadCloser, error) {
				// Downloaded only now: the flow has checked the declared
				// size and type first.
				data, err := b.client.Download(ctx, doc)
				if err != nil {
					return nil, fmt.Errorf("whatsapp download: %w", err)
				}
				return io.NopCloser(bytes.NewReader(data)), nil
			}}}, "document", true
	case m.GetImageMessage() != nil:
		return flow.Input{Photo: true}, "image", true
	case m.GetAudioMessage() != nil, m.GetVideoMessage() != nil, m.GetStickerMessage() != nil,
		m.GetContactMessage() != nil, m.GetLocationMessage() != nil, m.GetLiveLocationMessage() != nil,
		m.GetContactsArrayMessage() != nil, m.GetPtvMessage() != nil:
		return flow.Input{Unsupported: true}, "unsupported", true
	}
	return flow.Input{}, "other", false
}

func (b *Bot) onMessage(ctx context.Context, e inbound) {
	if b.handle(ctx, e) && ctx.Err() == nil && e.seq != 0 {
		if err := b.svc.InboundHandled(context.WithoutCancel(ctx), e.seq, b.cfg.Clock.Now()); err != nil {
			b.log.Error("whatsapp: a handled message cannot be marked; it may be answered again", "seq", e.seq, "err", err)
		}
	}
}

// handle answers one message; false when it could not be handled now and
// should be again later.
func (b *Bot) handle(ctx context.Context, e inbound) bool {
	in, kind, ok := b.input(e)
	b.messages.WithLabelValues(kind).Inc()
	if !ok {
		return true
	}
	start := time.Now()
	defer func() { b.latency.Observe(time.Since(start).Seconds()) }()
	u, err := b.chatUser(ctx, e.person, e.alias, e.name)
	if err != nil {
		b.log.Error("whatsapp chat user", "err", err)
		return false
	}
	if in.Text != "" {
		if choice, ok := b.choice(ctx, u, in.Text); ok {
			in = flow.Input{Choice: choice}
		}
	}
	screens := b.flow.Handle(ctx, u, in)
	if err := b.send(ctx, u, screens); err != nil {
		b.log.Warn("whatsapp send", "chat_user", u.ID, "err", err)
	}
	if ctx.Err() == nil { // cut short: the next holder handles it again
		b.markRead(ctx, e)
	}
	return true
}

// markRead marks a handled message read (two blue ticks), as a person
// would.
func (b *Bot) markRead(ctx context.Context, e inbound) {
	if e.id == "" || e.chat.IsEmpty() {
		return // kept before the read marks were
	}
	if err := b.client.MarkRead(ctx, []types.MessageID{e.id}, b.cfg.Clock.Now(), e.chat, e.sender); err != nil {
		b.reads.WithLabelValues("error").Inc()
		b.log.Debug("whatsapp read mark", "err", err)
		return
	}
	b.reads.WithLabelValues("sent").Inc()
}

// chatUser is the person behind a message, keyed on who (their LID when
// known) and found under alias too; their phone-number JID's number is
// their phone, which «Отправить получателю» looks them up by. WhatsApp
// tells no language; a new person reads Russian until they choose.
func (b *Bot) chatUser(ctx context.Context, who, alias types.JID, name string) (*core.ChatUser, error) {
	u, err := b.svc.ChatUser(ctx, core.ChannelWhatsApp, who.String(), strings.TrimSpace(name), "ru", alias.String())
	if err != nil {
		return nil, err
	}
	pn := who
	if pn.Server != types.DefaultUserServer {
		pn = alias
	}
	if pn.Server != types.DefaultUserServer {
		return u, nil
	}
	if phone, ok := core.NormalizePhone("+" + pn.User); ok && phone != u.Phone {
		if err := b.svc.SetChatContact(ctx, u.ID, "", phone); err != nil {
			return nil, err
		}
		u.Phone = phone
	}
	return u, nil
}

// choice is one line of a numbered screen: its label (typed as a word
// instead of the number) and the data it stands for.
type choice struct {
	Label string `json:"l"`
	Data  string `json:"d"`
}

// choice reads a reply as a choice of the chat's last menu: its number, or
// a word equal to a label.
func (b *Bot) choice(ctx context.Context, u *core.ChatUser, text string) (string, bool) {
	menu := b.lastMenu(ctx, u)
	text = strings.TrimSpace(text)
	if n, err := strconv.Atoi(strings.TrimRight(text, ".)")); err == nil {
		// Where a document number or a search is asked for, "1" is the
		// answer, not the first choice; the word («отмена») still works.
		if b.flow.ExpectsText(ctx, u) {
			return "", false
		}
		if n >= 1 && n <= len(menu) {
			return menu[n-1].Data, true
		}
		return "", false
	}
	want := words(text)
	if want == "" {
		return "", false
	}
	for _, c := range menu {
		if words(c.Label) == want {
			return c.Data, true
		}
	}
	if want == words(b.flow.Cat.Text(u.Language, "chat.menu", nil)) {
		return string(flow.CodeMenu), true // «Меню» always leads home, listed or not
	}
	return "", false
}

// words is a label as a person would type it: no icons, no count in
// brackets, no punctuation, lower case. "📥 Входящие (2)" is "входящие".
func words(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, ")") {
		if i := strings.LastIndex(s, " ("); i > 0 {
			s = s[:i]
		}
	}
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// message is one WhatsApp message a screen becomes.
type message struct {
	text     string
	photo    *flow.File
	document *flow.File
}

// maxText keeps a message well below what WhatsApp shows in one bubble.
const maxText = 4000

// render draws screens as numbered text. The numbers run on across the
// screens of one answer, so every choice shown stays reachable; the
// choices are what a later "2" means.
func (b *Bot) render(u *core.ChatUser, screens []flow.Screen, menu []choice) ([]message, []choice) {
	var out []message
	useButtons := b.flow.Cat.Text(u.Language, "chat.use_buttons", nil)
	for _, s := range screens {
		text := strings.ReplaceAll(s.Text, useButtons, b.flow.Cat.Text(u.Language, "wa.reply_with_number", nil))
		var lines []string
		for _, row := range s.Buttons {
			for _, btn := range row {
				switch {
				case btn.URL != "":
					lines = append(lines, btn.Label+": "+btn.URL)
				case btn.Copy != "":
					lines = append(lines, btn.Label+": "+btn.Copy)
				case btn.Data != "":
					menu = append(menu, choice{Label: btn.Label, Data: btn.Data})
					lines = append(lines, strconv.Itoa(len(menu))+". "+btn.Label)
				}
			}
		}
		if len(lines) > 0 {
			text = strings.TrimRight(text, "\n") + "\n\n" + strings.Join(lines, "\n")
		}
		switch {
		case s.Photo != nil:
			out = append(out, message{text: text, photo: s.Photo})
		case s.Document != nil:
			out = append(out, message{text: text, document: s.Document})
		default:
			for _, part := range split(text, maxText) {
				out = append(out, message{text: part})
			}
		}
	}
	return out, menu
}

// split cuts a long text at line ends where it can.
func split(s string, max int) []string {
	var out []string
	for r := []rune(s); len(r) > max; r = []rune(s) {
		cut := max
		for i := max - 1; i > max/2; i-- {
			if r[i] == '\n' {
				cut = i
				break
			}
		}
		out = append(out, strings.TrimRight(string(r[:cut]), "\n"))
		s = strings.TrimLeft(string(r[cut:]), "\n")
	}
	if s != "" || len(out) == 0 {
		out = append(out, s)
	}
	return out
}

// send draws screens into a person's chat as the answer to what they wrote,
// and remembers their numbers. WhatsApp cannot edit a message, so a screen
// meant to replace one is sent anew.
func (b *Bot) send(ctx context.Context, u *core.ChatUser, screens []flow.Screen) error {
	return b.sendFrom(ctx, u, screens, nil)
}

// sendFrom sends screens whose numbers continue after menu's.
func (b *Bot) sendFrom(ctx context.Context, u *core.ChatUser, screens []flow.Screen, menu []choice) error {
	if len(screens) == 0 {
		return nil
	}
	to, err := destination(u)
	if err != nil {
		return err
	}
	msgs, all := b.render(u, screens, menu)
	for _, m := range msgs {
		if err := b.sendOne(ctx, to, m); err != nil {
			return err
		}
	}
	// A screen without choices (a refusal, a file) leaves the last menu
	// in force, as Telegram leaves the last buttons.
	if len(all) > len(menu) {
		data, _ := json.Marshal(all)
		if err := b.svc.SaveMenu(ctx, u.ID, data); err != nil {
			return fmt.Errorf("whatsapp menu: %w", err)
		}
	}
	return nil
}

// destination is where a chat user's messages go: their phone number when
// known, as before hidden ids (whatsmeow turns it into the LID where
// WhatsApp wants that), else the JID they are keyed on.
func destination(u *core.ChatUser) (types.JID, error) {
	if u.Phone != "" {
		return types.NewJID(strings.TrimPrefix(u.Phone, "+"), types.DefaultUserServer), nil
	}
	to, err := types.ParseJID(u.ExternalID)
	if err != nil {
		return types.JID{}, fmt.Errorf("whatsapp jid %q: %w", u.ExternalID, err)
	}
	return to, nil
}

// lastMenu reads the chat's numbered choices in force.
func (b *Bot) lastMenu(ctx context.Context, u *core.ChatUser) []choice {
	raw, err := b.svc.Menu(ctx, u.ID)
	if err != nil {
		b.log.Error("whatsapp menu", "chat_user", u.ID, "err", err)
		return nil
	}
	var menu []choice
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &menu); err != nil {
			b.log.Warn("whatsapp menu", "chat_user", u.ID, "err", err)
		}
	}
	return menu
}

func (b *Bot) sendOne(ctx context.Context, to types.JID, m message) error {
	if d := b.banned(); d > 0 {
		return &core.RetryAfterError{Delay: d}
	}
	var msg *waE2E.Message
	switch {
	case m.photo != nil:
		up, err := b.client.Upload(ctx, m.photo.Data, whatsmeow.MediaImage)
		if err != nil {
			return fmt.Errorf("whatsapp upload image: %w", err)
		}
		msg = &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			Mimetype: proto.String(mimeOr(m.photo.MIME, "image/png")), Caption: proto.String(m.text),
		}}
	case m.document != nil:
		up, err := b.client.Upload(ctx, m.document.Data, whatsmeow.MediaDocument)
		if err != nil {
			return fmt.Errorf("whatsapp upload document: %w", err)
		}
		msg = &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			Mimetype: proto.String(mimeOr(m.document.MIME, "application/octet-stream")), FileName: proto.String(m.document.Name),
			Title: proto.String(m.document.Name), Caption: proto.String(m.text),
		}}
	default:
		msg = &waE2E.Message{Conversation: proto.String(m.text)}
	}
	if _, err := b.client.SendMessage(ctx, to, msg); err != nil {
		return fmt.Errorf("whatsapp send: %w", err)
	}
	return nil
}

func mimeOr(m, def string) string {
	if m == "" {
		return def
	}
	return m
}

// Deliver sends screens to another person's chat.
func (b *Bot) Deliver(ctx context.Context, to *core.ChatUser, screens []flow.Screen) error {
	// Nobody asked for these screens: their numbers follow the menu the
	// person may be answering, instead of taking its numbers over.
	return b.classify(ctx, to, b.sendFrom(ctx, to, screens, b.lastMenu(ctx, to)))
}

// Notify tells one chat of a change (the jobs' messenger): the flow draws
// it, the bot only sends. A refusal as restricted pauses the first messages
// of the organisation it was for.
func (b *Bot) Notify(ctx context.Context, chat core.DocumentChat, n core.Notification) error {
	err := b.flow.Notify(ctx, b.Deliver, chat, n)
	var r *core.RestrictedError
	if errors.As(err, &r) {
		switch {
		case n.Document != nil:
			b.pauseOrg(ctx, n.Document.SenderOrgID, r)
		case n.Org != nil:
			b.pauseOrg(ctx, n.Org.ID, r)
		}
	}
	return err
}

// errNotOnWhatsApp is a number WhatsApp does not know.
var errNotOnWhatsApp = errors.New("whatsapp: the number is not on WhatsApp")

// rateLimitDelay is how long to hold a chat's messages after WhatsApp said
// too many: it tells no time, and pushing on risks a ban.
const rateLimitDelay = time.Minute

// classify maps whatsmeow's errors onto what the jobs act on: a
// restricted account's refusal fails for good (and is not followed by a
// question about the number), a rate limit or a ban waits, a number that
// left WhatsApp is not tried again, the rest (not connected, timeouts) is
// retried with backoff.
func (b *Bot) classify(ctx context.Context, to *core.ChatUser, err error) error {
	if err == nil {
		return nil
	}
	if code, reason, ok := restrictedError(err); ok {
		return fmt.Errorf("%w: %v", b.restrict(code, reason, err), err)
	}
	var ra *core.RetryAfterError
	if errors.As(err, &ra) {
		return err
	}
	if errors.Is(err, whatsmeow.ErrIQRateOverLimit) || strings.Contains(err.Error(), "rate-overlimit") ||
		errors.Is(err, whatsmeow.ErrServerReturnedError) && strings.HasSuffix(err.Error(), " 429") {
		return &core.RetryAfterError{Delay: rateLimitDelay}
	}
	if errors.Is(err, whatsmeow.ErrNotLoggedIn) || errors.Is(err, whatsmeow.ErrNotConnected) || !b.client.IsConnected() {
		return err
	}
	// A failed send may mean the number is gone from WhatsApp; asking costs
	// a query, so only now, and a fresh answer kept is not asked again.
	if to.Phone != "" {
		if _, lerr := b.lookup(ctx, to.Phone); errors.Is(lerr, core.ErrNotFound) {
			return fmt.Errorf("%w: %w: %v", core.ErrChatBlocked, errNotOnWhatsApp, err)
		}
	}
	return err
}
