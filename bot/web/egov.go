package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"

	"edobot/bot/i18n"
	"edobot/core"
	"edobot/core/egov"
	"edobot/core/refusal"
)

// maxEgovBody bounds the app's PUT: base64 of the largest CMS plus JSON.
const maxEgovBody = 40 << 20

// egovStart is what starts a session for a page or an API client: API №1,
// the QR payload and image, and the deep links of both apps.
type egovStart struct {
	SessionURL string `json:"session_url"`
	QRPayload  string `json:"qr_payload"`
	QRPNGURL   string `json:"qr_png_url"`
	DeepLinks  struct {
		EgovMobile   string `json:"egov_mobile"`
		EgovBusiness string `json:"egov_business"`
	} `json:"deep_links"`
	ExpiresAt time.Time `json:"expires_at"`
	// Through a broker (EDOBOT_EGOV_VIA=sigex): which one, and where the
	// page follows the signing, since the app cannot tell it.
	Via       string `json:"via,omitempty"`
	StatusURL string `json:"status_url,omitempty"`
}

func (s *Server) egovRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /d/{token}/egov", s.limited(rateSign, s.egovStart))
	mux.HandleFunc("GET /egov/{session}/"+egov.MgovSign, s.egovDescribe)
	mux.HandleFunc("GET /egov/{session}", s.egovDescribe) // sessions started before mgovSign
	mux.HandleFunc("GET /egov/{session}/qr.png", s.egovQR)
	mux.HandleFunc("GET /egov/{session}/documents", s.egovDocument)
	mux.HandleFunc("PUT /egov/{session}/documents", s.egovSign)
	s.egovViaRoutes(mux)
}

func (s *Server) egovStart(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if s.Service.ViaBroker() {
		bs, err := s.Service.StartBrokeredByLink(r.Context(), token, s.linkURL(token))
		s.writeBrokeredStart(w, r, bs, err)
		return
	}
	// Signed from the link page: the app's «Назад» returns to it.
	sess, err := s.Service.StartEgovSession(r.Context(), token, s.EgovTTL, s.linkURL(token))
	s.writeEgovStart(w, r, sess, err)
}

func (s *Server) linkURL(token string) string {
	return strings.TrimRight(s.PublicURL, "/") + "/d/" + token
}

func (s *Server) writeEgovStart(w http.ResponseWriter, r *http.Request, sess *core.EgovSession, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := egov.NewLaunch(s.EgovLinks, egov.DocumentAPI1(s.PublicURL, sess.ID))
	var out egovStart
	out.SessionURL, out.QRPayload, out.ExpiresAt = l.API1, l.QRPayload, sess.ExpiresAt.UTC()
	out.QRPNGURL = strings.TrimRight(s.PublicURL, "/") + egov.DocumentPath + sess.ID + "/qr.png"
	out.DeepLinks.EgovMobile, out.DeepLinks.EgovBusiness = l.Mobile, l.Business
	writeJSON(w, http.StatusCreated, out)
}

