package tgtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiError is an {"ok":false,...} answer; code is also the HTTP status, as
// Telegram does.
type apiError struct {
	code       int
	desc       string
	retryAfter int
}

func badRequest(desc string) *apiError { return &apiError{code: 400, desc: "Bad Request: " + desc} }

var (
	errUnauthorized = &apiError{code: 401, desc: "Unauthorized"}
	errNotFound     = &apiError{code: 404, desc: "Not Found"}
	errBlocked      = &apiError{code: 403, desc: "Forbidden: bot was blocked by the user"}
	errTooLarge     = &apiError{code: 413, desc: "Request Entity Too Large"}
)

// failureError turns a scripted Failure into an answer, filling in
// Telegram's usual wording when the test gave none.
func failureError(f Failure) *apiError {
	if f.Code == 0 {
		f.Code = 500
	}
	if f.Description == "" {
		switch f.Code {
		case 400:
			f.Description = "Bad Request"
		case 403:
			f.Description = "Forbidden"
		case 409:
			f.Description = "Conflict"
		case 429:
			f.Description = "Too Many Requests: retry after " + strconv.Itoa(f.RetryAfter)
		default:
			f.Description = http.StatusText(f.Code)
		}
	}
	return &apiError{code: f.Code, desc: f.Description, retryAfter: f.RetryAfter}
}

// okResult is a result with Telegram's optional success description (setWebhook
// answers {"ok":true,"result":true,"description":"Webhook was set"}).
type okResult struct {
	result any
	desc   string
}

func writeOK(w http.ResponseWriter, result any) {
	var desc string
	if r, ok := result.(okResult); ok {
		result, desc = r.result, r.desc
	}
	raw, ok := result.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(result); err != nil {
			writeError(w, &apiError{code: 500, desc: "Internal Server Error: tgtest: " + err.Error()})
			return
		}
	}
	buf := make([]byte, 0, len(raw)+64)
	buf = append(buf, `{"ok":true,"result":`...)
	buf = append(buf, raw...)
	if desc != "" {
		d, _ := json.Marshal(desc)
		buf = append(buf, `,"description":`...)
		buf = append(buf, d...)
	}
	buf = append(buf, '}')
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf)
}

func writeError(w http.ResponseWriter, e *apiError) {
	type params struct {
		RetryAfter int `json:"retry_after"`
	}
	body := struct {
		OK          bool    `json:"ok"`
		ErrorCode   int     `json:"error_code"`
		Description string  `json:"description"`
		Parameters  *params `json:"parameters,omitempty"`
	}{ErrorCode: e.code, Description: e.desc}
	if e.retryAfter > 0 {
		body.Parameters = &params{RetryAfter: e.retryAfter}
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	raw, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.code)
	_, _ = w.Write(raw)
}

// params are a request's parameters, whatever the encoding. Nested objects
// (reply_markup, link_preview_options, allowed_updates...) are JSON text, as
// they arrive in form fields; in a JSON body they are re-serialised to match.
type params struct {
	v     map[string]string
	files map[string]upload
}

type upload struct {
	name  string
	ctype string
	data  []byte
}

func (p *params) int64(name string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(p.v[name]), 10, 64)
	return n, err == nil
}

func (p *params) int(name string, def int) int {
	if n, ok := p.int64(name); ok {
		return int(n)
	}
	return def
}

func (p *params) bool(name string) bool {
	switch strings.ToLower(strings.TrimSpace(p.v[name])) {
	case "true", "1":
		return true
	}
	return false
}

// parseParams reads the whole body (so a client streaming a multipart upload
// never blocks on an early answer) into params.
func parseParams(w http.ResponseWriter, r *http.Request) (*params, *apiError) {
	p := &params{v: map[string]string{}}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			p.v[k] = vs[0]
		}
	}
	if r.Body == nil {
		return p, nil
	}
	body := http.MaxBytesReader(w, r.Body, maxUploadSize+1<<20)
	defer func() { _, _ = io.Copy(io.Discard, body) }()
	fail := func(err error) (*params, *apiError) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errTooLarge
		}
		return nil, badRequest("invalid request body: " + err.Error())
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		mr := multipart.NewReader(body, ctParams["boundary"])
		for {
			part, err := mr.NextPart()
			// The library sends a method without parameters (getMe) as an
			// empty body under a multipart content type; Telegram accepts it.
			if err == io.EOF || errors.Is(err, io.EOF) || err != nil && strings.HasSuffix(err.Error(), "EOF") && len(p.v) == 0 && p.files == nil {
				break
			}
			if err != nil {
				return fail(err)
			}
			data, err := io.ReadAll(part)
			if err != nil {
				return fail(err)
			}
			// A part with a filename attribute is a file even when the name
			// is empty (the library sends filename="" for unnamed uploads).
			_, cd, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			if fn, isFile := cd["filename"]; isFile {
				if p.files == nil {
					p.files = map[string]upload{}
				}
				p.files[part.FormName()] = upload{name: fn, ctype: part.Header.Get("Content-Type"), data: data}
			} else {
				p.v[part.FormName()] = string(data)
			}
		}
	case "application/json":
		var m map[string]json.RawMessage
		if err := json.NewDecoder(body).Decode(&m); err != nil {
			return fail(err)
		}
		for k, raw := range m {
			raw = bytes.TrimSpace(raw)
			switch {
			case len(raw) > 0 && raw[0] == '"':
				var s string
				if err := json.Unmarshal(raw, &s); err != nil {
					return fail(err)
				}
				p.v[k] = s
			case string(raw) == "null":
			default:
				p.v[k] = string(raw)
			}
		}
	case "application/x-www-form-urlencoded":
		data, err := io.ReadAll(body)
		if err != nil {
			return fail(err)
		}
		q, err := url.ParseQuery(string(data))
		if err != nil {
			return fail(err)
		}
		for k, vs := range q {
			if len(vs) > 0 {
				p.v[k] = vs[0]
			}
		}
	}
	return p, nil
}

