package gost

import (
	"hash"
	"testing"
)

func benchHash(b *testing.B, h hash.Hash) {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.Reset()
		h.Write(buf)
		h.Sum(nil)
	}
}

func BenchmarkHash94(b *testing.B)      { benchHash(b, New94(SBoxCryptoPro94)) }
func BenchmarkStreebog512(b *testing.B) { benchHash(b, New512()) }
func BenchmarkStreebog256(b *testing.B) { benchHash(b, New256()) }

// benchVerify verifies one of the OpenSSL-made signatures, so that the
// figure is for a valid signature: the full computation, no early exit.
func benchVerify(b *testing.B, name string) {
	for _, v := range opensslVectors {
		if v.name != name {
			continue
		}
		c, pub, _, newHash := gostKey(b, unhex(b, v.spki))
		digest := sum(newHash(), []byte(v.msg))
		sig := unhex(b, v.sig)
		if !VerifyDigest(c, pub, digest, sig) {
			b.Fatal("vector does not verify")
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if !VerifyDigest(c, pub, digest, sig) {
				b.Fatal("vector does not verify")
			}
		}
		return
	}
	b.Fatalf("no vector %s", name)
}

func BenchmarkVerifyCryptoProA(b *testing.B) { benchVerify(b, "CryptoPro-A") }
func BenchmarkVerifyTC26512A(b *testing.B)   { benchVerify(b, "tc26-512-A") }
