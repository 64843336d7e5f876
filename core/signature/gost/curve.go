package gost

import (
	"encoding/asn1"
	"math/big"
)

// Curve is an elliptic curve y² = x³ + ax + b over the prime field GF(P)
// with a base point (X, Y) of prime order Q, as GOST R 34.10 uses it.
// Curves that the standards define in twisted Edwards form are given here
// in their Weierstrass form, which is what verification needs.
//
// The package's curves are shared values: do not modify them.
type Curve struct {
	Name     string
	OID      asn1.ObjectIdentifier
	P, A, B  *big.Int
	Q        *big.Int // order of the base point (the standard's q)
	X, Y     *big.Int // base point
	Cofactor *big.Int // group order / Q
}

// Size returns the length in bytes of one coordinate of a public key and of
// one half (r or s) of a signature: 32 for 256-bit curves, 64 for 512-bit.
func (c *Curve) Size() int { return (c.P.BitLen() + 7) / 8 }

// IsOnCurve reports whether (x, y) is a point of c given as reduced
// coordinates (0 <= x, y < P).
func (c *Curve) IsOnCurve(x, y *big.Int) bool {
	if x == nil || y == nil || x.Sign() < 0 || y.Sign() < 0 || x.Cmp(c.P) >= 0 || y.Cmp(c.P) >= 0 {
		return false
	}
	lhs := new(big.Int).Mul(y, y)
	lhs.Mod(lhs, c.P)
	rhs := new(big.Int).Mul(x, x)
	rhs.Add(rhs, c.A)
	rhs.Mul(rhs, x)
	rhs.Add(rhs, c.B)
	rhs.Mod(rhs, c.P)
	return lhs.Cmp(rhs) == 0
}

// jacobian is a point in Jacobian coordinates: (X/Z², Y/Z³), with Z = 0 for
// the point at infinity. Verification costs hundreds of point operations;
// Jacobian coordinates replace a modular inversion in each of them by a few
// multiplications, and leave a single inversion for the end.
type jacobian struct{ x, y, z big.Int }

func (p *jacobian) isInfinity() bool { return p.z.Sign() == 0 }

// setAffine makes p the affine point (x, y).
func (p *jacobian) setAffine(x, y *big.Int) {
	p.x.Set(x)
	p.y.Set(y)
	p.z.SetInt64(1)
}

// arith does point arithmetic on one curve, keeping its temporaries so that
// their storage is reused from one point operation to the next.
type arith struct {
	c                        *Curve
	t1, t2, t3, t4, t5, t6   big.Int
	u2, s2, h, r, hh, hhh, v big.Int
}

func (ar *arith) mod(z *big.Int) *big.Int { return z.Mod(z, ar.c.P) }

// double sets p = 2p, with the doubling formulas for any a:
// S = 4XY², M = 3X² + aZ⁴, X' = M² - 2S, Y' = M(S - X') - 8Y⁴, Z' = 2YZ.
func (ar *arith) double(p *jacobian) {
	if p.isInfinity() {
		return
	}
	if p.y.Sign() == 0 {
		p.z.SetInt64(0) // a point of order two
		return
	}
	yy := ar.mod(ar.t1.Mul(&p.y, &p.y))
	s := ar.mod(ar.t2.Lsh(ar.t2.Mul(&p.x, yy), 2))
	zz := ar.mod(ar.t3.Mul(&p.z, &p.z))
	zz = ar.mod(zz.Mul(zz, zz))
	m := ar.t4.Mul(zz, ar.c.A)
	xx := ar.t5.Mul(&p.x, &p.x)
	m = ar.mod(m.Add(m, xx.Mul(xx, big3)))
	x3 := ar.t6.Mul(m, m)
	x3.Sub(x3, s)
	x3 = ar.mod(x3.Sub(x3, s))
	ar.mod(p.z.Lsh(p.z.Mul(&p.z, &p.y), 1)) // uses the old Y, so before Y changes
	yyyy := yy.Lsh(yy.Mul(yy, yy), 3)
	p.y.Mul(p.y.Sub(s, x3), m)
	ar.mod(p.y.Sub(&p.y, yyyy))
	p.x.Set(x3)
}

var big3 = big.NewInt(3)

