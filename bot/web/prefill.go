package web

import (
	"io"
	"net/http"
	"time"

	"edobot/core"
)

// An accounting system may send the PDF first with prefill=true and get
// back what its text proposes, to fill its own form; nothing is created.
// The file is checked as for a create and stored, so a create with the
// same bytes that follows stores nothing new.

type apiProposal struct {
	Type      core.DocType      `json:"type,omitempty"`
	Number    string            `json:"number,omitempty"`
	Date      string            `json:"date,omitempty"` // yyyy-mm-dd
	Recipient *apiProposedParty `json:"recipient,omitempty"`
	// TextRead is false for a PDF without readable text (a scan).
	TextRead bool `json:"text_read"`
}

type apiProposedParty struct {
	Kind   core.PartyKind `json:"kind"`
	IINBIN string         `json:"iin_bin"`
	Name   string         `json:"name,omitempty"`
	Phone  string         `json:"phone,omitempty"`
	// Known says the party is already in the organisation's directory.
	Known bool `json:"known"`
}

func (s *Server) apiPrefill(w http.ResponseWriter, r *http.Request, a core.Actor, file io.Reader) {
	info, p, err := s.Service.StageDocument(r.Context(), a, file)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p.Unread != nil {
		s.Log.InfoContext(r.Context(), "document text not read", "err", p.Unread)
	}
	out := apiProposal{Type: p.Type, Number: p.Number, TextRead: p.Unread == nil}
	if !p.Date.IsZero() {
		out.Date = p.Date.Format(time.DateOnly)
	}
	if q := p.Recipient; q != nil {
		out.Recipient = &apiProposedParty{Kind: q.Kind, IINBIN: q.Number, Name: q.Name, Phone: q.Phone, Known: q.ID != 0}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"proposal": out,
		"file":     apiFile{SHA256: info.SHA256, Size: info.Size, Pages: info.Pages},
	})
}
