package tgtest

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-telegram/bot/models"
)

const (
	maxTextLen    = 4096 // UTF-16 code units
	maxCaptionLen = 1024
)

var (
	errNotModified = badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	errQueryTooOld = badRequest("query is too old and response timeout expired or query ID is invalid")
	errChatMissing = badRequest("chat not found")
)

func (s *Server) getMe(_ *http.Request, _ *params) (any, *apiError) {
	return botUser(), nil
}

// getUpdates confirms the updates below offset and answers the next ones,
// waiting up to timeout seconds for one to come.
func (s *Server) getUpdates(r *http.Request, p *params) (any, *apiError) {
	offset, _ := p.int64("offset")
	limit, ok := p.int64("limit")
	if !ok || limit < 1 || limit > 100 {
		limit = 100
	}
	timeout, _ := p.int64("timeout")
	timer := time.NewTimer(time.Duration(timeout) * time.Second)
	defer timer.Stop()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hookURL != "" {
		return nil, &apiError{code: 409, desc: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	i := 0
	for i < len(s.queue) && s.queue[i].id < offset {
		i++
	}
	s.dropLocked(i)
	for len(s.queue) == 0 && timeout > 0 {
		wake := s.updSig.wait()
		s.mu.Unlock()
		select {
		case <-wake:
		case <-timer.C:
			timeout = 0
		case <-r.Context().Done():
			timeout = 0
		case <-s.done:
			timeout = 0
		}
		s.mu.Lock()
	}
	batch := []byte{'['}
	for i, q := range s.queue[:min(int(limit), len(s.queue))] {
		if i > 0 {
			batch = append(batch, ',')
		}
		batch = append(batch, q.raw...)
	}
	return json.RawMessage(append(batch, ']')), nil
}

// dropLocked forgets the first n queued updates. Callers hold s.mu.
func (s *Server) dropLocked(n int) {
	// Copy down rather than reslice so the backing array does not grow
	// forever under a long benchmark.
	k := copy(s.queue, s.queue[n:])
	clear(s.queue[k:])
	s.queue = s.queue[:k]
}

var commandRE = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

func (s *Server) setMyCommands(_ *http.Request, p *params) (any, *apiError) {
	var cmds []models.BotCommand
	if err := json.Unmarshal([]byte(p.v["commands"]), &cmds); err != nil {
		return nil, badRequest("can't parse commands JSON object")
	}
	for _, c := range cmds {
		if !commandRE.MatchString(c.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
	}
	return true, nil
}

// ---- chats and messages ----

// chatLocked resolves chat_id to a private chat that has talked to the bot
// and has not blocked it. Callers hold s.mu.
func (s *Server) chatLocked(p *params) (*chat, *apiError) {
	id, _ := p.int64("chat_id")
	c := s.chats[id]
	if c == nil {
		return nil, errChatMissing
	}
	if c.blocked {
		return nil, errBlocked
	}
	return c, nil
}

// contentLocked checks what every sending method shares: the chat, a plain
// text (field "text") or caption (field "caption") within Telegram's limit
// (the bot sends no parse_mode, so none is imitated), and the keyboard.
// Callers hold s.mu.
func (s *Server) contentLocked(p *params, field string) (*chat, *models.InlineKeyboardMarkup, *apiError) {
	c, aerr := s.chatLocked(p)
	if aerr != nil {
		return nil, nil, aerr
	}
	n := utf16Len(p.v[field])
	switch {
	case p.v["parse_mode"] != "":
		return nil, nil, badRequest("tgtest: parse_mode is not imitated")
	case field == "text" && strings.TrimSpace(p.v[field]) == "":
		return nil, nil, badRequest("message text is empty")
	case field == "text" && n > maxTextLen:
		return nil, nil, badRequest("message is too long")
	case field == "caption" && n > maxCaptionLen:
		return nil, nil, badRequest("message caption is too long")
	}
	kb, aerr := parseMarkup(p.v["reply_markup"])
	return c, kb, aerr
}

// sentLocked adds m as the bot's next message in the chat and returns what
// Telegram answers. Callers hold s.mu.
func (s *Server) sentLocked(c *chat, m *message) models.Message {
	c.nextID++
	from := botUser()
	m.fromBot, m.at = true, time.Now()
	m.m.ID, m.m.From, m.m.Date, m.m.Chat = c.nextID, &from, int(m.at.Unix()), c.chat
	c.msgs[m.m.ID] = m
	c.botMsgs = append(c.botMsgs, m)
	c.changes = append(c.changes, m)
	s.msgSig.fire()
	return m.m
}

func (s *Server) sendMessage(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, kb, aerr := s.contentLocked(p, "text")
	if aerr != nil {
		return nil, aerr
	}
	return s.sentLocked(c, &message{m: models.Message{Text: p.v["text"], ReplyMarkup: kb}}), nil
}

func (s *Server) editMessageText(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, kb, aerr := s.contentLocked(p, "text")
	if aerr != nil {
		return nil, aerr
	}
	id, _ := p.int64("message_id")
	m := c.msgs[int(id)]
	switch {
	case m == nil || !m.fromBot:
		return nil, badRequest("message to edit not found")
	case m.m.Text == "":
		return nil, badRequest("there is no text in the message to edit")
	case p.v["text"] == m.m.Text && sameMarkup(kb, m.m.ReplyMarkup):
		return nil, errNotModified
	}
	// Like Telegram, an edit without reply_markup removes the keyboard.
	m.m.Text, m.m.ReplyMarkup = p.v["text"], kb
	m.edits++
	m.at = time.Now()
	m.m.EditDate = int(m.at.Unix())
	c.changes = append(c.changes, m)
	s.msgSig.fire()
	return m.m, nil
}

// editMessageReplyMarkup replaces a message's keyboard; without
// reply_markup it removes it, as Telegram does.
func (s *Server) editMessageReplyMarkup(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, kb, aerr := s.contentLocked(p, "")
	if aerr != nil {
		return nil, aerr
	}
	id, _ := p.int64("message_id")
	m := c.msgs[int(id)]
	switch {
	case m == nil || !m.fromBot:
		return nil, badRequest("message to edit not found")
	case sameMarkup(kb, m.m.ReplyMarkup):
		return nil, errNotModified
	}
	m.m.ReplyMarkup = kb
	m.edits++
	m.at = time.Now()
	m.m.EditDate = int(m.at.Unix())
	c.changes = append(c.changes, m)
	s.msgSig.fire()
	return m.m, nil
}

func (s *Server) answerCallbackQuery(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p.v["callback_query_id"]
	if answered, ok := s.callbacks[id]; !ok || answered {
		return nil, errQueryTooOld
	}
	s.callbacks[id] = true
	s.msgSig.fire()
	return true, nil
}

// uploadLocked prepares the message of sendDocument and sendPhoto: the
// caption, the keyboard and the uploaded file (the bot sends neither a
// file_id nor a URL). Callers hold s.mu.
func (s *Server) uploadLocked(p *params, field, defaultMIME string) (*chat, *message, *File, *apiError) {
	c, kb, aerr := s.contentLocked(p, "caption")
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	up, ok := p.files[field]
	switch {
	case !ok:
		return nil, nil, nil, badRequest("there is no " + field + " in the request")
	case len(up.data) == 0:
		return nil, nil, nil, badRequest("file must be non-empty")
	}
	// Telegram derives the MIME type from the file name, not from the
	// part's Content-Type (the library always sends octet-stream).
	f := &File{Name: up.name, MIME: defaultMIME, Data: up.data}
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(up.name))); t != "" {
		f.MIME, _, _ = strings.Cut(t, ";")
	}
	return c, &message{m: models.Message{Caption: p.v["caption"], ReplyMarkup: kb}}, f, nil
}

func (s *Server) sendDocument(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, f, aerr := s.uploadLocked(p, "document", "application/octet-stream")
	if aerr != nil {
		return nil, aerr
	}
	sf := s.storeFile(&storedFile{name: f.Name, data: f.Data, size: int64(len(f.Data)), hasData: true, dir: "documents"})
	m.doc = f
	m.m.Document = &models.Document{FileID: sf.id, FileUniqueID: sf.uniqueID, FileName: f.Name, MimeType: f.MIME, FileSize: sf.size}
	return s.sentLocked(c, m), nil
}

func (s *Server) sendPhoto(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, f, aerr := s.uploadLocked(p, "photo", "image/jpeg")
	if aerr != nil {
		return nil, aerr
	}
	m.photo = f
	m.m.Photo = s.photoSize(&storedFile{data: f.Data, size: int64(len(f.Data)), hasData: true, dir: "photos"})
	return s.sentLocked(c, m), nil
}

func (s *Server) getFile(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[p.v["file_id"]]
	if f == nil {
		return nil, badRequest("invalid file_id")
	}
	if f.size > MaxDownloadSize {
		return nil, badRequest("file is too big")
	}
	if f.path == "" {
		ext := path.Ext(f.name)
		if f.dir == "photos" {
			ext = ".jpg"
		}
		f.path = f.dir + "/file_" + strconv.Itoa(s.nextPath) + strings.ToLower(ext)
		s.nextPath++
		s.paths[f.path] = f
	}
	return models.File{FileID: f.id, FileUniqueID: f.uniqueID, FileSize: f.size, FilePath: f.path}, nil
}

// ---- text and keyboards ----

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r) // 2 for runes outside the BMP (emoji)
	}
	return n
}