// addAffine sets p = p + (x2, y2), where (x2, y2) is an affine point of the
// curve. This "mixed" addition (Z2 = 1) saves several multiplications:
// U2 = x2·Z1², S2 = y2·Z1³, H = U2 - X1, R = S2 - Y1,
// X3 = R² - H³ - 2·X1·H², Y3 = R(X1·H² - X3) - Y1·H³, Z3 = Z1·H.
func (ar *arith) addAffine(p *jacobian, x2, y2 *big.Int) {
	if p.isInfinity() {
		p.setAffine(x2, y2)
		return
	}
	z1z1 := ar.mod(ar.t1.Mul(&p.z, &p.z))
	ar.mod(ar.u2.Mul(x2, z1z1))
	ar.mod(ar.s2.Mul(y2, ar.mod(ar.t2.Mul(z1z1, &p.z))))
	ar.mod(ar.h.Sub(&ar.u2, &p.x))
	ar.mod(ar.r.Sub(&ar.s2, &p.y))
	if ar.h.Sign() == 0 {
		if ar.r.Sign() == 0 {
			ar.double(p) // the same point: the formulas above divide by zero
			return
		}
		p.z.SetInt64(0) // p + (-p)
		return
	}
	ar.mod(ar.hh.Mul(&ar.h, &ar.h))
	ar.mod(ar.hhh.Mul(&ar.hh, &ar.h))
	ar.mod(ar.v.Mul(&p.x, &ar.hh))
	x3 := ar.t3.Mul(&ar.r, &ar.r)
	x3.Sub(x3, &ar.hhh)
	x3.Sub(x3, &ar.v)
	x3 = ar.mod(x3.Sub(x3, &ar.v))
	y3 := ar.t4.Mul(ar.t4.Sub(&ar.v, x3), &ar.r)
	y3 = ar.mod(y3.Sub(y3, ar.t5.Mul(&p.y, &ar.hhh)))
	ar.mod(p.z.Mul(&p.z, &ar.h))
	p.x.Set(x3)
	p.y.Set(y3)
}

// affine converts p to affine coordinates; ok is false for infinity.
func (ar *arith) affine(p *jacobian) (x, y *big.Int, ok bool) {
	if p.isInfinity() {
		return nil, nil, false
	}
	zinv := new(big.Int).ModInverse(&p.z, ar.c.P)
	if zinv == nil {
		return nil, nil, false
	}
	zinv2 := new(big.Int).Mul(zinv, zinv)
	zinv2.Mod(zinv2, ar.c.P)
	x = new(big.Int).Mul(&p.x, zinv2)
	x.Mod(x, ar.c.P)
	zinv2.Mul(zinv2, zinv)
	y = new(big.Int).Mul(&p.y, zinv2)
	y.Mod(y, ar.c.P)
	return x, y, true
}

// combinedMult returns k1·G + k2·(x2, y2) for the base point G, with one
// shared run of doublings (Straus-Shamir): at each bit, add G, the other
// point or their precomputed sum. ok is false if the result is infinity.
func (c *Curve) combinedMult(k1, k2, x2, y2 *big.Int) (x, y *big.Int, ok bool) {
	ar := &arith{c: c}
	var sum jacobian
	sum.setAffine(c.X, c.Y)
	ar.addAffine(&sum, x2, y2)
	sx, sy, sumOK := ar.affine(&sum) // G + Q; infinity if Q = -G
	var acc jacobian
	n := k1.BitLen()
	if k2.BitLen() > n {
		n = k2.BitLen()
	}
	for i := n - 1; i >= 0; i-- {
		ar.double(&acc)
		switch k1.Bit(i) | k2.Bit(i)<<1 {
		case 1:
			ar.addAffine(&acc, c.X, c.Y)
		case 2:
			ar.addAffine(&acc, x2, y2)
		case 3:
			if sumOK {
				ar.addAffine(&acc, sx, sy)
			}
		}
	}
	return ar.affine(&acc)
}

// scalarMult returns k·(x, y); ok is false if the result is infinity.
func (c *Curve) scalarMult(x, y, k *big.Int) (rx, ry *big.Int, ok bool) {
	ar := &arith{c: c}
	var acc jacobian
	for i := k.BitLen() - 1; i >= 0; i-- {
		ar.double(&acc)
		if k.Bit(i) == 1 {
			ar.addAffine(&acc, x, y)
		}
	}
	return ar.affine(&acc)
}

