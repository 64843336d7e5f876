package nca

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Where NCA publishes its CA certificates, and how they are fetched.
//
// Sources:
//   - docs/nca-and-egov-reference.md.
//   - ncanode-kz/NCANode src/main/resources/application.yml @7ecd131, line 27, and
//     ncanode-kz/NCANode-Go internal/config/config.go @8dd2e3b, NCANODE_CA_URL (downloaded at
//     start, refreshed every NCANODE_CA_TTL = 1440 minutes): pki.gov.kz/cert/root_gost_2022.cer
//     and nca_gost_2022.cer, root.gov.kz/cert/root_rsa_2020.cer, and the pre-2022 intermediates
//     as pki.gov.kz/cert/nca_rsa.crt and nca_gost.crt. NCANode's docs (docs/_tabs/docs.md
//     @567afea) list them under https://pki.gov.kz/cert/.
//   - NCA's own certificates, in their AIA caIssuers URLs: the 2018 production leaves name
//     http://pki.gov.kz/cert/nca_gost.cer and nca_rsa.cer (so .cer, as here; NCANode's .crt
//     names the same certificates), and those intermediates name
//     http://root.gov.kz/cert/root_gost.cer and root_rsa.cer. root.gov.kz is plain HTTP, so those
//     two roots are pinned to the keys of the real certificates (testdata/root_*.cer).
//   - nca_rsa_2022.cer and root_rsa_2020.cer under https://pki.gov.kz/cert/: NCA's CRL of the
//     same name in the NCANode configs (crl.pki.gov.kz/nca_rsa_2022.crl), and public Kalkan
//     verifier set-ups that trust exactly root_rsa_2020, root_gost_2022, nca_rsa_2022 and
//     nca_gost_2022 from there (found by the code search without an attributable repository).
//   - Test PKI: https://test.pki.gov.kz/cert/ — root_test_gost_2022.cer and nca_gost2022_test.cer
//     (ncanode-kz/NCANode-Go internal/testdata/certs/; the AIA of NCA's test leaves names
//     http://test.pki.gov.kz/cert/nca_gost2022_test.cer), and the 2004-era test CAs
//     nca_gost_test.cer, nca_rsa_test.cer with the roots their AIA names, root_gost_test.cer and
//     root_rsa_test.cer.
//   - RFC 5280 §4.2.2.1: caIssuers over HTTP names a DER certificate (application/pkix-cert).
//     NCA serves single certificates, DER; PEM is accepted as well.
const (
	ProductionBaseURL = "https://pki.gov.kz/cert/"
	TestBaseURL       = "https://test.pki.gov.kz/cert/"

	// DefaultInterval is how often the certificates are downloaded again,
	// as NCANode does (NCANODE_CA_TTL).
	DefaultInterval = 24 * time.Hour
	// DefaultRetry is the first wait after a failed download; it doubles
	// up to the interval.
	DefaultRetry = time.Minute
	// DownloadTimeout bounds one certificate's download, AIA included.
	DownloadTimeout = 20 * time.Second
	// MaxCertificateSize bounds a download: NCA's CA certificates are 1-3 KiB.
	MaxCertificateSize = 64 << 10
	// AIARetryAfter is how long an AIA URL that failed is not asked again.
	AIARetryAfter = 10 * time.Minute
	// maxAIAURLs bounds the caIssuers URLs tried for one certificate.
	maxAIAURLs = 3

	userAgent = "edobot"
)

var (
	// ProductionCertificates are NCA's production CA certificates, names
	// relative to ProductionBaseURL or absolute URLs.
	ProductionCertificates = []string{
		"root_rsa_2020.cer",
		"root_gost_2022.cer",
		"nca_rsa_2022.cer",
		"nca_gost_2022.cer",
		// For signatures made before 2022.
		"http://root.gov.kz/cert/root_rsa.cer",
		"http://root.gov.kz/cert/root_gost.cer",
		"nca_rsa.cer",
		"nca_gost.cer",
	}
	// TestCertificates are NCA's test PKI, relative to TestBaseURL.
	TestCertificates = []string{
		"root_test_gost_2022.cer",
		"nca_gost2022_test.cer",
		"root_gost_test.cer",
		"root_rsa_test.cer",
		"nca_gost_test.cer",
		"nca_rsa_test.cer",
	}
	// pinnedKeys are the SHA-256 of the SubjectPublicKeyInfo that a root
	// served over plain HTTP must have.
	pinnedKeys = map[string]string{
		"http://root.gov.kz/cert/root_rsa.cer":  "5a3dce1a3a954448c3f6abcde0b41e16f3fc2de6c20ce6a63e560fbf7fe7e6b7",
		"http://root.gov.kz/cert/root_gost.cer": "9ba4ac17e42e61ed5ea26a32fb4fa8fea70a9f562f47b53c201b088ef0952604",
	}
)

// Mode chooses whose certificates are trusted out of the box.
type Mode string

const (
	ModeProduction Mode = "production"
	ModeTest       Mode = "test" // NCA's test PKI, for staging
	ModeOff        Mode = "off"  // none: only the CAs configured as files
)

// ParseMode reads EDOBOT_NCA's value; empty is production.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "production", "prod":
		return ModeProduction, nil
	case "test":
		return ModeTest, nil
	case "off", "none":
		return ModeOff, nil
	}
	return "", fmt.Errorf("%q is not production, test or off", s)
}

// Source is one published CA certificate to trust.
type Source struct {
	URL string
	// Key, when set, is the SHA-256 (hex) of the SubjectPublicKeyInfo the
	// certificate must carry.
	Key string
}

var (
	// ErrBaseURL is a base URL that is not an http(s) URL.
	ErrBaseURL = errors.New("not an http(s) URL")
	// ErrCertificateName is an entry of the list that makes no URL.
	ErrCertificateName = errors.New("not a file name or an http(s) URL")
)

// Sources makes the list of certificates to download for a mode. baseURL
// and names override the mode's defaults when not empty; names are
// separated by commas or spaces, each a file name under baseURL or an
// absolute URL.
func Sources(mode Mode, baseURL, names string) ([]Source, error) {
	if mode == ModeOff {
		return nil, nil
	}
	defBase, defNames := ProductionBaseURL, ProductionCertificates
	if mode == ModeTest {
		defBase, defNames = TestBaseURL, TestCertificates
	}
	if strings.TrimSpace(baseURL) == "" {
		baseURL = defBase
	}
	base, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%q: %w", baseURL, ErrBaseURL)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	list := strings.FieldsFunc(names, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(list) == 0 {
		list = defNames
	}
	var out []Source
	seen := map[string]bool{}
	for _, n := range list {
		ref, err := url.Parse(n)
		if err != nil || (ref.IsAbs() && ref.Scheme != "http" && ref.Scheme != "https") || ref.Path == "" {
			return nil, fmt.Errorf("%q: %w", n, ErrCertificateName)
		}
		u := base.ResolveReference(ref).String()
		if !seen[u] {
			seen[u] = true
			out = append(out, Source{URL: u, Key: pinnedKeys[u]})
		}
	}
	return out, nil
}
