// Package nca is edobot's client of the National Certification Authority of
// Kazakhstan (НУЦ РК) for trust: it downloads the CA certificates NCA
// publishes, checks each before keeping it, keeps them in a store so that a
// restart without internet still trusts them, refreshes them daily, and
// fetches a missing intermediate from a certificate's AIA URL. A Trust is
// what core/signature's Verifier reads its CAs from.
package nca

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"edobot/core/signature"
)

// Kind is a CA certificate's place in the hierarchy.
type Kind string

const (
	KindRoot         Kind = "root"         // self-signed
	KindIntermediate Kind = "intermediate" // issued by a root or another intermediate
)

// Origin is how a certificate came to be trusted.
type Origin string

const (
	OriginList Origin = "list" // downloaded from the configured list
	OriginAIA  Origin = "aia"  // fetched from a certificate's caIssuers URL
	OriginFile Origin = "file" // a PEM file of EDOBOT_TRUSTED_CA; never stored
)

// Record is one trusted certificate as the store keeps it.
type Record struct {
	SourceURL string
	Origin    Origin
	Kind      Kind
	SHA256    string // of the DER, hex
	Subject   string
	Algorithm string
	NotBefore time.Time
	NotAfter  time.Time
	DER       []byte
	FetchedAt time.Time // the last download that brought these bytes
	ChangedAt time.Time // the first
}

// Store keeps the trusted certificates; storage.DB implements it.
type Store interface {
	TrustedCertificates(ctx context.Context) ([]Record, error)
	// SaveTrustedCertificate stores r in place of what its URL had.
	SaveTrustedCertificate(ctx context.Context, r Record) error
}

// Certificate is a trusted certificate and its record.
type Certificate struct {
	Record
	Cert *x509.Certificate
}

// Extra is a CA trusted besides NCA's downloads (EDOBOT_TRUSTED_CA), with
// where it came from.
type Extra struct {
	Cert   *x509.Certificate
	Source string
}

// Trust is the set of CAs signatures may chain to. Load it from the store,
// then Run it (or Update it once); it is safe for concurrent use.
type Trust struct {
	Sources []Source
	Store   Store
	Client  *http.Client // nil: one with DownloadTimeout
	Extra   []Extra
	Log     *slog.Logger
	// Interval is how often the certificates are downloaded again; 0 is
	// DefaultInterval. Retry is the first wait after a failed download; 0
	// is DefaultRetry.
	Interval time.Duration
	Retry    time.Duration
	// Now and After are the clock; nil is the real one.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time

	updating sync.Mutex // one Update at a time
	mu       sync.RWMutex
	state    state
	failed   map[string]time.Time // AIA URLs that failed, until when they are not retried
	fetches  singleflight.Group
}

// state is what the verifier reads; replaced whole, never changed in place.
type state struct {
	certs                []Certificate // stored ones in use, then the extras
	roots, intermediates []*x509.Certificate
}

var _ signature.TrustSource = (*Trust)(nil)
var _ signature.IssuerFetcher = (*Trust)(nil)

func (t *Trust) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Trust) after(d time.Duration) <-chan time.Time {
	if t.After != nil {
		return t.After(d)
	}
	return time.After(d)
}