func mustHex(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("gost: bad curve constant " + s)
	}
	return v
}

func newCurve(name string, oid asn1.ObjectIdentifier, p, a, b, q, x, y string, cofactor int64) *Curve {
	return &Curve{
		Name: name, OID: oid,
		P: mustHex(p), A: mustHex(a), B: mustHex(b), Q: mustHex(q),
		X: mustHex(x), Y: mustHex(y), Cofactor: big.NewInt(cofactor),
	}
}

// Curve constants of GOST R 34.10-2001, RFC 4357 section 11.4. The same
// numbers are repeated for the key exchange (Xch) parameter sets because
// certificates name those OIDs too.
const (
	cpAp = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97"
	cpAa = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD94"
	cpAb = "A6"
	cpAq = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF6C611070995AD10045841B09B761B893"
	cpAx = "1"
	cpAy = "8D91E471E0989CDA27DF505A453F2B7635294F2DDF23E3B122ACC99C9E9F1E14"

	cpCp = "9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D759B"
	cpCa = "9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D7598"
	cpCb = "805A"
	cpCq = "9B9F605F5A858107AB1EC85E6B41C8AA582CA3511EDDFB74F02F3A6598980BB9"
	cpCx = "0"
	cpCy = "41ECE55743711A8C3CBF3783CD08C0EE4D4DC440D4641A8F366E550DFDB3BB67"
)

