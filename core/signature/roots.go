package signature

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"edobot/core"
)

// TrustSource gives the CAs signatures may chain to at this moment: NCA's
// certificates as last downloaded, say. It is read at every verification.
type TrustSource interface {
	TrustedCAs() (roots, intermediates []*x509.Certificate)
}

// IssuerFetcher finds the issuer of a certificate whose issuer is neither
// trusted nor carried, as a certificate's AIA caIssuers URL names it. It
// returns only a CA certificate that chains to a trusted root (whether it
// issued cert, the verifier checks), nil when it knows none, and an error
// when it tried and failed.
type IssuerFetcher interface {
	FetchIssuer(ctx context.Context, cert *x509.Certificate) (*x509.Certificate, error)
}

// IssuedBy reports whether parent issued c: c names parent's subject as its
// issuer and parent's key (RSA or GOST) verifies c's signature. A root is
// IssuedBy itself.
func IssuedBy(c, parent *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, parent.RawSubject) && checkCertSignature(c, parent) == nil
}

// KeyAlgorithm names a certificate's key as an operator reads it:
// "RSA 4096", "GOST 34.310-2004", "GOST 34.10-2015 512".
func KeyAlgorithm(c *x509.Certificate) string {
	if k, ok := c.PublicKey.(*rsa.PublicKey); ok {
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	}
	curve, _, kind, err := gostPublicKey(c)
	switch {
	case err != nil:
		return c.PublicKeyAlgorithm.String()
	case kind == core.KeyGOST2004:
		return "GOST 34.310-2004"
	}
	return fmt.Sprintf("GOST 34.10-2015 %d", curve.P.BitLen())
}

// ParseCertificate reads one certificate, DER or PEM, as CAs publish them.
func ParseCertificate(data []byte) (*x509.Certificate, error) {
	if block, rest := pem.Decode(data); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("a PEM %q block, not a certificate", block.Type)
		}
		if next, _ := pem.Decode(rest); next != nil {
			return nil, fmt.Errorf("more than one PEM block")
		}
		data = block.Bytes
	}
	return x509.ParseCertificate(data)
}

// ParsePEMCertificates reads every CERTIFICATE block of a PEM bundle.
func ParsePEMCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no certificate in the PEM data")
	}
	return out, nil
}

// LoadTrust reads PEM bundles (a list of files separated by commas, as
// EDOBOT_TRUSTED_CA names them) and sorts them into self-signed roots and
// intermediates.
func LoadTrust(paths string) (roots, intermediates []*x509.Certificate, err error) {
	for _, p := range strings.Split(paths, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		certs, err := ParsePEMCertificates(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, c := range certs {
			if string(c.RawIssuer) == string(c.RawSubject) {
				roots = append(roots, c)
			} else {
				intermediates = append(intermediates, c)
			}
		}
	}
	return roots, intermediates, nil
}
