package signature

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"

	"edobot/core"
	"edobot/core/signature/gost"
)

// NCA's GOST algorithms. The conventions below were established by
// verifying real NCA certificates, CMS, timestamp tokens and OCSP responses
// (test and production), not taken from notes: GOST 34.311-95 is GOST R
// 34.11-94 with the *test* S-box; public keys are X‖Y and signatures r‖s,
// each little-endian, which is the byte reversal of RFC 4491's s‖r
// big-endian; the digest is read as a little-endian integer.
var (
	oidGOST2004Key      = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 1, 1}
	oidGOST2004Curve    = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 1, 1, 1} // CryptoPro-A
	oidGOST2004Sig      = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 1, 2}
	oidGOST34311Digest  = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 3, 1}
	oidGOST2015Key256   = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 2, 1}
	oidGOST2015Key512   = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 2, 2}
	oidGOST2015Curve256 = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 2, 1, 1} // tc26-256-A (no NCA sample seen)
	oidGOST2015Curve512 = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 2, 2, 1} // tc26-512-A
	oidGOST2015Sig256   = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 2, 3, 1}
	oidGOST2015Sig512   = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 2, 3, 2}
	oidStreebog256      = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 3, 2}
	oidStreebog512      = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 3, 3}
)

// gostAlgorithm ties a signature algorithm to its digest and key family.
type gostAlgorithm struct {
	sig    asn1.ObjectIdentifier
	digest asn1.ObjectIdentifier
	kind   core.KeyKind
}

var gostAlgorithms = []gostAlgorithm{
	{oidGOST2004Sig, oidGOST34311Digest, core.KeyGOST2004},
	{oidGOST2015Sig512, oidStreebog512, core.KeyGOST2015},
	{oidGOST2015Sig256, oidStreebog256, core.KeyGOST2015},
}

var gostDigests = []struct {
	oid  asn1.ObjectIdentifier
	name string
	new  func() hashWriter
}{
	{oidGOST34311Digest, "gost34311", func() hashWriter { return gost.New94(gost.SBoxTest94) }},
	{oidStreebog512, "streebog512", func() hashWriter { return gost.New512() }},
	{oidStreebog256, "streebog256", func() hashWriter { return gost.New256() }},
}

func gostDigestByOID(oid asn1.ObjectIdentifier) (digestAlg, bool) {
	for _, d := range gostDigests {
		if d.oid.Equal(oid) {
			return digestAlg{name: d.name, new: d.new}, true
		}
	}
	return digestAlg{}, false
}

type spki struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// gostPublicKey reads an NCA GOST key from a certificate.
func gostPublicKey(c *x509.Certificate) (*gost.Curve, *gost.PublicKey, core.KeyKind, error) {
	var info spki
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &info); err != nil {
		return nil, nil, "", refuse(ErrMalformed, "public key info: %v", err)
	}
	var curve *gost.Curve
	var kind core.KeyKind
	switch alg := info.Algorithm.Algorithm; {
	case alg.Equal(oidGOST2004Key):
		curve, kind = gost.CurveGost2001CryptoProA, core.KeyGOST2004
	case alg.Equal(oidGOST2015Key512), alg.Equal(oidGOST2015Key256):
		kind = core.KeyGOST2015
		var params []asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil || len(params) == 0 {
			return nil, nil, "", refuse(ErrMalformed, "GOST 2015 key without curve parameters")
		}
		switch {
		case params[0].Equal(oidGOST2015Curve512):
			curve = gost.CurveTC26Gost512A
		case params[0].Equal(oidGOST2015Curve256):
			curve = gost.CurveTC26Gost256A
		default:
			return nil, nil, "", refuse(ErrUnsupported, "GOST curve %v", params[0])
		}
	default:
		return nil, nil, "", refuse(ErrUnsupported, "public key algorithm %v", alg)
	}
	pub, err := gost.ParsePublicKeyFromSubjectPublicKey(curve, info.PublicKey.RightAlign())
	if err != nil {
		return nil, nil, "", refuse(ErrMalformed, "GOST public key: %v", err)
	}
	return curve, pub, kind, nil
}

func gostKey(c *x509.Certificate) bool {
	var info spki
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &info); err != nil {
		return false
	}
	a := info.Algorithm.Algorithm
	return a.Equal(oidGOST2004Key) || a.Equal(oidGOST2015Key512) || a.Equal(oidGOST2015Key256)
}

func gostKeyKind(c *x509.Certificate) core.KeyKind {
	if _, _, kind, err := gostPublicKey(c); err == nil {
		return kind
	}
	return ""
}

// gostVerify checks an NCA GOST signature value over a digest.
func gostVerify(cert *x509.Certificate, digest, sig []byte) error {
	curve, pub, _, err := gostPublicKey(cert)
	if err != nil {
		return err
	}
	// r_LE‖s_LE reversed is RFC 4491's s_BE‖r_BE, which the gost package takes.
	rev := slices.Clone(sig)
	slices.Reverse(rev)
	if !gost.VerifyDigest(curve, pub, digest, rev) {
		return refuse(ErrBadSignature, "GOST signature does not verify")
	}
	return nil
}

func gostAlgorithmFor(sigAlg asn1.ObjectIdentifier) (gostAlgorithm, bool) {
	for _, a := range gostAlgorithms {
		if a.sig.Equal(sigAlg) {
			return a, true
		}
	}
	return gostAlgorithm{}, false
}

func verifyGOST(cert *x509.Certificate, si *signerInfo, alg digestAlg, digest []byte) error {
	a, ok := gostAlgorithmFor(si.sigAlg.Algorithm)
	if !ok {
		// Some producers put the key algorithm here; the digest decides then.
		if !si.sigAlg.Algorithm.Equal(oidGOST2004Key) && !si.sigAlg.Algorithm.Equal(oidGOST2015Key512) {
			return refuse(ErrUnsupported, "signature algorithm %v with a GOST key", si.sigAlg.Algorithm)
		}
	} else if d, _ := gostDigestByOID(a.digest); d.name != alg.name {
		return refuse(ErrUnsupported, "digest %v does not go with signature algorithm %v", si.digestAlg.Algorithm, a.sig)
	}
	return gostVerify(cert, digest, si.signature)
}

type certificateASN1 struct {
	TBS       asn1.RawValue
	Algorithm pkix.AlgorithmIdentifier
	Signature asn1.BitString
}

// verifyGOSTCertificate checks that the GOST key of parent signed c.
func verifyGOSTCertificate(c, parent *x509.Certificate) error {
	var raw certificateASN1
	if _, err := asn1.Unmarshal(c.Raw, &raw); err != nil {
		return refuse(ErrMalformed, "certificate: %v", err)
	}
	a, ok := gostAlgorithmFor(raw.Algorithm.Algorithm)
	if !ok {
		return refuse(ErrUnsupported, "certificate signature algorithm %v", raw.Algorithm.Algorithm)
	}
	d, _ := gostDigestByOID(a.digest)
	h := d.new()
	h.Write(c.RawTBSCertificate)
	if !bytes.Equal(raw.TBS.FullBytes, c.RawTBSCertificate) {
		return refuse(ErrMalformed, "certificate structure")
	}
	return gostVerify(parent, h.Sum(nil), raw.Signature.RightAlign())
}