var (
	// CurveGost2001Test is id-GostR3410-2001-TestParamSet: the curve of the
	// worked example in GOST R 34.10-2001 (RFC 5832 section 7.1, RFC 7091
	// appendix A.1). Not for real keys, but RFC 9215's first example
	// certificate uses it.
	CurveGost2001Test = newCurve("id-GostR3410-2001-TestParamSet",
		asn1.ObjectIdentifier{1, 2, 643, 2, 2, 35, 0},
		"8000000000000000000000000000000000000000000000000000000000000431",
		"7",
		"5FBFF498AA938CE739B8E022FBAFEF40563F6E6A3472FC2A514C0CE9DAE23B7E",
		"8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3",
		"2",
		"08E2A8A0E65147D4BD6316030E16D19C85C97F0A9CA267122B96ABBCEA7E8FC8", 1)

	// CurveGost2001CryptoProA is id-GostR3410-2001-CryptoPro-A-ParamSet
	// (RFC 4357 section 11.4), also named id-tc26-gost-3410-2012-256-paramSetB.
	CurveGost2001CryptoProA = newCurve("id-GostR3410-2001-CryptoPro-A-ParamSet",
		asn1.ObjectIdentifier{1, 2, 643, 2, 2, 35, 1}, cpAp, cpAa, cpAb, cpAq, cpAx, cpAy, 1)

	// CurveGost2001CryptoProB is id-GostR3410-2001-CryptoPro-B-ParamSet
	// (RFC 4357 section 11.4), also named id-tc26-gost-3410-2012-256-paramSetC.
	CurveGost2001CryptoProB = newCurve("id-GostR3410-2001-CryptoPro-B-ParamSet",
		asn1.ObjectIdentifier{1, 2, 643, 2, 2, 35, 2},
		"8000000000000000000000000000000000000000000000000000000000000C99",
		"8000000000000000000000000000000000000000000000000000000000000C96",
		"3E1AF419A269A5F866A7D3C25C3DF80AE979259373FF2B182F49D4CE7E1BBC8B",
		"800000000000000000000000000000015F700CFFF1A624E5E497161BCC8A198F",
		"1",
		"3FA8124359F96680B83D1C3EB2C070E5C545C9858D03ECFB744BF8D717717EFC", 1)

	// CurveGost2001CryptoProC is id-GostR3410-2001-CryptoPro-C-ParamSet
	// (RFC 4357 section 11.4), also named id-tc26-gost-3410-2012-256-paramSetD.
	CurveGost2001CryptoProC = newCurve("id-GostR3410-2001-CryptoPro-C-ParamSet",
		asn1.ObjectIdentifier{1, 2, 643, 2, 2, 35, 3}, cpCp, cpCa, cpCb, cpCq, cpCx, cpCy, 1)

	// CurveGost2001CryptoProXchA is id-GostR3410-2001-CryptoPro-XchA-ParamSet:
	// the CryptoPro-A curve under its key-exchange OID (RFC 4357 section 11.4).
	CurveGost2001CryptoProXchA = newCurve("id-GostR3410-2001-CryptoPro-XchA-ParamSet",
		asn1.ObjectIdentifier{1, 2, 643, 2, 2, 36, 0}, cpAp, cpAa, cpAb, cpAq, cpAx, cpAy, 1)

	// CurveGost2001CryptoProXchB is id-GostR3410-2001-CryptoPro-XchB-ParamSet:
	// the CryptoPro-C curve under its key-exchange OID (RFC 4357 section 11.4).
	CurveGost2001CryptoProXchB = newCurve("id-GostR3410-2001-CryptoPro-XchB-ParamSet",
		asn1.ObjectIdentifier{1, 2, 643, 2, 2, 36, 1}, cpCp, cpCa, cpCb, cpCq, cpCx, cpCy, 1)

	// CurveTC26Gost256A is id-tc26-gost-3410-12-256-paramSetA
	// (R 50.1.114-2016), a twisted Edwards curve given here by its
	// Weierstrass parameters as listed in RFC 7836 appendix A. Its group has
	// cofactor 4.
	CurveTC26Gost256A = newCurve("id-tc26-gost-3410-12-256-paramSetA",
		asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 1, 1},
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97",
		"C2173F1513981673AF4892C23035A27CE25E2013BF95AA33B22C656F277E7335",
		"295F9BAE7428ED9CCC20E7C359A9D41A22FCCD9108E17BF7BA9337A6F8AE9513",
		"400000000000000000000000000000000FD8CDDFC87B6635C115AF556C360C67",
		"91E38443A5E82C0D880923425712B2BB658B9196932E02C78B2582FE742DAA28",
		"32879423AB1A0375895786C4BB46E9565FDE0B5344766740AF268ADB32322E5C", 4)

	// CurveTC26Gost512Test is id-tc26-gost-3410-12-512-paramSetTest: the
	// curve of the 512-bit example of GOST R 34.10-2012 (RFC 7091 appendix
	// A.2), used by RFC 9215's third example certificate. Not for real keys.
	CurveTC26Gost512Test = newCurve("id-tc26-gost-3410-12-512-paramSetTest",
		asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 2, 0},
		"4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15D"+
			"F1D852741AF4704A0458047E80E4546D35B8336FAC224DD81664BBF528BE6373",
		"7",
		"1CFF0806A31116DA29D8CFA54E57EB748BC5F377E49400FDD788B649ECA1AC43"+
			"61834013B2AD7322480A89CA58E0CF74BC9E540C2ADD6897FAD0A3084F302ADC",
		"4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15D"+
			"A82F2D7ECB1DBAC719905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF",
		"24D19CC64572EE30F396BF6EBBFD7A6C5213B3B3D7057CC825F91093A68CD762"+
			"FD60611262CD838DC6B60AA7EEE804E28BC849977FAC33B4B530F1B120248A9A",
		"2BB312A43BD2CE6E0D020613C857ACDDCFBF061E91E5F2C3F32447C259F39B2C"+
			"83AB156D77F1496BF7EB3351E1EE4E43DC1A18B91B24640B6DBB92CB1ADD371E", 1)

	// CurveTC26Gost512A is id-tc26-gost-3410-12-512-paramSetA, from the
	// TC 26 recommendations R 50.1.114-2016 (named in RFC 9215).
	CurveTC26Gost512A = newCurve("id-tc26-gost-3410-12-512-paramSetA",
		asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 2, 1},
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"+
			"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC7",
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"+
			"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC4",
		"E8C2505DEDFC86DDC1BD0B2B6667F1DA34B82574761CB0E879BD081CFD0B6265"+
			"EE3CB090F30D27614CB4574010DA90DD862EF9D4EBEE4761503190785A71C760",
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"+
			"27E69532F48D89116FF22B8D4E0560609B4B38ABFAD2B85DCACDB1411F10B275",
		"3",
		"7503CFE87A836AE3A61B8816E25450E6CE5E1C93ACF1ABC1778064FDCBEFA921"+
			"DF1626BE4FD036E93D75E6A50E3A41E98028FE5FC235F5B889A589CB5215F2A4", 1)

	// CurveTC26Gost512B is id-tc26-gost-3410-12-512-paramSetB (R 50.1.114-2016).
	CurveTC26Gost512B = newCurve("id-tc26-gost-3410-12-512-paramSetB",
		asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 2, 2},
		"8000000000000000000000000000000000000000000000000000000000000000"+
			"000000000000000000000000000000000000000000000000000000000000006F",
		"8000000000000000000000000000000000000000000000000000000000000000"+
			"000000000000000000000000000000000000000000000000000000000000006C",
		"687D1B459DC841457E3E06CF6F5E2517B97C7D614AF138BCBF85DC806C4B289F"+
			"3E965D2DB1416D217F8B276FAD1AB69C50F78BEE1FA3106EFB8CCBC7C5140116",
		"8000000000000000000000000000000000000000000000000000000000000001"+
			"49A1EC142565A545ACFDB77BD9D40CFA8B996712101BEA0EC6346C54374F25BD",
		"2",
		"1A8F7EDA389B094C2C071E3647A8940F3C123B697578C213BE6DD9E6C8EC7335"+
			"DCB228FD1EDF4A39152CBCAAF8C0398828041055F94CEEEC7E21340780FE41BD", 1)

	// CurveTC26Gost512C is id-tc26-gost-3410-12-512-paramSetC
	// (R 50.1.114-2016), a twisted Edwards curve given here by its
	// Weierstrass parameters as listed in RFC 7836 appendix A. Its group has
	// cofactor 4.
	CurveTC26Gost512C = newCurve("id-tc26-gost-3410-12-512-paramSetC",
		asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 2, 3},
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"+
			"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC7",
		"DC9203E514A721875485A529D2C722FB187BC8980EB866644DE41C68E1430645"+
			"46E861C0E2C9EDD92ADE71F46FCF50FF2AD97F951FDA9F2A2EB6546F39689BD3",
		"B4C4EE28CEBC6C2C8AC12952CF37F16AC7EFB6A9F69F4B57FFDA2E4F0DE5ADE0"+
			"38CBC2FFF719D2C18DE0284B8BFEF3B52B8CC7A5F5BF0A3C8D2319A5312557E1",
		"3FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"+
			"C98CDBA46506AB004C33A9FF5147502CC8EDA9E7A769A12694623CEF47F023ED",
		"E2E31EDFC23DE7BDEBE241CE593EF5DE2295B7A9CBAEF021D385F7074CEA043A"+
			"A27272A7AE602BF2A7B9033DB9ED3610C6FB85487EAE97AAC5BC7928C1950148",
		"F5CE40D95B5EB899ABBCCFF5911CB8577939804D6527378B8C108C3D2090FF9B"+
			"E18E2D33E3021ED2EF32D85822423B6304F726AA854BAE07D0396E9A9ADDC40F", 4)
)

