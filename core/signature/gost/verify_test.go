package gost

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"hash"
	"math/big"
	"testing"
)

func dec(t testing.TB, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 0)
	if !ok {
		t.Fatalf("bad number %q", s)
	}
	return v
}

// le encodes v little-endian in n bytes: the byte order of digests and key
// coordinates on the wire.
func le(v *big.Int, n int) []byte {
	b := v.FillBytes(make([]byte, n))
	for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return b
}

// sigValue builds the wire form s||r, each big-endian.
func sigValue(c *Curve, r, s *big.Int) []byte {
	n := c.Size()
	return append(s.FillBytes(make([]byte, n)), r.FillBytes(make([]byte, n))...)
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x01
	return c
}

func reversed(b []byte) []byte {
	c := make([]byte, len(b))
	for i, v := range b {
		c[len(b)-1-i] = v
	}
	return c
}

// assertTamperFails checks that a valid (key, digest, signature) triple
// stops verifying when any one byte of any of the three changes. stride
// thins out the positions tried, to keep the 512-bit cases quick under
// -race; the first and last byte of each are always tried.
func assertTamperFails(t *testing.T, c *Curve, rawKey, digest, sig []byte, stride int) {
	t.Helper()
	pub, err := ParsePublicKeyRaw(c, rawKey)
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	if !VerifyDigest(c, pub, digest, sig) {
		t.Fatal("the untouched vector does not verify")
	}
	positions := func(n int) []int {
		var p []int
		for i := 0; i < n; i += stride {
			p = append(p, i)
		}
		if p[len(p)-1] != n-1 {
			p = append(p, n-1)
		}
		return p
	}
	for _, i := range positions(len(sig)) {
		if VerifyDigest(c, pub, digest, flip(sig, i)) {
			t.Errorf("signature byte %d changed, still verifies", i)
		}
	}
	for _, i := range positions(len(digest)) {
		if VerifyDigest(c, pub, flip(digest, i), sig) {
			t.Errorf("digest byte %d changed, still verifies", i)
		}
	}
	for _, i := range positions(len(rawKey)) {
		// Most changed keys are not even curve points; either way the
		// signature must not be accepted.
		if k, err := ParsePublicKeyRaw(c, flip(rawKey, i)); err == nil && VerifyDigest(c, k, digest, sig) {
			t.Errorf("key byte %d changed, still verifies", i)
		}
	}
}

// TestRFC5832Example is the worked example of GOST R 34.10-2001, RFC 5832
// section 7.1 (also RFC 7091 appendix A.1 for GOST R 34.10-2012 with a
// 256-bit key): test curve, public key Q, hash value e, signature (r, s).
// The private key d and nonce k of the example are not needed to verify.
func TestRFC5832Example(t *testing.T) {
	c := CurveGost2001Test
	qx := dec(t, "57520216126176808443631405023338071176630104906313632182896741342206604859403")
	qy := dec(t, "17614944419213781543809391949654080031942662045363639260709847859438286763994")
	e := dec(t, "20798893674476452017134061561508270130637142515379653289952617252661468872421")
	r := dec(t, "29700980915817952874371204983938256990422752107994319651632687982059210933395")
	s := dec(t, "574973400270084654178925310019147038455227042649098563933718999175515839552")

	// The same numbers in hex, as RFC 7091 A.1 prints them.
	if qx.Cmp(dec(t, "0x7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B")) != 0 ||
		r.Cmp(dec(t, "0x41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493")) != 0 {
		t.Fatal("decimal and hex forms of the example disagree")
	}
	pub, err := NewPublicKey(c, qx, qy)
	if err != nil {
		t.Fatal(err)
	}
	// The standard's e is the number α; a digest carries it little-endian.
	digest := le(e, 32)
	if !Verify(c, pub, digest, r, s) {
		t.Fatal("RFC 5832 example does not verify")
	}
	if Verify(c, pub, e.FillBytes(make([]byte, 32)), r, s) {
		t.Fatal("verifies with the digest read big-endian")
	}
	rawKey := append(le(qx, 32), le(qy, 32)...)
	assertTamperFails(t, c, rawKey, digest, sigValue(c, r, s), 1)
}

