// Package telegram is the Telegram front end: it turns updates into the
// shared conversation's inputs and draws its screens as messages with inline
// keyboards, through github.com/go-telegram/bot. It also tells chats of
// document changes for the notification jobs.
package telegram

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"edobot/bot/flow"
	"edobot/bot/i18n"
	"edobot/core"
	"edobot/core/tasks"
)

// Config is how the bot reaches Telegram.
type Config struct {
	Token string
	// ServerURL is the Bot API server; "" is Telegram's own.
	ServerURL string
	// WebhookURL switches from long polling to a webhook Telegram calls;
	// WebhookSecret is the X-Telegram-Bot-Api-Secret-Token it must carry.
	WebhookURL    string
	WebhookSecret string
	// Workers handle updates in parallel; one person's updates are still
	// handled one after another.
	Workers int
	// HTTPClient talks to the Bot API; nil = one with sane timeouts.
	HTTPClient *http.Client
	// Clock is what a reply waits on when Telegram asks to slow down; nil
	// = the real one. Tests put a fake in its place.
	Clock clockwork.Clock
	// Drain is how long updates in flight may take to finish once Run's
	// context ended; then their own context is cancelled, and Run still
	// waits for them to return. 0 = 30 seconds.
	Drain time.Duration
}

// Bot is the Telegram front end.
type Bot struct {
	api      *bot.Bot
	flow     flow.Flow
	svc      *core.Service
	log      *slog.Logger
	cfg      Config
	username string
	client   *http.Client

	// locks serialise the updates of one person, so two quick taps are
	// settled one after the other by the conversation's version.
	locks [256]sync.Mutex

	// inflight owns the goroutine of every update being handled; handling
	// is the context they run under, cancelled only when a stop's drain
	// takes too long.
	inflight       inflight
	handling       context.Context
	cancelHandling context.CancelFunc

	updates *prometheus.CounterVec
	latency prometheus.Histogram
}

// New connects to the Bot API (getMe tells the bot's username, which the
// start links need). f is the conversation template; New fills in its
// channel, start links and delivery.
func New(ctx context.Context, cfg Config, f flow.Flow) (*Bot, error) {
	if cfg.Token == "" {
		return nil, errors.New("telegram: empty token")
	}
	if cfg.Workers <= 0 {
		// Most of an update's time is spent waiting on the database and the
		// Bot API, not on the CPU.
		cfg.Workers = 16
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 30 * time.Second
	}
	b := &Bot{flow: f, svc: f.Service, log: f.Log, cfg: cfg, client: cfg.HTTPClient}
	b.handling, b.cancelHandling = context.WithCancel(context.WithoutCancel(ctx))
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.client == nil {
		// Long polling holds a request for up to a minute.
		b.client = &http.Client{Timeout: 70 * time.Second}
	}
	b.updates = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edobot_telegram_updates_total",
		Help: "Telegram updates handled, by kind."}, []string{"kind"})
	b.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "edobot_telegram_update_seconds",
		Help: "Time to handle one Telegram update.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)})
	opts := []bot.Option{
		bot.WithDefaultHandler(b.dispatch),
		// dispatch only hands the update to a goroutine of b's own, which
		// Run waits for; the library's are not waited for by anyone.
		bot.WithNotAsyncHandlers(),
		bot.WithWorkers(cfg.Workers),
		bot.WithHTTPClient(time.Minute, b.client),
		bot.WithErrorsHandler(func(err error) { b.log.Warn("telegram", "err", redact(err.Error(), cfg.Token)) }),
		bot.WithAllowedUpdates(bot.AllowedUpdates{"message", "callback_query"}),
	}
	if cfg.ServerURL != "" {
		opts = append(opts, bot.WithServerURL(cfg.ServerURL))
	}
	if cfg.WebhookSecret != "" {
		opts = append(opts, bot.WithWebhookSecretToken(cfg.WebhookSecret))
	}
	api, err := bot.New(cfg.Token, opts...)
	if err != nil {
		return nil, fmt.Errorf("telegram: %s", redact(err.Error(), cfg.Token))
	}
	b.api = api
	me, err := api.GetMe(ctx)
	if err != nil {
		return nil, fmt.Errorf("telegram getMe: %s", redact(err.Error(), cfg.Token))
	}
	b.username = me.Username
	b.flow.Channel = core.ChannelTelegram
	b.flow.StartLink = b.StartLink
	b.flow.Deliver = b.Deliver
	b.flow.Prepare()
	return b, nil
}

