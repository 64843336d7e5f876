// Package tgtest is an in-process fake of the Telegram Bot API for tests.
//
// It answers the methods the bot calls, in the wire format of the
// github.com/go-telegram/bot library the bot uses (pass srv.URL to
// bot.WithServerURL): getMe, getUpdates, setMyCommands, setWebhook,
// deleteWebhook, sendMessage, editMessageText, sendDocument, sendPhoto,
// answerCallbackQuery and getFile, plus the file download. Requests arrive
// as multipart POST /bot<token>/<method>; answers are {"ok":true,"result":...}
// or {"ok":false,"error_code":N,"description":...} with Telegram's wording
// for the refusals the bot has to handle. What the bot does not send (a
// parse_mode, a file_id or URL instead of an upload) is refused rather than
// imitated.
//
// A test plays the users (SendText, SendDocument, Press, Block, ...) and then
// inspects what the bot did (Messages, Wait, Calls). Everything returned to
// the bot is built from the library's models types so JSON field names match
// Telegram's exactly.
//
// The server is safe for concurrent use and cheap per request: long polling
// and Wait block on channels that are closed when something changes, never on
// sleeps, so benchmarks can push many thousands of updates through it.
package tgtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"
)

// Token is the only token the server accepts; any other gets 401 Unauthorized
// (and 404 on the file download endpoint), like Telegram.
const Token = "123456:TEST-token"

// BotUsername is the username getMe reports.
const BotUsername = "edobot_test_bot"

// MaxDownloadSize is the largest file getFile lets a bot download (20 MB).
const MaxDownloadSize = 20 << 20

// DefaultWaitTimeout is how long Wait and WaitCount wait by default before
// failing the test. It only costs time when the test fails anyway, so it is
// generous: a loaded machine running the race detector is slow.
const DefaultWaitTimeout = time.Minute

// User is a simulated Telegram user. In a private chat the chat id equals the
// user id, so ID is also the chat id to pass to Messages.
type User struct {
	ID           int64
	FirstName    string
	Username     string
	LanguageCode string
}

// Button is one inline keyboard button of a bot message.
type Button struct {
	Text string
	Data string // callback_data
	URL  string
	// WebApp is the Mini App a web_app button opens ("" on other buttons).
	WebApp string
}

// File is a file the bot uploaded.
type File struct {
	Name string
	MIME string // from the name's extension, as Telegram sets it
	Data []byte
}

// Message is the current state of a message the bot sent (edits applied).
type Message struct {
	ID       int
	ChatID   int64
	Text     string
	Caption  string
	Buttons  [][]Button
	Document *File
	Photo    *File
	Edits    int
	At       time.Time // time of the last send or edit
}

// Failure is a scripted error answer for FailNext.
type Failure struct {
	Code        int
	Description string // defaults to Telegram's wording for Code
	RetryAfter  int    // seconds; sent as parameters.retry_after when > 0
	// Chat, when not 0, keeps the failure for a call whose chat_id is this
	// chat: calls for other chats pass it by.
	Chat int64
}

// Server is the fake Bot API. Create it with New.
type Server struct {
	// URL is the base URL to pass to bot.WithServerURL.
	URL string
	// WaitTimeout bounds Wait and WaitCount (DefaultWaitTimeout). Set it
	// before use; benchmarks pushing many updates under -race need more.
	WaitTimeout time.Duration

	tb   testing.TB
	srv  *httptest.Server
	done chan struct{} // closed on cleanup: ends long polls and webhook delivery
	ctx  context.Context
	wg   sync.WaitGroup

	mu         sync.Mutex
	nextUpdate int64
	queue      []queued // unconfirmed updates, ascending id
	updSig     signal   // fired when an update is queued or the webhook changes
	msgSig     signal   // fired when the bot changes something visible to tests
	chats      map[int64]*chat
	files      map[string]*storedFile // by file_id
	paths      map[string]*storedFile // by file_path
	nextPath   int
	callbacks  map[string]bool // callback query id → answered
	nextCB     int64
	calls      map[string]int // by method name
	failures   map[string][]Failure
	hookURL    string
	hookSecret string
	hold       *hold // file downloads wait on it while set

	// prof holds the commands and descriptions the bot set (profile.go).
	prof profile
	// strict: refuse what Telegram tolerates but a bot should not send
	// (strict.go).
	strict atomic.Bool
}

// hold keeps file downloads waiting: held receives once for each download
// that starts waiting, and release lets them all go.
type hold struct {
	held    chan struct{}
	release chan struct{}
}

