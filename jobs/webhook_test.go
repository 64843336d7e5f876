package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"edobot/core"
)

func TestDeliverWebhook(t *testing.T) {
	secret := core.NewToken()
	m := core.OutboxMessage{ID: uuid.New(), DocumentID: uuid.New(), Kind: core.OutboxSigned,
		Payload: []byte(`{"status":"signed","previous_status":"signing"}`), CreatedAt: time.Now()}
	answer := http.StatusOK
	var got struct {
		Kind string
		Data map[string]string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get("X-Edobot-Timestamp"), 10, 64)
		if !core.VerifyWebhookSignature(secret, ts, body, r.Header.Get("X-Edobot-Signature")) || r.Header.Get("X-Edobot-Event") != m.ID.String() {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = json.Unmarshal(body, &got)
		w.WriteHeader(answer)
	}))
	defer srv.Close()
	h := core.Webhook{URL: srv.URL, Secret: secret}
	ctx := context.Background()
	if err := DeliverWebhook(ctx, nil, h, m, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got.Kind != core.OutboxSigned || got.Data["status"] != "signed" {
		t.Fatalf("received %+v", got)
	}
	// A wrong secret is caught by the receiver, and that is permanent.
	if err := DeliverWebhook(ctx, nil, core.Webhook{URL: srv.URL, Secret: core.NewToken()}, m, time.Now()); !errors.Is(err, ErrPermanent) {
		t.Fatalf("wrong secret: %v", err)
	}
	// 5xx and 429 are worth retrying; other 4xx are not.
	answer = http.StatusServiceUnavailable
	if err := DeliverWebhook(ctx, nil, h, m, time.Now()); err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("503: %v", err)
	}
	answer = http.StatusTooManyRequests
	if err := DeliverWebhook(ctx, nil, h, m, time.Now()); err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("429: %v", err)
	}
	answer = http.StatusGone
	if err := DeliverWebhook(ctx, nil, h, m, time.Now()); !errors.Is(err, ErrPermanent) {
		t.Fatalf("410: %v", err)
	}
	// A signature for another timestamp or body does not verify.
	body, _ := WebhookBody(m)
	sig := core.WebhookSignature(secret, 100, body)
	if core.VerifyWebhookSignature(secret, 101, body, sig) || core.VerifyWebhookSignature(secret, 100, append(body, ' '), sig) {
		t.Fatal("a replayed or altered delivery verifies")
	}
}
