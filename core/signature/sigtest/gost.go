package sigtest

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"edobot/core/signature/gost"
	"edobot/core/signature/ncapki"
)

// GOST keys for tests. Production code only verifies GOST; signing lives
// here, with throwaway keys, to make NCA-shaped GOST certificates and CMS.
// The byte conventions are NCA's: X‖Y and r‖s little-endian.

// GOSTKind chooses NCA's old or new GOST key.
type GOSTKind int

const (
	GOST2004 GOSTKind = iota // GOST 34.310-2004, CryptoPro-A, GOST 34.311-95
	GOST2015                 // GOST 34.10-2015 512-bit, tc26-512-A, Streebog-512
)

type gostAlg struct {
	curve                     *gost.Curve
	keyOID, sigOID, digestOID asn1.ObjectIdentifier
	params                    []asn1.ObjectIdentifier
	hash                      func([]byte) []byte
}

func (k GOSTKind) alg() gostAlg {
	if k == GOST2004 {
		return gostAlg{curve: gost.CurveGost2001CryptoProA,
			keyOID: asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 1, 1}, sigOID: asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 1, 2},
			digestOID: asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 3, 1},
			params:    []asn1.ObjectIdentifier{{1, 2, 398, 3, 10, 1, 1, 1, 1, 1}, {1, 2, 398, 3, 10, 1, 3, 1, 1, 0}},
			hash:      func(b []byte) []byte { h := gost.New94(gost.SBoxTest94); h.Write(b); return h.Sum(nil) }}
	}
	return gostAlg{curve: gost.CurveTC26Gost512A,
		keyOID: asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 2, 2}, sigOID: asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 2, 3, 2},
		digestOID: asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 3, 3},
		params:    []asn1.ObjectIdentifier{{1, 2, 398, 3, 10, 1, 1, 2, 2, 1}, {1, 2, 398, 3, 10, 1, 3, 3}},
		hash:      func(b []byte) []byte { h := gost.New512(); h.Write(b); return h.Sum(nil) }}
}

// GOSTKey is a GOST certificate with its private scalar.
type GOSTKey struct {
	Cert  *x509.Certificate
	Chain []*x509.Certificate
	kind  GOSTKind
	d     *big.Int
	x, y  *big.Int
}

// NewGOSTRoot makes a self-signed GOST root CA.
func NewGOSTRoot(tb testing.TB, name string, kind GOSTKind) *GOSTKey {
	tb.Helper()
	k := newGOSTKey(tb, kind)
	tmpl := caTemplate(name, 5)
	k.Cert = k.certify(tb, tmpl, tmpl, k)
	return k
}

// IssueCA makes a GOST intermediate CA under ca.
func (ca *GOSTKey) IssueCA(tb testing.TB, name string, kind GOSTKind) *GOSTKey {
	tb.Helper()
	k := newGOSTKey(tb, kind)
	k.Cert = k.certify(tb, caTemplate(name, 4), ca.Cert, ca)
	return k
}

// Issue makes an NCA-like end-entity GOST certificate under ca.
func (ca *GOSTKey) Issue(tb testing.TB, p Person, kind GOSTKind, chain ...*x509.Certificate) *GOSTKey {
	tb.Helper()
	k := newGOSTKey(tb, kind)
	k.Cert = k.certify(tb, p.Template(), ca.Cert, ca)
	k.Chain = append([]*x509.Certificate{}, chain...)
	return k
}

// IssueTSA makes a GOST timestamp authority under ca, as NCA's TSA is.
func (ca *GOSTKey) IssueTSA(tb testing.TB, name string) *GOSTKey {
	tb.Helper()
	k := newGOSTKey(tb, ca.kind)
	tmpl := &x509.Certificate{SerialNumber: ncapki.Serial(), Subject: pkix.Name{CommonName: name, Country: []string{"KZ"}},
		NotBefore: time.Now().AddDate(-1, 0, 0), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}
	k.Cert = k.certify(tb, tmpl, ca.Cert, ca)
	return k
}

func newGOSTKey(tb testing.TB, kind GOSTKind) *GOSTKey {
	c := kind.alg().curve
	for {
		d, err := rand.Int(rand.Reader, c.Q)
		if err != nil {
			tb.Fatal(err)
		}
		if d.Sign() == 0 {
			continue
		}
		x, y := scalarMult(c, c.X, c.Y, d)
		return &GOSTKey{kind: kind, d: d, x: x, y: y}
	}
}

