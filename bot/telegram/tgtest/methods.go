package tgtest

import (
	"encoding/json"
	"html"
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
	maxTextLen    = 4096 // UTF-16 code units, after entity parsing
	maxCaptionLen = 1024
)

var (
	errNotModified = badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	errQueryTooOld = badRequest("query is too old and response timeout expired or query ID is invalid")
	errChatMissing = badRequest("chat not found")
)

func (s *Server) getMe(_ *http.Request, _ *params) (any, *apiError) {
	u := s.botUser()
	u.CanJoinGroups = true
	return u, nil
}

// ---- getUpdates ----

func (s *Server) getUpdates(r *http.Request, p *params) (any, *apiError) {
	offset, _ := p.int64("offset")
	limit := p.int("limit", 100)
	if limit < 1 || limit > 100 {
		limit = 100
	}
	timeout := time.Duration(p.int("timeout", 0)) * time.Second
	var allowed []string
	if raw := p.v["allowed_updates"]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &allowed); err != nil {
			return nil, badRequest("can't parse allowed updates")
		}
	}

	s.mu.Lock()
	if s.hookURL != "" {
		s.mu.Unlock()
		return nil, &apiError{code: 409, desc: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	// Telegram allows one poller: a newer getUpdates terminates an older one.
	s.pollGen++
	gen := s.pollGen
	s.updSig.fire()
	if raw := p.v["allowed_updates"]; raw != "" {
		s.allowed = allowed // remembered for later calls, like Telegram
	}
	switch {
	case offset > 0: // everything below offset is confirmed
		i := 0
		for i < len(s.queue) && s.queue[i].id < offset {
			i++
		}
		s.dropLocked(i)
	case offset < 0: // the last -offset updates; older ones are forgotten
		if n := int(-offset); len(s.queue) > n {
			s.dropLocked(len(s.queue) - n)
		}
	}

	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		switch {
		case s.hookURL != "":
			s.mu.Unlock()
			return nil, &apiError{code: 409, desc: "Conflict: terminated by setWebhook request"}
		case s.pollGen != gen:
			s.mu.Unlock()
			return nil, &apiError{code: 409, desc: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		}
		batch := s.batchLocked(limit, s.allowed)
		if batch != nil || timeout <= 0 {
			s.mu.Unlock()
			if batch == nil {
				batch = json.RawMessage("[]")
			}
			return batch, nil
		}
		wake := s.updSig.wait()
		s.polling++
		s.pollSig.fire()
		s.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(timeout)
		}
		ended := false
		select {
		case <-wake:
		case <-timer.C:
			ended = true
		case <-r.Context().Done():
			ended = true
		case <-s.done:
			ended = true
		}
		s.mu.Lock()
		s.polling--
		s.pollSig.fire()
		if ended {
			s.mu.Unlock()
			return json.RawMessage("[]"), nil
		}
	}
}

// dropLocked forgets the first n queued updates. Callers hold s.mu.
func (s *Server) dropLocked(n int) {
	if n <= 0 {
		return
	}
	// Copy down rather than reslice so the backing array does not grow
	// forever under a long benchmark.
	k := copy(s.queue, s.queue[n:])
	clear(s.queue[k:])
	s.queue = s.queue[:k]
}

// batchLocked returns up to limit queued updates as a JSON array (nil when
// there are none), dropping updates the bot did not subscribe to, as Telegram
// never delivers them. Callers hold s.mu.
func (s *Server) batchLocked(limit int, allowed []string) json.RawMessage {
	if len(allowed) > 0 {
		kept := s.queue[:0]
		for _, q := range s.queue {
			if contains(allowed, q.kind) {
				kept = append(kept, q)
			}
		}
		clear(s.queue[len(kept):])
		s.queue = kept
	}
	if len(s.queue) == 0 {
		return nil
	}
	n := min(limit, len(s.queue))
	size := 2
	for _, q := range s.queue[:n] {
		size += len(q.raw) + 1
	}
	buf := make([]byte, 0, size)
	buf = append(buf, '[')
	for i, q := range s.queue[:n] {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, q.raw...)
	}
	return append(buf, ']')
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ---- chats and messages ----