// TestRFC7091Example512 is the 512-bit example of GOST R 34.10-2012,
// RFC 7091 appendix A.2.
func TestRFC7091Example512(t *testing.T) {
	c := CurveTC26Gost512Test
	qx := dec(t, "0x115DC5BC96760C7B48598D8AB9E740D4C4A85A65BE33C1815B5C320C854621DD"+
		"5A515856D13314AF69BC5B924C8B4DDFF75C45415C1D9DD9DD33612CD530EFE1")
	qy := dec(t, "0x37C7C90CD40B0F5621DC3AC1B751CFA0E2634FA0503B3D52639F5D7FB72AFD61"+
		"EA199441D943FFE7F0C70A2759A3CDB84C114E1F9339FDF27F35ECA93677BEEC")
	e := dec(t, "0x3754F3CFACC9E0615C4F4A7C4D8DAB531B09B6F9C170C533A71D147035B0C591"+
		"7184EE536593F4414339976C647C5D5A407ADEDB1D560C4FC6777D2972075B8C")
	r := dec(t, "0x2F86FA60A081091A23DD795E1E3C689EE512A3C82EE0DCC2643C78EEA8FCACD3"+
		"5492558486B20F1C9EC197C90699850260C93BCBCD9C5C3317E19344E173AE36")
	s := dec(t, "0x1081B394696FFE8E6585E7A9362D26B6325F56778AADBC081C0BFBE933D52FF5"+
		"823CE288E8C4F362526080DF7F70CE406A6EEB1F56919CB92A9853BDE73E5B4A")
	pub, err := NewPublicKey(c, qx, qy)
	if err != nil {
		t.Fatal(err)
	}
	digest := le(e, 64)
	if !Verify(c, pub, digest, r, s) {
		t.Fatal("RFC 7091 512-bit example does not verify")
	}
	if Verify(c, pub, digest, s, r) {
		t.Fatal("verifies with r and s swapped")
	}
	rawKey := append(le(qx, 64), le(qy, 64)...)
	assertTamperFails(t, c, rawKey, digest, sigValue(c, r, s), 5)
}

type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

var (
	oidGost2001Key    = asn1.ObjectIdentifier{1, 2, 643, 2, 2, 19}
	oidGost2012Key256 = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 1, 1}
	oidGost2012Key512 = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 1, 2}
)

// gostKey reads a GOST SubjectPublicKeyInfo the way a CMS verifier must:
// the curve from the publicKeyParamSet OID, the hash from the key algorithm
// (and, for GOST R 34.10-2001, the digestParamSet), and the key from the
// OCTET STRING in the BIT STRING.
func gostKey(t testing.TB, spkiDER []byte) (*Curve, *PublicKey, []byte, func() hash.Hash) {
	t.Helper()
	var info subjectPublicKeyInfo
	if rest, err := asn1.Unmarshal(spkiDER, &info); err != nil || len(rest) != 0 {
		t.Fatalf("SubjectPublicKeyInfo: %v", err)
	}
	var params []asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil || len(params) == 0 {
		t.Fatalf("key parameters: %v", err)
	}
	c, ok := CurveByOID(params[0])
	if !ok {
		t.Fatalf("unknown curve %v", params[0])
	}
	var newHash func() hash.Hash
	switch alg := info.Algorithm.Algorithm; {
	case alg.Equal(oidGost2001Key):
		sbox := SBoxCryptoPro94
		if len(params) > 1 {
			if sbox, ok = SBox94ByOID(params[1]); !ok {
				t.Fatalf("unknown digestParamSet %v", params[1])
			}
		}
		newHash = func() hash.Hash { return New94(sbox) }
	case alg.Equal(oidGost2012Key256):
		newHash = New256
	case alg.Equal(oidGost2012Key512):
		newHash = New512
	default:
		t.Fatalf("not a GOST key: %v", alg)
	}
	pub, err := ParsePublicKeyFromSubjectPublicKey(c, info.PublicKey.Bytes)
	if err != nil {
		t.Fatalf("%s key: %v", c.Name, err)
	}
	var raw []byte
	if _, err := asn1.Unmarshal(info.PublicKey.Bytes, &raw); err != nil {
		t.Fatal(err)
	}
	return c, pub, raw, newHash
}

