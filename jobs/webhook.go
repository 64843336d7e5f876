package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"edobot/core"
)

// ErrPermanent marks a delivery that retrying cannot fix (the receiver
// refused it with a 4xx other than 408 and 429).
var ErrPermanent = errors.New("webhook: refused by the receiver")

// WebhookBody is what a receiver gets for one outbox event.
func WebhookBody(m core.OutboxMessage) ([]byte, error) {
	return json.Marshal(struct {
		ID        string          `json:"id"`
		Kind      string          `json:"kind"`
		CreatedAt time.Time       `json:"created_at"`
		Data      json.RawMessage `json:"data"`
	}{m.ID.String(), m.Kind, m.CreatedAt.UTC(), m.Payload})
}

// DeliverWebhook posts one event, signed, to the organisation's webhook. The
// event id travels as X-Edobot-Event so a receiver can drop a repeat.
func DeliverWebhook(ctx context.Context, client *http.Client, h core.Webhook, m core.OutboxMessage, now time.Time) error {
	body, err := WebhookBody(m)
	if err != nil {
		return fmt.Errorf("webhook body: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "edobot-webhook/1")
	req.Header.Set("X-Edobot-Event", m.ID.String())
	req.Header.Set("X-Edobot-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Edobot-Signature", core.WebhookSignature(h.Secret, ts, body))
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", m.ID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("webhook %s: receiver answered %s", m.ID, resp.Status)
	}
	return fmt.Errorf("%w: %s", ErrPermanent, resp.Status)
}