// chatLocked resolves chat_id to a private chat that has talked to the bot.
// forSend reports 403 for a chat whose user blocked the bot. Callers hold s.mu.
func (s *Server) chatLocked(p *params, forSend bool) (*chat, *apiError) {
	if strings.TrimSpace(p.v["chat_id"]) == "" {
		return nil, badRequest("chat_id is empty")
	}
	id, ok := p.int64("chat_id")
	if !ok { // @channelusername: no channels here
		return nil, errChatMissing
	}
	c := s.chats[id]
	if c == nil {
		return nil, errChatMissing
	}
	if forSend && c.blocked {
		return nil, errBlocked
	}
	return c, nil
}

// newBotMessageLocked appends a message from the bot to the chat. Callers
// hold s.mu.
func (s *Server) newBotMessageLocked(c *chat) *message {
	c.nextID++
	from := s.botUser()
	now := time.Now()
	m := &message{
		fromBot: true,
		at:      now,
		m:       models.Message{ID: c.nextID, From: &from, Date: int(now.Unix()), Chat: c.chat},
	}
	c.msgs[m.m.ID] = m
	c.botMsgs = append(c.botMsgs, m)
	c.changes = append(c.changes, m)
	return m
}

// editTargetLocked finds the bot message an edit* call refers to. Callers hold
// s.mu.
func (s *Server) editTargetLocked(p *params) (*message, *apiError) {
	if p.v["inline_message_id"] != "" {
		return nil, badRequest("MESSAGE_ID_INVALID") // no inline mode here
	}
	c, aerr := s.chatLocked(p, true)
	if aerr != nil {
		return nil, aerr
	}
	id, _ := p.int64("message_id")
	m := c.msgs[int(id)]
	if m == nil || m.deleted {
		return nil, badRequest("message to edit not found")
	}
	if !m.fromBot {
		return nil, badRequest("message can't be edited")
	}
	return m, nil
}

// edited records a successful edit. Callers hold s.mu.
func (s *Server) editedLocked(m *message) any {
	now := time.Now()
	m.edits++
	m.at = now
	m.m.EditDate = int(now.Unix())
	if c := s.chats[m.m.Chat.ID]; c != nil {
		c.changes = append(c.changes, m)
	}
	s.msgSig.fire()
	return m.m
}

func (s *Server) sendMessage(_ *http.Request, p *params) (any, *apiError) {
	text, pm := p.v["text"], p.v["parse_mode"]
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.chatLocked(p, true)
	if aerr != nil {
		return nil, aerr
	}
	plain, aerr := renderText(text, pm, maxTextLen, "message text is empty", "message is too long")
	if aerr != nil {
		return nil, aerr
	}
	kb, aerr := parseMarkup(p.v["reply_markup"])
	if aerr != nil {
		return nil, aerr
	}
	var lpo *models.LinkPreviewOptions
	if raw := p.v["link_preview_options"]; raw != "" {
		lpo = &models.LinkPreviewOptions{}
		if err := json.Unmarshal([]byte(raw), lpo); err != nil {
			return nil, badRequest("can't parse link preview options JSON object")
		}
	}
	m := s.newBotMessageLocked(c)
	m.text, m.parse = text, pm
	m.m.Text, m.m.ReplyMarkup, m.m.LinkPreviewOptions = plain, kb, lpo
	s.msgSig.fire()
	return m.m, nil
}

