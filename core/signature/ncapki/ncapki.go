// Package ncapki makes what Kazakhstan's NCA and NCALayer make: CA and
// end-entity certificates with NCA's subject layout and role purposes, and
// CAdES-BES signatures (CMS SignedData with content type, signing time and
// message digest attributes). It holds no key and trusts nothing; the
// in-memory CA of `edobot demo` (core/signature/demo) and the test PKI
// (core/signature/sigtest) are built on it, so that both make the same
// certificates and signatures the verifier reads.
package ncapki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"edobot/core/signature"
)

// Object identifiers of the certificates and signatures it makes.
var (
	oidSerialNumber  = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidSurname       = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidGivenName     = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidRSA           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}

	// OIDData is id-data, the content type of a signed document.
	OIDData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	// OIDSHA256 is SHA-256.
	OIDSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}

	// RoleIndividual and the others are NCA's role purposes.
	RoleIndividual  = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 1}
	RoleLegalEntity = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2}
	RoleHead        = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 1}
	RoleEmployee    = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 5}
	// RoleTreasuryClient is a system's key: NCA names no person on it.
	RoleTreasuryClient = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 6}
)

var serials atomic.Int64

// Serial is a certificate serial number: random, and unique within the
// process whatever the randomness.
func Serial() *big.Int {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return new(big.Int).Add(new(big.Int).Lsh(new(big.Int).SetBytes(b), 16), big.NewInt(serials.Add(1)))
}