// redact keeps the token, which is in every Bot API URL, out of logs.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "***")
}

// Username is the bot's @username.
func (b *Bot) Username() string { return b.username }

// StartLink opens a document's card in the bot.
func (b *Bot) StartLink(token string) string {
	return "https://t.me/" + b.username + "?start=" + token
}

// Collectors are the bot's metrics.
func (b *Bot) Collectors() []prometheus.Collector {
	return []prometheus.Collector{b.updates, b.latency}
}

// Run receives updates until ctx ends: by long polling, or, when a webhook
// URL is configured, through WebhookHandler. Then it takes no more and
// returns once every update in flight was handled (Config.Drain).
func (b *Bot) Run(ctx context.Context) error {
	defer b.drain()

	b.setProfile(ctx)
	if b.cfg.WebhookURL != "" {
		if _, err := b.api.SetWebhook(ctx, &bot.SetWebhookParams{URL: b.cfg.WebhookURL, SecretToken: b.cfg.WebhookSecret,
			AllowedUpdates: []string{"message", "callback_query"}}); err != nil {
			return fmt.Errorf("telegram setWebhook: %s", redact(err.Error(), b.cfg.Token))
		}
		b.log.Info("telegram webhook mode", "bot", b.username)
		<-ctx.Done()
		return nil
	}
	// A webhook left from an earlier configuration would make getUpdates fail.
	if _, err := b.api.DeleteWebhook(ctx, &bot.DeleteWebhookParams{}); err != nil {
		b.log.Warn("telegram deleteWebhook", "err", redact(err.Error(), b.cfg.Token))
	}
	b.log.Info("telegram long polling", "bot", b.username)
	b.api.Start(ctx)
	return nil
}

// commands are the bot's command menu, described by "command.<name>".
var commands = []string{"start", "search", "login", "lang", "cancel"}

// setProfile sets the command menu and the description for each language,
// the Russian ones also for every language without its own. A failure is
// logged: the bot works without them.
func (b *Bot) setProfile(ctx context.Context) {
	for _, lang := range []string{"", "ru", "kk", "en"} {
		text := lang
		if text == "" {
			text = "ru"
		}
		var cmds []models.BotCommand
		for _, c := range commands {
			cmds = append(cmds, models.BotCommand{Command: c, Description: b.flow.Cat.Text(text, "command."+c, nil)})
		}
		if _, err := b.api.SetMyCommands(ctx, &bot.SetMyCommandsParams{Commands: cmds, LanguageCode: lang}); err != nil {
			b.log.Warn("telegram setMyCommands", "lang", lang, "err", redact(err.Error(), b.cfg.Token))
		}
		if _, err := b.api.SetMyDescription(ctx, &bot.SetMyDescriptionParams{Description: b.flow.Cat.Text(text, "bot.description", nil),
			LanguageCode: lang}); err != nil {
			b.log.Warn("telegram setMyDescription", "lang", lang, "err", redact(err.Error(), b.cfg.Token))
		}
	}
}

// drain waits for the updates in flight, cancelling their context when
// they take longer than Config.Drain; nothing new is taken after.
func (b *Bot) drain() {
	stop := time.AfterFunc(b.cfg.Drain, func() {
		b.log.Warn("telegram: updates in flight are cancelled: they took longer than the drain allows", "drain", b.cfg.Drain)
		b.cancelHandling()
	})
	b.inflight.close()
	stop.Stop()
	b.cancelHandling()
}

// WebhookHandler receives Telegram's webhook calls. The secret is checked
// here, in constant time, and a wrong one is answered 401 instead of being
// passed on. An update is acknowledged once its handling started; after
// Run stopped taking updates it is answered 503, so Telegram delivers it
// again, to another instance or after the restart.
func (b *Bot) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if b.cfg.WebhookSecret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(b.cfg.WebhookSecret)) != 1 {
			b.log.Warn("telegram webhook: wrong secret token", "remote", r.RemoteAddr)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var upd models.Update
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&upd); err != nil {
			b.log.Warn("telegram webhook: unreadable update", "err", err)
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		if !b.inflight.goFunc(func() { b.handle(b.handling, &upd) }) {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
		}
	})
}

// dispatch is the library's handler for every polled update: it hands the
// update to a goroutine Run waits for.
func (b *Bot) dispatch(_ context.Context, _ *bot.Bot, upd *models.Update) {
	if !b.inflight.goFunc(func() { b.handle(b.handling, upd) }) {
		b.log.Warn("telegram: an update arrived after the bot stopped", "update_id", upd.ID)
	}
}

