// Package gost verifies GOST digital signatures: GOST R 34.10-2001 and
// GOST R 34.10-2012 (Kazakhstan: GOST 34.310-2004 and GOST 34.10-2015) over
// digests made with GOST R 34.11-94 (GOST 34.311-95) or GOST R 34.11-2012
// "Streebog".
//
// It exists so that CMS signatures and certificates issued under
// Kazakhstan's NCA can be checked with the standard library alone. It is
// verification-only on purpose: there is no key generation, no signing and no
// secret material anywhere in the package, so nothing here needs to be
// constant-time and nothing here can leak a key.
//
// # Byte order
//
// The standards and their RFCs write every vector as a number, most
// significant digit first. The wire formats mix byte orders:
//
//   - A digest, as returned by the hash.Hash values of this package and as
//     OpenSSL's gost engine prints it (so also as it sits in a CMS
//     messageDigest attribute), is that number in little-endian byte order.
//     The RFCs print the same value reversed.
//   - To verify, the digest bytes are read as a little-endian integer α and
//     e = α mod q (see Verify).
//   - A public key inside a certificate is an OCTET STRING holding X then Y,
//     each little-endian and as long as the field (ParsePublicKeyRaw).
//   - A signature value (X.509 signatureValue, CMS SignerInfo.signature) is
//     s then r, each big-endian and as long as the field (ParseSignature).
//
// The tests prove each of these against published vectors, against the
// self-signed example certificates of RFC 4491 and RFC 9215, and against
// signatures made by OpenSSL's gost engine.
package gost