// The example certificates of RFC 4491 section 4.2 (GOST R 34.10-2001 on
// the CryptoPro-XchA curve with GOST R 34.11-94) and RFC 9215 appendix A
// (GOST R 34.10-2012: 256-bit key on the 2001 test curve with Streebog-256;
// 256-bit key on tc26 paramSetA; 512-bit key on the 512-bit test curve with
// Streebog-512). All are self-signed; OpenSSL's gost engine accepts each
// (openssl verify -engine gost -check_ss_sig) and rejects each with one
// signature byte changed.
var rfcCertificates = []struct{ name, der string }{
	{"RFC 4491 section 4.2", "base64:" +
		"MIIB0DCCAX8CECv1xh7CEb0Xx9zUYma0LiEwCAYGKoUDAgIDMG0xHzAdBgNVBAMM" +
		"Fkdvc3RSMzQxMC0yMDAxIGV4YW1wbGUxEjAQBgNVBAoMCUNyeXB0b1BybzELMAkG" +
		"A1UEBhMCUlUxKTAnBgkqhkiG9w0BCQEWGkdvc3RSMzQxMC0yMDAxQGV4YW1wbGUu" +
		"Y29tMB4XDTA1MDgxNjE0MTgyMFoXDTE1MDgxNjE0MTgyMFowbTEfMB0GA1UEAwwW" +
		"R29zdFIzNDEwLTIwMDEgZXhhbXBsZTESMBAGA1UECgwJQ3J5cHRvUHJvMQswCQYD" +
		"VQQGEwJSVTEpMCcGCSqGSIb3DQEJARYaR29zdFIzNDEwLTIwMDFAZXhhbXBsZS5j" +
		"b20wYzAcBgYqhQMCAhMwEgYHKoUDAgIkAAYHKoUDAgIeAQNDAARAhJVodWACGkB1" +
		"CM0TjDGJLP3lBQN6Q1z0bSsP508yfleP68wWuZWIA9CafIWuD+SN6qa7flbHy7Df" +
		"D2a8yuoaYDAIBgYqhQMCAgMDQQA8L8kJRLcnqeyn1en7U23Sw6pkfEQu3u0xFkVP" +
		"vFQ/3cHeF26NG+xxtZPz3TaTVXdoiYkXYiD02rEx1bUcM97i"},
	{"RFC 9215 A.1", "hex:" +
		"3082012d3081dba00302010202010a300a06082a8503070101030230123110300e" +
		"060355040313074578616d706c653020170d3031303130313030303030305a180f" +
		"32303530313233313030303030305a30123110300e060355040313074578616d70" +
		"6c653066301f06082a85030701010101301306072a85030202230006082a850307" +
		"0101020203430004400bd86fe5d8db89668f789b4e1dba8585c5508b45ec5b59d8" +
		"906ddb70e2492b7fda77ff871a10fbdf2766d293c5d164afbb3c7b973a41c885d1" +
		"1d70d689b4f126a3133011300f0603551d130101ff040530030101ff300a06082a" +
		"850307010103020341004d53f012fe081776507d4d9bb81f00efdb4eefd4ab83ba" +
		"c4bacf735173cfa81c41aa28d2f1ab148280cd9ed56feda41974053554a42767b8" +
		"3ad043fd39dc0493"},
	{"RFC 9215 A.2", "hex:" +
		"308201253081d3a00302010202010a300a06082a8503070101030230123110300e" +
		"060355040313074578616d706c653020170d3031303130313030303030305a180f" +
		"32303530313233313030303030305a30123110300e060355040313074578616d70" +
		"6c65305e301706082a85030701010101300b06092a850307010201010103430004" +
		"40742795d4bee884ddf2850fec03ea3faf1844e01d9da60b645093a55e26dfc399" +
		"78f596cf4d4d0c6cf1d18943d94493d16b9ec0a16d512d2e127cc4691a6318e2a3" +
		"133011300f0603551d130101ff040530030101ff300a06082a8503070101030203" +
		"4100140b4da9124b09cb0d5ce928ee874273a310129492ec0e29369e3b79124857" +
		"8c1d0e1da5be347c6f1b5256c7aeac200ad64ac77a6f5b3a0e097318e7ae6ee769"},
	{"RFC 9215 A.3", "hex:" +
		"308201aa30820116a00302010202010b300a06082a8503070101030330123110300e" +
		"060355040313074578616d706c653020170d3031303130313030303030305a180f" +
		"32303530313233313030303030305a30123110300e060355040313074578616d70" +
		"6c653081a0301706082a85030701010102300b06092a8503070102010200038184" +
		"00048180e1ef30d52c6133ddd99d1d5c41455cf7df4d8b4c925bbc69af1433d156" +
		"58515add2146850c325c5b81c133be655aa8c4d440e7b98a8d59487b0c7696bcc5" +
		"5d11ecbe7736a9ec357ff2fd39931f4e114cb8cda359270ac7f0e7ff43d9419419" +
		"ea61fd2ab77f5d9f63523d3b50a04f63e2a0cf51b7c13adc21560f0bd40cc9c737" +
		"a3133011300f0603551d130101ff040530030101ff300a06082a85030701010303" +
		"03818100415703d892f1a5f3f68c4353189a7ee207b80b5631ef9d49529a4d6b54" +
		"2c2cfa15aa2eacf11f470fde7d954856903c35fd8f955ef300d95c77534a724a0e" +
		"ee702f86fa60a081091a23dd795e1e3c689ee512a3c82ee0dcc2643c78eea8fcac" +
		"d35492558486b20f1c9ec197c90699850260c93bcbcd9c5c3317e19344e173ae36"},
}