type queued struct {
	id  int64
	raw json.RawMessage
}

type chat struct {
	user    models.User
	chat    models.Chat
	nextID  int
	msgs    map[int]*message
	botMsgs []*message // in send order
	// changes logs bot messages as they are sent or edited, so Wait only
	// looks at what changed since its last look: a long benchmark would
	// otherwise be quadratic.
	changes []*message
	blocked bool
}

type message struct {
	m       models.Message // what Telegram would return (current state)
	fromBot bool
	doc     *File
	photo   *File
	edits   int
	at      time.Time
}

type storedFile struct {
	id, uniqueID string
	name         string
	data         []byte
	size         int64
	hasData      bool   // false for SendDocumentSized: served as zeros
	dir          string // "documents" or "photos", the file_path prefix
	path         string // assigned by the first getFile
}

// signal is a broadcast: waiters take the channel under Server.mu and fire
// closes it. The channel is created lazily so firing with no waiters is free.
type signal struct{ ch chan struct{} }

func (g *signal) wait() <-chan struct{} {
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
	return g.ch
}

func (g *signal) fire() {
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
}

// New starts a fake Bot API server; it is closed in tb.Cleanup.
func New(tb testing.TB) *Server {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		WaitTimeout: DefaultWaitTimeout,
		tb:          tb,
		done:        make(chan struct{}),
		ctx:         ctx,
		nextUpdate:  1,
		chats:       map[int64]*chat{},
		files:       map[string]*storedFile{},
		paths:       map[string]*storedFile{},
		callbacks:   map[string]bool{},
		nextCB:      4382000000000000000,
		calls:       map[string]int{},
		failures:    map[string][]Failure{},
		prof:        profile{commands: map[string][]models.BotCommand{}, descriptions: map[string]string{}},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	s.wg.Add(1)
	go s.webhookLoop()
	tb.Cleanup(func() {
		// Order matters: httptest.Server.Close waits for in-flight requests,
		// so long polls must be released first.
		close(s.done)
		cancel()
		s.wg.Wait()
		s.srv.Close()
	})
	return s
}

func botUser() models.User {
	id, _ := strconv.ParseInt(strings.SplitN(Token, ":", 2)[0], 10, 64)
	return models.User{ID: id, IsBot: true, FirstName: "EdoBot Test", Username: BotUsername}
}

// randomID returns a random URL-safe string, like Telegram's opaque file ids.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ---- what users do ----

// chatFor returns (creating it on first contact) the private chat with u.
// Callers hold s.mu.
func (s *Server) chatFor(u User) *chat {
	c := s.chats[u.ID]
	if c == nil {
		c = &chat{msgs: map[int]*message{}}
		s.chats[u.ID] = c
	}
	// Refresh the profile: a test may reuse an id with a changed name.
	c.user = models.User{ID: u.ID, FirstName: u.FirstName, Username: u.Username, LanguageCode: u.LanguageCode}
	c.chat = models.Chat{ID: u.ID, Type: models.ChatTypePrivate, FirstName: u.FirstName, Username: u.Username}
	return c
}

// userMessage adds an incoming message to the chat and queues its update.
func (s *Server) userMessage(u User, fill func(m *models.Message)) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatFor(u)
	c.nextID++
	from := c.user
	m := models.Message{ID: c.nextID, From: &from, Date: int(time.Now().Unix()), Chat: c.chat}
	fill(&m)
	c.msgs[m.ID] = &message{m: m, at: time.Now()}
	s.enqueue(&models.Update{Message: &m})
	return m.ID
}

// enqueue assigns the next update_id and queues the update, snapshotting its
// JSON now so later edits do not leak into already-queued updates.
// Callers hold s.mu.
func (s *Server) enqueue(u *models.Update) {
	u.ID = s.nextUpdate
	s.nextUpdate++
	raw, err := json.Marshal(u)
	if err != nil {
		panic(fmt.Sprintf("tgtest: marshal update: %v", err))
	}
	s.queue = append(s.queue, queued{id: u.ID, raw: raw})
	s.updSig.fire()
}

// SendText delivers a text message from u and returns its message id.
func (s *Server) SendText(u User, text string) int {
	return s.userMessage(u, func(m *models.Message) { m.Text = text })
}

// SendDocument delivers a document from u; the bytes are stored so the bot
// can getFile and download them.
func (s *Server) SendDocument(u User, fileName, mime string, data []byte) int {
	return s.userDocument(u, fileName, mime, data, int64(len(data)), true)
}

