package signature

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSP asks an OCSP responder whether certificates were revoked. NCA runs
// one; it is off by default because a server may have no internet.
type OCSP struct {
	// URL overrides the responder named in the certificates.
	URL    string
	Client *http.Client
}

// Revoked reports whether cert was revoked at or before at.
func (o *OCSP) Revoked(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (bool, error) {
	url := o.URL
	if url == "" && len(cert.OCSPServer) > 0 {
		url = cert.OCSPServer[0]
	}
	if url == "" {
		return false, fmt.Errorf("no OCSP responder for certificate %X", cert.SerialNumber)
	}
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		return false, fmt.Errorf("ocsp request: %w", err)
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req))
	if err != nil {
		return false, err
	}
	httpReq.Header.Set("Content-Type", "application/ocsp-request")
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(httpReq)
	if err != nil {
		return false, fmt.Errorf("ocsp: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("ocsp responder answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, fmt.Errorf("ocsp: %w", err)
	}
	// The response must be signed by the issuer or a responder it delegated to.
	r, err := ocsp.ParseResponseForCert(body, cert, issuer)
	if err != nil {
		return false, fmt.Errorf("ocsp response: %w", err)
	}
	switch r.Status {
	case ocsp.Good:
		return false, nil
	case ocsp.Revoked:
		return !r.RevokedAt.After(at), nil
	}
	return false, fmt.Errorf("ocsp: certificate status unknown to the responder")
}
