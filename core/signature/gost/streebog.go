package gost

import (
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math/bits"
)

// Streebog digest and block lengths in bytes.
const (
	Size256           = 32
	Size512           = 64
	BlockSizeStreebog = 64
)

// New512 returns a GOST R 34.11-2012 (Streebog) hash with a 512-bit result.
//
// The digest is the 512-bit hash value least significant byte first, as
// OpenSSL's md_gost12_512 prints it and CMS carries it.
// RFC 6986 prints messages and hash values as numbers, most significant byte
// first, so its vectors read in reverse (see the tests).
func New512() hash.Hash { return &streebog{size: Size512} }

// New256 returns a GOST R 34.11-2012 (Streebog) hash with a 256-bit result,
// with the same byte order as New512.
func New256() hash.Hash {
	d := &streebog{size: Size256}
	d.Reset()
	return d
}

// streebog keeps every 512-bit quantity as eight 64-bit words, least
// significant first; byte i of the byte-string form is byte i%8 of word i/8.
type streebog struct {
	size     int
	h, n, ss [8]uint64 // chaining value h, bit counter N, block sum Σ
	buf      [64]byte
	nbuf     int
}

func (d *streebog) Size() int      { return d.size }
func (d *streebog) BlockSize() int { return BlockSizeStreebog }

func (d *streebog) Reset() {
	*d = streebog{size: d.size}
	if d.size == Size256 {
		// The 256-bit variant starts from IV = 0x01 in every byte and is
		// otherwise the same function (RFC 6986 section 5).
		for i := range d.h {
			d.h[i] = 0x0101010101010101
		}
	}
}

func (d *streebog) Write(p []byte) (int, error) {
	n := len(p)
	d.nbuf = feed(d.buf[:], d.nbuf, p, d.block)
	return n, nil
}