// SendDocumentSized delivers a document that claims to be size bytes without
// storing them, to test refusing big files before downloading. getFile on it
// fails with "file is too big" above 20 MB; below, the download serves zeros.
func (s *Server) SendDocumentSized(u User, fileName, mime string, size int64) int {
	return s.userDocument(u, fileName, mime, nil, size, false)
}

func (s *Server) userDocument(u User, fileName, mime string, data []byte, size int64, hasData bool) int {
	return s.userMessage(u, func(m *models.Message) {
		f := s.storeFile(&storedFile{name: fileName, data: data, size: size, hasData: hasData, dir: "documents"})
		m.Document = &models.Document{FileID: f.id, FileUniqueID: f.uniqueID, FileName: fileName, MimeType: mime, FileSize: size}
	})
}

// SendPhoto delivers a photo from u.
func (s *Server) SendPhoto(u User, data []byte) int {
	return s.userMessage(u, func(m *models.Message) {
		m.Photo = s.photoSize(&storedFile{data: data, size: int64(len(data)), hasData: true, dir: "photos"})
	})
}

// photoSize stores f and describes it as a photo of one size. Callers hold
// s.mu.
func (s *Server) photoSize(f *storedFile) []models.PhotoSize {
	s.storeFile(f)
	return []models.PhotoSize{{FileID: f.id, FileUniqueID: f.uniqueID, Width: 800, Height: 800, FileSize: int(f.size)}}
}

// storeFile gives f fresh ids and registers it. Callers hold s.mu.
func (s *Server) storeFile(f *storedFile) *storedFile {
	f.id = "BQACAgIAAxk" + randomID(24)
	f.uniqueID = "AgAD" + randomID(8)
	s.files[f.id] = f
	return f
}

// Press simulates u pressing an inline button with callback data on the
// bot's message messageID in u's chat, and returns the callback query id.
// Pressing on a message that does not exist (or is not the bot's) is a test
// bug and fails the test.
func (s *Server) Press(u User, messageID int, data string) string {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[u.ID]
	var msg *message
	if c != nil {
		msg = c.msgs[messageID]
	}
	if msg == nil || !msg.fromBot {
		s.tb.Fatalf("tgtest: Press: user %d has no bot message %d to press on", u.ID, messageID)
		return ""
	}
	c = s.chatFor(u)
	s.nextCB++
	id := strconv.FormatInt(s.nextCB, 10)
	s.callbacks[id] = false
	m := msg.m // copy: the update is marshalled right away
	s.enqueue(&models.Update{CallbackQuery: &models.CallbackQuery{
		ID:      id,
		From:    c.user,
		Message: models.MaybeInaccessibleMessage{Type: models.MaybeInaccessibleMessageTypeMessage, Message: &m},
		Data:    data,
	}})
	return id
}

// Block makes the user block the bot: sends to that chat fail with 403.
func (s *Server) Block(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[userID]; c != nil {
		c.blocked = true
		return
	}
	// A user who never wrote can still "block": make the chat known so the
	// error is 403, not "chat not found".
	s.chatFor(User{ID: userID}).blocked = true
}

// ---- what the bot did ----

func (m *message) export(chatID int64) Message {
	out := Message{
		ID: m.m.ID, ChatID: chatID, Text: m.m.Text, Caption: m.m.Caption,
		Document: m.doc, Photo: m.photo, Edits: m.edits, At: m.at,
	}
	if rm := m.m.ReplyMarkup; rm != nil {
		for _, row := range rm.InlineKeyboard {
			r := make([]Button, 0, len(row))
			for _, b := range row {
				btn := Button{Text: b.Text, Data: b.CallbackData, URL: b.URL}
				if b.WebApp != nil {
					btn.WebApp = b.WebApp.URL
				}
				r = append(r, btn)
			}
			out.Buttons = append(out.Buttons, r)
		}
	}
	return out
}

// messagesLocked snapshots the bot's messages of a chat. Callers hold s.mu.
func (s *Server) messagesLocked(chatID int64) []Message {
	c := s.chats[chatID]
	if c == nil {
		return nil
	}
	out := make([]Message, 0, len(c.botMsgs))
	for _, m := range c.botMsgs {
		out = append(out, m.export(chatID))
	}
	return out
}

// Messages returns the bot's messages in the chat, in send order, in their
// current state (edits applied).
func (s *Server) Messages(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messagesLocked(chatID)
}

