package web

import (
	"net/http"
	"strings"

	"github.com/google/uuid"

	"edobot/bot/i18n"
	"edobot/core"
)

// Signing through a broker (EDOBOT_EGOV_VIA=sigex, docs/sigex.md): the QR
// and launch links are the broker's, and since the app then talks to the
// broker, not to us, the page learns how the signing went from us: a
// status that the link page follows.

// ViaSIGEX names the broker in the start answer.
const ViaSIGEX = "sigex"

// egovViaPath is where a brokered signing's QR and status live; the id is
// the path's secret.
const egovViaPath = "/egov-via/"

func (s *Server) egovViaRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+egovViaPath+"{id}/qr.png", s.egovViaQR)
	mux.HandleFunc("GET "+egovViaPath+"{id}/status", s.limited(rateStatus, s.egovViaStatus))
}

// writeBrokeredStart answers a start as the direct protocol does, with the
// broker's QR image and links, and the status URL; there is no API №1 of
// ours to give.
func (s *Server) writeBrokeredStart(w http.ResponseWriter, r *http.Request, bs *core.BrokerSession, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	base := strings.TrimRight(s.PublicURL, "/") + egovViaPath + bs.ID
	var out egovStart
	out.QRPNGURL, out.StatusURL, out.Via = base+"/qr.png", base+"/status", ViaSIGEX
	out.DeepLinks.EgovMobile, out.DeepLinks.EgovBusiness = bs.Registration.MobileLink, bs.Registration.BusinessLink
	out.ExpiresAt = bs.Registration.ExpiresAt.UTC()
	writeJSON(w, http.StatusCreated, out)
}

// apiBrokeredStart is the API's eGov session through the broker; the app's
// «Назад» leads to the document's link page.
func (s *Server) apiBrokeredStart(w http.ResponseWriter, r *http.Request, a core.Actor, id uuid.UUID) {
	d, _, err := s.Service.Document(r.Context(), a, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	bs, err := s.Service.StartBrokeredFor(r.Context(), a, id, s.linkURL(d.LinkToken))
	s.writeBrokeredStart(w, r, bs, err)
}

// egovViaQR serves the broker's QR while the signing can still begin.
func (s *Server) egovViaQR(w http.ResponseWriter, r *http.Request) {
	bs, err := s.Service.BrokerSession(r.Context(), r.PathValue("id"))
	if err == nil && bs.State != core.BrokerWaiting {
		err = core.ErrEgovSession
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(bs.Registration.QRPNG))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(bs.Registration.QRPNG)
}

type egovViaStatus struct {
	State   core.BrokerState `json:"state"`
	Final   bool             `json:"final"`
	Message string           `json:"message"`
}

// egovViaStatus is a long poll: it answers when the signing's state differs
// from ?state=, or after statusPollWait with the same one.
func (s *Server) egovViaStatus(w http.ResponseWriter, r *http.Request) {
	since := core.BrokerState(r.URL.Query().Get("state"))
	lang := i18n.Lang(acceptLanguage(r))
	s.longPoll(w, r, func(timedOut bool) (bool, error) {
		bs, err := s.Service.BrokerSession(r.Context(), r.PathValue("id"))
		if err != nil || (bs.State == since && !timedOut) {
			return false, err
		}
		out := egovViaStatus{State: bs.State, Final: bs.State.Final()}
		if bs.Refusal != nil {
			out.Message = s.Cat.Error(lang, bs.Refusal)
		} else {
			out.Message = s.Cat.Text(lang, "egov.via."+string(bs.State), nil)
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, out)
		return true, nil
	})
}

// EgovCaptions writes, with the catalogue, what the eGov app is shown
// through a broker: the same titles and details as our own API №2, in
// Russian where one language must be chosen before the app asks.
func EgovCaptions(cat *i18n.Catalog) core.EgovCaptions { return captions{&Server{Cat: cat}} }

type captions struct{ s *Server }

func (c captions) Document(d *core.Document) core.EgovTexts {
	out := core.EgovTexts{Description: c.s.Cat.Text("ru", "egov.sign_description", map[string]any{"Title": c.s.title("ru", d)}),
		NameRu: c.s.title("ru", d), NameKz: c.s.title("kk", d), NameEn: c.s.title("en", d)}
	for _, m := range c.s.documentMeta("ru", d) {
		out.Meta = append(out.Meta, core.EgovMeta{Name: m.Name, Value: m.Value})
	}
	return out
}

func (c captions) Challenge(data []byte) core.EgovTexts {
	cat := c.s.Cat
	return core.EgovTexts{Description: cat.Text("ru", "egov.signin_description", map[string]any{"Who": challengeWho(data)}),
		NameRu: cat.Text("ru", "egov.signin_name", nil), NameKz: cat.Text("kk", "egov.signin_name", nil),
		NameEn: cat.Text("en", "egov.signin_name", nil),
		Meta: []core.EgovMeta{{Name: cat.Text("ru", "egov.meta_purpose", nil), Value: cat.Text("ru", "egov.signin_purpose", nil)},
			{Name: cat.Text("ru", "egov.meta_chat", nil), Value: challengeWho(data)}}}
}
