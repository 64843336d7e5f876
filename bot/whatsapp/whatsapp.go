// Package whatsapp is the WhatsApp front end: it turns whatsmeow's events
// into the shared conversation's inputs and draws its screens as numbered
// text, because a bot's linked account has no buttons. A person answers a
// screen with a number or a word of it; the numbers of the last screen each
// chat was shown are kept in PostgreSQL, so a restart or another instance
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
	AddEventHandler(handler whatsmeow.EventHandler) uint32
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

// Menus keeps the numbered choices of the last screen of each chat, as the
// adapter's own JSON (storage.DB implements it).
type Menus interface {
	SaveMenu(ctx context.Context, chatUserID int64, choices []byte) error
	Menu(ctx context.Context, chatUserID int64) ([]byte, error)
}

// Config is what the bot needs besides the client.
type Config struct {
	Menus Menus
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
	// Run's context ended; then their context is cancelled, and Run still
	// waits for them to return. 0 = 30 seconds.
	Drain time.Duration
	// Pair offers pairing until the account is linked or ctx ends (the
	// service's Pairing.Run): at start when unlinked, and again when
	// WhatsApp logs the device out. nil: linking is left to the operator.
	Pair func(ctx context.Context)
	// Cold is the cold-outreach policy; Outreach keeps its counts. Without
	// Outreach, no number that never wrote is written to.
	Cold     Cold
	Outreach OutreachStore
}

// Bot is the WhatsApp front end.
type Bot struct {
	client Client
	flow   flow.Flow
	svc    *core.Service
	menus  Menus
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
	// ctl passes what takes time from whatsmeow's handler to Run.
	ctl chan any
	// lostAt is when the connection was lost, zero while connected.
	lostMu sync.Mutex
	lostAt time.Time

	// queues keep one person's messages in order while different people
	// are served in parallel: a person always lands in the same queue.
	queues []chan *events.Message
	// stopping is closed when Run stops taking messages.
	stopping chan struct{}

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
	b := &Bot{ctl: make(chan any, 16), client: client, flow: f, svc: f.Service, menus: cfg.Menus, log: f.Log, cfg: cfg, stopping: make(chan struct{})}
	if b.log == nil {
		b.log = slog.Default()
	}
	b.log = b.log.With("channel", core.ChannelWhatsApp)
	phone := cfg.Phone
	b.phone.Store(&phone)
	b.queues = make([]chan *events.Message, cfg.Workers)
	for i := range b.queues {
		b.queues[i] = make(chan *events.Message, 64)
	}
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
	client.AddEventHandler(b.onEvent)
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

// Run handles messages until ctx ends, connecting first when the account
// is linked and offering pairing (Config.Pair) when it is not. It never
// fails the service: WhatsApp trouble is logged and shown on /readyz. When
// ctx ends it takes no more messages, handles those already taken
// (WhatsApp would not deliver them again) with the connection still up for
// their replies (Config.Drain), and disconnects once they are done.
func (b *Bot) Run(ctx context.Context) error {
	handling, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	for _, q := range b.queues {
		wg.Go(func() {
			for {
				select {
				case <-b.stopping:
					for {
						select {
						case e := <-q:
							b.onMessage(handling, e)
						default:
							return
						}
					}
				case e := <-q:
					b.onMessage(handling, e)
				}
			}
		})
	}
	b.supervise(ctx)
	close(b.stopping)
	late := time.AfterFunc(b.cfg.Drain, func() {
		b.log.Warn("whatsapp: messages in flight are cancelled: they took longer than the drain allows", "drain", b.cfg.Drain)
		cancel()
	})
	wg.Wait()
	late.Stop()
	b.client.Disconnect()
	return nil
}

func (b *Bot) enqueue(e *events.Message) {
	h := fnv.New32a()
	h.Write([]byte(e.Info.Sender.User))
	select {
	case <-b.stopping:
		b.log.Warn("whatsapp: a message arrived after the bot stopped taking them", "from", e.Info.Sender.ToNonAD().User)
	case b.queues[h.Sum32()%uint32(len(b.queues))] <- e:
	}
}

// person is who wrote, as a phone-number JID when WhatsApp tells it: a
// chat addressed by a hidden id (LID) carries the phone number beside it.
func person(info types.MessageInfo) types.JID {
	who := info.Sender.ToNonAD()
	if who.Server == types.HiddenUserServer && info.SenderAlt.Server == types.DefaultUserServer {
		who = info.SenderAlt.ToNonAD()
	}
	return who
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
func (b *Bot) input(e *events.Message) (flow.Input, string, bool) {
	m := e.Message
	switch {
	case m == nil || e.IsEdit:
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

func (b *Bot) onMessage(ctx context.Context, e *events.Message) {
	if ignored(e.Info) {
		b.messages.WithLabelValues("ignored").Inc()
		return
	}
	in, kind, ok := b.input(e)
	b.messages.WithLabelValues(kind).Inc()
	if !ok {
		return
	}
	start := time.Now()
	defer func() { b.latency.Observe(time.Since(start).Seconds()) }()
	who := person(e.Info)
	u, err := b.chatUser(ctx, who, e.Info.PushName)
	if err != nil {
		b.log.Error("whatsapp chat user", "err", err)
		return
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
	b.markRead(ctx, e.Info)
}

// markRead marks a handled message read (two blue ticks), as a person
// would.
func (b *Bot) markRead(ctx context.Context, info types.MessageInfo) {
	if err := b.client.MarkRead(ctx, []types.MessageID{info.ID}, b.cfg.Clock.Now(), info.Chat, info.Sender); err != nil {
		b.reads.WithLabelValues("error").Inc()
		b.log.Debug("whatsapp read mark", "err", err)
		return
	}
	b.reads.WithLabelValues("sent").Inc()
}

// chatUser is the person behind a message: their JID is their id, and its
// number their phone, which «Отправить получателю» looks them up by.
// WhatsApp tells no language; a new person reads Russian until they choose.
func (b *Bot) chatUser(ctx context.Context, who types.JID, name string) (*core.ChatUser, error) {
	u, err := b.svc.ChatUser(ctx, core.ChannelWhatsApp, who.String(), strings.TrimSpace(name), "ru")
	if err != nil {
		return nil, err
	}
	if who.Server != types.DefaultUserServer {
		return u, nil
	}
	if phone, ok := core.NormalizePhone("+" + who.User); ok && phone != u.Phone {
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
	to, err := types.ParseJID(u.ExternalID)
	if err != nil {
		return fmt.Errorf("whatsapp jid %q: %w", u.ExternalID, err)
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
		if err := b.menus.SaveMenu(ctx, u.ID, data); err != nil {
			return fmt.Errorf("whatsapp menu: %w", err)
		}
	}
	return nil
}

// lastMenu reads the chat's numbered choices in force.
func (b *Bot) lastMenu(ctx context.Context, u *core.ChatUser) []choice {
	raw, err := b.menus.Menu(ctx, u.ID)
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
	// a query, so only now.
	if to.Phone != "" {
		b.lookups.WithLabelValues("asked").Inc()
		if res, qerr := b.client.IsOnWhatsApp(ctx, []string{to.Phone}); qerr == nil && len(res) == 1 && !res[0].IsIn {
			return fmt.Errorf("%w: %w: %v", core.ErrChatBlocked, errNotOnWhatsApp, err)
		}
	}
	return err
}