// handle handles one update.
func (b *Bot) handle(ctx context.Context, upd *models.Update) {
	start := time.Now()
	defer func() { b.latency.Observe(time.Since(start).Seconds()) }()
	switch {
	case upd.Message != nil:
		b.updates.WithLabelValues("message").Inc()
		b.onMessage(ctx, upd.Message)
	case upd.CallbackQuery != nil:
		b.updates.WithLabelValues("callback_query").Inc()
		b.onCallback(ctx, upd.CallbackQuery)
	default:
		b.updates.WithLabelValues("other").Inc()
	}
}

func (b *Bot) lock(userID int64) func() {
	m := &b.locks[uint64(userID)%uint64(len(b.locks))]
	m.Lock()
	return m.Unlock
}

// chatUser is the person behind an update; on first contact they get the
// language their Telegram is set to.
func (b *Bot) chatUser(ctx context.Context, from *models.User) (*core.ChatUser, error) {
	name := strings.TrimSpace(from.FirstName + " " + from.LastName)
	u, err := b.svc.ChatUser(ctx, core.ChannelTelegram, strconv.FormatInt(from.ID, 10), name, i18n.Lang(from.LanguageCode))
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(u.Username, from.Username) {
		if err := b.svc.SetChatContact(ctx, u.ID, from.Username, ""); err != nil {
			return nil, err
		}
		u.Username = from.Username
	}
	return u, nil
}

func (b *Bot) onMessage(ctx context.Context, m *models.Message) {
	if m.From == nil || m.Chat.Type != models.ChatTypePrivate {
		return // the bot works in private chats only
	}
	defer b.lock(m.From.ID)()
	u, err := b.chatUser(ctx, m.From)
	if err != nil {
		b.log.Error("telegram chat user", "err", err)
		return
	}
	if m.Contact != nil && m.Contact.UserID == m.From.ID {
		if phone, ok := core.NormalizePhone(m.Contact.PhoneNumber); ok {
			_ = b.svc.SetChatContact(ctx, u.ID, u.Username, phone)
		}
	}
	var in flow.Input
	switch {
	case m.Document != nil:
		doc := m.Document
		in.Upload = &flow.Upload{Name: doc.FileName, MIME: doc.MimeType, Size: doc.FileSize,
			Open: func(ctx context.Context) (io.ReadCloser, error) { return b.download(ctx, doc.FileID) }}
	case len(m.Photo) > 0:
		in.Photo = true
	case m.Text != "":
		in.Text = m.Text
	default:
		in.Unsupported = true
	}
	screens := b.flow.Handle(ctx, u, in)
	if err := b.reply(ctx, m.Chat.ID, 0, screens); err != nil {
		b.log.Warn("telegram send", "chat_user", u.ID, "err", redact(err.Error(), b.cfg.Token))
	}
}

func (b *Bot) onCallback(ctx context.Context, q *models.CallbackQuery) {
	defer b.lock(q.From.ID)()
	// The spinner on the button stops at once; the answer comes as messages.
	if _, err := b.api.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: q.ID}); err != nil {
		b.log.Debug("telegram answerCallbackQuery", "err", redact(err.Error(), b.cfg.Token))
	}
	u, err := b.chatUser(ctx, &q.From)
	if err != nil {
		b.log.Error("telegram chat user", "err", err)
		return
	}
	chatID := q.From.ID
	editID := 0
	if q.Message.Message != nil {
		chatID = q.Message.Message.Chat.ID
		// Only a text message can be redrawn as text.
		if q.Message.Message.Text != "" {
			editID = q.Message.Message.ID
		}
	}
	screens := b.flow.Handle(ctx, u, flow.Input{Choice: q.Data})
	if err := b.reply(ctx, chatID, editID, screens); err != nil {
		b.log.Warn("telegram send", "chat_user", u.ID, "err", redact(err.Error(), b.cfg.Token))
	}
}

// maxDownload bounds a file fetched from Telegram beyond what intake takes,
// so that a lying file_size cannot make us read without end.
const maxDownload = 20 << 20

