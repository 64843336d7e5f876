package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"

	"edobot/bot/i18n"
	"edobot/core"
)

// The eGov Mobile / eGov Business QR signing protocol (PROTOCOLS.md §2 and
// docs/nca-and-egov-reference.md). Every constant of the protocol is here.
const (
	egovQRPrefix   = "mobileSign:"
	egovAuthType   = "Token"
	egovSignMethod = "CMS_SIGN_ONLY"
	egovVersion    = 2
	egovPDFMime    = "@file/pdf"
)

// EgovLinks are the deep-link templates; %s is the URL-encoded session URL.
// They are configuration because the link service may change.
type EgovLinks struct {
	Mobile   string
	Business string
}

// DefaultEgovLinks are the app stores' published deep links.
var DefaultEgovLinks = EgovLinks{
	Mobile:   "https://mgovsign.page.link/?link=%s&isi=1476128386&ibi=kz.egov.mobile&apn=kz.mobile.mgov",
	Business: "https://egovbusiness.page.link/?link=%s&isi=1597880144&ibi=kz.mobile.mgov.business&apn=kz.mobile.mgov.business",
}

// maxEgovBody bounds the app's PUT: base64 of the largest CMS plus JSON.
const maxEgovBody = 40 << 20

type egovStart struct {
	SessionURL string `json:"session_url"`
	QRPayload  string `json:"qr_payload"`
	QRPNGURL   string `json:"qr_png_url"`
	DeepLinks  struct {
		EgovMobile   string `json:"egov_mobile"`
		EgovBusiness string `json:"egov_business"`
	} `json:"deep_links"`
	ExpiresAt time.Time `json:"expires_at"`
}

type egovOrganisation struct {
	NameRu string `json:"nameRu"`
	NameKz string `json:"nameKz"`
	NameEn string `json:"nameEn"`
	BIN    string `json:"bin"`
}

type egovDescription struct {
	Description  string           `json:"description"`
	ExpiryDate   string           `json:"expiry_date"`
	Organisation egovOrganisation `json:"organisation"`
	Document     struct {
		URI       string `json:"uri"`
		AuthType  string `json:"auth_type"`
		AuthToken string `json:"auth_token"`
	} `json:"document"`
}

type egovMeta struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type egovDocuments struct {
	SignMethod      string               `json:"signMethod"`
	Version         int                  `json:"version"`
	DocumentsToSign []egovDocumentToSign `json:"documentsToSign"`
}

type egovDocumentToSign struct {
	ID       int        `json:"id"`
	NameRu   string     `json:"nameRu"`
	NameKz   string     `json:"nameKz"`
	NameEn   string     `json:"nameEn"`
	Meta     []egovMeta `json:"meta"`
	Document struct {
		File struct {
			Mime string `json:"mime"`
			Data string `json:"data"`
		} `json:"file"`
	} `json:"document"`
}

func (s *Server) egovRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /d/{token}/egov", s.egovStart)
	mux.HandleFunc("GET /egov/{session}", s.egovDescribe)
	mux.HandleFunc("GET /egov/{session}/qr.png", s.egovQR)
	mux.HandleFunc("GET /egov/{session}/documents", s.egovDocument)
	mux.HandleFunc("PUT /egov/{session}/documents", s.egovSign)
}

func (s *Server) links() EgovLinks {
	if s.EgovLinks.Mobile == "" {
		return DefaultEgovLinks
	}
	return s.EgovLinks
}

func (s *Server) egovStart(w http.ResponseWriter, r *http.Request) {
	sess, err := s.Service.StartEgovSession(r.Context(), r.PathValue("token"), s.EgovTTL)
	s.writeEgovStart(w, r, sess, err)
}

func (s *Server) writeEgovStart(w http.ResponseWriter, r *http.Request, sess *core.EgovSession, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u := strings.TrimRight(s.PublicURL, "/") + "/egov/" + sess.ID
	var out egovStart
	out.SessionURL, out.QRPayload, out.QRPNGURL, out.ExpiresAt = u, egovQRPrefix+u, u+"/qr.png", sess.ExpiresAt.UTC()
	l := s.links()
	out.DeepLinks.EgovMobile = fmt.Sprintf(l.Mobile, url.QueryEscape(u))
	out.DeepLinks.EgovBusiness = fmt.Sprintf(l.Business, url.QueryEscape(u))
	writeJSON(w, http.StatusCreated, out)
}

