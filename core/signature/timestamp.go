package signature

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"time"
)

var (
	oidTimeStampToken = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidTSTInfo        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
)

// TSTInfo and its parts, RFC 3161 §2.4.2.
type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	SerialNumber *big.Int
	GenTime      time.Time     `asn1:"generalized"`
	Accuracy     tsAccuracy    `asn1:"optional"`
	Ordering     bool          `asn1:"optional"`
	Nonce        *big.Int      `asn1:"optional"`
	TSA          asn1.RawValue `asn1:"optional,explicit,tag:0"`
	Extensions   asn1.RawValue `asn1:"optional,tag:1"`
}

type tsAccuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

// timestamp reads and checks an RFC 3161 timestamp token attached to the
// signer (NCALayer with a TSA profile, the eGov apps). ok is false when there
// is none. A token proves the time the signature existed, so its time
// replaces the signingTime the signer stated. outer are the certificates of
// the CMS the token sits in.
func (v *Verifier) timestamp(ctx context.Context, si *signerInfo, outer []*x509.Certificate) (t time.Time, ok bool, err error) {
	var token *attribute
	for i := range si.unsigned {
		if si.unsigned[i].Type.Equal(oidTimeStampToken) {
			token = &si.unsigned[i]
		}
	}
	if token == nil {
		return time.Time{}, false, nil
	}
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(token.Values.Bytes, &raw); err != nil {
		return time.Time{}, false, refuse(ErrBadTimestamp, "token: %v", err)
	}
	t, err = v.checkToken(ctx, raw.FullBytes, si.signature, outer)
	return t, err == nil, err
}

// checkToken verifies a timestamp token over stamped, the bytes whose hash
// it imprints (a signature value): the TSA's signature over the TSTInfo,
// that the key is a TSA's, and that the TSA's certificate chains to the
// trusted roots at the time the token states, as a signer's must. pool
// holds certificates that may complete that chain. It returns that time.
func (v *Verifier) checkToken(ctx context.Context, token, stamped []byte, pool []*x509.Certificate) (time.Time, error) {
	sd, err := parseSignedData(token)
	if err != nil {
		return time.Time{}, refuse(ErrBadTimestamp, "token: %v", err)
	}
	if !sd.contentType.Equal(oidTSTInfo) || sd.content == nil || len(sd.signers) != 1 {
		return time.Time{}, refuse(ErrBadTimestamp, "not a timestamp token")
	}
	var info tstInfo
	if rest, err := asn1.Unmarshal(sd.content, &info); err != nil || len(rest) != 0 {
		return time.Time{}, refuse(ErrBadTimestamp, "TSTInfo: %v", err)
	}
	alg, known := digestByOID(info.MessageImprint.HashAlgorithm.Algorithm)
	if !known {
		return time.Time{}, refuse(ErrBadTimestamp, "imprint algorithm %v", info.MessageImprint.HashAlgorithm.Algorithm)
	}
	h := alg.new()
	h.Write(stamped)
	if !bytes.Equal(h.Sum(nil), info.MessageImprint.HashedMessage) {
		return time.Time{}, refuse(ErrBadTimestamp, "the token stamps other data")
	}
	tsi := &sd.signers[0]
	tsa, err := tsi.certificate(sd.certificates)
	if err != nil {
		return time.Time{}, refuse(ErrBadTimestamp, "TSA certificate: %v", err)
	}
	if err := checkSignature(tsi, tsa, NewContent(sd.content), sd.contentType); err != nil {
		return time.Time{}, refuse(ErrBadTimestamp, "TSA signature: %v", err)
	}
	if !hasEKU(tsa, x509.ExtKeyUsageTimeStamping) {
		return time.Time{}, refuse(ErrBadTimestamp, "the certificate is not a TSA's")
	}
	// The token usually carries only the TSA's certificate; its issuer may
	// travel in the signature around it, or be configured.
	if _, err := v.Chain(ctx, tsa, append(sd.certificates, pool...), info.GenTime); err != nil {
		return time.Time{}, refuse(ErrBadTimestamp, "TSA certificate: %v", err)
	}
	return info.GenTime, nil
}

func hasEKU(c *x509.Certificate, u x509.ExtKeyUsage) bool {
	for _, e := range c.ExtKeyUsage {
		if e == u {
			return true
		}
	}
	return false
}