func (s *Server) editMessageText(_ *http.Request, p *params) (any, *apiError) {
	text, pm := p.v["text"], p.v["parse_mode"]
	s.mu.Lock()
	defer s.mu.Unlock()
	m, aerr := s.editTargetLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	if m.m.Text == "" {
		return nil, badRequest("there is no text in the message to edit")
	}
	plain, aerr := renderText(text, pm, maxTextLen, "message text is empty", "message is too long")
	if aerr != nil {
		return nil, aerr
	}
	// Like Telegram, an edit without reply_markup removes the keyboard.
	kb, aerr := parseMarkup(p.v["reply_markup"])
	if aerr != nil {
		return nil, aerr
	}
	if plain == m.m.Text && text == m.text && sameMarkup(kb, m.m.ReplyMarkup) {
		return nil, errNotModified
	}
	m.text, m.parse = text, pm
	m.m.Text, m.m.ReplyMarkup = plain, kb
	return s.editedLocked(m), nil
}

func (s *Server) editMessageCaption(_ *http.Request, p *params) (any, *apiError) {
	caption, pm := p.v["caption"], p.v["parse_mode"]
	s.mu.Lock()
	defer s.mu.Unlock()
	m, aerr := s.editTargetLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	if m.m.Document == nil && m.m.Photo == nil {
		return nil, badRequest("there is no caption in the message to edit")
	}
	plain, aerr := renderText(caption, pm, maxCaptionLen, "", "message caption is too long")
	if aerr != nil {
		return nil, aerr
	}
	kb, aerr := parseMarkup(p.v["reply_markup"])
	if aerr != nil {
		return nil, aerr
	}
	if plain == m.m.Caption && caption == m.caption && sameMarkup(kb, m.m.ReplyMarkup) {
		return nil, errNotModified
	}
	m.caption, m.parse = caption, pm
	m.m.Caption, m.m.ReplyMarkup = plain, kb
	return s.editedLocked(m), nil
}

func (s *Server) editMessageReplyMarkup(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, aerr := s.editTargetLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	kb, aerr := parseMarkup(p.v["reply_markup"])
	if aerr != nil {
		return nil, aerr
	}
	if sameMarkup(kb, m.m.ReplyMarkup) {
		return nil, errNotModified
	}
	m.m.ReplyMarkup = kb
	return s.editedLocked(m), nil
}

func (s *Server) deleteMessage(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.chatLocked(p, false)
	if aerr != nil {
		return nil, aerr
	}
	id, _ := p.int64("message_id")
	m := c.msgs[int(id)]
	if m == nil || m.deleted {
		return nil, badRequest("message to delete not found")
	}
	// In private chats a bot may delete the user's messages too.
	m.deleted = true
	if m.fromBot {
		c.changes = append(c.changes, m)
	}
	s.msgSig.fire()
	return true, nil
}

func (s *Server) answerCallbackQuery(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb := s.callbacks[p.v["callback_query_id"]]
	if cb == nil || cb.answered {
		return nil, errQueryTooOld
	}
	cb.answered = true
	cb.answer = CallbackAnswer{Text: p.v["text"], ShowAlert: p.bool("show_alert"), URL: p.v["url"]}
	s.msgSig.fire()
	return true, nil
}

// inputFile resolves an InputFile parameter: an uploaded part (directly or via
// "attach://name"), or a string that is a file_id or an HTTP URL.
func inputFile(p *params, field string) (up *upload, ref string, aerr *apiError) {
	if u, ok := p.files[field]; ok {
		return &u, "", nil
	}
	v := strings.TrimSpace(p.v[field])
	if name, ok := strings.CutPrefix(v, "attach://"); ok {
		if u, ok := p.files[name]; ok {
			return &u, "", nil
		}
		return nil, "", badRequest("wrong file identifier/HTTP URL specified")
	}
	return nil, v, nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func mimeByName(name, def string) string {
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(name))); t != "" {
		t, _, _ = strings.Cut(t, ";")
		return t
	}
	return def
}

