// Package web serves edobot's HTTP side: health and readiness probes and
// Prometheus metrics now; the link page, signing endpoints and the REST API
// grow here.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"edobot/bot/i18n"
	"edobot/core"
	"edobot/core/egov"
)

// checkDetail is a check's error that says what an operator should know on
// /readyz itself; a degraded one leaves the service ready.
type checkDetail interface {
	Detail() string
	Degraded() bool
}

// Check is a named dependency probe for /readyz.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

// Server is the HTTP front end.
type Server struct {
	Checks    []Check
	Log       *slog.Logger
	Version   string
	Service   *core.Service
	Cat       *i18n.Catalog
	PublicURL string
	EgovTTL   time.Duration // 0 = core.DefaultEgovTTL
	EgovLinks egov.Links    // zero = egov.DefaultLinks
	// EgovPDFMime is the mime API №2 gives a PDF; "" = application/pdf.
	EgovPDFMime string
	// ChatLink opens the bot's chat in a messenger (core.ChannelTelegram,
	// core.ChannelWhatsApp); "" when there is none. The eGov app sends a
	// person who signed in back there.
	ChatLink func(channel string) string
	// NCALayerURL is where the pages look for NCALayer; "" = DefaultNCALayerURL.
	NCALayerURL string
	// PageCache holds rendered page images; "" = a folder in the system's temp.
	PageCache string
	// StartLink opens a document in the Telegram bot; nil without one.
	StartLink func(token string) string
	// WhatsAppStartLink opens it in the WhatsApp bot ("" until the bot's
	// account is linked); nil without one.
	WhatsAppStartLink func(token string) string
	// MiniApp checks the init data a link page opened as a Telegram Mini
	// App got from Telegram (telegram.Bot.CheckMiniApp): the Telegram user
	// who opened it. Nil without a Telegram bot.
	MiniApp func(initData string) (externalID, name, lang string, err error)
	// TelegramWebhook receives Telegram's updates in webhook mode.
	TelegramWebhook http.Handler
	// Collectors are other parts' metrics, served on /metrics.
	Collectors []prometheus.Collector
	// AdminRoutes adds the operator's routes (the WhatsApp pairing QR),
	// which guard themselves with the admin token.
	AdminRoutes func(mux *http.ServeMux)
	// Clock paces the link page's long polls and fills the rate limits'
	// buckets; nil = the real one. Tests put a fake in its place.
	Clock clockwork.Clock
	// DemoSigner, set by `edobot demo` only, makes the CMS of side's demo
	// key over a demo document's file for the link page's «Подписать
	// демо-ключом»; the CMS is then signed in as any other is.
	DemoSigner func(ctx context.Context, d *core.Document, side core.Side, file []byte) ([]byte, error)
	// Limits bound connections, time, request rates and page renders; the
	// zero value of a field is its default.
	Limits Limits

	limiters  map[rateKind]*limiter
	renders   *renderer
	linkPages *lru.Cache[uuid.UUID, renderedPage]
}

func (s *Server) clock() clockwork.Clock {
	if s.Clock == nil {
		return clockwork.NewRealClock()
	}
	return s.Clock
}

func (s *Server) now() time.Time { return s.clock().Now() }

// Handler returns the routes, with the security headers and the deadlines
// of every request.
func (s *Server) Handler() http.Handler {
	s.Limits = s.limits()
	s.limiters = newLimiters(s.Limits.Rates)
	s.renders = s.newRenderer()
	s.linkPages, _ = lru.New[uuid.UUID, renderedPage](renderedPages)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(s.Collectors...)
	reg.MustRegister(s.renders.collectors()...)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if s.AdminRoutes != nil {
		s.AdminRoutes(mux)
	}
	if s.Service != nil {
		if s.Cat == nil {
			s.Cat = i18n.MustNew()
		}
		s.egovRoutes(mux)
		s.apiRoutes(mux)
		mux.HandleFunc("GET /api/v1/openapi.json", s.openapi)
		s.homeRoutes(mux)
		s.linkRoutes(mux)
		s.chatRoutes(mux)
		s.esfRoutes(mux)
	}
	return s.paced(s.secured(mux))
}

// ready answers 200 only when every dependency answers, naming the ones that
// do not, so that an operator sees at once what is down.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ok, out := s.checks(r.Context())
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, out)
}

// checks runs the readiness checks: whether every dependency answers (a
// degraded one does), and what each check found: "ok", "degraded: …",
// "down" or "down: …".
func (s *Server) checks(ctx context.Context) (bool, map[string]string) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ok := true
	out := map[string]string{}
	for _, c := range s.Checks {
		if err := c.Ping(ctx); err != nil {
			var d checkDetail
			if errors.As(err, &d) && d.Degraded() {
				out[c.Name] = "degraded: " + d.Detail()
				s.Log.Warn("readiness check degraded", "check", c.Name, "err", err)
				continue
			}
			ok = false
			out[c.Name] = "down"
			if errors.As(err, &d) {
				out[c.Name] = "down: " + d.Detail()
			}
			s.Log.Warn("readiness check failed", "check", c.Name, "err", err)
			continue
		}
		out[c.Name] = "ok"
	}
	return ok, out
}

// webRefusal is a "no" of the web side itself that a person can meet; its
// code is a message key of bot/i18n ("error." + code).
type webRefusal string

func (r webRefusal) Error() string { return "web: " + string(r) }
func (r webRefusal) Code() string  { return string(r) }

const (
	errTooManyRequests    webRefusal = "too_many_requests"
	errPreviewUnavailable webRefusal = "page_preview_unavailable"
)

// refuse answers a refusal of the web side as JSON, in the caller's language.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, err webRefusal) {
	writeError(w, status, err.Code(), s.Cat.Error(i18n.Lang(acceptLanguage(r)), err))
}

// noticePage answers a person's browser with a page that says err in
// Russian and Kazakh, as the link page speaks.
func (s *Server) noticePage(w http.ResponseWriter, status int, err error) {
	s.htmlHeaders(w)
	w.WriteHeader(status)
	if e := notice.Execute(w, map[string]string{"Ru": s.Cat.Error("ru", err), "Kk": s.Cat.Error("kk", err)}); e != nil {
		s.Log.Warn("notice page", "err", e)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
