package nca

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"edobot/core/signature"
)

// Outcome is what an update did with one URL.
type Outcome string

const (
	Added     Outcome = "added"     // a certificate where there was none
	Changed   Outcome = "changed"   // another certificate than before
	Unchanged Outcome = "unchanged" // the same bytes again
	Failed    Outcome = "failed"    // not downloaded, or refused: what was trusted before stays
	Removed   Outcome = "removed"   // no longer listed, or an AIA certificate whose root went
)

// Change is one line of an update's report.
type Change struct {
	URL      string
	Outcome  Outcome
	Kind     Kind
	Subject  string
	SHA256   string
	Previous string // the SHA-256 before a change
	Err      error  // why it failed
	Kept     bool   // failed, and the certificate stored before is still trusted
}

// Report is what an update did, URL by URL.
type Report struct {
	At      time.Time
	Changes []Change
}

// Count is how many changes had the outcome.
func (r Report) Count(o Outcome) int {
	n := 0
	for _, c := range r.Changes {
		if c.Outcome == o {
			n++
		}
	}
	return n
}

// download is one source's answer.
type download struct {
	src  Source
	cert *x509.Certificate
	err  error
}

// Update downloads every source, checks each certificate and stores those
// that pass: a root must be a CA certificate that signed itself (and carry
// the pinned key, when there is one); an intermediate must be a CA
// certificate that chains to a root trusted now or in this download. A URL
// whose download fails or is refused keeps the certificate stored before.
// Then the trust in force becomes what is stored. The error is the
// store's; refusals are in the report.
func (t *Trust) Update(ctx context.Context) (Report, error) {
	t.updating.Lock()
	defer t.updating.Unlock()
	now := t.now()
	rep := Report{At: now}
	stored, err := t.Store.TrustedCertificates(ctx)
	if err != nil {
		return rep, err
	}
	previous := map[string]Record{}
	for _, r := range stored {
		previous[r.SourceURL] = r
	}
	got := t.downloadAll(ctx)

	// The roots first: the intermediates are judged against them.
	var roots, intermediates []*x509.Certificate
	for _, e := range t.Extra {
		if selfSigned(e.Cert) {
			roots = append(roots, e.Cert)
		} else {
			intermediates = append(intermediates, e.Cert)
		}
	}
	// What a failed URL had stays trusted, and may vouch for the others.
	fallback := func(url string) {
		if r, ok := previous[url]; ok && r.Origin == OriginList {
			if c, err := x509.ParseCertificate(r.DER); err == nil {
				if r.Kind == KindRoot {
					roots = append(roots, c)
				} else {
					intermediates = append(intermediates, c)
				}
			}
		}
	}
	var pending []*download
	for i := range got {
		d := &got[i]
		switch {
		case d.err != nil:
			fallback(d.src.URL)
		case selfSigned(d.cert):
			if d.err = checkRoot(d.src, d.cert); d.err == nil {
				roots = append(roots, d.cert)
			} else {
				fallback(d.src.URL)
			}
		default:
			if d.err = checkCA(d.cert); d.err == nil {
				pending = append(pending, d)
			} else {
				fallback(d.src.URL)
			}
		}
	}
	// An intermediate may chain through another of the same download.
	for progress := true; progress; {
		progress = false
		for i, d := range pending {
			if d != nil && chainsTo(d.cert, roots, intermediates) {
				intermediates = append(intermediates, d.cert)
				pending[i], progress = nil, true
			}
		}
	}
	for _, d := range pending {
		if d != nil {
			d.err = fmt.Errorf("does not chain to a trusted root: its issuer %q is not trusted", d.cert.Issuer.CommonName)
			fallback(d.src.URL)
		}
	}

	for _, d := range got {
		old, had := previous[d.src.URL]
		had = had && old.Origin == OriginList
		if d.err != nil {
			rep.Changes = append(rep.Changes, Change{URL: d.src.URL, Outcome: Failed, Err: d.err, Kept: had,
				Kind: old.Kind, Subject: old.Subject, SHA256: old.SHA256})
			continue
		}
		r := recordOf(d.cert, d.src.URL, OriginList, now)
		ch := Change{URL: d.src.URL, Outcome: Added, Kind: r.Kind, Subject: r.Subject, SHA256: r.SHA256}
		switch {
		case had && old.SHA256 == r.SHA256:
			ch.Outcome, r.ChangedAt = Unchanged, old.ChangedAt
		case had:
			ch.Outcome, ch.Previous = Changed, old.SHA256
		}
		if err := t.Store.SaveTrustedCertificate(ctx, r); err != nil {
			return rep, fmt.Errorf("nca: store %s: %w", d.src.URL, err)
		}
		rep.Changes = append(rep.Changes, ch)
	}

	listed := map[string]bool{}
	for _, s := range t.Sources {
		listed[s.URL] = true
	}
	for _, r := range stored {
		gone := r.Origin == OriginList && !listed[r.SourceURL]
		if r.Origin == OriginAIA {
			c, err := x509.ParseCertificate(r.DER)
			gone = err != nil || !chainsTo(c, roots, intermediates)
		}
		if !gone {
			continue
		}
		if err := t.Store.DeleteTrustedCertificate(ctx, r.SourceURL); err != nil {
			return rep, fmt.Errorf("nca: remove %s: %w", r.SourceURL, err)
		}
		rep.Changes = append(rep.Changes, Change{URL: r.SourceURL, Outcome: Removed, Kind: r.Kind, Subject: r.Subject, SHA256: r.SHA256})
	}
	if err := t.Load(ctx); err != nil {
		return rep, err
	}
	return rep, nil
}

// checkRoot refuses a self-signed certificate that is not a CA's, whose
// signature does not verify, or that lacks the pinned key.
func checkRoot(src Source, c *x509.Certificate) error {
	if err := checkCA(c); err != nil {
		return err
	}
	if !signature.IssuedBy(c, c) {
		return errors.New("self-signed, but its signature does not verify")
	}
	if src.Key != "" {
		sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
		if hex.EncodeToString(sum[:]) != src.Key {
			return errors.New("its key is not the one pinned for this URL")
		}
	}
	return nil
}

// downloadAll fetches every source at once; a slow host delays the update
// by one timeout, not one per certificate.
func (t *Trust) downloadAll(ctx context.Context) []download {
	got := make([]download, len(t.Sources))
	var wg sync.WaitGroup
	for i, s := range t.Sources {
		got[i].src = s
		wg.Go(func() {
			got[i].cert, got[i].err = t.fetchCertificate(ctx, t.client(), s.URL)
		})
	}
	wg.Wait()
	return got
}

// fetchCertificate downloads and parses one certificate, DER or PEM.
func (t *Trust) fetchCertificate(ctx context.Context, client *http.Client, url string) (*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, DownloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/pkix-cert, application/x-x509-ca-cert, */*")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxCertificateSize+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxCertificateSize {
		return nil, fmt.Errorf("larger than %d bytes: not a certificate", MaxCertificateSize)
	}
	c, err := signature.ParseCertificate(body)
	if err != nil {
		return nil, fmt.Errorf("not a certificate: %w", err)
	}
	return c, nil
}
