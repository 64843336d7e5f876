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