// mediaMessageLocked does the common part of sendDocument and sendPhoto: chat,
// caption and keyboard. The message is only added to the chat by
// commitMediaLocked, once the file is accepted. Callers hold s.mu.
func (s *Server) mediaMessageLocked(p *params) (*chat, *message, *apiError) {
	c, aerr := s.chatLocked(p, true)
	if aerr != nil {
		return nil, nil, aerr
	}
	caption, pm := p.v["caption"], p.v["parse_mode"]
	plain, aerr := renderText(caption, pm, maxCaptionLen, "", "message caption is too long")
	if aerr != nil {
		return nil, nil, aerr
	}
	kb, aerr := parseMarkup(p.v["reply_markup"])
	if aerr != nil {
		return nil, nil, aerr
	}
	m := &message{caption: caption, parse: pm}
	m.m.Caption, m.m.ReplyMarkup = plain, kb
	return c, m, nil
}

// commitMediaLocked turns the prepared media message into a sent one.
// Callers hold s.mu.
func (s *Server) commitMediaLocked(c *chat, prepared *message) models.Message {
	m := s.newBotMessageLocked(c)
	m.caption, m.parse, m.doc, m.photo = prepared.caption, prepared.parse, prepared.doc, prepared.photo
	m.m.Caption, m.m.ReplyMarkup = prepared.m.Caption, prepared.m.ReplyMarkup
	m.m.Document, m.m.Photo = prepared.m.Document, prepared.m.Photo
	s.msgSig.fire()
	return m.m
}

func (s *Server) sendDocument(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, m, aerr := s.mediaMessageLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	up, ref, aerr := inputFile(p, "document")
	if aerr != nil {
		return nil, aerr
	}
	var f *storedFile
	switch {
	case up != nil:
		if len(up.data) == 0 {
			return nil, badRequest("file must be non-empty")
		}
		// Telegram derives the MIME type from the file name, not from the
		// part's Content-Type (the library always sends octet-stream).
		mt := mimeByName(up.name, "application/octet-stream")
		f = s.storeFile(&storedFile{name: up.name, mime: mt, data: up.data, size: int64(len(up.data)), hasData: true, dir: "documents"})
		m.doc = &File{Name: up.name, MIME: mt, Data: up.data}
	case ref == "":
		return nil, badRequest("there is no document in the request")
	case isURL(ref):
		name := path.Base(ref)
		mt := mimeByName(name, "application/octet-stream")
		f = s.storeFile(&storedFile{name: name, mime: mt, url: ref, hasData: true, dir: "documents"})
		m.doc = &File{Name: name, MIME: mt, URL: ref}
	default:
		src := s.files[ref]
		if src == nil {
			return nil, badRequest("wrong file identifier/HTTP URL specified")
		}
		c := *src
		c.path = ""
		f = s.storeFile(&c) // a new file_id, the same file_unique_id
		m.doc = &File{Name: src.name, MIME: src.mime, Data: src.data, URL: src.url}
	}
	m.m.Document = &models.Document{FileID: f.id, FileUniqueID: f.uniqueID, FileName: f.name, MimeType: f.mime, FileSize: f.size}
	return s.commitMediaLocked(ch, m), nil
}

func (s *Server) sendPhoto(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, m, aerr := s.mediaMessageLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	up, ref, aerr := inputFile(p, "photo")
	if aerr != nil {
		return nil, aerr
	}
	switch {
	case up != nil:
		if len(up.data) == 0 {
			return nil, badRequest("file must be non-empty")
		}
		mt := mimeByName(up.name, "image/jpeg")
		m.m.Photo = s.photoSizes(&storedFile{mime: mt, data: up.data, size: int64(len(up.data)), hasData: true, dir: "photos"})
		m.photo = &File{Name: up.name, MIME: mt, Data: up.data}
	case ref == "":
		return nil, badRequest("there is no photo in the request")
	case isURL(ref):
		m.m.Photo = s.photoSizes(&storedFile{mime: "image/jpeg", url: ref, hasData: true, dir: "photos"})
		m.photo = &File{Name: path.Base(ref), MIME: "image/jpeg", URL: ref}
	default:
		src := s.files[ref]
		if src == nil {
			return nil, badRequest("wrong file identifier/HTTP URL specified")
		}
		c := *src
		c.path = ""
		m.m.Photo = s.photoSizes(&c)
		m.photo = &File{Name: src.name, MIME: src.mime, Data: src.data, URL: src.url}
	}
	return s.commitMediaLocked(ch, m), nil
}

