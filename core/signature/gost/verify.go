package gost

import (
	"encoding/asn1"
	"errors"
	"math/big"
)

// PublicKey is a GOST R 34.10 verification key: a point of the signer's
// curve, in affine coordinates.
type PublicKey struct {
	X, Y *big.Int
}

// Errors of the parsing helpers. Verification itself only says yes or no.
var (
	ErrKeyLength       = errors.New("gost: public key has the wrong length for the curve")
	ErrKeyNotOnCurve   = errors.New("gost: public key is not a point of the curve")
	ErrKeyNotInGroup   = errors.New("gost: public key is not in the subgroup of order q")
	ErrKeyEncoding     = errors.New("gost: subjectPublicKey is not a DER OCTET STRING")
	ErrSignatureLength = errors.New("gost: signature has the wrong length for the curve")
)

// NewPublicKey checks that (x, y) is a usable key on c: a point of the curve
// (which also excludes the point at infinity, having no affine form) and,
// on curves with a cofactor, one of order q.
func NewPublicKey(c *Curve, x, y *big.Int) (*PublicKey, error) {
	if !c.IsOnCurve(x, y) {
		return nil, ErrKeyNotOnCurve
	}
	if c.Cofactor != nil && c.Cofactor.Cmp(big.NewInt(1)) != 0 {
		// With a cofactor the curve also has points outside the group the
		// standard works in; q·Q = O tells them apart. One scalar
		// multiplication per key is cheap next to the trust it buys.
		if _, _, notInfinity := c.scalarMult(x, y, c.Q); notInfinity {
			return nil, ErrKeyNotInGroup
		}
	}
	return &PublicKey{X: new(big.Int).Set(x), Y: new(big.Int).Set(y)}, nil
}

// ParsePublicKeyRaw parses a public key in the form certificates carry it
// (RFC 4491 section 2.3.2, and likewise RFC 9215): the contents of the
// OCTET STRING inside subjectPublicKey, which is X then Y, each
// little-endian and Size() bytes long.
func ParsePublicKeyRaw(c *Curve, raw []byte) (*PublicKey, error) {
	n := c.Size()
	if len(raw) != 2*n {
		return nil, ErrKeyLength
	}
	return NewPublicKey(c, leInt(raw[:n]), leInt(raw[n:]))
}

// ParsePublicKeyFromSubjectPublicKey parses the bytes of a certificate's
// subjectPublicKey BIT STRING (for example x509.Certificate.RawSubjectPublicKeyInfo
// parsed down to the BIT STRING), which for GOST keys is a DER OCTET STRING
// wrapping the raw key of ParsePublicKeyRaw.
func ParsePublicKeyFromSubjectPublicKey(c *Curve, bitString []byte) (*PublicKey, error) {
	var raw []byte
	rest, err := asn1.Unmarshal(bitString, &raw)
	if err != nil || len(rest) != 0 {
		return nil, ErrKeyEncoding
	}
	return ParsePublicKeyRaw(c, raw)
}

// ParseSignature splits a signature value as X.509 and CMS carry it for
// GOST R 34.10 (RFC 4491 section 2.2.2, RFC 9215, RFC 4490): s
// then r, each big-endian and Size() bytes long. It checks only the
// length; Verify checks the range of r and s.
func ParseSignature(c *Curve, sig []byte) (r, s *big.Int, err error) {
	n := c.Size()
	if len(sig) != 2*n {
		return nil, nil, ErrSignatureLength
	}
	s = new(big.Int).SetBytes(sig[:n])
	r = new(big.Int).SetBytes(sig[n:])
	return r, s, nil
}

// Verify reports whether (r, s) is a valid GOST R 34.10-2001/2012 signature
// by pub over digest, following the verification process of the standard
// as RFC 5832 (GOST R 34.10-2001) and RFC 7091 (GOST R 34.10-2012) give it:
//
//	e = α mod q, or 1 if that is 0; v = e⁻¹ mod q;
//	z1 = s·v mod q; z2 = −r·v mod q; C = z1·G + z2·Q;
//	valid iff 0 < r, s < q and x_C mod q = r.
//
// digest is the hash value as the hash functions of this package return it:
// GOST R 34.11-94 for GOST R 34.10-2001 keys, Streebog-256 or -512 for
// GOST R 34.10-2012 keys of 256 or 512 bits. α is that byte string read as
// a little-endian integer. The RFCs print hash values as numbers, most
// significant byte first, which is the byte string reversed. OpenSSL's gost
// engine and the example certificates of RFC 4491 (made by CryptoPro) and
// RFC 9215 all read the digest this way; the tests prove it on them. The
// digest must be Size() bytes long, as the standards pair curve and hash
// sizes; anything else is rejected rather than truncated or extended.
func Verify(c *Curve, pub *PublicKey, digest []byte, r, s *big.Int) bool {
	if c == nil || pub == nil || r == nil || s == nil || len(digest) != c.Size() {
		return false
	}
	if r.Sign() <= 0 || r.Cmp(c.Q) >= 0 || s.Sign() <= 0 || s.Cmp(c.Q) >= 0 {
		return false
	}
	// A key built by hand skips NewPublicKey, so check the point here too.
	if !c.IsOnCurve(pub.X, pub.Y) {
		return false
	}
	e := leInt(digest)
	e.Mod(e, c.Q)
	if e.Sign() == 0 {
		e.SetInt64(1)
	}
	v := new(big.Int).ModInverse(e, c.Q)
	if v == nil {
		return false // only possible if Q were not prime
	}
	z1 := new(big.Int).Mul(s, v)
	z1.Mod(z1, c.Q)
	z2 := new(big.Int).Mul(r, v)
	z2.Neg(z2)
	z2.Mod(z2, c.Q)
	x, _, ok := c.combinedMult(z1, z2, pub.X, pub.Y)
	if !ok {
		return false
	}
	x.Mod(x, c.Q)
	return x.Cmp(r) == 0
}

// VerifyDigest verifies a signature value in its X.509/CMS form (s||r,
// big-endian; see ParseSignature) over a digest in this package's byte order
// (see Verify). This is the call a CMS SignerInfo or a certificate
// signature needs once the key and digest are at hand.
func VerifyDigest(c *Curve, pub *PublicKey, digest, sigValue []byte) bool {
	if c == nil {
		return false
	}
	r, s, err := ParseSignature(c, sigValue)
	if err != nil {
		return false
	}
	return Verify(c, pub, digest, r, s)
}

// leInt reads b as a little-endian unsigned integer.
func leInt(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i, v := range b {
		be[len(b)-1-i] = v
	}
	return new(big.Int).SetBytes(be)
}
