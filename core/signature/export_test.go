package signature

import (
	"context"
	"crypto/x509"
	"time"
)

// Doors for the package's external tests into its unexported parts.

// ToDER is toDER.
var ToDER = toDER

// Identity is identity.
var Identity = identity

// SigningKey reports whether the certificate may sign documents.
func SigningKey(c *x509.Certificate) bool { return checkPurpose(c, PurposeSign) == nil }

// Issued reports whether parent's key signed c.
func Issued(c, parent *x509.Certificate) error { return checkCertSignature(c, parent) }

// VerifyOCSPResponse is OCSP.verifyResponse, remembering nothing.
func VerifyOCSPResponse(der []byte, cert, issuer *x509.Certificate, nonce []byte, now time.Time) (*OCSPStatus, error) {
	return new(OCSP).verifyResponse(der, cert, issuer, nonce, now)
}

// CheckTimestampToken is checkToken, with no certificates beyond the token's.
func (v *Verifier) CheckTimestampToken(token, stamped []byte) (time.Time, error) {
	return v.checkToken(context.Background(), token, stamped, nil)
}

// CheckXMLSignature is checkXMLSignature: the signature alone, no trust.
func CheckXMLSignature(xml []byte) (*x509.Certificate, []byte, error) {
	cert, _, signed, err := checkXMLSignature(xml)
	return cert, signed, err
}
