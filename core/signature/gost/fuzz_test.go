package gost

import (
	"encoding/hex"
	"testing"
)

// fuzzCurves are the curves a fuzz input can pick with its first byte.
var fuzzCurves = []*Curve{
	CurveGost2001CryptoProA, CurveGost2001Test, CurveTC26Gost256A,
	CurveTC26Gost512A, CurveTC26Gost512C, CurveTC26Gost512Test,
}

// FuzzParseVerify feeds arbitrary bytes through the parsers and the
// verifier: byte 0 picks the curve, the rest is cut into key, signature and
// digest at the sizes the curve expects, with whatever is short left short.
// Nothing may panic, and a key that parses must be a curve point.
func FuzzParseVerify(f *testing.F) {
	for _, v := range opensslVectors[:1] {
		spki, _ := hex.DecodeString(v.spki)
		sig, _ := hex.DecodeString(v.sig)
		raw := spki[len(spki)-64:]
		digest := New94(SBoxCryptoPro94)
		digest.Write([]byte(v.msg))
		f.Add(append(append(append([]byte{0}, raw...), sig...), digest.Sum(nil)...))
	}
	f.Add([]byte{})
	f.Add([]byte{3})
	f.Add(make([]byte, 1+128+128+64))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		c := fuzzCurves[int(data[0])%len(fuzzCurves)]
		data = data[1:]
		n := c.Size()
		take := func(k int) []byte {
			k = min(k, len(data))
			b := data[:k]
			data = data[k:]
			return b
		}
		raw, sig, digest := take(2*n), take(2*n), take(n)

		pub, err := ParsePublicKeyRaw(c, raw)
		if err == nil && !c.IsOnCurve(pub.X, pub.Y) {
			t.Fatal("parsed key is not on the curve")
		}
		ParsePublicKeyFromSubjectPublicKey(c, raw)
		r, s, err := ParseSignature(c, sig)
		if err == nil {
			Verify(c, pub, digest, r, s)
			// Also exercise the arithmetic with a valid key and a
			// signature that is almost certainly wrong.
			Verify(c, &PublicKey{X: c.X, Y: c.Y}, append(digest, make([]byte, n-len(digest))...), r, s)
		}
		VerifyDigest(c, pub, digest, sig)
	})
}
