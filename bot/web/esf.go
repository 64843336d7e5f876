package web

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"edobot/bot/i18n"
	"edobot/core"
	"edobot/core/egov"
)

// What the web side does for ИС ЭСФ: the one-time page where a manager
// enters the cabinet password (a form POST over HTTPS, never a chat
// message), and the signing of a ticket as XML by the eGov app (our QR
// protocol, signMethod XML) or on the NCALayer page with the
// authentication key. The chats hear the outcome through the outbox.

var (
	esfPasswordPage = template.Must(template.ParseFS(templates, "templates/esf_password.html"))
	esfTicketPage   = template.Must(template.ParseFS(templates, "templates/esf_ticket.html"))
)

// maxESFForm bounds the password form and the signed ticket.
const (
	maxESFForm   = 8 << 10
	maxESFTicket = 256 << 10
)

func (s *Server) esfRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+egov.ESFPasswordPath+"{id}", s.esfOn(s.esfPasswordView))
	mux.HandleFunc("POST "+egov.ESFPasswordPath+"{id}", s.limited(rateSign, s.esfOn(s.esfPasswordSave)))
	mux.HandleFunc("GET "+egov.ESFTicketPath+"{id}", s.esfOn(s.esfTicketView))
	mux.HandleFunc("POST "+egov.ESFTicketPath+"{id}/sign", s.limited(rateSign, s.esfOn(s.esfTicketSign)))
	mux.HandleFunc("GET "+egov.TicketPath+"{id}/"+egov.MgovSign, s.esfOn(s.esfEgovDescribe))
	mux.HandleFunc("GET "+egov.TicketPath+"{id}/documents", s.esfOn(s.esfEgovData))
	mux.HandleFunc("PUT "+egov.TicketPath+"{id}/documents", s.esfOn(s.esfEgovSign))
}

// esfOn answers 404 while ИС ЭСФ is off.
func (s *Server) esfOn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Service.ESF == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}
}

type langLink struct {
	Code, Name string
	Current    bool
}

// langLinks are the languages a page offers, current marked.
func langLinks(current string) []langLink {
	var out []langLink
	for _, c := range i18n.Choices {
		out = append(out, langLink{Code: c.Code, Name: c.Name, Current: c.Code == current})
	}
	return out
}

// texts are a page's texts in one language, by the key after prefix.
func (s *Server) texts(lang, prefix string, data map[string]any, keys ...string) map[string]string {
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k] = s.Cat.Text(lang, prefix+k, data)
	}
	return out
}

// esfPageHeaders are a page's headers, letting its form post to us.
func (s *Server) esfPageHeaders(w http.ResponseWriter) {
	s.pageHeaders(w, formPage)
	w.Header().Set("Referrer-Policy", "no-referrer")
}

// esfGone answers a link that is unknown, used or expired with a page in
// the three languages.
func (s *Server) esfGone(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, core.ErrESFLinkGone) && !errors.Is(err, core.ErrESFNotBound) {
		s.fail(w, r, err)
		return
	}
	s.noticePage(w, http.StatusGone, err)
}

func (s *Server) esfPasswordView(w http.ResponseWriter, r *http.Request) {
	s.renderPasswordPage(w, r, http.StatusOK, "", false)
}

func (s *Server) renderPasswordPage(w http.ResponseWriter, r *http.Request, status int, errText string, saved bool) {
	id := r.PathValue("id")
	lang := requestLang(r)
	data := map[string]any{"Lang": lang, "Langs": langLinks(lang), "Action": egov.ESFPasswordPath + id, "Error": errText, "Saved": saved}
	var until string
	if !saved {
		u, org, expires, err := s.Service.ESF.PasswordPage(r.Context(), id)
		if err != nil {
			s.esfGone(w, r, err)
			return
		}
		data["Org"], data["IIN"] = org.Name+" ("+org.Number+")", u.IIN
		until = expires.In(core.KazakhstanTime).Format("15:04")
	}
	data["T"] = s.texts(lang, "esfweb.password.", map[string]any{"Until": until},
		"title", "intro", "iin", "until", "label", "save", "note", "saved")
	s.esfPageHeaders(w)
	w.WriteHeader(status)
	if err := esfPasswordPage.Execute(w, data); err != nil {
		s.Log.Warn("esf password page", "err", err)
	}
}

// esfPasswordSave keeps the password. It is read from the form only and
// goes nowhere but to the sealing use case: never into a log or an error.
func (s *Server) esfPasswordSave(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxESFForm)
	if err := r.ParseForm(); err != nil {
		s.renderPasswordPage(w, r, http.StatusBadRequest, s.Cat.Text(requestLang(r), "error.bad_request", nil), false)
		return
	}
	err := s.Service.ESF.SetPasswordByPage(r.Context(), r.PathValue("id"), r.PostForm.Get("password"))
	switch {
	case err == nil:
		s.renderPasswordPage(w, r, http.StatusOK, "", true)
	case errors.Is(err, core.ErrESFLinkGone), errors.Is(err, core.ErrESFNotBound):
		s.esfGone(w, r, err)
	case i18n.ErrorCode(err) != "":
		s.renderPasswordPage(w, r, http.StatusUnprocessableEntity, s.Cat.Error(requestLang(r), err), false)
	default:
		s.fail(w, r, err)
	}
}