// block absorbs one full 64-byte block (RFC 6986 section 8.2). Unlike
// GOST R 34.11-94, a full block can be processed at once: the final stage
// always pads whatever is left, even nothing, to a block of its own.
func (d *streebog) block(b []byte) {
	var m [8]uint64
	for i := range m {
		m[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	g(&d.h, &d.n, &m)
	add512(&d.n, &[8]uint64{512})
	add512(&d.ss, &m)
}

// Sum appends the digest to b without changing the running state.
func (d *streebog) Sum(b []byte) []byte {
	c := *d
	// Stage 3 of RFC 6986 section 8: pad the rest as 0...01||M (in byte
	// order: the message bytes, one 0x01, zeros), compress it, add its
	// length in bits to N and the block to Σ, then fold N and Σ in with a
	// zero counter.
	var last [64]byte
	copy(last[:], c.buf[:c.nbuf])
	last[c.nbuf] = 1
	var m [8]uint64
	for i := range m {
		m[i] = binary.LittleEndian.Uint64(last[8*i:])
	}
	g(&c.h, &c.n, &m)
	add512(&c.n, &[8]uint64{uint64(c.nbuf) * 8})
	add512(&c.ss, &m)
	var zero [8]uint64
	g(&c.h, &zero, &c.n)
	g(&c.h, &zero, &c.ss)
	var out [64]byte
	for i, w := range c.h {
		binary.LittleEndian.PutUint64(out[8*i:], w)
	}
	// The 256-bit result is MSB_256 of h: its most significant half, which
	// is the second half of the little-endian byte string.
	return append(b, out[64-c.size:]...)
}

// add512 sets x = x + y mod 2^512.
func add512(x, y *[8]uint64) {
	var carry uint64
	for i := range x {
		x[i], carry = bits.Add64(x[i], y[i], carry)
	}
}

// g is the compression function g_N(h, m) = E(LPS(h ^ N), m) ^ h ^ m of
// RFC 6986 section 7, with h updated in place.
func g(h, n, m *[8]uint64) {
	var k, s [8]uint64
	for i := range k {
		k[i] = h[i] ^ n[i]
	}
	lps(&k)
	s = *m
	// E(K, m): twelve rounds of X[K_i] then LPS, the round keys following
	// K_(i+1) = LPS(K_i ^ C_i), and a final X[K_13].
	for r := 0; r < 12; r++ {
		for i := range s {
			s[i] ^= k[i]
		}
		lps(&s)
		for i := range k {
			k[i] ^= streebogC[r][i]
		}
		lps(&k)
	}
	for i := range h {
		h[i] ^= s[i] ^ k[i] ^ m[i]
	}
}

// lps applies S (byte substitution by π), P (byte transposition by τ) and L
// (multiplication of each 64-bit word by the matrix A) in one pass through
// the precomputed table lpsTable.
func lps(x *[8]uint64) {
	var out [8]uint64
	for k := range out {
		sh := 8 * uint(k)
		out[k] = lpsTable[0][byte(x[0]>>sh)] ^ lpsTable[1][byte(x[1]>>sh)] ^
			lpsTable[2][byte(x[2]>>sh)] ^ lpsTable[3][byte(x[3]>>sh)] ^
			lpsTable[4][byte(x[4]>>sh)] ^ lpsTable[5][byte(x[5]>>sh)] ^
			lpsTable[6][byte(x[6]>>sh)] ^ lpsTable[7][byte(x[7]>>sh)]
	}
	*x = out
}

// lpsTable[j][v] is L applied to a word whose byte j is π(v) and whose other
// bytes are zero. τ is the 8x8 byte transposition, so byte j of output word
// k is π of byte k of input word j; L is linear, so output word k is the XOR
// of lpsTable[j][byte k of word j] over j.
var lpsTable = func() (t [8][256]uint64) {
	for j := 0; j < 8; j++ {
		for v := 0; v < 256; v++ {
			in := uint64(streebogPi[v]) << (8 * uint(j))
			var out uint64
			// l(a_63 ... a_0) = XOR of a_(63-i) * A[i] (RFC 6986 section 6).
			for i := 0; i < 64; i++ {
				if in>>(63-uint(i))&1 != 0 {
					out ^= streebogA[i]
				}
			}
			t[j][v] = out
		}
	}
	return t
}()

// streebogPi is the substitution π' of RFC 6986 section 6.1.
var streebogPi = [256]byte{
	252, 238, 221, 17, 207, 110, 49, 22, 251, 196, 250, 218, 35, 197, 4, 77,
	233, 119, 240, 219, 147, 46, 153, 186, 23, 54, 241, 187, 20, 205, 95, 193,
	249, 24, 101, 90, 226, 92, 239, 33, 129, 28, 60, 66, 139, 1, 142, 79,
	5, 132, 2, 174, 227, 106, 143, 160, 6, 11, 237, 152, 127, 212, 211, 31,
	235, 52, 44, 81, 234, 200, 72, 171, 242, 42, 104, 162, 253, 58, 206, 204,
	181, 112, 14, 86, 8, 12, 118, 18, 191, 114, 19, 71, 156, 183, 93, 135,
	21, 161, 150, 41, 16, 123, 154, 199, 243, 145, 120, 111, 157, 158, 178, 177,
	50, 117, 25, 61, 255, 53, 138, 126, 109, 84, 198, 128, 195, 189, 13, 87,
	223, 245, 36, 169, 62, 168, 67, 201, 215, 121, 214, 246, 124, 34, 185, 3,
	224, 15, 236, 222, 122, 148, 176, 188, 220, 232, 40, 80, 78, 51, 10, 74,
	167, 151, 96, 115, 30, 0, 98, 68, 26, 184, 56, 130, 100, 159, 38, 65,
	173, 69, 70, 146, 39, 94, 85, 47, 140, 163, 165, 125, 105, 213, 149, 59,
	7, 88, 179, 64, 134, 172, 29, 247, 48, 55, 107, 228, 136, 217, 231, 137,
	225, 27, 131, 73, 76, 63, 248, 254, 141, 83, 170, 144, 202, 216, 133, 97,
	32, 113, 103, 164, 45, 43, 9, 91, 203, 155, 37, 208, 190, 229, 108, 82,
	89, 166, 116, 210, 230, 244, 180, 192, 209, 102, 175, 194, 57, 75, 99, 182,
}

// streebogA is the matrix A of the linear transformation l, RFC 6986
// section 6.3, as its 64 rows.
var streebogA = [64]uint64{
	0x8e20faa72ba0b470, 0x47107ddd9b505a38, 0xad08b0e0c3282d1c, 0xd8045870ef14980e,
	0x6c022c38f90a4c07, 0x3601161cf205268d, 0x1b8e0b0e798c13c8, 0x83478b07b2468764,
	0xa011d380818e8f40, 0x5086e740ce47c920, 0x2843fd2067adea10, 0x14aff010bdd87508,
	0x0ad97808d06cb404, 0x05e23c0468365a02, 0x8c711e02341b2d01, 0x46b60f011a83988e,
	0x90dab52a387ae76f, 0x486dd4151c3dfdb9, 0x24b86a840e90f0d2, 0x125c354207487869,
	0x092e94218d243cba, 0x8a174a9ec8121e5d, 0x4585254f64090fa0, 0xaccc9ca9328a8950,
	0x9d4df05d5f661451, 0xc0a878a0a1330aa6, 0x60543c50de970553, 0x302a1e286fc58ca7,
	0x18150f14b9ec46dd, 0x0c84890ad27623e0, 0x0642ca05693b9f70, 0x0321658cba93c138,
	0x86275df09ce8aaa8, 0x439da0784e745554, 0xafc0503c273aa42a, 0xd960281e9d1d5215,
	0xe230140fc0802984, 0x71180a8960409a42, 0xb60c05ca30204d21, 0x5b068c651810a89e,
	0x456c34887a3805b9, 0xac361a443d1c8cd2, 0x561b0d22900e4669, 0x2b838811480723ba,
	0x9bcf4486248d9f5d, 0xc3e9224312c8c1a0, 0xeffa11af0964ee50, 0xf97d86d98a327728,
	0xe4fa2054a80b329c, 0x727d102a548b194e, 0x39b008152acb8227, 0x9258048415eb419d,
	0x492c024284fbaec0, 0xaa16012142f35760, 0x550b8e9e21f7a530, 0xa48b474f9ef5dc18,
	0x70a6a56e2440598e, 0x3853dc371220a247, 0x1ca76e95091051ad, 0x0edd37c48a08a6d8,
	0x07e095624504536c, 0x8d70c431ac02a736, 0xc83862965601dd1b, 0x641c314b2b8ee083,
}

// streebogC holds the round constants C_1..C_12 of RFC 6986 section 6.4.
// They are written exactly as the RFC prints them, most significant byte
// first, and converted to little-endian words when the package loads.
var streebogC = func() (c [12][8]uint64) {
	for r, s := range [12]string{
		"b1085bda1ecadae9ebcb2f81c0657c1f2f6a76432e45d016714eb88d7585c4fc" +
			"4b7ce09192676901a2422a08a460d31505767436cc744d23dd806559f2a64507",
		"6fa3b58aa99d2f1a4fe39d460f70b5d7f3feea720a232b9861d55e0f16b50131" +
			"9ab5176b12d699585cb561c2db0aa7ca55dda21bd7cbcd56e679047021b19bb7",
		"f574dcac2bce2fc70a39fc286a3d843506f15e5f529c1f8bf2ea7514b1297b7b" +
			"d3e20fe490359eb1c1c93a376062db09c2b6f443867adb31991e96f50aba0ab2",
		"ef1fdfb3e81566d2f948e1a05d71e4dd488e857e335c3c7d9d721cad685e353f" +
			"a9d72c82ed03d675d8b71333935203be3453eaa193e837f1220cbebc84e3d12e",
		"4bea6bacad4747999a3f410c6ca923637f151c1f1686104a359e35d7800fffbd" +
			"bfcd1747253af5a3dfff00b723271a167a56a27ea9ea63f5601758fd7c6cfe57",
		"ae4faeae1d3ad3d96fa4c33b7a3039c02d66c4f95142a46c187f9ab49af08ec6" +
			"cffaa6b71c9ab7b40af21f66c2bec6b6bf71c57236904f35fa68407a46647d6e",
		"f4c70e16eeaac5ec51ac86febf240954399ec6c7e6bf87c9d3473e33197a93c9" +
			"0992abc52d822c3706476983284a05043517454ca23c4af38886564d3a14d493",
		"9b1f5b424d93c9a703e7aa020c6e41414eb7f8719c36de1e89b4443b4ddbc49a" +
			"f4892bcb929b069069d18d2bd1a5c42f36acc2355951a8d9a47f0dd4bf02e71e",
		"378f5a541631229b944c9ad8ec165fde3a7d3a1b258942243cd955b7e00d0984" +
			"800a440bdbb2ceb17b2b8a9aa6079c540e38dc92cb1f2a607261445183235adb",
		"abbedea680056f52382ae548b2e4f3f38941e71cff8a78db1fffe18a1b336103" +
			"9fe76702af69334b7a1e6c303b7652f43698fad1153bb6c374b4c7fb98459ced",
		"7bcd9ed0efc889fb3002c6cd635afe94d8fa6bbbebab07612001802114846679" +
			"8a1d71efea48b9caefbacd1d7d476e98dea2594ac06fd85d6bcaa4cd81f32d1b",
		"378ee767f11631bad21380b00449b17acda43c32bcdf1d77f82012d430219f9b" +
			"5d80ef9d1891cc86e71da4aa88e12852faf417d5d9b21b9948bc924af11bd720",
	} {
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 64 {
			panic("gost: bad Streebog round constant")
		}
		for i := range c[r] {
			// Word i holds bytes 8i..8i+7 of the little-endian form, that is
			// the (i+1)-th group of eight bytes counted from the end.
			c[r][i] = binary.BigEndian.Uint64(b[64-8*(i+1):])
		}
	}
	return c
}()