// egovQR draws the session's QR for a second phone to scan.
func (s *Server) egovQR(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("session")
	if err := s.Service.EgovSessionLive(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	png, err := qrcode.Encode(egov.NewLaunch(s.EgovLinks, egov.DocumentAPI1(s.PublicURL, id)).QRPayload, qrcode.Medium, 512)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(png)
}

// title names the document in one language: "Договор №12 от 01.11.2026".
func (s *Server) title(lang string, d *core.Document) string {
	no := map[string]string{"ru": "№%s от %s", "kk": "№%s, %s", "en": "No. %s of %s"}[lang]
	return s.Cat.Text(lang, "type."+string(d.Type), nil) + " " + fmt.Sprintf(no, d.Number, d.Date.Format("02.01.2006"))
}

// egovDescribe is API №1: what the app shows before it asks for the data,
// in the app's language.
func (s *Server) egovDescribe(w http.ResponseWriter, r *http.Request) {
	session := r.PathValue("session")
	d, token, expires, err := s.Service.EgovDescribe(r.Context(), session)
	if err != nil {
		s.failApp(w, r, err)
		return
	}
	lang := i18n.Lang(acceptLanguage(r))
	org := egov.Organisation{NameRu: d.SenderName, NameKz: d.SenderName, NameEn: d.SenderName, BIN: d.SenderNumber}
	desc := s.Cat.Text(lang, "egov.sign_description", map[string]any{"Title": s.title(lang, d)})
	writeJSON(w, http.StatusOK, egov.NewDescription(desc, expires, org,
		egov.API2(egov.DocumentAPI1(s.PublicURL, session)), token, core.KazakhstanTime))
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func (s *Server) egovDocument(w http.ResponseWriter, r *http.Request) {
	d, pdf, err := s.Service.EgovDocument(r.Context(), r.PathValue("session"), bearer(r))
	if err != nil {
		s.failApp(w, r, err)
		return
	}
	meta := s.documentMeta(i18n.Lang(acceptLanguage(r)), d)
	writeJSON(w, http.StatusOK, egov.One(egov.Names{s.title("ru", d), s.title("kk", d), s.title("en", d)}, meta,
		s.pdfMime(), base64.StdEncoding.EncodeToString(pdf)))
}

// documentMeta is what the app shows beside a document, in one language.
func (s *Server) documentMeta(lang string, d *core.Document) []egov.Meta {
	t := func(key string) string { return s.Cat.Text(lang, key, nil) }
	return []egov.Meta{{Name: t("egov.meta_number"), Value: d.Number}, {Name: t("egov.meta_date"), Value: d.Date.Format("02.01.2006")},
		{Name: t("egov.meta_sender"), Value: d.SenderName}, {Name: t("egov.meta_recipient"), Value: d.RecipientName},
		{Name: "SHA-256", Value: d.File.SHA256}}
}

// pdfMime is the mime API №2 gives a PDF: application/pdf, unless the
// operator chose the legacy hint.
func (s *Server) pdfMime() string {
	if s.EgovPDFMime != "" {
		return s.EgovPDFMime
	}
	return egov.MimePDF
}

func (s *Server) egovSign(w http.ResponseWriter, r *http.Request) {
	cms, ok := s.readEgovCMS(w, r, maxEgovBody)
	if !ok {
		return
	}
	signed, err := s.Service.EgovSign(r.Context(), r.PathValue("session"), bearer(r), cms)
	if err != nil {
		s.failApp(w, r, err)
		return
	}
	back := signed.BackURL
	if back == "" {
		back = s.linkURL(signed.Document.LinkToken)
	}
	writeJSON(w, http.StatusOK, egov.Done{Message: egov.Success, BackURL: back})
}

// readEgovCMS reads the app's PUT: the documentsToSign it was given, with
// the base64 CMS in place of the data. A malformed one is answered 400.
func (s *Server) readEgovCMS(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	var in egov.Documents
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit)).Decode(&in); err == nil && len(in.DocumentsToSign) == 1 {
		if cms, err := base64.StdEncoding.DecodeString(in.DocumentsToSign[0].Document.File.Data); err == nil && len(cms) > 0 {
			return cms, true
		}
	}
	writeJSON(w, http.StatusBadRequest, egov.Error{Code: "bad_request",
		Message: s.Cat.Text(i18n.Lang(acceptLanguage(r)), "error.bad_request", nil)})
	return nil, false
}

// appForbidden are the refusals of a signature that did not pass
// validation besides refusal.Error (a broken or forged CMS, an untrusted,
// expired or revoked certificate): another person's or organisation's key,
// and an ИС ЭСФ ticket signed wrongly or not as asked.
var appForbidden = []error{
	core.ErrIDNumberMismatch,
	core.ErrESFTicketWrongSigner, core.ErrESFTicketNotAuth, core.ErrESFTicketWrongOrg, core.ErrESFTicketMalformed,
	core.ErrESFTicketNotXML, core.ErrESFTicketUnsigned, core.ErrESFTicketBroken,
}

