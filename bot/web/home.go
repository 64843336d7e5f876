package web

import (
	"html/template"
	"net/http"
	"sort"
	"strings"

	"edobot/core"
)

// The home page tells a visitor what this server is: its bots' chats, the
// API's description, and whether it is ready, by the same checks as
// /readyz. It speaks the visitor's language (Accept-Language, or ?lang=).

var homePage = template.Must(template.ParseFS(templates, "templates/home.html"))

func (s *Server) homeRoutes(mux *http.ServeMux) {
	// Each visit runs the readiness checks: visits are limited as a link
	// page's are.
	mux.HandleFunc("GET /{$}", s.limited(rateView, s.home))
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	lang := requestLang(r)
	t := func(id string, data map[string]any) string { return s.Cat.Text(lang, id, data) }
	ready, down := s.readiness(r)
	data := map[string]any{
		"Lang": lang, "Title": t("home.title", nil), "What": t("home.what", nil),
		"BotsTitle": t("home.bots", nil), "NoBots": t("home.no_bots", nil),
		"APITitle": t("home.api", nil), "APIText": t("home.api_text", nil), "APILink": t("home.api_link", nil),
		"OpenAPI": OpenAPIPath, "HealthTitle": t("home.health", nil), "Ready": ready,
	}
	if ready {
		data["Health"] = t("home.ready", nil)
	} else {
		data["Health"] = t("home.not_ready", map[string]any{"Down": strings.Join(down, ", ")})
	}
	if s.Version != "" {
		data["Version"] = t("home.version", map[string]any{"Version": s.Version})
	}
	if s.ChatLink != nil {
		if l := s.ChatLink(core.ChannelTelegram); l != "" {
			data["Telegram"], data["TelegramName"] = l, linkName(l)
		}
		if l := s.ChatLink(core.ChannelWhatsApp); l != "" {
			data["WhatsApp"], data["WhatsAppName"] = l, linkName(l)
		}
	}
	data["Languages"] = langLinks(lang)
	s.htmlHeaders(w)
	w.Header().Set("Content-Language", lang)
	w.Header().Set("Vary", "Accept-Language")
	if err := homePage.Execute(w, data); err != nil {
		s.Log.Warn("home page", "err", err)
	}
}

// readiness runs /readyz's checks: whether every one answers, and the
// names of those that do not.
func (s *Server) readiness(r *http.Request) (bool, []string) {
	ok, checks := s.checks(r.Context())
	var down []string
	for name, state := range checks {
		if state != "ok" {
			down = append(down, name)
		}
	}
	sort.Strings(down)
	return ok, down
}

// linkName shows a chat link without its scheme: t.me/edobot.
func linkName(l string) string {
	return strings.TrimPrefix(strings.TrimPrefix(l, "https://"), "http://")
}
