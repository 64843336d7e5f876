package nca

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// maxFailedAIA bounds the memory of AIA URLs that failed.
const maxFailedAIA = 1024

// FetchIssuer fetches the issuer a certificate names in its AIA caIssuers
// URL, when no trusted or carried certificate is its issuer. The URL comes
// from a certificate anyone can make, so it is only asked when its host is
// one the trust list downloads from (NCA's), the download is bounded in size
// and time, a URL that failed is not asked again for AIARetryAfter, and the
// certificate is kept only if it is a CA that chains to a trusted root. A
// kept one is stored, so a restart does not fetch it again. Whether it
// issued cert is the verifier's to check: a genuine NCA CA is worth keeping
// either way. It returns nil, nil when the certificate names no issuer URL.
func (t *Trust) FetchIssuer(ctx context.Context, cert *x509.Certificate) (*x509.Certificate, error) {
	var errs []error
	for i, u := range cert.IssuingCertificateURL {
		if i == maxAIAURLs {
			break
		}
		if known := t.fetchedFrom(u); known != nil {
			return known, nil
		}
		if err := t.aiaAllowed(u); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u, err))
			continue
		}
		if until, ok := t.failedUntil(u); ok {
			errs = append(errs, fmt.Errorf("%s failed shortly before; not asked again before %s", u, until.Format("15:04:05")))
			continue
		}
		// Verifications that need the same URL at once share one download,
		// which one caller giving up does not cut short for the others.
		ch := t.fetches.DoChan(u, func() (any, error) { return t.fetchIssuer(context.WithoutCancel(ctx), u) })
		var res singleflight.Result
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case res = <-ch:
		}
		if res.Err == nil {
			return res.Val.(*x509.Certificate), nil
		}
		t.markFailed(u)
		t.log().Warn("a certificate's issuer could not be fetched from its AIA URL", "url", u, "err", res.Err)
		errs = append(errs, fmt.Errorf("%s: %w", u, res.Err))
	}
	return nil, errors.Join(errs...)
}

func (t *Trust) fetchIssuer(ctx context.Context, u string) (*x509.Certificate, error) {
	issuer, err := t.fetchCertificate(ctx, t.aiaClient(), u)
	if err != nil {
		return nil, err
	}
	if err := checkCA(issuer); err != nil {
		return nil, err
	}
	if selfSigned(issuer) {
		return nil, errors.New("a root: roots come only from the trust list")
	}
	roots, intermediates := t.TrustedCAs()
	if !chainsTo(issuer, roots, intermediates) {
		return nil, errors.New("the certificate there does not chain to a trusted root")
	}
	r := recordOf(issuer, u, OriginAIA, t.now())
	if err := t.Store.SaveTrustedCertificate(ctx, r); err != nil {
		// Trusted now all the same; the next restart fetches it again.
		t.log().Error("storing an issuer fetched from AIA", "url", u, "err", err)
	}
	t.mu.Lock()
	st := t.state
	st.certs = append(st.certs[:len(st.certs):len(st.certs)], Certificate{Record: r, Cert: issuer})
	st.intermediates = append(st.intermediates[:len(st.intermediates):len(st.intermediates)], issuer)
	t.state = st
	t.mu.Unlock()
	t.log().Info("a certificate's issuer fetched from its AIA URL and trusted", "url", u, "subject", r.Subject, "sha256", r.SHA256)
	return issuer, nil
}

// aiaClient is the client that follows a redirect only to a host of the list.
func (t *Trust) aiaClient() *http.Client {
	client := *t.client()
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		return t.aiaAllowed(req.URL.String())
	}
	return &client
}

// fetchedFrom is the certificate trusted from an AIA URL before, if any.
func (t *Trust) fetchedFrom(u string) *x509.Certificate {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, c := range t.state.certs {
		if c.Origin == OriginAIA && c.SourceURL == u {
			return c.Cert
		}
	}
	return nil
}

// aiaAllowed accepts a plain http(s) URL of a certificate file on a host
// (and port) the trust list downloads from: no query, fragment, user or
// unclean path, which would let one certificate name endless addresses of
// the same file.
func (t *Trust) aiaAllowed(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return errors.New("not an http(s) URL")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" || path.Clean(u.Path) != u.Path ||
		!(strings.HasSuffix(u.Path, ".cer") || strings.HasSuffix(u.Path, ".crt")) {
		return errors.New("not a plain address of a certificate file")
	}
	for _, s := range t.Sources {
		if su, err := url.Parse(s.URL); err == nil && strings.EqualFold(su.Hostname(), u.Hostname()) && su.Port() == u.Port() {
			return nil
		}
	}
	return errors.New("not a host of the trust list")
}

func (t *Trust) failedUntil(u string) (until time.Time, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	until, ok = t.failed[u]
	return until, ok && t.now().Before(until)
}

func (t *Trust) markFailed(u string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == nil || len(t.failed) >= maxFailedAIA {
		t.failed = map[string]time.Time{}
	}
	t.failed[u] = t.now().Add(AIARetryAfter)
}
