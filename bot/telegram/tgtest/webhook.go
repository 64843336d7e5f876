package tgtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/go-telegram/bot/models"
)

// webhookAttempts and webhookBackoff bound delivery retries: Telegram retries
// for hours; tests want a failing webhook to show up quickly.
const (
	webhookAttempts = 5
	webhookBackoff  = 10 * time.Millisecond
)

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// setWebhook records url and secret_token. Unlike Telegram, plain http:// is
// accepted so tests can point it at an httptest.Server.
func (s *Server) setWebhook(_ *http.Request, p *params) (any, *apiError) {
	raw := p.v["url"]
	if raw == "" {
		return s.deleteWebhook(nil, p)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, badRequest("bad webhook: An HTTPS URL must be provided for webhook")
	}
	secret := p.v["secret_token"]
	if secret != "" && !secretRE.MatchString(secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	var allowed []string
	if a := p.v["allowed_updates"]; a != "" {
		if err := json.Unmarshal([]byte(a), &allowed); err != nil {
			return nil, badRequest("can't parse allowed updates")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	desc := "Webhook was set"
	if s.hookURL == raw && s.hookSecret == secret {
		desc = "Webhook is already set"
	}
	s.hookURL, s.hookSecret, s.hookAllowed = raw, secret, allowed
	if p.bool("drop_pending_updates") {
		s.dropLocked(len(s.queue))
	}
	s.updSig.fire() // wake the delivery loop and end a pending long poll
	return okResult{result: true, desc: desc}, nil
}

func (s *Server) deleteWebhook(_ *http.Request, p *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	desc := "Webhook was deleted"
	if s.hookURL == "" {
		desc = "Webhook is already deleted"
	}
	s.hookURL, s.hookSecret, s.hookAllowed = "", "", nil
	if p.bool("drop_pending_updates") {
		s.dropLocked(len(s.queue))
	}
	s.updSig.fire()
	return okResult{result: true, desc: desc}, nil
}

func (s *Server) getWebhookInfo(_ *http.Request, _ *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := models.WebhookInfo{URL: s.hookURL, PendingUpdateCount: len(s.queue)}
	if s.hookURL != "" {
		info.MaxConnections = 40
		info.AllowedUpdates = s.hookAllowed
		info.LastErrorDate = int(s.hookErrDate)
		info.LastErrorMessage = s.hookErrMsg
	}
	return info, nil
}

// webhookLoop pushes queued updates to the webhook one at a time, in order,
// while one is set. An update leaves the queue once the webhook accepted it
// (2xx) or every attempt failed (then it is recorded as the last error).
func (s *Server) webhookLoop() {
	defer s.wg.Done()
	// Generous: a slow answer on a loaded machine is not a failed delivery.
	client := &http.Client{Timeout: time.Minute}
	for {
		s.mu.Lock()
		hook, secret := s.hookURL, s.hookSecret
		var q queued
		var wake <-chan struct{}
		if hook != "" {
			if len(s.hookAllowed) > 0 {
				s.batchLocked(1, s.hookAllowed) // drops unsubscribed kinds
			}
			if len(s.queue) > 0 {
				q = s.queue[0]
			}
		}
		if q.raw == nil {
			wake = s.updSig.wait()
		}
		s.mu.Unlock()

		if q.raw == nil {
			select {
			case <-wake:
				continue
			case <-s.done:
				return
			}
		}

		delivered, err := s.deliver(client, hook, secret, q.raw)
		s.mu.Lock()
		if delivered || err != nil {
			if len(s.queue) > 0 && s.queue[0].id == q.id {
				s.dropLocked(1)
			}
		}
		s.mu.Unlock()
		select {
		case <-s.done:
			return
		default:
		}
	}
}

// deliver POSTs one update, retrying with a doubling backoff. It gives up
// early without an error (the update stays queued) if the webhook changes
// meanwhile or the server shuts down.
func (s *Server) deliver(client *http.Client, hook, secret string, raw []byte) (bool, error) {
	backoff := webhookBackoff
	var lastErr error
	for attempt := 0; attempt < webhookAttempts; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return false, nil
			}
			backoff *= 2
		}
		if cur, _ := s.Webhook(); cur != hook {
			return false, nil
		}
		req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, hook, bytes.NewReader(raw))
		if err != nil {
			return false, err
		}
		req.Header.Set("Content-Type", "application/json")
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := client.Do(req)
		if err != nil {
			if s.ctx.Err() != nil {
				return false, nil
			}
			lastErr = fmt.Errorf("Connection failed: %v", err)
			s.webhookFailed(lastErr)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return true, nil
		}
		// Telegram's getWebhookInfo wording for a non-2xx answer.
		lastErr = fmt.Errorf("Wrong response from the webhook: %s", resp.Status)
		s.webhookFailed(lastErr)
	}
	return false, lastErr
}

// webhookFailed records a failed attempt for getWebhookInfo, which keeps
// reporting the last error even after later deliveries succeed.
func (s *Server) webhookFailed(err error) {
	s.mu.Lock()
	s.hookErrDate, s.hookErrMsg = time.Now().Unix(), err.Error()
	s.mu.Unlock()
}
