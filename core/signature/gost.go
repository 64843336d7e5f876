package signature

import (
	"crypto/x509"
	"encoding/asn1"

	"edobot/core"
)

// GOST support is added by gost_verify.go once the gost package lands; until
// then GOST keys are reported as unsupported.

func gostKey(c *x509.Certificate) bool { return false }

func gostKeyKind(c *x509.Certificate) core.KeyKind { return "" }

func gostDigestByOID(oid asn1.ObjectIdentifier) (digestAlg, bool) { return digestAlg{}, false }

func verifyGOST(cert *x509.Certificate, si *signerInfo, alg digestAlg, digest []byte) error {
	return refuse(ErrUnsupported, "GOST keys")
}

func verifyGOSTCertificate(c, parent *x509.Certificate) error {
	return refuse(ErrUnsupported, "GOST certificates")
}
