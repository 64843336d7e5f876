package web

import (
	"bytes"
	"context"
	"embed"
	"fmt"
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
	notice      = template.Must(template.ParseFS(templates, "templates/notice.html"))
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
	mux.HandleFunc("GET /d/{token}", s.limited(rateView, s.linkView))
	mux.HandleFunc("GET /d/{token}/status", s.limited(rateStatus, s.linkStatus))
	mux.HandleFunc("POST /d/{token}/telegram", s.limited(rateView, s.linkMiniApp))
	mux.HandleFunc("GET /d/{token}/file", s.limited(rateView, s.linkFile))
	mux.HandleFunc("GET /d/{token}/card", s.limited(rateView, s.linkCard))
	mux.HandleFunc("POST /d/{token}/sign", s.limited(rateSign, s.linkSign))
	if s.DemoSigner != nil {
		mux.HandleFunc("POST /d/{token}/demo-sign", s.limited(rateSign, s.linkDemoSign))
	}
	mux.HandleFunc("GET /d/{token}/page/{page}", s.limited(rateView, s.linkPageImage))
	mux.HandleFunc("GET /ncalayer/check", s.ncalayerCheck)
	mux.Handle("GET /static/", staticFiles())
}

// The pages' scripts and styles: a page runs no script of its own (its CSP
// allows scripts from our origin only), it hands its data to them in
// data- attributes.
//
//go:embed static/*.js static/*.css
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
	cms, ok := s.readCMS(w, r, maxEgovBody)
	if !ok {
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
	s.htmlHeaders(w)
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
	PageMissing                    string // what a page image that failed says
	Version                        int64
	// Demo marks a demo document: DemoMark and DemoNote say so, DemoSign
	// labels its demo key's button (in `edobot demo` only).
	Demo                         bool
	DemoMark, DemoNote, DemoSign string
	// MiniAppScript is Telegram's script, which the page loads when open
	// inside Telegram (miniapp.go); empty otherwise.
	MiniAppScript string
}

// visitor is who counts as one visitor of a link: an address (the
// client's, as the rate limits see it).
func (s *Server) visitor(r *http.Request) core.Visitor {
	return core.WebVisitor(clientAddr(r, s.Limits.TrustedProxies))
}

// failPage answers a refusal on a link URL that a person opens: a dead link
// gets «Документ отозван» and nothing else, anything else the JSON error.
func (s *Server) failPage(w http.ResponseWriter, r *http.Request, err error) {
	if statusOf(err, "") != http.StatusGone {
		s.fail(w, r, err)
		return
	}
	s.htmlHeaders(w)
	w.WriteHeader(http.StatusGone)
	_, _ = w.Write(revokedPage)
}

func (s *Server) linkView(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	d, err := s.Service.OpenLink(r.Context(), token, s.visitor(r))
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	key := renderedKey{Version: d.Version, NCALayerURL: s.ncalayerURL(), MiniApp: isMiniApp(r)}
	if s.StartLink != nil && !d.Status.Final() {
		key.TelegramURL = s.StartLink(token)
	}
	if s.WhatsAppStartLink != nil && !d.Status.Final() {
		key.WhatsAppURL = s.WhatsAppStartLink(token)
	}
	page, ok := s.linkPages.Get(d.ID)
	if !ok || page.key != key {
		if page, err = s.renderLinkPage(r, token, d, key); err != nil {
			s.fail(w, r, err)
			return
		}
		s.linkPages.Add(d.ID, page)
	}
	if key.MiniApp {
		s.pageHeaders(w, miniAppPage)
	} else {
		s.htmlHeaders(w)
	}
	_, _ = w.Write(page.html)
}

// A crowd on one link sees one page: the page as last rendered is kept for
// each document with what it was rendered from. Everything it shows from
// the document (status, signatures, an edit) moves the version; the rest is
// the bots' links and NCALayer's address.
const renderedPages = 1024

type renderedKey struct {
	Version                               int64
	TelegramURL, WhatsAppURL, NCALayerURL string
	MiniApp                               bool // opened from the Telegram bot (miniapp.go)
}

type renderedPage struct {
	key  renderedKey
	html []byte
}

