package web

import (
	"io"
	"net/http"
	"strings"

	"edobot/core"
)

// The link page as a Telegram Mini App. The bot opens it with ?app=telegram
// (flow.MiniAppQuery); only then does the page load Telegram's script, whose
// address alone the page's CSP then allows, and only then may Telegram's web
// client frame it. The script gives the page Telegram's theme as CSS
// variables (link.css follows them) and the init data, which the page posts
// to /d/{token}/telegram: checked with the bot's token (telegram.CheckMiniAppData),
// it tells which chat user opened the link, and the visit is counted as
// that chat user's, as an opening of the document in the chat is.

const (
	// miniAppScript is Telegram's Mini App script, as its documentation
	// asks a Mini App to load it (https://core.telegram.org/bots/webapps#initializing-mini-apps):
	// the page loads it and its CSP allows it, nothing else of telegram.org.
	miniAppScript = "https://telegram.org/js/telegram-web-app.js"
	// miniAppFramers are Telegram's web clients, which show a Mini App in
	// a frame; the apps on phones and computers use a web view of their own.
	miniAppFramers = "https://web.telegram.org"
	// maxInitData bounds the init data a page posts: Telegram's is well
	// under 2 KB.
	maxInitData = 8 << 10
)

// isMiniApp reports whether the link page was opened from the bot's Mini
// App button.
func isMiniApp(r *http.Request) bool { return r.URL.Query().Get("app") == core.ChannelTelegram }

// linkMiniApp takes the init data of a link page open in Telegram: a chat
// user's visit of the document.
func (s *Server) linkMiniApp(w http.ResponseWriter, r *http.Request) {
	if s.MiniApp == nil {
		s.fail(w, r, core.ErrNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInitData))
	if err != nil {
		s.badRequest(w, r, "the Mini App's init data")
		return
	}
	id, name, lang, err := s.MiniApp(strings.TrimSpace(string(body)))
	if err != nil {
		s.Log.Info("mini app: init data refused", "err", err)
		writeError(w, http.StatusForbidden, "forbidden", s.Cat.Text(requestLang(r), "error.bad_request", nil))
		return
	}
	u, err := s.Service.ChatUser(r.Context(), core.ChannelTelegram, id, name, lang)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.Service.OpenLink(r.Context(), r.PathValue("token"), core.ChatVisitor(u.Channel, u.ID))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat_user": u.ID, "name": u.Name, "version": d.Version})
}