var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true,
	"record_voice": true, "upload_voice": true, "upload_document": true, "choose_sticker": true,
	"find_location": true, "record_video_note": true, "upload_video_note": true,
}

func (s *Server) sendChatAction(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, aerr := s.chatLocked(p, true); aerr != nil {
		return nil, aerr
	}
	if !chatActions[p.v["action"]] {
		return nil, badRequest("wrong parameter action in request")
	}
	return true, nil
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

// ---- commands ----

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
		if n := utf16Len(c.Description); n == 0 || n > 256 {
			return nil, badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	raw, _ := json.Marshal(cmds)
	s.mu.Lock()
	s.commands = raw
	s.mu.Unlock()
	return true, nil
}

func (s *Server) getMyCommands(_ *http.Request, _ *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.commands) == 0 || string(s.commands) == "null" {
		return json.RawMessage("[]"), nil
	}
	return s.commands, nil
}

func (s *Server) deleteMyCommands(_ *http.Request, _ *params) (any, *apiError) {
	s.mu.Lock()
	s.commands = nil
	s.mu.Unlock()
	return true, nil
}

// ---- text, entities and keyboards ----

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r) // 2 for runes outside the BMP (emoji)
	}
	return n
}

// renderText validates text in parse mode pm and returns the text Telegram
// would store (HTML markup removed). emptyErr is the error for a blank text
// ("" when blank is allowed, as for captions).
func renderText(text, pm string, max int, emptyErr, longErr string) (string, *apiError) {
	plain := text
	switch strings.ToLower(pm) {
	case "":
	case "markdown":
	case "html":
		var err string
		if plain, err = parseHTML(text); err != "" {
			return "", badRequest("can't parse entities: " + err)
		}
	case "markdownv2":
		if err := checkMarkdownV2(text); err != "" {
			return "", badRequest("can't parse entities: " + err)
		}
	default:
		return "", badRequest("unsupported parse_mode")
	}
	if emptyErr != "" && strings.TrimSpace(plain) == "" {
		return "", badRequest(emptyErr)
	}
	if utf16Len(plain) > max {
		return "", badRequest(longErr)
	}
	return plain, nil
}

var htmlTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true, "s": true,
	"strike": true, "del": true, "span": true, "tg-spoiler": true, "a": true, "tg-emoji": true,
	"code": true, "pre": true, "blockquote": true, "tg-time": true,
}

// parseHTML checks tags the way Telegram does (only its supported tags,
// properly nested) and returns the visible text. The error texts follow
// Telegram's, minus the "Bad Request: can't parse entities: " prefix.
func parseHTML(text string) (plain, errText string) {
	var out strings.Builder
	var stack []string
	last := 0
	for i := 0; i < len(text); i++ {
		if text[i] != '<' {
			continue
		}
		out.WriteString(html.UnescapeString(text[last:i]))
		begin := i
		closing := i+1 < len(text) && text[i+1] == '/'
		j := i + 1
		if closing {
			j++
		}
		nameStart := j
		for j < len(text) && (text[j] >= 'a' && text[j] <= 'z' || text[j] >= 'A' && text[j] <= 'Z' || text[j] >= '0' && text[j] <= '9' || text[j] == '-') {
			j++
		}
		name := strings.ToLower(text[nameStart:j])
		if !closing && !htmlTags[name] {
			return "", "Unsupported start tag \"" + name + "\" at byte offset " + strconv.Itoa(begin)
		}
		// Find the closing '>' honouring quoted attribute values.
		var quote byte
		for ; j < len(text); j++ {
			ch := text[j]
			if quote != 0 {
				if ch == quote {
					quote = 0
				}
				continue
			}
			if ch == '"' || ch == '\'' {
				quote = ch
				continue
			}
			if ch == '>' {
				break
			}
		}
		if j >= len(text) {
			return "", "Unclosed start tag at byte offset " + strconv.Itoa(begin)
		}
		if closing {
			if len(stack) == 0 {
				return "", "Unexpected end tag at byte offset " + strconv.Itoa(begin)
			}
			if top := stack[len(stack)-1]; top != name {
				return "", "Unmatched end tag at byte offset " + strconv.Itoa(begin) + ", expected \"</" + top + ">\", found \"</" + name + ">\""
			}
			stack = stack[:len(stack)-1]
		} else {
			stack = append(stack, name)
		}
		i = j
		last = j + 1
	}
	if len(stack) > 0 {
		return "", "Can't find end tag corresponding to start tag \"" + stack[len(stack)-1] + "\""
	}
	out.WriteString(html.UnescapeString(text[last:]))
	return out.String(), ""
}