// download fetches a file the person sent.
func (b *Bot) download(ctx context.Context, fileID string) (io.ReadCloser, error) {
	f, err := b.api.GetFile(ctx, &bot.GetFileParams{FileID: fileID})
	if err != nil {
		return nil, fmt.Errorf("getFile: %s", redact(err.Error(), b.cfg.Token))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.api.FileDownloadLink(f), nil)
	if err != nil {
		return nil, errors.New("file download: bad link")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("file download: %s", redact(err.Error(), b.cfg.Token))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("file download: %s", resp.Status)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, maxDownload), resp.Body}, nil
}

// Deliver sends screens to another person's chat.
func (b *Bot) Deliver(ctx context.Context, to *core.ChatUser, screens []flow.Screen) error {
	id, err := strconv.ParseInt(to.ExternalID, 10, 64)
	if err != nil {
		return fmt.Errorf("telegram chat id %q: %w", to.ExternalID, err)
	}
	_, err = b.sendCounted(ctx, id, 0, screens, false)
	return classify(err)
}

// Notify tells one chat of a change (the jobs' messenger): the flow draws
// it, the bot only sends.
func (b *Bot) Notify(ctx context.Context, chat core.DocumentChat, n core.Notification) error {
	return b.flow.Notify(ctx, b.Deliver, chat, n)
}

// classify maps the Bot API's answers onto what the jobs act on.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var tooMany *bot.TooManyRequestsError
	if errors.As(err, &tooMany) {
		return &core.RetryAfterError{Delay: time.Duration(tooMany.RetryAfter) * time.Second}
	}
	if errors.Is(err, bot.ErrorForbidden) {
		return fmt.Errorf("%w: %v", core.ErrChatBlocked, err)
	}
	return err
}

// maxReplyWait is the longest a reply waits when Telegram asks to slow
// down: the person is looking at the chat, so a short wait beats silence.
const maxReplyWait = 5 * time.Second

// reply answers a person's own update. A 429 with a short retry_after is
// waited out once and the screens not yet sent are sent then.
func (b *Bot) reply(ctx context.Context, chatID int64, editID int, screens []flow.Screen) error {
	sent, err := b.sendCounted(ctx, chatID, editID, screens, true)
	var tooMany *bot.TooManyRequestsError
	if errors.As(err, &tooMany) && time.Duration(tooMany.RetryAfter)*time.Second <= maxReplyWait {
		wait := b.cfg.Clock.NewTimer(time.Duration(tooMany.RetryAfter) * time.Second)
		defer wait.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wait.Chan():
		}
		if sent > 0 {
			editID = 0
		}
		_, err = b.sendCounted(ctx, chatID, editID, screens[sent:], true)
	}
	return err
}

// sendCounted draws screens into a chat and tells how many went out. The
// first screen may replace the message whose button was tapped (editID);
// if it cannot, it is sent anew. A screen with buttons drawn for the
// person's own input (screen) becomes the chat's live one.
func (b *Bot) sendCounted(ctx context.Context, chatID int64, editID int, screens []flow.Screen, screen bool) (int, error) {
	for i, s := range screens {
		text, markup := b.render(s)
		switch {
		case s.Photo != nil:
			_, err := b.api.SendPhoto(ctx, &bot.SendPhotoParams{ChatID: chatID, Caption: caption(text), ReplyMarkup: markup,
				Photo: &models.InputFileUpload{Filename: s.Photo.Name, Data: bytes.NewReader(s.Photo.Data)}})
			if err != nil {
				return i, err
			}
		case s.Document != nil:
			_, err := b.api.SendDocument(ctx, &bot.SendDocumentParams{ChatID: chatID, Caption: caption(text), ReplyMarkup: markup,
				Document: &models.InputFileUpload{Filename: s.Document.Name, Data: bytes.NewReader(s.Document.Data)}})
			if err != nil {
				return i, err
			}
		default:
			if i == 0 && s.Replace && editID != 0 {
				_, err := b.api.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: chatID, MessageID: editID, Text: text,
					ReplyMarkup: markup, LinkPreviewOptions: noPreview})
				if err == nil || strings.Contains(err.Error(), "message is not modified") {
					if screen && markup != nil {
						b.nowLive(ctx, chatID, editID)
					}
					continue
				}
				if !errors.Is(err, bot.ErrorBadRequest) {
					return i, err
				}
				// Too old to edit, or deleted: send it as a new message.
			}
			params := &bot.SendMessageParams{ChatID: chatID, Text: text, LinkPreviewOptions: noPreview}
			if markup != nil {
				params.ReplyMarkup = markup
			}
			m, err := b.api.SendMessage(ctx, params)
			if err != nil {
				return i, err
			}
			if screen && markup != nil {
				b.nowLive(ctx, chatID, m.ID)
			}
		}
	}
	return len(screens), nil
}