// egovQR draws the session's QR for a second phone to scan.
func (s *Server) egovQR(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("session")
	if err := s.Service.EgovSessionLive(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	png, err := qrcode.Encode(egovQRPrefix+strings.TrimRight(s.PublicURL, "/")+"/egov/"+id, qrcode.Medium, 512)
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

func (s *Server) egovDescribe(w http.ResponseWriter, r *http.Request) {
	d, token, expires, err := s.Service.EgovDescribe(r.Context(), r.PathValue("session"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var out egovDescription
	out.Description = "Подписание: " + s.title("ru", d)
	out.ExpiryDate = expires.UTC().Format("2006-01-02T15:04:05.000Z")
	out.Organisation = egovOrganisation{NameRu: d.SenderName, NameKz: d.SenderName, NameEn: d.SenderName, BIN: d.SenderNumber}
	out.Document.URI = strings.TrimRight(s.PublicURL, "/") + "/egov/" + r.PathValue("session") + "/documents"
	out.Document.AuthType, out.Document.AuthToken = egovAuthType, token
	writeJSON(w, http.StatusOK, out)
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
		s.fail(w, r, err)
		return
	}
	meta := []egovMeta{{"Номер", d.Number}, {"Дата", d.Date.Format("02.01.2006")}, {"Отправитель", d.SenderName},
		{"Получатель", d.RecipientName}, {"SHA-256", d.File.SHA256}}
	writeJSON(w, http.StatusOK, egovOne([3]string{s.title("ru", d), s.title("kk", d), s.title("en", d)}, meta, egovPDFMime, pdf))
}

func (s *Server) egovSign(w http.ResponseWriter, r *http.Request) {
	cms, ok := s.readEgovCMS(w, r, maxEgovBody)
	if !ok {
		return
	}
	if _, _, err := s.Service.EgovSign(r.Context(), r.PathValue("session"), bearer(r), cms); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, egovSuccess)
}

// egovSuccess is the app's expected answer to a PUT it may consider done.
var egovSuccess = map[string]string{"code": "200", "message": "success"}

// readEgovCMS reads the app's PUT: the documentsToSign it was given, with
// the base64 CMS in place of the data. A malformed one is answered 400.
func (s *Server) readEgovCMS(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	var in egovDocuments
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit)).Decode(&in); err == nil && len(in.DocumentsToSign) == 1 {
		if cms, err := base64.StdEncoding.DecodeString(in.DocumentsToSign[0].Document.File.Data); err == nil && len(cms) > 0 {
			return cms, true
		}
	}
	writeError(w, http.StatusBadRequest, "bad_request", s.Cat.Text(i18n.Lang(acceptLanguage(r)), "error.bad_request", nil))
	return nil, false
}

// egovOne is API №2's answer with one thing to sign.
func egovOne(names [3]string, meta []egovMeta, mime string, data []byte) egovDocuments {
	out := egovDocuments{SignMethod: egovSignMethod, Version: egovVersion}
	out.DocumentsToSign = make([]egovDocumentToSign, 1)
	doc := &out.DocumentsToSign[0]
	doc.ID = 1
	doc.NameRu, doc.NameKz, doc.NameEn = names[0], names[1], names[2]
	doc.Meta = meta
	doc.Document.File.Mime = mime
	doc.Document.File.Data = base64.StdEncoding.EncodeToString(data)
	return out
}

func acceptLanguage(r *http.Request) string {
	l := r.Header.Get("Accept-Language")
	if i := strings.IndexAny(l, ",;"); i >= 0 {
		l = l[:i]
	}
	return strings.TrimSpace(l)
}

// fail answers a refusal with its own status and message in the caller's
// language, and an internal error with a generic 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	lang := i18n.Lang(acceptLanguage(r))
	code := i18n.ErrorCode(err)
	if code == "" {
		s.Log.Error("request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", s.Cat.Error(lang, err))
		return
	}
	status := statusOf(err, code)
	writeError(w, status, code, s.Cat.Error(lang, err))
}

// statusOf maps a refusal to its HTTP status.
func statusOf(err error, code string) int {
	switch {
	case errors.Is(err, core.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, core.ErrEgovSession), errors.Is(err, core.ErrRevoked), errors.Is(err, core.ErrDeleted):
		return http.StatusGone
	case errors.Is(err, core.ErrAPIKeyInvalid):
		return http.StatusUnauthorized
	case errors.Is(err, core.ErrEgovToken), errors.Is(err, core.ErrSenderOnly), errors.Is(err, core.ErrSubscription),
		errors.Is(err, core.ErrOrgUnknown):
		return http.StatusForbidden
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
