package signature_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"edobot/core/signature"
)

// Real NCA material, pinned in testdata/nca (its README names the sources).

func ncaFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "nca", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ncaCert reads one PEM certificate of testdata/nca.
func ncaCert(tb testing.TB, name string) *x509.Certificate {
	tb.Helper()
	certs, err := signature.ParsePEMCertificates(ncaFile(tb, name))
	if err != nil || len(certs) != 1 {
		tb.Fatalf("%s: %v", name, err)
	}
	return certs[0]
}
