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

	"github.com/hibiken/asynq"

	"edobot/core"
)

// ErrPermanent marks a delivery that retrying cannot fix (the receiver
// refused it with a 4xx other than 408 and 429).
var ErrPermanent = errors.New("webhook: refused by the receiver")

// WebhookBody is what a receiver gets for one outbox event.
// The acting chat user is this server's own business and is left out.
func WebhookBody(m core.OutboxMessage) ([]byte, error) {
	data := m.Payload
	if bytes.Contains(data, []byte(`"actor_chat_user_id"`)) {
		var p map[string]json.RawMessage
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, err
		}
		delete(p, "actor_chat_user_id")
		var err error
		if data, err = json.Marshal(p); err != nil {
			return nil, err
		}
	}
	return json.Marshal(struct {
		ID        string          `json:"id"`
		Kind      string          `json:"kind"`
		CreatedAt time.Time       `json:"created_at"`
		Data      json.RawMessage `json:"data"`
	}{m.ID.String(), m.Kind, m.CreatedAt.UTC(), data})
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

// TaskWebhook delivers one outbox event to the sender organisation's webhook.
const TaskWebhook = "webhook:deliver"

func webhookTask(m core.OutboxMessage) (*asynq.Task, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("webhook task: %w", err)
	}
	return asynq.NewTask(TaskWebhook, b), nil
}

// handleWebhook posts the event to the webhook the sender's organisation has
// now, if any. asynq retries what failed with backoff; a refusal the
// receiver means is final.
func (r *Runner) handleWebhook(ctx context.Context, t *asynq.Task) error {
	var m core.OutboxMessage
	if err := json.Unmarshal(t.Payload(), &m); err != nil {
		return fmt.Errorf("webhook payload: %v: %w", err, asynq.SkipRetry)
	}
	var p struct {
		SenderOrgID int64 `json:"sender_org_id"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || p.SenderOrgID == 0 {
		return fmt.Errorf("webhook %s: no sender organisation in the event: %w", m.ID, asynq.SkipRetry)
	}
	h, err := r.store.Webhook(ctx, p.SenderOrgID)
	if errors.Is(err, core.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("webhook %s: %w", m.ID, err)
	}
	err = DeliverWebhook(ctx, r.http, h, m, r.now())
	switch {
	case err == nil:
		r.metrics.webhooks.WithLabelValues("ok").Inc()
		return nil
	case errors.Is(err, ErrPermanent):
		r.metrics.webhooks.WithLabelValues("refused").Inc()
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	r.metrics.webhooks.WithLabelValues("error").Inc()
	return err
}