// curvesByOID maps every parameter set OID the package knows to its curve,
// including the GOST R 34.10-2012 names of the 2001 CryptoPro curves:
// id-tc26-gost-3410-12-256-paramSetB, C and D are CryptoPro A, B and C
// (R 1323565.1.024-2019, RFC 9215; OpenSSL's gost engine maps them alike).
var curvesByOID = func() map[string]*Curve {
	m := map[string]*Curve{}
	for _, c := range []*Curve{
		CurveGost2001Test, CurveGost2001CryptoProA, CurveGost2001CryptoProB, CurveGost2001CryptoProC,
		CurveGost2001CryptoProXchA, CurveGost2001CryptoProXchB,
		CurveTC26Gost256A, CurveTC26Gost512Test, CurveTC26Gost512A, CurveTC26Gost512B, CurveTC26Gost512C,
	} {
		m[c.OID.String()] = c
	}
	m["1.2.643.7.1.2.1.1.2"] = CurveGost2001CryptoProA
	m["1.2.643.7.1.2.1.1.3"] = CurveGost2001CryptoProB
	m["1.2.643.7.1.2.1.1.4"] = CurveGost2001CryptoProC
	return m
}()

// CurveByOID returns the curve named by a publicKeyParamSet object
// identifier from a certificate's SubjectPublicKeyInfo parameters.
func CurveByOID(oid asn1.ObjectIdentifier) (*Curve, bool) {
	c, ok := curvesByOID[oid.String()]
	return c, ok
}