func decodeCert(t *testing.T, s string) []byte {
	t.Helper()
	switch {
	case len(s) > 7 && s[:7] == "base64:":
		b, err := base64.StdEncoding.DecodeString(s[7:])
		if err != nil {
			t.Fatal(err)
		}
		return b
	case len(s) > 4 && s[:4] == "hex:":
		return unhex(t, s[4:])
	}
	t.Fatalf("bad encoding of %q", s)
	return nil
}

// TestRFCCertificates verifies the self-signature of each RFC example
// certificate end to end: key from the certificate, hash of the TBS
// certificate, signature value from the certificate. Each also fails under
// every other plausible byte order, which is what pins the conventions:
// digest little-endian, signature s||r big-endian, key X||Y little-endian.
func TestRFCCertificates(t *testing.T) {
	for _, v := range rfcCertificates {
		t.Run(v.name, func(t *testing.T) {
			cert, err := x509.ParseCertificate(decodeCert(t, v.der))
			if err != nil {
				t.Fatal(err)
			}
			c, pub, raw, newHash := gostKey(t, cert.RawSubjectPublicKeyInfo)
			digest := sum(newHash(), cert.RawTBSCertificate)
			sig := cert.Signature
			if !VerifyDigest(c, pub, digest, sig) {
				t.Fatalf("self-signature does not verify (%s)", c.Name)
			}

			n := c.Size()
			if VerifyDigest(c, pub, reversed(digest), sig) {
				t.Error("also verifies with the digest read big-endian")
			}
			rs := append(append([]byte(nil), sig[n:]...), sig[:n]...)
			if VerifyDigest(c, pub, digest, rs) {
				t.Error("also verifies as r||s")
			}
			leSig := append(reversed(sig[:n]), reversed(sig[n:])...)
			if VerifyDigest(c, pub, digest, leSig) {
				t.Error("also verifies with little-endian r and s")
			}
			if k, err := ParsePublicKeyRaw(c, append(reversed(raw[:n]), reversed(raw[n:])...)); err == nil && VerifyDigest(c, k, digest, sig) {
				t.Error("also verifies with big-endian key coordinates")
			}
			if k, err := ParsePublicKeyRaw(c, append(append([]byte(nil), raw[n:]...), raw[:n]...)); err == nil && VerifyDigest(c, k, digest, sig) {
				t.Error("also verifies with the coordinates swapped")
			}

			stride := 1
			if n == 64 {
				stride = 7
			}
			assertTamperFails(t, c, raw, digest, sig, stride)
		})
	}
}

// TestRFC9215SharesRFC7091Key: RFC 9215's first and third certificates use
// the example keys of RFC 7091, and their signatures reuse its nonces, so
// the r halves equal the examples' r. This ties the certificate tests to the
// standard's worked examples.
func TestRFC9215SharesRFC7091Key(t *testing.T) {
	cert1, err := x509.ParseCertificate(decodeCert(t, rfcCertificates[1].der))
	if err != nil {
		t.Fatal(err)
	}
	_, pub, _, _ := gostKey(t, cert1.RawSubjectPublicKeyInfo)
	if pub.X.Cmp(dec(t, "0x7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B")) != 0 {
		t.Errorf("certificate A.1 key X = %x", pub.X)
	}
	r, _, err := ParseSignature(CurveGost2001Test, cert1.Signature)
	if err != nil || r.Cmp(dec(t, "0x41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493")) != 0 {
		t.Errorf("certificate A.1 r = %x (%v)", r, err)
	}
}

