package gost

import (
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// Size94 is the length of a GOST R 34.11-94 digest in bytes.
const Size94 = 32

// BlockSize94 is the block length of GOST R 34.11-94 in bytes.
const BlockSize94 = 32

// c3 is the constant C3 of the key generation in GOST R 34.11-94 (RFC 5831
// section 6.1); C2 and C4 are zero. The RFC prints it as a number, most
// significant byte first; hash states are kept least significant byte first
// (the byte order of the digest itself), so it is reversed here.
var c3 = func() (c [32]byte) {
	b, err := hex.DecodeString("ff00ffff000000ffff0000ff00ffff0000ff00ff00ff00ffff00ff00ff00ff00")
	if err != nil || len(b) != 32 {
		panic("gost: bad C3 constant")
	}
	for i := range c {
		c[i] = b[31-i]
	}
	return c
}()

// New94 returns a GOST R 34.11-94 (GOST 34.311-95) hash using the given
// S-box: SBoxCryptoPro94 for real-world data, SBoxTest94 for the
// standard's examples.
//
// The digest is the 256-bit hash value least significant byte first, the
// byte string OpenSSL's md_gost94 prints and CMS (RFC 4490) carries.
// RFC 5831 prints the same values in reverse.
//
// An empty message hashes to the value Wikipedia publishes and most
// implementations reproduce (pygost, PHP's hash("gost"), and others; with
// the CryptoPro S-box 981e5f3c...): only the length and checksum blocks are
// compressed. OpenSSL's gost engine also compresses one all-zero block for
// empty input and gets 3f25bc1f... instead. Only the empty message is
// affected.
func New94(s *SBox) hash.Hash {
	if s == nil {
		panic("gost: New94 needs an S-box")
	}
	return &digest94{sbox: s}
}

type digest94 struct {
	sbox  *SBox
	h     [32]byte // chaining value H
	sigma [32]byte // Σ: sum of all blocks modulo 2^256
	buf   [32]byte
	nbuf  int
	n     uint64 // message length in bytes; GOST counts bits, see sum
}

func (d *digest94) Size() int      { return Size94 }
func (d *digest94) BlockSize() int { return BlockSize94 }

func (d *digest94) Reset() {
	s := d.sbox
	*d = digest94{sbox: s}
}

func (d *digest94) Write(p []byte) (int, error) {
	n := len(p)
	d.n += uint64(n)
	d.nbuf = feed(d.buf[:], d.nbuf, p, d.block)
	return n, nil
}

// Sum appends the digest to b without changing the running state, as
// hash.Hash requires.
func (d *digest94) Sum(b []byte) []byte {
	c := *d
	if c.nbuf > 0 {
		// The last partial block is padded with zero bytes at its end, which
		// are its most significant bytes: RFC 5831's M' = 0^(256-|M|) || M.
		for i := c.nbuf; i < len(c.buf); i++ {
			c.buf[i] = 0
		}
		c.block(c.buf[:])
	}
	// L, the message length in bits, as a little-endian 256-bit number.
	var l [32]byte
	binary.LittleEndian.PutUint64(l[0:], c.n<<3)
	binary.LittleEndian.PutUint64(l[8:], c.n>>61)
	c.compress(&l)
	c.compress(&c.sigma)
	return append(b, c.h[:]...)
}

// block absorbs one full 32-byte block: compress it into H and add it to Σ.
func (d *digest94) block(m []byte) {
	var mb [32]byte
	copy(mb[:], m)
	d.compress(&mb)
	var carry uint16
	for i := range d.sigma {
		carry += uint16(d.sigma[i]) + uint16(mb[i])
		d.sigma[i] = byte(carry)
		carry >>= 8
	}
}

// a is the transformation A of RFC 5831 section 6.1. With y = y4||y3||y2||y1
// in 64-bit words (y1 in bytes 0..7), A(y) = (y1 ^ y2)||y4||y3||y2.
func a(y *[32]byte) {
	var y1 [8]byte
	copy(y1[:], y[0:8])
	copy(y[0:24], y[8:32])
	for i := 0; i < 8; i++ {
		y[24+i] = y1[i] ^ y[i]
	}
}

// p is the transformation P of RFC 5831 section 6.1: byte number
// i + 1 + 4(k - 1) of the result is byte 8i + k of the input (bytes counted
// from 1 at the least significant end). It turns a 256-bit value into a
// GOST 28147-89 key.
func p(y *[32]byte) (key [8]uint32) {
	var out [32]byte
	for i := 0; i < 4; i++ {
		for k := 0; k < 8; k++ {
			out[i+4*k] = y[8*i+k]
		}
	}
	// GOST 28147-89 reads its key as eight little-endian 32-bit words.
	for i := range key {
		key[i] = binary.LittleEndian.Uint32(out[4*i:])
	}
	return key
}

// psiN applies the transformation ψ of RFC 5831 section 6.2 n times to x, in
// place. With x as sixteen 16-bit words x0..x15 (x0 least significant),
// ψ shifts every word down by one and puts x0^x1^x2^x3^x12^x15 on top. That
// is a linear feedback shift register, so ψ^n is computed by running the
// recurrence n steps instead of moving 30 bytes n times.
func psiN(x *[32]byte, n int) {
	var w [16 + 61]uint16
	for i := 0; i < 16; i++ {
		w[i] = binary.LittleEndian.Uint16(x[2*i:])
	}
	for i := 16; i < 16+n; i++ {
		w[i] = w[i-16] ^ w[i-15] ^ w[i-14] ^ w[i-13] ^ w[i-4] ^ w[i-1]
	}
	for i := 0; i < 16; i++ {
		binary.LittleEndian.PutUint16(x[2*i:], w[n+i])
	}
}

// compress is the step hash function χ(M, H) of RFC 5831 section 6:
// key generation, encryption of the four 64-bit parts of H, and the mixing
// transformation H' = ψ^61(H ^ ψ(M ^ ψ^12(S))).
func (d *digest94) compress(m *[32]byte) {
	h := &d.h
	u, v := *h, *m
	var s [32]byte
	for j := 0; j < 4; j++ {
		if j > 0 {
			a(&u)
			if j == 2 {
				for i := range u {
					u[i] ^= c3[i]
				}
			}
			a(&v)
			a(&v)
		}
		var w [32]byte
		for i := range w {
			w[i] = u[i] ^ v[i]
		}
		key := p(&w)
		n1, n2 := d.sbox.encrypt(&key,
			binary.LittleEndian.Uint32(h[8*j:]), binary.LittleEndian.Uint32(h[8*j+4:]))
		binary.LittleEndian.PutUint32(s[8*j:], n1)
		binary.LittleEndian.PutUint32(s[8*j+4:], n2)
	}
	psiN(&s, 12)
	for i := range s {
		s[i] ^= m[i]
	}
	psiN(&s, 1)
	for i := range s {
		s[i] ^= h[i]
	}
	psiN(&s, 61)
	*h = s
}

// feed runs block over every full block of the buffered bytes (buf[:nbuf])
// followed by p, and returns how many bytes are left buffered. Both hashes
// absorb their input this way.
func feed(buf []byte, nbuf int, p []byte, block func([]byte)) int {
	size := len(buf)
	if nbuf > 0 {
		c := copy(buf[nbuf:], p)
		nbuf += c
		p = p[c:]
		if nbuf < size {
			return nbuf
		}
		block(buf)
	}
	for len(p) >= size {
		block(p[:size])
		p = p[size:]
	}
	return copy(buf, p)
}