// failApp answers the eGov app as its text asks: a top-level message in the
// app's language, which it shows as is, and 403 for a signature that did
// not pass validation (appForbidden).
func (s *Server) failApp(w http.ResponseWriter, r *http.Request, err error) {
	lang := i18n.Lang(acceptLanguage(r))
	if s.unavailable(w, r, err) {
		writeJSON(w, http.StatusServiceUnavailable, egov.Error{Code: string(core.CodeUnavailable), Message: s.Cat.Error(lang, core.ErrUnavailable)})
		return
	}
	code := i18n.ErrorCode(err)
	if code == "" {
		s.Log.Error("egov request failed", "route", r.Pattern, "err", err)
		writeJSON(w, http.StatusInternalServerError, egov.Error{Code: "internal", Message: s.Cat.Error(lang, err)})
		return
	}
	status := statusOf(err, code)
	var sig *refusal.Error
	if errors.As(err, &sig) {
		status = http.StatusForbidden
	}
	for _, e := range appForbidden {
		if errors.Is(err, e) {
			status = http.StatusForbidden
		}
	}
	writeJSON(w, status, egov.Error{Code: code, Message: s.Cat.Error(lang, err)})
}

func acceptLanguage(r *http.Request) string {
	l := r.Header.Get("Accept-Language")
	if i := strings.IndexAny(l, ",;"); i >= 0 {
		l = l[:i]
	}
	return strings.TrimSpace(l)
}

// fail answers a refusal with its own status and message in the caller's
// language (and the field it is about), the database being out of reach
// with a 503 to retry, and any other internal error with a generic 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.failStatus(w, r, err, 0)
}

// failStatus is fail with the status of a refusal set by the caller (0: the
// refusal's own), where HTTP's words differ from the API's usual ones.
func (s *Server) failStatus(w http.ResponseWriter, r *http.Request, err error, status int) {
	lang := i18n.Lang(acceptLanguage(r))
	if s.unavailable(w, r, err) {
		writeError(w, http.StatusServiceUnavailable, string(core.CodeUnavailable), s.Cat.Error(lang, core.ErrUnavailable))
		return
	}
	code := i18n.ErrorCode(err)
	if code == "" {
		s.Log.Error("request failed", "route", r.Pattern, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", s.Cat.Error(lang, err))
		return
	}
	if status == 0 {
		status = statusOf(err, code)
	}
	body := map[string]string{"code": code, "message": s.Cat.Error(lang, err)}
	if rf, ok := core.AsRefusal(err); ok && rf.Field != "" {
		body["field"] = rf.Field
	}
	writeJSON(w, status, map[string]any{"error": body})
}

// RetryAfterUnavailable is what a client is told to wait while the
// database is out of reach: the pool dials afresh for the next request.
const RetryAfterUnavailable = 5 * time.Second

// unavailable reports whether err means the database could not be reached
// (core.ErrStoreUnavailable), and if so sets Retry-After and logs it; the
// caller writes the 503.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, err error) bool {
	if !errors.Is(err, core.ErrStoreUnavailable) {
		return false
	}
	s.Log.Warn("database unreachable", "route", r.Pattern, "err", err)
	w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfterUnavailable/time.Second)))
	return true
}

// statusOf maps a refusal to its HTTP status.
func statusOf(err error, code string) int {
	switch {
	case errors.Is(err, core.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, core.ErrEgovBusy):
		return http.StatusTooManyRequests
	case errors.Is(err, core.ErrEgovSession), errors.Is(err, core.ErrRevoked), errors.Is(err, core.ErrDeleted),
		errors.Is(err, core.ErrESFLinkGone):
		return http.StatusGone
	case errors.Is(err, core.ErrAPIKeyInvalid):
		return http.StatusUnauthorized
	case errors.Is(err, core.ErrEgovBroker):
		return http.StatusServiceUnavailable
	case errors.Is(err, core.ErrEgovToken), errors.Is(err, core.ErrSenderOnly), errors.Is(err, core.ErrSubscription),
		errors.Is(err, core.ErrOrgUnknown):
		return http.StatusForbidden
	case errors.Is(err, core.ErrVersionRequired):
		return http.StatusPreconditionRequired
	case errors.Is(err, core.ErrStatusForbids), errors.Is(err, core.ErrAlreadySigned), errors.Is(err, core.ErrStale),
		errors.Is(err, core.ErrBaseInUse):
		return http.StatusConflict
	case code == "trust_not_loaded": // the service's trust is missing, not the signature's fault
		return http.StatusServiceUnavailable
	case code == "pdf_too_large":
		return http.StatusRequestEntityTooLarge
	case code == "pdf_not_pdf":
		return http.StatusUnsupportedMediaType
	case strings.HasPrefix(code, "iinbin_"), strings.HasPrefix(code, "invalid_"), code == "recipient_is_sender",
		code == "base_type_not_accounting":
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}