// checkMarkdownV2 catches the most common MarkdownV2 mistake: a reserved
// character that is not markup and not escaped. It is deliberately partial
// (entity balance is not checked).
func checkMarkdownV2(text string) string {
	inCode, inURL := false, false
	lineStart := true
	for i := 0; i < len(text); i++ {
		ch := text[i]
		wasLineStart := lineStart
		lineStart = ch == '\n'
		switch {
		case ch == '\\':
			i++
			continue
		case ch == '`':
			if strings.HasPrefix(text[i:], "```") {
				i += 2
			}
			inCode = !inCode
			continue
		case inCode:
			continue
		case inURL:
			if ch == ')' {
				inURL = false
			}
			continue
		case ch == ']' && i+1 < len(text) && text[i+1] == '(':
			inURL = true
			i++
			continue
		case ch == '|' && i+1 < len(text) && text[i+1] == '|':
			i++
			continue
		case ch == '>' && wasLineStart:
			continue
		}
		if strings.IndexByte(".!#+-={}|>()", ch) >= 0 {
			return "Character '" + string(ch) + "' is reserved and must be escaped with the preceding '\\'"
		}
	}
	return ""
}

// parseMarkup parses reply_markup. Only inline keyboards stay on the message
// (reply keyboards belong to the chat), so others yield nil.
func parseMarkup(raw string) (*models.InlineKeyboardMarkup, *apiError) {
	raw = strings.TrimSpace(raw)
	if raw == "" || raw == "null" {
		return nil, nil
	}
	var probe struct {
		InlineKeyboard *[][]models.InlineKeyboardButton `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &probe); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	if probe.InlineKeyboard == nil || len(*probe.InlineKeyboard) == 0 {
		return nil, nil
	}
	for _, row := range *probe.InlineKeyboard {
		for _, b := range row {
			if b.Text == "" {
				return nil, badRequest("can't parse inline keyboard button: Text must be non-empty")
			}
			if len(b.CallbackData) > 64 {
				return nil, badRequest("BUTTON_DATA_INVALID")
			}
			if b.URL != "" {
				u, err := url.Parse(b.URL)
				if err != nil || u.Host == "" && u.Scheme != "tg" || !contains([]string{"http", "https", "tg", "ton"}, strings.ToLower(u.Scheme)) {
					return nil, badRequest("BUTTON_URL_INVALID")
				}
			}
			// The library always sends "copy_text":{"text":""} (a non-pointer
			// struct), so an empty copy_text does not count as an action.
			if b.URL == "" && b.CallbackData == "" && b.WebApp == nil && b.LoginURL == nil &&
				b.SwitchInlineQuery == "" && b.SwitchInlineQueryCurrentChat == "" &&
				b.SwitchInlineQueryChosenChat == nil && b.CopyText.Text == "" &&
				b.CallbackGame == nil && !b.Pay {
				return nil, badRequest("text buttons are unallowed in the inline keyboard")
			}
		}
	}
	return &models.InlineKeyboardMarkup{InlineKeyboard: *probe.InlineKeyboard}, nil
}

func sameMarkup(a, b *models.InlineKeyboardMarkup) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