// parseMarkup parses reply_markup, an inline keyboard (the only kind the bot
// sends), with Telegram's checks of its buttons.
func parseMarkup(raw string) (*models.InlineKeyboardMarkup, *apiError) {
	if raw == "" {
		return nil, nil
	}
	var kb models.InlineKeyboardMarkup
	if err := json.Unmarshal([]byte(raw), &kb); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	if len(kb.InlineKeyboard) == 0 {
		return nil, nil
	}
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if b.Text == "" {
				return nil, badRequest("can't parse inline keyboard button: Text must be non-empty")
			}
			if len(b.CallbackData) > 64 {
				return nil, badRequest("BUTTON_DATA_INVALID")
			}
			if b.URL != "" {
				if u, err := url.Parse(b.URL); err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
					return nil, badRequest("BUTTON_URL_INVALID")
				}
			}
			if b.WebApp != nil && !miniAppURL(b.WebApp.URL) {
				return nil, badRequest("BUTTON_TYPE_INVALID")
			}
			// The library always sends "copy_text":{"text":""}, so an empty
			// copy_text does not count as an action.
			if b.URL == "" && b.CallbackData == "" && b.CopyText.Text == "" && b.WebApp == nil {
				return nil, badRequest("text buttons are unallowed in the inline keyboard")
			}
		}
	}
	return &kb, nil
}

func sameMarkup(a, b *models.InlineKeyboardMarkup) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
