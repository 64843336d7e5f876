package web

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"edobot/core"
)

//go:embed templates/*.html
var templates embed.FS

var (
	linkPage    = template.Must(template.ParseFS(templates, "templates/link.html"))
	checkPage   = template.Must(template.ParseFS(templates, "templates/check.html"))
	revokedPage = mustRead("templates/revoked.html")
)

func mustRead(name string) []byte {
	b, err := templates.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// statusPollWait bounds one long poll; statusPollEvery is how often it looks.
const (
	statusPollWait  = 25 * time.Second
	statusPollEvery = 500 * time.Millisecond
)

func (s *Server) linkRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /d/{token}", s.linkView)
	mux.HandleFunc("GET /d/{token}/status", s.linkStatus)
	mux.HandleFunc("GET /d/{token}/file", s.linkFile)
	mux.HandleFunc("GET /d/{token}/card", s.linkCard)
	mux.HandleFunc("POST /d/{token}/sign", s.linkSign)
	mux.HandleFunc("GET /d/{token}/page/{page}", s.linkPageImage)
	mux.HandleFunc("GET /ncalayer/check", s.ncalayerCheck)
	mux.Handle("GET /static/", http.FileServerFS(static))
}

//go:embed static/*.js
var static embed.FS

// DefaultNCALayerURL is where NCALayer listens on the user's computer.
const DefaultNCALayerURL = "wss://127.0.0.1:13579"

func (s *Server) ncalayerURL() string {
	if s.NCALayerURL != "" {
		return s.NCALayerURL
	}
	return DefaultNCALayerURL
}

// linkSign takes the CMS that NCALayer made on the visitor's computer.
func (s *Server) linkSign(w http.ResponseWriter, r *http.Request) {
	var in struct {
		CMS string `json:"cms"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxEgovBody)).Decode(&in); err != nil || in.CMS == "" {
		s.badRequest(w, r, `JSON {"cms": base64}`)
		return
	}
	cms, err := base64.StdEncoding.DecodeString(in.CMS)
	if err != nil {
		s.badRequest(w, r, "cms must be base64")
		return
	}
	d, side, err := s.Service.SignCMSByLink(r.Context(), r.PathValue("token"), cms, "ncalayer")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": d.Status, "side": side, "version": d.Version})
}

func (s *Server) ncalayerCheck(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := checkPage.Execute(w, map[string]string{"URL": s.ncalayerURL()}); err != nil {
		s.Log.Warn("check page", "err", err)
	}
}

type linkSignature struct {
	Side, Name, IIN, BIN, At string
}

type linkView struct {
	TitleRu, TitleKk               string
	Status                         core.Status
	StatusRu, StatusKk             string
	SenderName, SenderNumber       string
	RecipientName, RecipientNumber string
	SHA256                         string
	Signatures                     []linkSignature
	CanSign                        bool
	FileURL, BaseURL               string
	CardURL, CardLabel             string
	TelegramURL, WhatsAppURL       string // the document's card in the bots
	NCALayerURL                    string
	Pages                          []int
	Version                        int64
}

// failPage answers a refusal on a link URL that a person opens: a dead link
// gets «Документ отозван» and nothing else, anything else the JSON error.
func (s *Server) failPage(w http.ResponseWriter, r *http.Request, err error) {
	if statusOf(err, "") != http.StatusGone {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusGone)
	_, _ = w.Write(revokedPage)
}

func (s *Server) linkView(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	d, err := s.Service.OpenLink(r.Context(), token)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	signers, err := s.Service.Store.Signers(r.Context(), []uuid.UUID{d.ID})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sigs := signers[d.ID]
	base := "/d/" + token
	v := linkView{TitleRu: s.title("ru", d), TitleKk: s.title("kk", d), Status: d.Status,
		StatusRu: s.Cat.Status("ru", d.Status), StatusKk: s.Cat.Status("kk", d.Status),
		SenderName: d.SenderName, SenderNumber: d.SenderNumber, RecipientName: d.RecipientName, RecipientNumber: d.RecipientNumber,
		SHA256: d.File.SHA256, CanSign: !d.Status.Final(), FileURL: base + "/file", BaseURL: base, Version: d.Version,
		NCALayerURL: s.ncalayerURL(), CardURL: base + "/card",
		CardLabel: s.Cat.Text("ru", "download.card", nil) + " · " + s.Cat.Text("kk", "download.card", nil)}
	if s.StartLink != nil && !d.Status.Final() {
		v.TelegramURL = s.StartLink(token)
	}
	if s.WhatsAppStartLink != nil && !d.Status.Final() {
		v.WhatsAppURL = s.WhatsAppStartLink(token)
	}
	for i := 1; i <= d.File.Pages; i++ {
		v.Pages = append(v.Pages, i)
	}
	for _, g := range sigs {
		side := "отправитель · жіберуші"
		if g.Side == core.SideRecipient {
			side = "получатель · алушы"
		}
		v.Signatures = append(v.Signatures, linkSignature{Side: side, Name: g.Signer.FullName, IIN: g.Signer.IIN, BIN: g.Signer.BIN,
			At: g.SignedAt.In(core.KazakhstanTime).Format("02.01.2006 15:04")})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the URL
	if err := linkPage.Execute(w, v); err != nil {
		s.Log.Warn("link page", "err", err)
	}
}

// linkStatus is a long poll: it answers when the document's version differs
// from the one the page shows, or after statusPollWait with the same one.
func (s *Server) linkStatus(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	since, _ := strconv.ParseInt(r.URL.Query().Get("version"), 10, 64)
	clock := s.clock()
	deadline := clock.Now().Add(statusPollWait)
	for {
		d, err := s.Service.LinkDocument(r.Context(), token)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if d.Version != since || clock.Now().After(deadline) {
			writeJSON(w, http.StatusOK, map[string]any{"status": d.Status, "version": d.Version,
				"status_ru": s.Cat.Status("ru", d.Status), "status_kk": s.Cat.Status("kk", d.Status)})
			return
		}
		if !s.pause(r.Context(), clock, statusPollEvery) {
			return
		}
	}
}

// pause waits d on clock; false when ctx ended first.
func (s *Server) pause(ctx context.Context, clock clockwork.Clock, d time.Duration) bool {
	t := clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.Chan():
		return true
	}
}

func (s *Server) linkFile(w http.ResponseWriter, r *http.Request) {
	rc, d, err := s.Service.OpenOriginalByLink(r.Context(), r.PathValue("token"))
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.FormatInt(d.File.Size, 10))
	w.Header().Set("Content-Disposition", `inline; filename="`+core.DownloadName(d, ".pdf")+`"`)
	w.Header().Set("Referrer-Policy", "no-referrer")
	if _, err := io.Copy(w, rc); err != nil {
		s.Log.Warn("link download interrupted", "document", d.ID, "err", strings.TrimSpace(err.Error()))
	}
}

// linkCard is the link visitor's «Электронная карточка». Like the rest of
// the link it is gone once the document is revoked (410): the sender keeps
// the revoked card in the chat and the API.
func (s *Server) linkCard(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	rc, d, err := s.Service.CardByLink(r.Context(), token, strings.TrimRight(s.PublicURL, "/")+"/d/"+token)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+core.CardFileName(d)+`"`)
	w.Header().Set("Referrer-Policy", "no-referrer")
	if _, err := io.Copy(w, rc); err != nil {
		s.Log.Warn("link card download interrupted", "document", d.ID, "err", strings.TrimSpace(err.Error()))
	}
}