// Signatures made with OpenSSL's gost engine (3.0.1, Debian bookworm's
// libengine-gost-openssl) for this test: one per parameter set, with the
// hash the key type prescribes (md_gost94, md_gost12_256, md_gost12_512).
// The keys were generated for the purpose and their private halves thrown
// away; each signature verified with openssl dgst -verify. They show that
// every curve constant here agrees with an independent implementation, and
// that the CMS-level conventions (digest, s||r, key) match a widely used
// signer, not only the RFC examples.
var opensslVectors = []struct{ name, msg, spki, sig string }{
	{"CryptoPro-A", "edobot GOST interop vector: cpA",
		"3063301c06062a8503020213301206072a85030202230106072a850302021e010343000440b84584016641e7732ad7e77e85f98172aad17e844ad460f4e57e15068604e99f098bba33de4f55ef1d8d9cb97b399ba4227f8f39ebe33d26ce4d3dacbbf8b723",
		"6c3839191678854073c080bf53547e6e8d0087efa86fafe4eed39ce88d4d9ef5ffead5bcde4f14633576603c731a0b4735f42b9c90dc95dc7ee6bed236efffb8"},
	{"CryptoPro-B", "edobot GOST interop vector: cpB",
		"3063301c06062a8503020213301206072a85030202230206072a850302021e010343000440d332ce9dd9f314ee7e0b58f729edbff8cc879de711ad43634bbbcdf99bb8dd4af421b98e65c1ef7bcd715076788bc282edcb4d80649342c23c574aed2d5db95e",
		"787528182d793d36a523ab623c61c81169d187a5f03db302ca467e84b9aceb8f7e165b1581f293ae995fa4823e842c79ddf9a4ea4e2fdd1df2ddf9283125aa57"},
	{"CryptoPro-C", "edobot GOST interop vector: cpC",
		"3063301c06062a8503020213301206072a85030202230306072a850302021e010343000440af7995ccfdbfef25481957230411f67d7e4560ddebec190bd59b2a648ef4fe903714fb0692c91e388678377f66a8310f6c68a731986a2e40f5ae74a5e91ab11c",
		"7e33a7fe7f4ea9cd1057214dd1f3814b767ea1f6d9d4ee0551b9fbbe70f7ecb86c088def6c99fe2adb79ded83c8531718069e98694fe3b2d2987a22040fc1f11"},
	{"CryptoPro-XchA", "edobot GOST interop vector: cpXA",
		"3063301c06062a8503020213301206072a85030202240006072a850302021e010343000440270088c211d817a68d727cc862b18f6609bd30548c1a6fb77f5cd8e525470c871daa962e7e51576ee64450dfbcdf9bfdffe3f1878ee62f75f4a6ae42c83f7308",
		"13a8e08b63415391495202687428427590d05f210b258a90f993b06dabaccb4368be3e18b431989ce16bc98aea0809f7c13e4dc511877b50b1fac3045e36b35b"},
	{"CryptoPro-XchB", "edobot GOST interop vector: cpXB",
		"3063301c06062a8503020213301206072a85030202240106072a850302021e01034300044068d3c53dc72bad33588cd3273d6e25137da623bd3f0ef2a3f8b05d366cbacd6d20d28888fe4f3ba4add9144736336df2d58ae21360945dde899818396ecdbd43",
		"18a3f497addfa7da54bdb1c4b2b92b1c4262b44fe7a787960657255fd34d349d19d803cf8b5505bf2c422e52eded45924a6ece9572cc561485836e0cf1919877"},
	{"2001-Test", "edobot GOST interop vector: test2001",
		"3063301c06062a8503020213301206072a85030202230006072a850302021e010343000440ddc8636e90fcbdb8ba86fe18320c02427db5b0a3e4ac25d1fc5ad69445fb43073986f9a1e81f06217017aaec2347b493ae0400b9b0e45adc09174be5623e6339",
		"2006018666195122094ea61ba9441dafcc16747786607355c8199256d0d51e431758099e178a4d3f77c4f89cb78c6127cf0d45e1f7f90f7fd13003d16d9be07b"},
	{"tc26-256-A", "edobot GOST interop vector: tc256A",
		"305e301706082a85030701010101300b06092a85030701020101010343000440eb6f93eca2eceeb49768b9ba245727f9a5aee5aa531486aad7bb120c3e7e56d22fe0083f6bc13ca96961da36b233965f24b09c7702c55b3a903a41c6b1a1763f",
		"16d576883595a6d7fd3ed0015de0296e121e83b08e88265bc4d8bdf112903a5d0a3b4e527543cd89fda64eebe4335fd491031d98c43c1fe26e933b69a039c74b"},
	{"tc26-256-B", "edobot GOST interop vector: tc256B",
		"305e301706082a85030701010101300b06092a85030701020101020343000440a5573d1e865a00ed5c307bcb7edbd28be0fa44a58dcc299e579b3d67f036be2425b19629a1c5b121dd9fc2650f148391b3759cfaba70cf564e33efd535cb9d6d",
		"0263db2d085186e202829ab2782dd29a66bccfde83d7768e4ef8bc03e7b3ba7d9d8546c903839f5c9f2f38d8281b5f82320ae41925b6c8cecae0b8533579ab31"},
	{"tc26-512-A", "edobot GOST interop vector: tc512A",
		"3081aa302106082a85030701010102301506092a850307010201020106082a8503070101020303818400048180fe1c3186b79701c93b12016e908b0762e6d99879d3f879bb722982837c0b6a4d01bc72025cf7bb31ab49d6ecc67507f550479ef4e5eeeb6cd227f7c812532a5bc209a89957d507f5fba3a2abbf7057d9e30e20df07d1eab8f425dd0df70b6350f8154afab407d2c13efde46a026f5244e5e7cc961708c3c26e0b7a0dc5c1b9a8",
		"3a156eeadeaf91889b892c1db0aef910cb27dd18273d1b37294487666641dd438b0928a9be855fbcd0dfa403087adc6ec05170b04e42220850eeb662413409a6952cb5d36accff55d8ba7b5f9cd209a2fc0fcf15d151fa24b9d07883a2c349195126f39c0fa1fab3abb6024bcb5199b157b27a948a26646f64fe80599e16df08"},
	{"tc26-512-B", "edobot GOST interop vector: tc512B",
		"3081aa302106082a85030701010102301506092a850307010201020206082a8503070101020303818400048180adddca2c9f1a7a93707b7210b252808559ce6e671a0aaed00b610232d5bf2eafe94847c1fad9196815f9c0f34758c602c04e1831398577c7644140ec0bd7297c86df12647638e6da5eb007382dbb0f628abedba589537802c1d4f6cd3b249c5c4781763393ba82a994627a6614efe7922f66e9a85f0a519fc0a6ae50b41adb5e",
		"2a1d1cc887ab6a08dc0055270757df28e6be8570a1c5de14190e18f94aa9ed913812eebd24e1a0f61eec39d1ef3b12cffe5de5af86741864d22d90fb9e106923085d07b97ef94f148f304c4553693321ba4af8b0c40dec957cc2d425e5b8decb6da58fad1297dbe385263d5e296d954cb39214bea99414258855de272883723c"},
	{"tc26-512-C", "edobot GOST interop vector: tc512C",
		"3081a0301706082a85030701010102300b06092a850307010201020303818400048180195dc31ea390bf89df6c66b73d28f0b1bdf0e76359c11e05c48595005177f96d7b80a44311fcaebde3a90f837b6f1d9a3a43efac239a1efd99b1c26667894310b2aa7e0c9949a569a5de4459fdc200c989ecc02342d14a61404a1342b1fa842c855e0a4ab1f39f9a190ee8024e8a9be09156d46c6b1feda9c186685075f6e39f",
		"2ec3f8b8851fc83a937cb237ed734d14773c6c689287d23e36e607ce9825e2910a349bfa38b0f2df374e78b1688787d14dcef7db09507a99e18de212bc4415c61ed5a4c9217d95b40913899eaea6444673d8333d318345acd5f203105c72f1e98f800893e91a0c2e3adfeff831c80f25662e0339202d7b03ef317dafaac6847a"},
}

