package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"

	"edobot/core/iinbin"
)

// Webhook is where an organisation's accounting system hears of every
// status change of its documents.
type Webhook struct {
	OrgID  int64
	URL    string
	Secret string
}

// WebhookStore keeps webhooks.
type WebhookStore interface {
	SetWebhook(ctx context.Context, h Webhook) error
	Webhook(ctx context.Context, orgID int64) (Webhook, error) // ErrNotFound when none
	// RemoveWebhook removes the organisation's webhook; false when it had none.
	RemoveWebhook(ctx context.Context, orgID int64) (bool, error)
}

// CodeInvalidURL refuses a webhook address.
const CodeInvalidURL Code = "invalid_webhook_url"

// SetWebhook points the organisation's webhook at rawURL with a new secret,
// which is returned once for the accounting system to check signatures.
func (s *Organisations) SetWebhook(ctx context.Context, orgNumber, rawURL string) (Webhook, error) {
	org, err := s.store.OrganisationByNumber(ctx, iinbin.Normalize(orgNumber))
	if err != nil {
		return Webhook{}, err
	}
	rawURL, err = TextWebhookURL.Clean(rawURL)
	if err != nil {
		return Webhook{}, err
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		// Deliveries carry document data: plain HTTP only to this machine.
		return Webhook{}, &Refusal{Code: CodeInvalidURL, Field: "url", Detail: rawURL}
	}
	h := Webhook{OrgID: org.ID, URL: u.String(), Secret: NewToken()}
	if err := s.webhooks.SetWebhook(ctx, h); err != nil {
		return Webhook{}, wrapf(err, "set webhook")
	}
	return h, nil
}

// OrganisationWebhook is the organisation's webhook; ErrNotFound when it
// has none. Its secret is not returned: it was shown once, when set.
func (s *Organisations) OrganisationWebhook(ctx context.Context, orgNumber string) (Webhook, *Organisation, error) {
	org, err := s.store.OrganisationByNumber(ctx, iinbin.Normalize(orgNumber))
	if err != nil {
		return Webhook{}, nil, err
	}
	h, err := s.webhooks.Webhook(ctx, org.ID)
	if err != nil {
		return Webhook{}, org, err
	}
	h.Secret = ""
	return h, org, nil
}

// RemoveWebhook stops the organisation's deliveries: status changes from
// now on go nowhere. false when it had no webhook.
func (s *Organisations) RemoveWebhook(ctx context.Context, orgNumber string) (bool, *Organisation, error) {
	org, err := s.store.OrganisationByNumber(ctx, iinbin.Normalize(orgNumber))
	if err != nil {
		return false, nil, err
	}
	removed, err := s.webhooks.RemoveWebhook(ctx, org.ID)
	if err != nil {
		return false, org, wrapf(err, "remove webhook")
	}
	return removed, org, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// WebhookSignature is the value of the X-Edobot-Signature header of a
// delivery: HMAC-SHA256 over "<unix timestamp>.<body>" with the secret, so
// a receiver can reject both forged and replayed deliveries.
func WebhookSignature(secret string, unix int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(unix, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhookSignature checks a delivery's signature in constant time.
func VerifyWebhookSignature(secret string, unix int64, body []byte, signature string) bool {
	return hmac.Equal([]byte(WebhookSignature(secret, unix, body)), []byte(signature))
}
