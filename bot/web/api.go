package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"edobot/bot/i18n"
	"edobot/core"
	"edobot/core/pdfintake"
)

// The REST API for accounting systems: /api/v1, authorised by an API key
// (`edobot apikey create`) and scoped to the key's organisation.

type apiSignature struct {
	Side     core.Side `json:"side"`
	IIN      string    `json:"iin"`
	BIN      string    `json:"bin"`
	Name     string    `json:"name"`
	Key      string    `json:"key"`
	SignedAt time.Time `json:"signed_at"`
}

type apiDocument struct {
	ID         uuid.UUID      `json:"id"`
	Status     core.Status    `json:"status"`
	Link       string         `json:"link"`
	Type       core.DocType   `json:"type"`
	Number     string         `json:"number"`
	Date       string         `json:"date"`
	Side       core.Side      `json:"side"`
	Sender     apiParty       `json:"sender"`
	Recipient  apiParty       `json:"recipient"`
	File       apiFile        `json:"file"`
	Signatures []apiSignature `json:"signatures"`
	BaseRef    string         `json:"base_ref"`
	BaseLocked bool           `json:"base_locked"`
	Archived   bool           `json:"archived"`
	Deleted    bool           `json:"deleted"`
	Actions    []core.Action  `json:"actions"`
	Version    int64          `json:"version"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

type apiParty struct {
	Kind   core.PartyKind `json:"kind,omitempty"`
	IINBIN string         `json:"iin_bin"`
	Name   string         `json:"name"`
}

type apiFile struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Pages  int    `json:"pages"`
}

func (s *Server) apiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/documents", s.api(s.apiCreate))
	mux.HandleFunc("GET /api/v1/documents", s.api(s.apiList))
	mux.HandleFunc("GET /api/v1/documents/{id}", s.api(s.apiGet))
	mux.HandleFunc("PATCH /api/v1/documents/{id}", s.api(s.apiPatch))
	mux.HandleFunc("DELETE /api/v1/documents/{id}", s.api(s.apiDelete))
	mux.HandleFunc("POST /api/v1/documents/{id}/{action}", s.api(s.apiAction))
	mux.HandleFunc("GET /api/v1/documents/{id}/files/original", s.api(s.apiOriginal))
	mux.HandleFunc("GET /api/v1/documents/{id}/files/ezsigner", s.api(s.apiEzSigner))
	mux.HandleFunc("GET /api/v1/documents/{id}/files/card", s.api(s.apiCard))
}

type apiHandler func(w http.ResponseWriter, r *http.Request, a core.Actor)

// api authenticates the key; an unknown or missing key is a 401.
func (s *Server) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := s.Service.Authenticate(r.Context(), bearer(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r, a)
	}
}

func (s *Server) link(d *core.Document) string {
	return strings.TrimRight(s.PublicURL, "/") + "/d/" + d.LinkToken
}

func (s *Server) apiDoc(d *core.Document, side core.Side, sigs []core.Signature) apiDocument {
	out := apiDocument{ID: d.ID, Status: d.Status, Link: s.link(d), Type: d.Type, Number: d.Number,
		Date: d.Date.Format(time.DateOnly), Side: side,
		Sender:    apiParty{IINBIN: d.SenderNumber, Name: d.SenderName},
		Recipient: apiParty{Kind: d.RecipientKind, IINBIN: d.RecipientNumber, Name: d.RecipientName},
		File:      apiFile{SHA256: d.File.SHA256, Size: d.File.Size, Pages: d.File.Pages},
		BaseRef:   d.BaseRef, BaseLocked: d.BaseLocked(), Archived: d.ArchivedBy(side), Deleted: d.DeletedAt != nil,
		Actions: core.Allowed(d, side), Version: d.Version, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		Signatures: []apiSignature{}}
	if out.Actions == nil {
		out.Actions = []core.Action{}
	}
	if d.DeletedAt != nil {
		// A deleted document's link is dead: do not hand it out.
		out.Link = ""
	}
	for _, g := range sigs {
		out.Signatures = append(out.Signatures, apiSignature{Side: g.Side, IIN: g.Signer.IIN, BIN: g.Signer.BIN,
			Name: g.Signer.FullName, Key: string(g.Signer.KeyKind), SignedAt: g.SignedAt})
	}
	return out
}

// writeDoc answers with the document as the actor sees it.
func (s *Server) writeDoc(w http.ResponseWriter, r *http.Request, status int, d *core.Document, a core.Actor) {
	side, err := core.ActorSide(d, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sigs, err := s.Service.Signers(r.Context(), []uuid.UUID{d.ID})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(d.Version))
	writeJSON(w, status, s.apiDoc(d, side, sigs[d.ID]))
}

// answerDoc finishes a handler whose use case returned a document: the
// refusal of err, or the document with status.
func (s *Server) answerDoc(w http.ResponseWriter, r *http.Request, a core.Actor, status int, d *core.Document, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeDoc(w, r, status, d, a)
}

// A document's ETag is its version: any change a client could overwrite
// bumps it. It is strong, so that If-Match can use it (RFC 9110, 13.1.1).
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads the versions an If-Match header accepts (RFC 9110, 13.1.1):
// strong entity tags of ours. any is true for "*", which names no version;
// a weak or foreign tag can never match and is left out.
func ifMatch(h string) (versions []int64, any bool) {
	for _, tag := range strings.Split(h, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" {
			return nil, true
		}
		if len(tag) < 2 || tag[0] != '"' || tag[len(tag)-1] != '"' {
			continue
		}
		if v, err := strconv.ParseInt(tag[1:len(tag)-1], 10, 64); err == nil && v > 0 {
			versions = append(versions, v)
		}
	}
	return versions, false
}

// precondition settles the version an edit is made on from If-Match and the
// body's version, answering the refusal itself: an If-Match that cannot
// match is 412, one that matches another version than the body names too.
func (s *Server) precondition(w http.ResponseWriter, r *http.Request, a core.Actor, id uuid.UUID, bodyVersion int64) (int64, bool) {
	h := r.Header.Get("If-Match")
	if h == "" {
		return bodyVersion, true
	}
	versions, any := ifMatch(h)
	if any {
		// "*" would overwrite whatever is there: exactly what the version
		// is for. A version must be named.
		return bodyVersion, true
	}
	v := int64(0)
	switch len(versions) {
	case 0:
	case 1:
		v = versions[0]
	default:
		cur, _, err := s.Service.Document(r.Context(), a, id)
		if err != nil {
			s.fail(w, r, err)
			return 0, false
		}
		for _, x := range versions {
			if x == cur.Version {
				v = x
			}
		}
	}
	if v == 0 || bodyVersion != 0 && bodyVersion != v {
		s.failStatus(w, r, core.ErrStale, http.StatusPreconditionFailed)
		return 0, false
	}
	return v, true
}

// parseUpload reads a multipart request (see readUpload), answering a
// failure itself. The caller closes the upload when ok.
func (s *Server) parseUpload(w http.ResponseWriter, r *http.Request, usage string) (*upload, bool) {
	u, err := s.readUpload(w, r)
	switch {
	case err == nil:
		return u, true
	case errors.Is(err, errBadForm):
		s.badRequest(w, r, usage)
	default:
		s.fail(w, r, err)
	}
	return nil, false
}

// parseDate reads an API date (YYYY-MM-DD), answering the refusal itself.
func (s *Server) parseDate(w http.ResponseWriter, r *http.Request, v string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		s.fail(w, r, &core.Refusal{Code: core.CodeInvalidDate, Field: "date", Format: "YYYY-MM-DD"})
		return time.Time{}, false
	}
	return t, true
}

func docID(w http.ResponseWriter, r *http.Request, s *Server) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, core.ErrNotFound)
		return uuid.Nil, false
	}
	return id, true
}

func (s *Server) apiCreate(w http.ResponseWriter, r *http.Request, a core.Actor) {
	up, ok := s.parseUpload(w, r, "multipart form: file, type, number, date, recipient_kind, recipient_iin_bin, recipient_name")
	if !ok {
		return
	}
	defer up.Close()
	if up.file == nil {
		s.fail(w, r, pdfintake.ErrEmpty)
		return
	}
	v := func(name string) string { s, _ := up.value(name); return s }
	if v("prefill") == "true" {
		s.apiPrefill(w, r, a, up.file)
		return
	}
	date, ok := s.parseDate(w, r, v("date"))
	if !ok {
		return
	}
	in := core.NewDocument{
		Recipient: core.PartyInput{Kind: core.PartyKind(v("recipient_kind")), Number: v("recipient_iin_bin"),
			Name: v("recipient_name"), Phone: v("recipient_phone")},
		Type: core.DocType(v("type")), Number: v("number"), Date: date,
		BaseRef: v("base_ref"), IdempotencyKey: r.Header.Get("Idempotency-Key"), FileName: up.fileName,
	}
	d, err := s.Service.CreateDocument(r.Context(), a, in, up.file)
	s.answerDoc(w, r, a, http.StatusCreated, d, err)
}

func (s *Server) apiGet(w http.ResponseWriter, r *http.Request, a core.Actor) {
	id, ok := docID(w, r, s)
	if !ok {
		return
	}
	d, _, err := s.Service.Document(r.Context(), a, id)
	s.answerDoc(w, r, a, http.StatusOK, d, err)
}

func (s *Server) apiList(w http.ResponseWriter, r *http.Request, a core.Actor) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	offset, _ := strconv.Atoi(q.Get("offset"))
	docs, err := s.Service.Folder(r.Context(), a, core.Folder(q.Get("folder")), core.FolderQuery{Search: q.Get("q"), Limit: limit, Offset: offset})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := make([]uuid.UUID, len(docs))
	for i := range docs {
		ids[i] = docs[i].ID
	}
	sigs, err := s.Service.Signers(r.Context(), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []apiDocument{}
	for i := range docs {
		side, err := core.ActorSide(&docs[i], a)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, s.apiDoc(&docs[i], side, sigs[docs[i].ID]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"documents": out})
}

type apiPatchBody struct {
	Version   int64            `json:"version"`
	Type      *core.DocType    `json:"type"`
	Number    *string          `json:"number"`
	Date      *string          `json:"date"`
	BaseRef   *string          `json:"base_ref"`
	Recipient *core.PartyInput `json:"recipient"`
}

func (s *Server) apiPatch(w http.ResponseWriter, r *http.Request, a core.Actor) {
	id, ok := docID(w, r, s)
	if !ok {
		return
	}
	var body apiPatchBody
	var file io.Reader
	var fileName string
	if isMultipart(r) {
		// A new file, with any fields, as multipart: the same fields as JSON.
		up, ok := s.parseUpload(w, r, "multipart form: file and the fields to change")
		if !ok {
			return
		}
		defer up.Close()
		if up.file != nil {
			file, fileName = up.file, up.fileName
		}
		opt := func(name string) *string {
			if v, ok := up.value(name); ok {
				return &v
			}
			return nil
		}
		if v, ok := up.value("version"); ok {
			body.Version, _ = strconv.ParseInt(v, 10, 64)
		}
		if t := opt("type"); t != nil {
			dt := core.DocType(*t)
			body.Type = &dt
		}
		body.Number, body.Date, body.BaseRef = opt("number"), opt("date"), opt("base_ref")
	} else if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		s.badRequest(w, r, "JSON body: version, type, number, date, base_ref, recipient")
		return
	}
	version, ok := s.precondition(w, r, a, id, body.Version)
	if !ok {
		return
	}
	e := core.DocumentEdit{Version: version, Type: body.Type, Number: body.Number, BaseRef: body.BaseRef, Recipient: body.Recipient, File: file,
		FileName: fileName}
	if body.Date != nil {
		t, ok := s.parseDate(w, r, *body.Date)
		if !ok {
			return
		}
		e.Date = &t
	}
	d, err := s.Service.EditDocument(r.Context(), a, id, e)
	if errors.Is(err, core.ErrStale) && r.Header.Get("If-Match") != "" {
		s.failStatus(w, r, err, http.StatusPreconditionFailed)
		return
	}
	s.answerDoc(w, r, a, http.StatusOK, d, err)
}

func (s *Server) apiDelete(w http.ResponseWriter, r *http.Request, a core.Actor) {
	id, ok := docID(w, r, s)
	if !ok {
		return
	}
	if err := s.Service.DeleteDocument(r.Context(), a, id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiAction(w http.ResponseWriter, r *http.Request, a core.Actor) {
	id, ok := docID(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	var d *core.Document
	var err error
	status := http.StatusOK
	switch r.PathValue("action") {
	case "revoke":
		d, err = s.Service.Revoke(ctx, a, id)
	case "archive":
		d, err = s.Service.Archive(ctx, a, id)
	case "unarchive":
		d, err = s.Service.Unarchive(ctx, a, id)
	case "copy":
		d, err = s.Service.Copy(ctx, a, id, r.Header.Get("Idempotency-Key"))
		status = http.StatusCreated
	case "egov":
		if s.Service.ViaBroker() {
			s.apiBrokeredStart(w, r, a, id)
			return
		}
		// The app's «Назад» leads to the document's link page.
		sess, err := s.Service.StartEgovSessionFor(ctx, a, id, s.EgovTTL, "")
		s.writeEgovStart(w, r, sess, err)
		return
	default:
		s.fail(w, r, core.ErrNotFound)
		return
	}
	s.answerDoc(w, r, a, status, d, err)
}

func (s *Server) apiOriginal(w http.ResponseWriter, r *http.Request, a core.Actor) {
	id, ok := docID(w, r, s)
	if !ok {
		return
	}
	rc, d, err := s.Service.OpenOriginal(r.Context(), a, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writePDF(w, rc, d, "attachment", core.OriginalFileName(d), d.File.Size)
}

// apiEzSigner is the «Версия для ezSigner»: one attached CMS with the
// document and every signature given, for verification services.
func (s *Server) apiEzSigner(w http.ResponseWriter, r *http.Request, a core.Actor) {
	id, ok := docID(w, r, s)
	if !ok {
		return
	}
	cms, d, err := s.Service.EzSigner(r.Context(), a, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pkcs7-mime")
	w.Header().Set("Content-Disposition", contentDisposition("attachment", s.ezSignerName(r, d)))
	_, _ = w.Write(cms)
}

// apiCard is the «Электронная карточка»: the document with every page marked
// and a sheet of the signatures, as one PDF. Its QR codes and footers point at
// the document's link page, which answers for the document.
func (s *Server) apiCard(w http.ResponseWriter, r *http.Request, a core.Actor) {
	id, ok := docID(w, r, s)
	if !ok {
		return
	}
	d, _, err := s.Service.Document(r.Context(), a, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc, d, err := s.Service.Card(r.Context(), a, id, s.link(d))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writePDF(w, rc, d, "attachment", s.cardName(r, d), -1)
}

func (s *Server) badRequest(w http.ResponseWriter, r *http.Request, detail string) {
	writeError(w, http.StatusBadRequest, "bad_request", s.Cat.Text(i18n.Lang(acceptLanguage(r)), "error.bad_request", nil)+" "+detail)
}