func TestOpenSSLSignatures(t *testing.T) {
	for _, v := range opensslVectors {
		t.Run(v.name, func(t *testing.T) {
			c, pub, raw, newHash := gostKey(t, unhex(t, v.spki))
			digest := sum(newHash(), []byte(v.msg))
			sig := unhex(t, v.sig)
			if !VerifyDigest(c, pub, digest, sig) {
				t.Fatalf("OpenSSL signature on %s does not verify", c.Name)
			}
			if VerifyDigest(c, pub, sum(newHash(), []byte(v.msg+".")), sig) {
				t.Error("verifies for another message")
			}
			assertTamperFails(t, c, raw, digest, sig, 17)
		})
	}
}

// TestCurveParameters checks every curve for internal consistency, so that
// a mistyped digit cannot hide: P and Q prime, the base point on the curve
// and of order Q, and Cofactor·Q within the Hasse bound of the group order
// (|P + 1 - h·Q| <= 2√P).
func TestCurveParameters(t *testing.T) {
	for _, c := range []*Curve{
		CurveGost2001Test, CurveGost2001CryptoProA, CurveGost2001CryptoProB, CurveGost2001CryptoProC,
		CurveGost2001CryptoProXchA, CurveGost2001CryptoProXchB,
		CurveTC26Gost256A, CurveTC26Gost512Test, CurveTC26Gost512A, CurveTC26Gost512B, CurveTC26Gost512C,
	} {
		t.Run(c.Name, func(t *testing.T) {
			if !c.P.ProbablyPrime(32) || !c.Q.ProbablyPrime(32) {
				t.Error("P or Q is not prime")
			}
			if !c.IsOnCurve(c.X, c.Y) {
				t.Error("base point not on the curve")
			}
			if _, _, notInf := c.scalarMult(c.X, c.Y, c.Q); notInf {
				t.Error("Q·G is not the point at infinity")
			}
			if _, _, notInf := c.scalarMult(c.X, c.Y, new(big.Int).Sub(c.Q, big.NewInt(1))); !notInf {
				t.Error("(Q-1)·G is the point at infinity")
			}
			n := new(big.Int).Mul(c.Cofactor, c.Q)
			diff := new(big.Int).Sub(new(big.Int).Add(c.P, big.NewInt(1)), n)
			diff.Mul(diff, diff)
			if bound := new(big.Int).Mul(big.NewInt(4), c.P); diff.Cmp(bound) > 0 {
				t.Error("Cofactor·Q is outside the Hasse interval")
			}
			want := 32
			if c.P.BitLen() > 256 {
				want = 64
			}
			if c.Size() != want {
				t.Errorf("Size() = %d", c.Size())
			}
			got, ok := CurveByOID(c.OID)
			if !ok || got != c {
				t.Errorf("CurveByOID(%v) does not return the curve", c.OID)
			}
		})
	}
}