func (s *Server) esfTicketView(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ticket, u, expires, err := s.Service.ESF.TicketToSign(r.Context(), id)
	if err != nil {
		s.esfGone(w, r, err)
		return
	}
	org, err := s.Service.Organisation(r.Context(), u.OrgID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lang := requestLang(r)
	data := map[string]any{"Lang": lang, "Langs": langLinks(lang), "BaseURL": egov.ESFTicketPath + id, "Ticket": ticket,
		"Org": org.Name + " (" + org.Number + ")", "IIN": u.IIN, "NCALayerURL": s.ncalayerURL(),
		"T": s.texts(lang, "esfweb.ticket.", map[string]any{"Until": expires.In(core.KazakhstanTime).Format("15:04")},
			"title", "intro", "iin", "until", "check", "done", "not_running", "cancelled", "network")}
	s.esfPageHeaders(w)
	if err := esfTicketPage.Execute(w, data); err != nil {
		s.Log.Warn("esf ticket page", "err", err)
	}
}

func (s *Server) esfTicketSign(w http.ResponseWriter, r *http.Request) {
	var in struct {
		XML string `json:"xml"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxESFTicket)).Decode(&in); err != nil || strings.TrimSpace(in.XML) == "" {
		// The page's own script sends it: the person reads only that the
		// request was not understood, in the page's language.
		writeError(w, http.StatusBadRequest, "bad_request", s.Cat.Text(requestLang(r), "error.bad_request", nil))
		return
	}
	_, t, err := s.Service.ESF.SignTicketPage(r.Context(), r.PathValue("id"), []byte(in.XML))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ticket_id": t.ID, "expires_at": t.ExpiresAt.UTC()})
}

// esfEgovDescribe is API №1 of a ticket's signing.
func (s *Server) esfEgovDescribe(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	u, token, expires, err := s.Service.ESF.DescribeTicket(r.Context(), id)
	if err != nil {
		s.failApp(w, r, err)
		return
	}
	org, err := s.Service.Organisation(r.Context(), u.OrgID)
	if err != nil {
		s.failApp(w, r, err)
		return
	}
	lang := i18n.Lang(acceptLanguage(r))
	desc := s.Cat.Text(lang, "egov.esf_description", map[string]any{"Org": org.Name, "IIN": u.IIN})
	writeJSON(w, http.StatusOK, egov.NewDescription(desc, expires,
		egov.Organisation{NameRu: org.Name, NameKz: org.Name, NameEn: org.Name, BIN: org.Number},
		egov.API2(egov.TicketAPI1(s.PublicURL, id)), token, core.KazakhstanTime))
}

// esfEgovData is API №2: the ticket as documentXml, signMethod XML.
func (s *Server) esfEgovData(w http.ResponseWriter, r *http.Request) {
	ticket, u, err := s.Service.ESF.TicketForApp(r.Context(), r.PathValue("id"), bearer(r))
	if err != nil {
		s.failApp(w, r, err)
		return
	}
	lang := i18n.Lang(acceptLanguage(r))
	names := egov.Names{s.Cat.Text("ru", "egov.esf_name", nil), s.Cat.Text("kk", "egov.esf_name", nil), s.Cat.Text("en", "egov.esf_name", nil)}
	meta := []egov.Meta{{Name: s.Cat.Text(lang, "egov.meta_purpose", nil), Value: s.Cat.Text(lang, "egov.esf_purpose", nil)},
		{Name: s.Cat.Text(lang, "egov.meta_iin", nil), Value: u.IIN}}
	writeJSON(w, http.StatusOK, egov.OneXML(names, meta, ticket))
}

// esfEgovSign takes the app's PUT: the same JSON with documentXml signed.
func (s *Server) esfEgovSign(w http.ResponseWriter, r *http.Request) {
	var in egov.XMLDocuments
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxESFTicket)).Decode(&in); err != nil ||
		len(in.DocumentsToSign) != 1 || strings.TrimSpace(in.DocumentsToSign[0].DocumentXML) == "" {
		writeJSON(w, http.StatusBadRequest, egov.Error{Code: "bad_request", Message: s.Cat.Text(i18n.Lang(acceptLanguage(r)), "error.bad_request", nil)})
		return
	}
	u, _, err := s.Service.ESF.SignTicketApp(r.Context(), r.PathValue("id"), bearer(r), []byte(in.DocumentsToSign[0].DocumentXML))
	if err != nil {
		s.failApp(w, r, err)
		return
	}
	done := egov.Done{Message: egov.Success}
	if s.ChatLink != nil && u != nil {
		done.BackURL = s.ChatLink(u.Channel)
	}
	writeJSON(w, http.StatusOK, done)
}
