package tgtest

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// setWebhook records url and secret_token. Unlike Telegram, plain http:// is
// accepted so tests can point it at an httptest.Server.
func (s *Server) setWebhook(_ *http.Request, p *params) (any, *apiError) {
	raw, secret := p.v["url"], p.v["secret_token"]
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, badRequest("bad webhook: An HTTPS URL must be provided for webhook")
	}
	if secret != "" && !secretRE.MatchString(secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.hookSecret = raw, secret
	s.updSig.fire() // wake the delivery loop
	return true, nil
}

func (s *Server) deleteWebhook(_ *http.Request, _ *params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.hookSecret = "", ""
	s.updSig.fire()
	return true, nil
}

// webhookLoop pushes queued updates to the webhook one at a time, in order,
// while one is set. An update leaves the queue once the webhook accepted it
// (2xx); until then it is tried again, waiting twice as long each time (up to
// a second), as Telegram keeps retrying.
func (s *Server) webhookLoop() {
	defer s.wg.Done()
	// Generous: a slow answer on a loaded machine is not a failed delivery.
	client := &http.Client{Timeout: time.Minute}
	backoff := time.Duration(0)
	for {
		s.mu.Lock()
		hook, secret := s.hookURL, s.hookSecret
		var q queued
		if hook != "" && len(s.queue) > 0 {
			q = s.queue[0]
		}
		wake := s.updSig.wait()
		s.mu.Unlock()

		if q.raw == nil {
			backoff = 0
			select {
			case <-wake:
				continue
			case <-s.done:
				return
			}
		}
		if backoff > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return
			}
		}
		if !s.deliver(client, hook, secret, q.raw) {
			backoff = min(max(2*backoff, 10*time.Millisecond), time.Second)
			continue
		}
		backoff = 0
		s.mu.Lock()
		if len(s.queue) > 0 && s.queue[0].id == q.id {
			s.dropLocked(1)
		}
		s.mu.Unlock()
	}
}

// deliver POSTs one update to the webhook and reports whether it took it.
func (s *Server) deliver(client *http.Client, hook, secret string, raw []byte) bool {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, hook, bytes.NewReader(raw))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}
