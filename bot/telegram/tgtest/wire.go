package tgtest

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
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
)

// failureError turns a scripted Failure into an answer, filling in
// Telegram's usual wording when the test gave none.
func failureError(f Failure) *apiError {
	if f.Code == 0 {
		f.Code = 500
	}
	if f.Description == "" {
		f.Description = http.StatusText(f.Code)
		if f.Code == 429 {
			f.Description = "Too Many Requests: retry after " + strconv.Itoa(f.RetryAfter)
		}
	}
	return &apiError{code: f.Code, desc: f.Description, retryAfter: f.RetryAfter}
}

func writeOK(w http.ResponseWriter, result any) {
	raw, ok := result.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(result); err != nil {
			writeError(w, &apiError{code: 500, desc: "Internal Server Error: tgtest: " + err.Error()})
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(append([]byte(`{"ok":true,"result":`), raw...), '}'))
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
	}
	raw, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.code)
	_, _ = w.Write(raw)
}

// params are a request's parameters. The library sends every method as
// multipart/form-data: nested objects (reply_markup, commands...) are JSON
// text in a field, uploads are parts with a file name.
type params struct {
	v     map[string]string
	files map[string]upload
}

type upload struct {
	name string
	data []byte
}

func (p *params) int64(name string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(p.v[name]), 10, 64)
	return n, err == nil
}

// parseParams reads the whole multipart body (so a client streaming an
// upload never blocks on an early answer) into params.
func parseParams(r *http.Request) (*params, *apiError) {
	p := &params{v: map[string]string{}, files: map[string]upload{}}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return nil, badRequest("tgtest: the library sends multipart/form-data, not " + ct)
	}
	mr := multipart.NewReader(r.Body, ctParams["boundary"])
	for {
		part, err := mr.NextPart()
		// A method without parameters (getMe) comes as an empty body.
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil {
			return nil, badRequest("invalid request body: " + err.Error())
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, badRequest("invalid request body: " + err.Error())
		}
		if part.FileName() != "" {
			p.files[part.FormName()] = upload{name: part.FileName(), data: data}
		} else {
			p.v[part.FormName()] = string(data)
		}
	}
}

// handler implements one Bot API method. It returns the result to put in
// {"ok":true,"result":...}, or an error answer.
type handler func(s *Server, r *http.Request, p *params) (any, *apiError)

// handlers are the methods the bot calls; any other is 404 Not Found, as an
// unknown method is at Telegram.
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"getMe":                  (*Server).getMe,
		"getUpdates":             (*Server).getUpdates,
		"setMyCommands":          (*Server).setMyCommandsByLanguage,
		"setMyDescription":       (*Server).setMyDescription,
		"editMessageReplyMarkup": (*Server).editMessageReplyMarkup,
		"setWebhook":             (*Server).setWebhook,
		"deleteWebhook":          (*Server).deleteWebhook,
		"sendMessage":            (*Server).sendMessage,
		"editMessageText":        (*Server).editMessageText,
		"sendDocument":           (*Server).sendDocument,
		"sendPhoto":              (*Server).sendPhoto,
		"answerCallbackQuery":    (*Server).answerCallbackQuery,
		"getFile":                (*Server).getFile,
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"); ok {
		s.serveFile(w, rest)
		return
	}
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
	p, aerr := parseParams(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}

	s.mu.Lock()
	s.calls[method]++
	var fail *Failure
	chatID, _ := p.int64("chat_id")
	fs := s.failures[method]
	for i := range fs {
		if fs[i].Chat == 0 || fs[i].Chat == chatID {
			f := fs[i]
			fail = &f
			s.failures[method] = append(fs[:i:i], fs[i+1:]...)
			break
		}
	}
	s.mu.Unlock()

	if aerr := s.checkStrict(p); aerr != nil {
		writeError(w, aerr)
		return
	}
	if fail != nil {
		writeError(w, failureError(*fail))
		return
	}
	h := handlers[method]
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
	w.Header().Set("Content-Length", strconv.FormatInt(f.size, 10))
	if f.hasData {
		_, _ = w.Write(f.data)
		return
	}
	// A sized-only document: stream zeros of the declared size.
	_, _ = io.CopyN(w, zeros{}, f.size)
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}