func (t *Trust) log() *slog.Logger {
	if t.Log != nil {
		return t.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (t *Trust) client() *http.Client {
	if t.Client != nil {
		return t.Client
	}
	return &http.Client{Timeout: DownloadTimeout}
}

// Load reads the stored certificates and starts trusting them (and the
// extras). Certificates of a list other than Sources are left aside, so
// that switching between production and test does not mix the two.
func (t *Trust) Load(ctx context.Context) error {
	recs, err := t.Store.TrustedCertificates(ctx)
	if err != nil {
		return err
	}
	t.install(recs)
	return nil
}

// install makes recs (and the extras) the trust in force.
func (t *Trust) install(recs []Record) {
	listed := map[string]bool{}
	for _, s := range t.Sources {
		listed[s.URL] = true
	}
	var list, aia []Certificate
	for _, r := range recs {
		c, err := x509.ParseCertificate(r.DER)
		if err != nil {
			t.log().Error("a stored trusted certificate does not parse; ignored", "url", r.SourceURL, "err", err)
			continue
		}
		switch {
		case r.Origin == OriginList && listed[r.SourceURL]:
			list = append(list, Certificate{Record: r, Cert: c})
		case r.Origin == OriginAIA:
			aia = append(aia, Certificate{Record: r, Cert: c})
		}
	}
	var st state
	seen := map[string]bool{}
	add := func(c Certificate) {
		st.certs = append(st.certs, c)
		if seen[c.SHA256] {
			return
		}
		seen[c.SHA256] = true
		if c.Kind == KindRoot {
			st.roots = append(st.roots, c.Cert)
		} else {
			st.intermediates = append(st.intermediates, c.Cert)
		}
	}
	for _, c := range list {
		add(c)
	}
	for _, e := range t.Extra {
		add(extraCertificate(e))
	}
	// An AIA certificate is trusted only while it chains to a root in force.
	for _, c := range aia {
		if chainsTo(c.Cert, st.roots, st.intermediates) {
			add(c)
		}
	}
	t.mu.Lock()
	t.state = st
	t.mu.Unlock()
}

func extraCertificate(e Extra) Certificate {
	r := recordOf(e.Cert, e.Source, OriginFile, time.Time{})
	return Certificate{Record: r, Cert: e.Cert}
}

// recordOf describes c as downloaded from url at.
func recordOf(c *x509.Certificate, url string, origin Origin, at time.Time) Record {
	sum := sha256.Sum256(c.Raw)
	kind := KindIntermediate
	if selfSigned(c) {
		kind = KindRoot
	}
	return Record{SourceURL: url, Origin: origin, Kind: kind, SHA256: hex.EncodeToString(sum[:]), Subject: c.Subject.String(),
		Algorithm: signature.KeyAlgorithm(c), NotBefore: c.NotBefore, NotAfter: c.NotAfter, DER: c.Raw, FetchedAt: at, ChangedAt: at}
}

func selfSigned(c *x509.Certificate) bool { return bytes.Equal(c.RawIssuer, c.RawSubject) }

// TrustedCAs is what the verifier trusts at this moment.
func (t *Trust) TrustedCAs() (roots, intermediates []*x509.Certificate) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.state.roots, t.state.intermediates
}

// Certificates lists every certificate trusted now: stored ones first
// (roots, then intermediates), then the extras.
func (t *Trust) Certificates() []Certificate {
	t.mu.RLock()
	certs := slices.Clone(t.state.certs)
	t.mu.RUnlock()
	slices.SortStableFunc(certs, func(a, b Certificate) int {
		if a.Kind != b.Kind {
			if a.Kind == KindRoot {
				return -1
			}
			return 1
		}
		return 0
	})
	return certs
}

// ErrNothingTrusted is Ready's answer while no root is trusted.
var ErrNothingTrusted = errors.New("no CA certificate is trusted yet: signatures are refused until NCA's certificates are downloaded")

// Ready fails while no root certificate is trusted, for /readyz.
func (t *Trust) Ready(context.Context) error {
	if roots, _ := t.TrustedCAs(); len(roots) == 0 {
		return ErrNothingTrusted
	}
	return nil
}

// checkCA refuses a certificate that may not issue certificates.
func checkCA(c *x509.Certificate) error {
	if !c.BasicConstraintsValid || !c.IsCA {
		return errors.New("not a CA certificate (basic constraints)")
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return errors.New("not a CA certificate (key usage has no certificate signing)")
	}
	return nil
}

// chainsTo reports whether c is, or chains through intermediates to, one
// of roots. Signatures are checked; validity dates are not: an expired CA
// still vouches for what it signed while it was valid.
func chainsTo(c *x509.Certificate, roots, intermediates []*x509.Certificate) bool {
	cur := c
	for depth := 0; depth < 8; depth++ {
		for _, r := range roots {
			if cur.Equal(r) || signature.IssuedBy(cur, r) {
				return true
			}
		}
		var next *x509.Certificate
		for _, i := range intermediates {
			if !i.Equal(cur) && i.IsCA && signature.IssuedBy(cur, i) {
				next = i
				break
			}
		}
		if next == nil {
			return false
		}
		cur = next
	}
	return false
}