func (s *Server) renderLinkPage(r *http.Request, token string, d *core.Document, key renderedKey) (renderedPage, error) {
	signers, err := s.Service.Signers(r.Context(), []uuid.UUID{d.ID})
	if err != nil {
		return renderedPage{}, err
	}
	base := "/d/" + token
	v := linkView{TitleRu: s.title("ru", d), TitleKk: s.title("kk", d), Status: d.Status,
		StatusRu: s.Cat.Status("ru", d.Status), StatusKk: s.Cat.Status("kk", d.Status),
		SenderName: d.SenderName, SenderNumber: d.SenderNumber, RecipientName: d.RecipientName, RecipientNumber: d.RecipientNumber,
		SHA256: d.File.SHA256, CanSign: !d.Status.Final(), FileURL: base + "/file", BaseURL: base, Version: d.Version,
		NCALayerURL: key.NCALayerURL, CardURL: base + "/card", TelegramURL: key.TelegramURL, WhatsAppURL: key.WhatsAppURL,
		CardLabel: s.Cat.Text("ru", "download.card", nil) + " · " + s.Cat.Text("kk", "download.card", nil)}
	if key.MiniApp {
		v.MiniAppScript = miniAppScript
	}
	v.PageMissing = s.Cat.Error("ru", errPreviewUnavailable) + " · " + s.Cat.Error("kk", errPreviewUnavailable)
	if d.Demo {
		v.Demo = true
		v.DemoMark = s.both("demo.mark")
		v.DemoNote = s.both("demo.note")
		if s.DemoSigner != nil && v.CanSign {
			v.DemoSign = s.both("demo.sign")
		}
	}
	for i := 1; i <= d.File.Pages; i++ {
		v.Pages = append(v.Pages, i)
	}
	for _, g := range signers[d.ID] {
		side := "отправитель · жіберуші"
		if g.Side == core.SideRecipient {
			side = "получатель · алушы"
		}
		v.Signatures = append(v.Signatures, linkSignature{Side: side, Name: g.Signer.FullName, IIN: g.Signer.IIN, BIN: g.Signer.BIN,
			At: g.SignedAt.In(core.KazakhstanTime).Format("02.01.2006 15:04")})
	}
	var b bytes.Buffer
	if err := linkPage.Execute(&b, v); err != nil {
		return renderedPage{}, fmt.Errorf("link page: %w", err)
	}
	return renderedPage{key: key, html: b.Bytes()}, nil
}

// linkStatus is a long poll: it answers when the document's version differs
// from the one the page shows, or after statusPollWait with the same one.
func (s *Server) linkStatus(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	since, _ := strconv.ParseInt(r.URL.Query().Get("version"), 10, 64)
	s.longPoll(w, r, func(timedOut bool) (bool, error) {
		d, err := s.Service.LinkDocument(r.Context(), token)
		if err != nil || (d.Version == since && !timedOut) {
			return false, err
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": d.Status, "version": d.Version,
			"status_ru": s.Cat.Status("ru", d.Status), "status_kk": s.Cat.Status("kk", d.Status)})
		return true, nil
	})
}

// longPoll holds a status request until answer reports it answered (what
// it watches changed, or timedOut: the poll's wait is over), asking again
// every statusPollEvery on the server's clock. An error is answered as a
// refusal.
func (s *Server) longPoll(w http.ResponseWriter, r *http.Request, answer func(timedOut bool) (bool, error)) {
	clock := s.clock()
	deadline := clock.Now().Add(statusPollWait)
	waitBeforeAnswer(w, statusPollWait)
	for {
		done, err := answer(clock.Now().After(deadline))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if done || !s.pause(r.Context(), clock, statusPollEvery) {
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
	rc, d, err := s.Service.OpenOriginalByLink(r.Context(), r.PathValue("token"), s.visitor(r))
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.writePDF(w, rc, d, "inline", core.OriginalFileName(d), d.File.Size)
}

// linkCard is the link visitor's «Электронная карточка». Like the rest of
// the link it is gone once the document is revoked (410): the sender keeps
// the revoked card in the chat and the API.
func (s *Server) linkCard(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	rc, d, err := s.Service.CardByLink(r.Context(), token, strings.TrimRight(s.PublicURL, "/")+"/d/"+token, s.visitor(r))
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.writePDF(w, rc, d, "attachment", s.cardName(r, d), -1)
}

// both is a text in Russian and Kazakh, one after the other (or once when
// they are the same).
func (s *Server) both(key string) string {
	ru, kk := s.Cat.Text("ru", key, nil), s.Cat.Text("kk", key, nil)
	if ru == kk {
		return ru
	}
	return ru + " · " + kk
}

// linkDemoSign signs a demo document with the demo key of the side whose
// turn it is: the recipient first, then the sender. The CMS goes through
// SignCMSByLink like NCALayer's, so the demo verifier checks it and core
// records it (and refuses any document that is not a demo one).
func (s *Server) linkDemoSign(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	d, err := s.Service.LinkDocument(r.Context(), token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	side := core.SideRecipient
	if d.SignedBy(side) {
		side = core.SideSender
	}
	rc, _, err := s.Service.OpenOriginalByLink(r.Context(), token, s.visitor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	file, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		s.fail(w, r, fmt.Errorf("demo sign: read the file: %w", err))
		return
	}
	cms, err := s.DemoSigner(r.Context(), d, side, file)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, side, err = s.Service.SignCMSByLink(r.Context(), token, cms, "demo")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": d.Status, "side": side, "version": d.Version})
}
