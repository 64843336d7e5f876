package signature

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

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