// CATemplate is a CA certificate named name, valid from notBefore to notAfter.
func CATemplate(name string, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: Serial(), Subject: pkix.Name{CommonName: name, Country: []string{"KZ"}},
		NotBefore: notBefore, NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

// Person describes the holder of a certificate.
type Person struct {
	IIN, BIN                  string // BIN empty for a personal certificate
	Surname, Name, Patronymic string
	Organisation              string
	Auth                      bool                  // an authentication key instead of a signing key
	Role                      asn1.ObjectIdentifier // nil: an individual's, or a head's with a BIN
	NotBefore, NotAfter       time.Time             // zero: half a year either side of now
}

// Template is the certificate NCA would issue to p.
func (p Person) Template() *x509.Certificate {
	subject := pkix.Name{Country: []string{"KZ"}, CommonName: strings.TrimSpace(p.Surname + " " + p.Name)}
	if p.IIN != "" { // a system's key (no IIN) names no person
		subject.ExtraNames = []pkix.AttributeTypeAndValue{
			{Type: oidSurname, Value: p.Surname},
			{Type: oidSerialNumber, Value: "IIN" + p.IIN},
			{Type: oidGivenName, Value: p.Patronymic},
		}
	}
	if p.Organisation != "" {
		subject.Organization = []string{p.Organisation}
	}
	if p.BIN != "" {
		subject.OrganizationalUnit = []string{"BIN" + p.BIN}
	}
	tmpl := &x509.Certificate{
		SerialNumber: Serial(), Subject: subject,
		NotBefore: p.NotBefore, NotAfter: p.NotAfter,
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().AddDate(0, -6, 0)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().AddDate(0, 6, 0)
	}
	if p.Auth {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
	}
	role := p.Role
	if role == nil {
		role = RoleIndividual
		if p.BIN != "" {
			role = RoleHead
		}
	}
	tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{role}
	if len(role) > len(RoleLegalEntity) { // a legal entity's role says whose it is
		tmpl.UnknownExtKeyUsage = append(tmpl.UnknownExtKeyUsage, RoleLegalEntity)
	}
	return tmpl
}

// Create issues tmpl for the public key pub, signed by parent's key priv
// (tmpl itself and pub's own key for a self-signed certificate).
func Create(tmpl, parent *x509.Certificate, pub *rsa.PublicKey, priv *rsa.PrivateKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// Algorithm is how a key signs: its digest, its signature algorithm, and
// the signing of a digest.
type Algorithm struct {
	Digest    asn1.ObjectIdentifier
	Signature pkix.AlgorithmIdentifier
	Hash      func([]byte) []byte
	Sign      func(digest []byte) ([]byte, error)
}

// RSA is SHA-256 with RSA (PKCS #1 v1.5), as NCALayer signs with RSA keys.
func RSA(key *rsa.PrivateKey) Algorithm {
	return Algorithm{
		Digest:    OIDSHA256,
		Signature: pkix.AlgorithmIdentifier{Algorithm: oidRSA, Parameters: asn1.NullRawValue},
		Hash:      func(b []byte) []byte { h := sha256.Sum256(b); return h[:] },
		Sign: func(digest []byte) ([]byte, error) {
			return rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest)
		},
	}
}

// Signer is one CAdES-BES signature to make.
type Signer struct {
	Cert        *x509.Certificate
	Algorithm   Algorithm
	ContentType asn1.ObjectIdentifier // nil: id-data
	SigningTime time.Time             // zero: now
	// Unsigned, when set, gives the unsigned attributes (DER Attributes)
	// for the signature value, such as a timestamp token.
	Unsigned func(signature []byte) ([][]byte, error)
}

// CMS signs content and wraps the signature in a SignedData that carries
// certs and, unless detached, the content.
func (s Signer) CMS(content []byte, detached bool, certs []*x509.Certificate) ([]byte, error) {
	si, err := s.signerInfo(content)
	if err != nil {
		return nil, err
	}
	raw := make([][]byte, 0, len(certs))
	for _, c := range certs {
		raw = append(raw, c.Raw)
	}
	return signature.BuildSignedData(s.ContentType, content, detached,
		[]pkix.AlgorithmIdentifier{{Algorithm: s.Algorithm.Digest}}, raw, [][]byte{si})
}

// signerInfo is the DER SignerInfo of content: the signed attributes in
// DER SET order, signed.
func (s Signer) signerInfo(content []byte) ([]byte, error) {
	contentType, at := s.ContentType, s.SigningTime
	if contentType == nil {
		contentType = OIDData
	}
	if at.IsZero() {
		at = time.Now()
	}
	attrs := make([][]byte, 0, 3)
	for _, a := range []struct {
		oid asn1.ObjectIdentifier
		v   any
	}{{oidContentType, contentType}, {oidSigningTime, at.UTC()}, {oidMessageDigest, s.Algorithm.Hash(content)}} {
		der, err := Attribute(a.oid, a.v)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, der)
	}
	body := setBody(attrs)
	set, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: body})
	if err != nil {
		return nil, err
	}
	sig, err := s.Algorithm.Sign(s.Algorithm.Hash(set))
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	var unsigned asn1.RawValue
	if s.Unsigned != nil {
		u, err := s.Unsigned(sig)
		if err != nil {
			return nil, err
		}
		unsigned = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: setBody(u)}
	}
	type sid struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}
	return asn1.Marshal(struct {
		Version            int
		SID                sid
		DigestAlgorithm    pkix.AlgorithmIdentifier
		SignedAttrs        asn1.RawValue
		SignatureAlgorithm pkix.AlgorithmIdentifier
		Signature          []byte
		UnsignedAttrs      asn1.RawValue `asn1:"optional"`
	}{
		Version:            1,
		SID:                sid{asn1.RawValue{FullBytes: s.Cert.RawIssuer}, s.Cert.SerialNumber},
		DigestAlgorithm:    pkix.AlgorithmIdentifier{Algorithm: s.Algorithm.Digest},
		SignedAttrs:        asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: body},
		SignatureAlgorithm: s.Algorithm.Signature,
		Signature:          sig,
		UnsignedAttrs:      unsigned,
	})
}

// Attribute is the DER Attribute of type oid with the one value v.
func Attribute(oid asn1.ObjectIdentifier, v any) ([]byte, error) {
	val, err := asn1.Marshal(v)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct {
		Type   asn1.ObjectIdentifier
		Values asn1.RawValue
	}{oid, asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: val}})
}

// setBody joins DER elements in the order DER wants a SET OF in.
func setBody(elems [][]byte) []byte {
	sorted := append([][]byte{}, elems...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i], sorted[j]) < 0 })
	return bytes.Join(sorted, nil)
}
