package web

import (
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"edobot/bot/i18n"
	"edobot/core"
	"edobot/core/egov"
)

// What the web side does for the chat front ends: the sign-in challenge a
// chat user signs (through the eGov QR protocol, or on an NCALayer page),
// the mailto: a share button opens, and Telegram's webhook.

var authPage = template.Must(template.ParseFS(templates, "templates/auth.html"))

const authExpiredPage = `<!doctype html><html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>edobot</title><link rel="stylesheet" href="/static/notice.css"></head><body>
<h1>Запрос на вход недействителен</h1><p>Он устарел или уже использован. Нажмите «Войти с ЭЦП» в чате бота ещё раз.</p>
<p lang="kk">Кіру сұрауы жарамсыз: мерзімі өткен немесе қолданылған. Бот чатында «ЭЦҚ-мен кіру» батырмасын қайта басыңыз.</p>
</body></html>`

func (s *Server) chatRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /egov-auth/{id}/"+egov.MgovSign, s.authEgovDescribe)
	mux.HandleFunc("GET /egov-auth/{id}", s.authEgovDescribe) // challenges issued before mgovSign
	mux.HandleFunc("GET /egov-auth/{id}/documents", s.authEgovData)
	mux.HandleFunc("PUT /egov-auth/{id}/documents", s.authEgovSign)
	mux.HandleFunc("GET /auth/{id}", s.authView)
	mux.HandleFunc("POST /auth/{id}/sign", s.limited(rateSign, s.authSign))
	mux.HandleFunc("GET /d/{token}/mailto", s.mailto)
	if s.TelegramWebhook != nil {
		mux.Handle("POST /telegram/webhook", s.TelegramWebhook)
	}
}

// authEgovDescribe is the eGov app's first request for a sign-in challenge.
func (s *Server) authEgovDescribe(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	data, token, expires, err := s.Service.AuthDescribe(r.Context(), id)
	if err != nil {
		s.failApp(w, r, err)
		return
	}
	lang := i18n.Lang(acceptLanguage(r))
	desc := s.Cat.Text(lang, "egov.signin_description", map[string]any{"Who": challengeWho(data)})
	writeJSON(w, http.StatusOK, egov.NewDescription(desc, expires, egov.Organisation{NameRu: "edobot", NameKz: "edobot", NameEn: "edobot"},
		egov.API2(egov.SignInAPI1(s.PublicURL, id)), token, core.KazakhstanTime))
}

// challengeWho is the line of a sign-in challenge that names the chat.
func challengeWho(data []byte) string {
	lines := strings.SplitN(string(data), "\n", 3)
	if len(lines) < 2 {
		return ""
	}
	return lines[1]
}

// authEgovData gives the app the challenge to sign as text/plain, which
// the app shows, so the person reads what they sign.
func (s *Server) authEgovData(w http.ResponseWriter, r *http.Request) {
	data, err := s.Service.AuthData(r.Context(), r.PathValue("id"), bearer(r))
	if err != nil {
		s.failApp(w, r, err)
		return
	}
	lang := i18n.Lang(acceptLanguage(r))
	names := egov.Names{s.Cat.Text("ru", "egov.signin_name", nil), s.Cat.Text("kk", "egov.signin_name", nil), s.Cat.Text("en", "egov.signin_name", nil)}
	meta := []egov.Meta{{Name: s.Cat.Text(lang, "egov.meta_purpose", nil), Value: s.Cat.Text(lang, "egov.signin_purpose", nil)},
		{Name: s.Cat.Text(lang, "egov.meta_chat", nil), Value: challengeWho(data)}}
	writeJSON(w, http.StatusOK, egov.One(names, meta, egov.MimeText, base64.StdEncoding.EncodeToString(data)))
}

func (s *Server) authEgovSign(w http.ResponseWriter, r *http.Request) {
	cms, ok := s.readEgovCMS(w, r, 1<<20)
	if !ok {
		return
	}
	u, _, err := s.Service.AuthSignEgov(r.Context(), r.PathValue("id"), bearer(r), cms)
	if err != nil {
		s.failApp(w, r, err)
		return
	}
	done := egov.Done{Message: egov.Success}
	if s.ChatLink != nil {
		done.BackURL = s.ChatLink(u.Channel) // back to the chat that asked
	}
	writeJSON(w, http.StatusOK, done)
}

// authView is the NCALayer sign-in page for a computer.
func (s *Server) authView(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	data, expires, err := s.Service.AuthChallengeData(r.Context(), id)
	if err != nil {
		// Unknown, used or expired: a new one is one tap away in the chat.
		s.htmlHeaders(w)
		w.WriteHeader(http.StatusGone)
		_, _ = w.Write([]byte(authExpiredPage))
		return
	}
	s.htmlHeaders(w)
	err = authPage.Execute(w, map[string]any{"BaseURL": "/auth/" + id, "Challenge": base64.StdEncoding.EncodeToString(data),
		"Who":   challengeWho(data),
		"Until": expires.In(core.KazakhstanTime).Format("15:04"), "NCALayerURL": s.ncalayerURL()})
	if err != nil {
		s.Log.Warn("auth page", "err", err)
	}
}

func (s *Server) authSign(w http.ResponseWriter, r *http.Request) {
	cms, ok := s.readCMS(w, r, 1<<20)
	if !ok {
		return
	}
	u, org, err := s.Service.AuthSign(r.Context(), r.PathValue("id"), cms)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"iin": u.IIN, "organisation": org.Name, "number": org.Number})
}

// mailto opens the person's mail app with the link and a short text: chat
// buttons cannot hold a mailto: URL themselves.
func (s *Server) mailto(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	d, err := s.Service.LinkDocument(r.Context(), token)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	lang := i18n.Lang(r.URL.Query().Get("lang"))
	link := strings.TrimRight(s.PublicURL, "/") + "/d/" + token
	title := s.title(lang, d)
	body := s.Cat.Text(lang, "chat.share_message", map[string]any{"Sender": d.SenderName, "Title": title, "Link": link})
	// url.PathEscape, not QueryEscape: mail apps show "+" literally.
	target := "mailto:?subject=" + url.PathEscape(title) + "&body=" + url.PathEscape(body)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

// readCMS reads a signature posted as JSON {"cms": base64} of at most limit
// bytes, answering a malformed one itself.
func (s *Server) readCMS(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	var in struct {
		CMS string `json:"cms"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit)).Decode(&in); err != nil || in.CMS == "" {
		s.badRequest(w, r, `JSON {"cms": base64}`)
		return nil, false
	}
	cms, err := base64.StdEncoding.DecodeString(in.CMS)
	if err != nil {
		s.badRequest(w, r, "cms must be base64")
		return nil, false
	}
	return cms, true
}
