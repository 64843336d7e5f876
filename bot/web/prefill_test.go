package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"edobot/core/prefill/prefilltest"
	"edobot/storage/storagetest"
)

// TestAPIPrefill: prefill=true returns the proposal and creates nothing; a
// party already in the directory comes back as known.
func TestAPIPrefill(t *testing.T) {
	f := storagetest.NewFixture(t)
	key, _, err := f.Svc.CreateAPIKey(t.Context(), f.Sender.Number)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc}
	srv := serve(t, s)
	c := apiClient{t, srv.URL, key}
	pdf := prefilltest.PDF(prefilltest.Page{Title: "АКТ ВЫПОЛНЕННЫХ РАБОТ № 45 от 30.11.2026", Lines: []string{
		"Исполнитель: ТОО «Отправитель», БИН " + f.Sender.Number,
		"Заказчик: ТОО «Лютик», БИН " + f.Recipient.Number + ", тел. +7 701 555 12 34",
	}})
	ask := func() map[string]any {
		t.Helper()
		body, ct := multipartBody(t, map[string]string{"prefill": "true"}, pdf)
		code, out := c.do("POST", "/api/v1/documents", body, ct)
		var got struct {
			Proposal apiProposal    `json:"proposal"`
			File     map[string]any `json:"file"`
		}
		if code != http.StatusOK || json.Unmarshal(out, &got) != nil {
			t.Fatalf("prefill: %d %s", code, out)
		}
		p := got.Proposal
		if p.Type != "act_waybill" || p.Number != "45" || p.Date != "2026-11-30" || !p.TextRead || p.Recipient == nil ||
			p.Recipient.IINBIN != f.Recipient.Number || p.Recipient.Kind != "counterparty" {
			t.Fatalf("proposal %s", out)
		}
		return map[string]any{"name": p.Recipient.Name, "phone": p.Recipient.Phone, "known": p.Recipient.Known}
	}
	if got := ask(); got["name"] != "ТОО «Лютик»" || got["phone"] != "+77015551234" || got["known"] != false {
		t.Fatalf("new party: %v", got)
	}
	code, out := c.do("GET", "/api/v1/documents?folder=outgoing", nil, "")
	if code != http.StatusOK || string(out) != `{"documents":[]}`+"\n" && string(out) != `{"documents":[]}` {
		t.Fatalf("prefill created something: %d %s", code, out)
	}
	// Once a document went to the party, the directory's name wins.
	f.Create(t)
	if got := ask(); got["name"] != "ТОО «Контрагент»" || got["known"] != true {
		t.Fatalf("known party: %v", got)
	}
}