// nowLive makes a message the chat's live screen, taking the buttons off
// the one before, so no old screen looks live. Which one is live is kept in
// the database (core SwapLiveScreen): a restart or another instance takes
// the buttons off a screen this one drew. A screen that is gone or too old
// to edit keeps them: its taps still answer with what is current.
func (b *Bot) nowLive(ctx context.Context, chatID int64, msgID int) {
	prev, err := b.svc.SwapLiveScreen(ctx, core.ChannelTelegram, strconv.FormatInt(chatID, 10), int64(msgID))
	if err != nil {
		b.log.Warn("telegram: live screen not recorded", "chat", chatID, "err", err)
		return
	}
	if prev == 0 || prev == int64(msgID) {
		return
	}
	if _, err := b.api.EditMessageReplyMarkup(ctx, &bot.EditMessageReplyMarkupParams{ChatID: chatID, MessageID: int(prev)}); err != nil {
		b.log.Debug("telegram: old screen keeps its buttons", "err", redact(err.Error(), b.cfg.Token))
	}
}

var noPreview = &models.LinkPreviewOptions{IsDisabled: bot.True()}

// render turns a screen's buttons into an inline keyboard. A URL Telegram
// would refuse on a button (a local address in development) goes into the
// text instead, so the message is still delivered.
func (b *Bot) render(s flow.Screen) (string, models.ReplyMarkup) {
	text := s.Text
	var rows [][]inlineButton
	for _, r := range s.Buttons {
		var row []inlineButton
		for _, btn := range r {
			switch {
			case btn.App && miniAppURL(btn.URL):
				row = append(row, inlineButton{Text: btn.Label, WebApp: &webApp{URL: withMiniAppQuery(btn.URL)}})
			case btn.URL != "" && !buttonURL(btn.URL):
				text += "\n" + btn.Label + ": " + btn.URL
			case btn.URL != "":
				row = append(row, inlineButton{Text: btn.Label, URL: btn.URL})
			case btn.Copy != "":
				row = append(row, inlineButton{Text: btn.Label, CopyText: &copyText{Text: btn.Copy}})
			default:
				row = append(row, inlineButton{Text: btn.Label, CallbackData: btn.Data})
			}
		}
		if len(row) > 0 {
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return limit(text, 4096), nil
	}
	return limit(text, 4096), &inlineKeyboard{InlineKeyboard: rows}
}

// inlineKeyboard is an inline keyboard as the Bot API reads it, with only
// the fields a button uses: the library's own type (v1.19.0, its newest)
// sends an empty copy_text on every button.
type inlineKeyboard struct {
	InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
}

type inlineButton struct {
	Text         string    `json:"text"`
	URL          string    `json:"url,omitempty"`
	CallbackData string    `json:"callback_data,omitempty"`
	CopyText     *copyText `json:"copy_text,omitempty"`
	WebApp       *webApp   `json:"web_app,omitempty"`
}

// webApp is a button's Mini App (the Bot API's WebAppInfo).
type webApp struct {
	URL string `json:"url"`
}

type copyText struct {
	Text string `json:"text"`
}

// buttonURL reports whether Telegram accepts the URL on a button: http(s)
// to a public host name.
func buttonURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return false
	}
	h := u.Hostname()
	return strings.Contains(h, ".") && h != "127.0.0.1" && !strings.HasSuffix(h, ".localhost") && !isIP(h)
}

func isIP(h string) bool {
	return strings.Trim(h, "0123456789.") == "" || strings.Contains(h, ":")
}

func caption(s string) string { return limit(s, 1024) }

// limit cuts a text to Telegram's limit, counted in UTF-16 code units,
// ending a cut text with "…".
func limit(s string, max int) string {
	total := 0
	for _, r := range s {
		total += utf16.RuneLen(r)
	}
	if total <= max {
		return s
	}
	n := 0
	for i, r := range s {
		if n+utf16.RuneLen(r) > max-1 {
			return s[:i] + "…"
		}
		n += utf16.RuneLen(r)
	}
	return s
}

// inflight is a set of goroutines that can be closed: close refuses new
// ones and waits for those running.
type inflight struct{ tasks.Group }

// goFunc runs f in a goroutine of the set; false once the set is closed.
func (s *inflight) goFunc(f func()) bool { return s.Go(f) }

func (s *inflight) close() { s.Close() }