func TestCurveByOIDAliases(t *testing.T) {
	for oid, want := range map[string]*Curve{
		"1.2.643.7.1.2.1.1.2": CurveGost2001CryptoProA,
		"1.2.643.7.1.2.1.1.3": CurveGost2001CryptoProB,
		"1.2.643.7.1.2.1.1.4": CurveGost2001CryptoProC,
		"1.2.643.2.2.36.0":    CurveGost2001CryptoProXchA,
		"1.2.643.7.1.2.1.2.1": CurveTC26Gost512A,
	} {
		var o asn1.ObjectIdentifier
		for _, part := range bytes.Split([]byte(oid), []byte(".")) {
			n := 0
			for _, d := range part {
				n = n*10 + int(d-'0')
			}
			o = append(o, n)
		}
		if got, ok := CurveByOID(o); !ok || got != want {
			t.Errorf("CurveByOID(%s) = %v", oid, got)
		}
	}
	if _, ok := CurveByOID(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}); ok {
		t.Error("P-256 accepted as a GOST curve")
	}
}

// TestRejects covers the input checks that no valid vector exercises.
func TestRejects(t *testing.T) {
	c := CurveGost2001Test
	qx := dec(t, "57520216126176808443631405023338071176630104906313632182896741342206604859403")
	qy := dec(t, "17614944419213781543809391949654080031942662045363639260709847859438286763994")
	e := dec(t, "20798893674476452017134061561508270130637142515379653289952617252661468872421")
	r := dec(t, "29700980915817952874371204983938256990422752107994319651632687982059210933395")
	s := dec(t, "574973400270084654178925310019147038455227042649098563933718999175515839552")
	pub := &PublicKey{X: qx, Y: qy}
	digest := le(e, 32)
	if !Verify(c, pub, digest, r, s) {
		t.Fatal("baseline does not verify")
	}
	zero, one := big.NewInt(0), big.NewInt(1)
	cases := map[string]func() bool{
		"r = 0":               func() bool { return Verify(c, pub, digest, zero, s) },
		"s = 0":               func() bool { return Verify(c, pub, digest, r, zero) },
		"r = q":               func() bool { return Verify(c, pub, digest, c.Q, s) },
		"s = q":               func() bool { return Verify(c, pub, digest, r, c.Q) },
		"r + q":               func() bool { return Verify(c, pub, digest, new(big.Int).Add(r, c.Q), s) },
		"negative s":          func() bool { return Verify(c, pub, digest, r, new(big.Int).Neg(s)) },
		"nil r":               func() bool { return Verify(c, pub, digest, nil, s) },
		"nil key":             func() bool { return Verify(c, nil, digest, r, s) },
		"nil coordinate":      func() bool { return Verify(c, &PublicKey{X: qx}, digest, r, s) },
		"nil curve":           func() bool { return Verify(nil, pub, digest, r, s) },
		"key off the curve":   func() bool { return Verify(c, &PublicKey{X: qx, Y: new(big.Int).Add(qy, one)}, digest, r, s) },
		"key coordinate >= p": func() bool { return Verify(c, &PublicKey{X: new(big.Int).Add(qx, c.P), Y: qy}, digest, r, s) },
		"short digest":        func() bool { return Verify(c, pub, digest[:31], r, s) },
		"long digest":         func() bool { return Verify(c, pub, append(digest, 0), r, s) },
		"short signature":     func() bool { return VerifyDigest(c, pub, digest, sigValue(c, r, s)[1:]) },
		"VerifyDigest nil c":  func() bool { return VerifyDigest(nil, pub, digest, sigValue(c, r, s)) },
		"other curve":         func() bool { return Verify(CurveGost2001CryptoProA, pub, digest, r, s) },
	}
	for name, f := range cases {
		if f() {
			t.Errorf("%s: accepted", name)
		}
	}

	// e ≡ 0 (mod q) must be treated as e = 1, not crash or divide by zero.
	if Verify(c, pub, le(c.Q, 32), r, s) {
		t.Error("digest equal to q accepted for another message's signature")
	}

	if _, err := ParsePublicKeyRaw(c, make([]byte, 63)); err != ErrKeyLength {
		t.Errorf("short key: %v", err)
	}
	if _, err := ParsePublicKeyRaw(c, make([]byte, 64)); err != ErrKeyNotOnCurve {
		t.Errorf("(0, 0): %v", err)
	}
	if _, _, err := ParseSignature(c, make([]byte, 65)); err != ErrSignatureLength {
		t.Errorf("long signature: %v", err)
	}
	octets, _ := asn1.Marshal(append(le(qx, 32), le(qy, 32)...))
	if k, err := ParsePublicKeyFromSubjectPublicKey(c, octets); err != nil || k.X.Cmp(qx) != 0 || k.Y.Cmp(qy) != 0 {
		t.Errorf("OCTET STRING key: %v", err)
	}
	for name, b := range map[string][]byte{
		"trailing data": append(append([]byte(nil), octets...), 0),
		"not an OCTET STRING": func() []byte {
			b, _ := asn1.Marshal(asn1.RawValue{Tag: asn1.TagBitString, Bytes: octets[2:]})
			return b
		}(),
		"empty": nil,
	} {
		if _, err := ParsePublicKeyFromSubjectPublicKey(c, b); err != ErrKeyEncoding {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSubgroupCheck: on a curve with cofactor 4, points of the curve outside
// the group of order q must not be accepted as keys.
func TestSubgroupCheck(t *testing.T) {
	c := CurveTC26Gost256A
	found := false
	for x := int64(1); x < 200 && !found; x++ {
		bx := big.NewInt(x)
		rhs := new(big.Int).Exp(bx, big.NewInt(3), c.P)
		rhs.Add(rhs, new(big.Int).Mul(c.A, bx))
		rhs.Add(rhs, c.B)
		rhs.Mod(rhs, c.P)
		y := new(big.Int).ModSqrt(rhs, c.P)
		if y == nil {
			continue
		}
		if _, _, notInf := c.scalarMult(bx, y, c.Q); !notInf {
			continue // happens to lie in the subgroup
		}
		found = true
		if _, err := NewPublicKey(c, bx, y); err != ErrKeyNotInGroup {
			t.Errorf("point (%d, y) outside the subgroup: %v", x, err)
		}
		if _, err := ParsePublicKeyRaw(c, append(le(bx, 32), le(y, 32)...)); err != ErrKeyNotInGroup {
			t.Errorf("raw point (%d, y) outside the subgroup: %v", x, err)
		}
	}
	if !found {
		t.Fatal("found no point outside the subgroup to test with")
	}
	// The base point itself is in the subgroup.
	if _, err := NewPublicKey(c, c.X, c.Y); err != nil {
		t.Errorf("base point rejected: %v", err)
	}
}

// TestCombinedMultEdgeCases covers the additions the formulas must special-
// case: Q = G (G + Q is a doubling) and Q = -G (G + Q is infinity).
func TestCombinedMultEdgeCases(t *testing.T) {
	c := CurveTC26Gost512A
	k1, k2 := big.NewInt(12345), big.NewInt(678)
	want := func(k *big.Int) *big.Int {
		x, _, _ := c.scalarMult(c.X, c.Y, k)
		return x
	}
	x, _, ok := c.combinedMult(k1, k2, c.X, c.Y)
	if !ok || x.Cmp(want(big.NewInt(12345+678))) != 0 {
		t.Error("k1·G + k2·G wrong")
	}
	negY := new(big.Int).Sub(c.P, c.Y)
	x, _, ok = c.combinedMult(k1, k2, c.X, negY)
	if !ok || x.Cmp(want(big.NewInt(12345-678))) != 0 {
		t.Error("k1·G + k2·(-G) wrong")
	}
	if _, _, ok = c.combinedMult(k1, k1, c.X, negY); ok {
		t.Error("k·G + k·(-G) is not infinity")
	}
}