// handler implements one Bot API method. It returns the result to put in
// {"ok":true,"result":...}, or an error answer.
type handler func(s *Server, r *http.Request, p *params) (any, *apiError)

// handlers is keyed by lower-case method name: Telegram matches method names
// case-insensitively.
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"getme":                  (*Server).getMe,
		"getupdates":             (*Server).getUpdates,
		"sendmessage":            (*Server).sendMessage,
		"editmessagetext":        (*Server).editMessageText,
		"editmessagecaption":     (*Server).editMessageCaption,
		"editmessagereplymarkup": (*Server).editMessageReplyMarkup,
		"deletemessage":          (*Server).deleteMessage,
		"answercallbackquery":    (*Server).answerCallbackQuery,
		"senddocument":           (*Server).sendDocument,
		"sendphoto":              (*Server).sendPhoto,
		"sendchataction":         (*Server).sendChatAction,
		"getfile":                (*Server).getFile,
		"setwebhook":             (*Server).setWebhook,
		"deletewebhook":          (*Server).deleteWebhook,
		"getwebhookinfo":         (*Server).getWebhookInfo,
		"setmycommands":          (*Server).setMyCommandsByLanguage,
		"setmydescription":       (*Server).setMyDescription,
		"getmycommands":          (*Server).getMyCommands,
		"deletemycommands":       (*Server).deleteMyCommands,
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"); ok {
		s.serveFile(w, rest)
		return
	}
	p, perr := parseParams(w, r)
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	if !ok {
		writeError(w, errNotFound)
		return
	}
	token, method, _ := strings.Cut(rest, "/")
	if token != Token {
		writeError(w, errUnauthorized)
		return
	}
	method = strings.TrimPrefix(method, "test/") // bot.UseTestEnvironment
	key := strings.ToLower(method)

	s.mu.Lock()
	s.calls[key]++
	delay := s.delay
	var fail *Failure
	if perr == nil {
		chatID, _ := p.int64("chat_id")
		fs := s.failures[key]
		for i := range fs {
			if fs[i].Chat == 0 || fs[i].Chat == chatID {
				f := fs[i]
				fail = &f
				s.failures[key] = append(fs[:i:i], fs[i+1:]...)
				break
			}
		}
	}
	s.mu.Unlock()

	if delay > 0 && key != "getupdates" {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-s.done:
		}
		t.Stop()
	}
	if perr != nil {
		writeError(w, perr)
		return
	}
	if aerr := s.checkStrict(p); aerr != nil {
		writeError(w, aerr)
		return
	}
	if fail != nil {
		writeError(w, failureError(*fail))
		return
	}
	h := handlers[key]
	if h == nil {
		writeError(w, errNotFound)
		return
	}
	res, aerr := h(s, r, p)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeOK(w, res)
}

// serveFile serves GET /file/bot<token>/<file_path>.
func (s *Server) serveFile(w http.ResponseWriter, rest string) {
	token, path, _ := strings.Cut(rest, "/")
	if token != Token {
		writeError(w, errNotFound)
		return
	}
	s.mu.Lock()
	f := s.paths[path]
	h := s.hold
	s.mu.Unlock()
	if f == nil {
		writeError(w, errNotFound)
		return
	}
	if h != nil {
		select {
		case h.held <- struct{}{}:
		default:
		}
		select {
		case <-h.release:
		case <-s.done:
			return
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if f.hasData {
		w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
		_, _ = w.Write(f.data)
		return
	}
	// A sized-only document: stream zeros of the declared size.
	w.Header().Set("Content-Length", strconv.FormatInt(f.size, 10))
	_, _ = io.CopyN(w, zeros{}, f.size)
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}