// certify lets Go build the certificate around a placeholder RSA key, then
// puts k's GOST key in and has issuer sign the TBS with GOST.
func (k *GOSTKey) certify(tb testing.TB, tmpl, parent *x509.Certificate, issuer *GOSTKey) *x509.Certificate {
	tb.Helper()
	placeholder := newKey(tb)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &placeholder.PublicKey, placeholder)
	if err != nil {
		tb.Fatal(err)
	}
	var cert struct {
		TBS asn1.RawValue
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &cert); err != nil {
		tb.Fatal(err)
	}
	var fields []asn1.RawValue
	for rest := cert.TBS.Bytes; len(rest) > 0; {
		var f asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			tb.Fatal(err)
		}
		fields = append(fields, f)
	}
	ia := issuer.kind.alg()
	sigAlg := pkix.AlgorithmIdentifier{Algorithm: ia.sigOID, Parameters: asn1.NullRawValue}
	sigAlgDER, _ := asn1.Marshal(sigAlg)
	fields[2] = asn1.RawValue{FullBytes: sigAlgDER} // version, serial, signature, …
	fields[6] = asn1.RawValue{FullBytes: k.spki(tb)}
	var body []byte
	for _, f := range fields {
		body = append(body, f.FullBytes...)
	}
	tbs, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
	sig := issuer.sign(tb, ia.hash(tbs))
	out, err := asn1.Marshal(struct {
		TBS asn1.RawValue
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, sigAlg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(out)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func (k *GOSTKey) spki(tb testing.TB) []byte {
	a := k.kind.alg()
	n := a.curve.Size()
	raw := append(le(k.x, n), le(k.y, n)...)
	octets, _ := asn1.Marshal(raw)
	params, _ := asn1.Marshal(a.params)
	der, err := asn1.Marshal(struct {
		Alg pkix.AlgorithmIdentifier
		Key asn1.BitString
	}{pkix.AlgorithmIdentifier{Algorithm: a.keyOID, Parameters: asn1.RawValue{FullBytes: params}},
		asn1.BitString{Bytes: octets, BitLength: 8 * len(octets)}})
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

// sign makes a GOST R 34.10 signature of a digest, as r‖s little-endian.
func (k *GOSTKey) sign(tb testing.TB, digest []byte) []byte {
	c := k.kind.alg().curve
	e := new(big.Int).SetBytes(reverse(digest))
	e.Mod(e, c.Q)
	if e.Sign() == 0 {
		e.SetInt64(1)
	}
	for {
		kk, err := rand.Int(rand.Reader, c.Q)
		if err != nil {
			tb.Fatal(err)
		}
		if kk.Sign() == 0 {
			continue
		}
		x, _ := scalarMult(c, c.X, c.Y, kk)
		r := new(big.Int).Mod(x, c.Q)
		if r.Sign() == 0 {
			continue
		}
		s := new(big.Int).Mul(r, k.d)
		s.Add(s, new(big.Int).Mul(kk, e))
		s.Mod(s, c.Q)
		if s.Sign() == 0 {
			continue
		}
		n := c.Size()
		return append(le(r, n), le(s, n)...)
	}
}

// SignCMS signs data like NCALayer does with a GOST key.
func (k *GOSTKey) SignCMS(tb testing.TB, data []byte, o CMSOptions) []byte {
	tb.Helper()
	a := k.kind.alg()
	return signCMS(tb, data, o, k.Cert, k.Chain, ncapki.Algorithm{
		Digest: a.digestOID, Signature: pkix.AlgorithmIdentifier{Algorithm: a.sigOID, Parameters: asn1.NullRawValue},
		Hash: a.hash, Sign: func(d []byte) ([]byte, error) { return k.sign(tb, d), nil },
	})
}

func le(v *big.Int, n int) []byte { return reverse(v.FillBytes(make([]byte, n))) }

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

// scalarMult is affine double-and-add: slow and not constant-time, which is
// fine for throwaway test keys.
func scalarMult(c *gost.Curve, x, y, k *big.Int) (*big.Int, *big.Int) {
	var rx, ry *big.Int
	px, py := new(big.Int).Set(x), new(big.Int).Set(y)
	for i := 0; i < k.BitLen(); i++ {
		if k.Bit(i) == 1 {
			rx, ry = add(c, rx, ry, px, py)
		}
		px, py = add(c, px, py, px, py)
	}
	return rx, ry
}

func add(c *gost.Curve, x1, y1, x2, y2 *big.Int) (*big.Int, *big.Int) {
	if x1 == nil {
		return x2, y2
	}
	if x2 == nil {
		return x1, y1
	}
	p := c.P
	var l *big.Int
	if x1.Cmp(x2) == 0 {
		if new(big.Int).Mod(new(big.Int).Add(y1, y2), p).Sign() == 0 {
			return nil, nil
		}
		num := new(big.Int).Mul(x1, x1)
		num.Mul(num, big.NewInt(3)).Add(num, c.A)
		den := new(big.Int).Lsh(y1, 1)
		l = num.Mul(num, den.ModInverse(den.Mod(den, p), p))
	} else {
		num := new(big.Int).Sub(y2, y1)
		den := new(big.Int).Sub(x2, x1)
		l = num.Mul(num, den.ModInverse(den.Mod(den, p), p))
	}
	l.Mod(l, p)
	x3 := new(big.Int).Mul(l, l)
	x3.Sub(x3, x1).Sub(x3, x2).Mod(x3, p)
	y3 := new(big.Int).Sub(x1, x3)
	y3.Mul(y3, l).Sub(y3, y1).Mod(y3, p)
	return x3, y3
}