// Wait blocks until some bot message in the chat satisfies cond and returns
// it (the first found, current state); after s.WaitTimeout it fails tb with a
// dump of the chat. cond runs on tb's goroutine, without locks held.
func (s *Server) Wait(tb testing.TB, chatID int64, cond func(Message) bool) Message {
	tb.Helper()
	cursor := 0
	var found Message
	s.waitFor(tb, chatID, "a matching message", func(c *chat) func() bool {
		// Under s.mu: export only what changed since the last look.
		var fresh []Message
		if c != nil {
			for _, m := range c.changes[cursor:] {
				fresh = append(fresh, m.export(chatID))
			}
			cursor = len(c.changes)
		}
		return func() bool {
			for _, m := range fresh {
				if cond(m) {
					found = m
					return true
				}
			}
			return false
		}
	})
	return found
}

// WaitCount blocks until the bot has sent at least n messages to the chat
// and returns them all.
func (s *Server) WaitCount(tb testing.TB, chatID int64, n int) []Message {
	tb.Helper()
	var out []Message
	s.waitFor(tb, chatID, fmt.Sprintf("%d messages", n), func(c *chat) func() bool {
		enough := c != nil && len(c.botMsgs) >= n
		if enough {
			out = s.messagesLocked(chatID)
		}
		return func() bool { return enough }
	})
	return out
}

// waitFor calls look under s.mu whenever the bot changed something, then the
// check it returns without the lock, until the check succeeds or time is up.
func (s *Server) waitFor(tb testing.TB, chatID int64, what string, look func(*chat) func() bool) {
	tb.Helper()
	s.waitSignal(tb, func() func() bool { return look(s.chats[chatID]) }, func(timeout time.Duration) {
		tb.Fatalf("tgtest: timed out after %v waiting for %s in chat %d; the bot's messages:\n%s", timeout, what, chatID, dump(s.Messages(chatID)))
	})
}

// waitSignal calls look under s.mu each time the bot changes something, then
// the check it returns without the lock, until the check succeeds; after
// s.WaitTimeout it calls fail.
func (s *Server) waitSignal(tb testing.TB, look func() func() bool, fail func(timeout time.Duration)) {
	tb.Helper()
	timeout := s.WaitTimeout
	if timeout <= 0 {
		timeout = DefaultWaitTimeout
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		check := look()
		changed := s.msgSig.wait()
		s.mu.Unlock()
		if check() {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			fail(timeout)
			return
		}
	}
}

// WaitAnswered blocks until the bot has answered the callback query (the
// id Press returned).
func (s *Server) WaitAnswered(tb testing.TB, callbackID string) {
	tb.Helper()
	s.waitSignal(tb, func() func() bool {
		answered := s.callbacks[callbackID]
		return func() bool { return answered }
	}, func(timeout time.Duration) {
		tb.Fatalf("tgtest: the bot did not answer callback query %s in %v", callbackID, timeout)
	})
}

func dump(ms []Message) string {
	if len(ms) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "  #%d text=%q caption=%q", m.ID, m.Text, m.Caption)
		if m.Document != nil {
			fmt.Fprintf(&b, " document=%q(%d bytes)", m.Document.Name, len(m.Document.Data))
		}
		if m.Photo != nil {
			fmt.Fprintf(&b, " photo(%d bytes)", len(m.Photo.Data))
		}
		fmt.Fprintf(&b, " buttons=%v edits=%d\n", m.Buttons, m.Edits)
	}
	return b.String()
}

// Calls returns how many times the bot called a method, failed calls
// included.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// FailNext scripts failures for the next calls of method: each call
// consumes the first one meant for it (any chat, or its Failure.Chat), in
// order, before the method does anything.
func (s *Server) FailNext(method string, f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], f...)
}

// Webhook returns the URL and secret token of the webhook the bot set ("" when
// none).
func (s *Server) Webhook() (url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hookURL, s.hookSecret
}

// HoldDownloads makes every file download the bot starts wait until
// release is called: a test can have a handler in flight for as long as it
// needs. held receives once for each download that waits.
func (s *Server) HoldDownloads() (held <-chan struct{}, release func()) {
	h := &hold{held: make(chan struct{}, 16), release: make(chan struct{})}
	s.mu.Lock()
	s.hold = h
	s.mu.Unlock()
	var once sync.Once
	return h.held, func() {
		once.Do(func() {
			s.mu.Lock()
			s.hold = nil
			s.mu.Unlock()
			close(h.release)
		})
	}
}
