// Package sigtest is a test PKI shaped like Kazakhstan's NCA: a root and an
// intermediate CA, personal and legal-entity certificates with the NCA
// subject layout and policy OIDs, and a CMS signer, so that tests verify
// real signatures end to end.
package sigtest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"edobot/core/signature"
)

var (
	oidSerialNumber  = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidSurname       = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidGivenName     = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidRSA           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}

	// RoleIndividual and the others are NCA's role purposes.
	RoleIndividual  = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 1}
	RoleLegalEntity = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2}
	RoleHead        = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 1}
	RoleEmployee    = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 5}
	// RoleTreasuryClient is a system's key: NCA names no person on it.
	RoleTreasuryClient = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 6}
)

// keys are expensive to make: tests share a small pool.
var (
	keyMu   sync.Mutex
	keyPool []*rsa.PrivateKey
	keyNext int
)

func newKey(tb testing.TB) *rsa.PrivateKey {
	keyMu.Lock()
	defer keyMu.Unlock()
	if len(keyPool) < 6 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			tb.Fatal(err)
		}
		keyPool = append(keyPool, k)
		return k
	}
	keyNext++
	return keyPool[keyNext%len(keyPool)]
}

var serial atomicSerial

type atomicSerial struct {
	mu sync.Mutex
	n  int64
}

func (s *atomicSerial) next() *big.Int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return new(big.Int).Add(new(big.Int).Lsh(new(big.Int).SetBytes(b), 16), big.NewInt(s.n))
}

// CA is a certificate authority of the test PKI.
type CA struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
}

// NewRoot makes a self-signed root valid for ten years around now.
func NewRoot(tb testing.TB, name string) *CA {
	tb.Helper()
	key := newKey(tb)
	tmpl := caTemplate(name, 5)
	return &CA{Cert: create(tb, tmpl, tmpl, key, key), Key: key}
}

// Intermediate makes a CA under ca.
func (ca *CA) Intermediate(tb testing.TB, name string) *CA {
	tb.Helper()
	key := newKey(tb)
	return &CA{Cert: create(tb, caTemplate(name, 4), ca.Cert, key, ca.Key), Key: key}
}

// caTemplate is a CA certificate valid for years before and after now.
func caTemplate(name string, years int) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial.next(), Subject: pkix.Name{CommonName: name, Country: []string{"KZ"}},
		NotBefore: time.Now().AddDate(-years, 0, 0), NotAfter: time.Now().AddDate(years, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

// PEM is the CA certificate in PEM, as EDOBOT_TRUSTED_CA takes it.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Person describes the holder of a certificate.
type Person struct {
	IIN, BIN                  string // BIN empty for a personal certificate
	Surname, Name, Patronymic string
	Organisation              string
	Auth                      bool // an authentication key instead of a signing key
	Role                      asn1.ObjectIdentifier
	NotBefore, NotAfter       time.Time // zero: a year around now
}

// Key is an issued certificate with its private key and chain.
type Key struct {
	Cert  *x509.Certificate
	Key   *rsa.PrivateKey
	Chain []*x509.Certificate // issuers, nearest first, the root excluded
}

// Issue makes an NCA-like end-entity certificate.
func (ca *CA) Issue(tb testing.TB, p Person, chain ...*x509.Certificate) *Key {
	tb.Helper()
	key := newKey(tb)
	tmpl := p.template()
	return &Key{Cert: create(tb, tmpl, ca.Cert, key, ca.Key), Key: key, Chain: append([]*x509.Certificate{}, chain...)}
}

// template is the certificate NCA would issue to p.
func (p Person) template() *x509.Certificate {
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
		SerialNumber: serial.next(), Subject: subject,
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
	if len(role) > len(RoleLegalEntity) {
		tmpl.UnknownExtKeyUsage = append(tmpl.UnknownExtKeyUsage, RoleLegalEntity)
	}
	return tmpl
}

func create(tb testing.TB, tmpl, parent *x509.Certificate, pub, priv *rsa.PrivateKey) *x509.Certificate {
	tb.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &pub.PublicKey, priv)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// CMSOptions shape a test signature.
type CMSOptions struct {
	Attached    bool
	SigningTime time.Time // zero: now
	NoChain     bool      // carry only the signer's certificate
	NoSigner    bool      // carry no certificate at all
	// TSA, when set, attaches an RFC 3161 timestamp token made at TSATime.
	TSA     CMSSigner
	TSATime time.Time
	// ContentType of the signed content; nil is id-data.
	ContentType asn1.ObjectIdentifier
}

var (
	oidTSTInfo        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidTimeStampToken = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
)

// CMSSigner is a key that signs a CMS: an RSA Key or a GOSTKey.
type CMSSigner interface {
	SignCMS(tb testing.TB, data []byte, o CMSOptions) []byte
}

// IssueTSA makes a timestamp authority's certificate under ca.
func (ca *CA) IssueTSA(tb testing.TB, name string) *Key {
	tb.Helper()
	key := newKey(tb)
	tmpl := &x509.Certificate{SerialNumber: serial.next(), Subject: pkix.Name{CommonName: name, Country: []string{"KZ"}},
		NotBefore: time.Now().AddDate(-1, 0, 0), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}
	return &Key{Cert: create(tb, tmpl, ca.Cert, key, ca.Key), Key: key}
}

// timestampToken stamps a signature value the way a TSA answers.
func timestampToken(tb testing.TB, tsa CMSSigner, sig []byte, at time.Time) []byte {
	imprint := sha256.Sum256(sig)
	info, err := asn1.Marshal(struct {
		Version        int
		Policy         asn1.ObjectIdentifier
		MessageImprint struct {
			HashAlgorithm pkix.AlgorithmIdentifier
			HashedMessage []byte
		}
		SerialNumber *big.Int
		GenTime      time.Time `asn1:"generalized"`
	}{Version: 1, Policy: asn1.ObjectIdentifier{1, 2, 398, 3, 3, 2, 6, 2}, MessageImprint: struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}{pkix.AlgorithmIdentifier{Algorithm: oidSHA256}, imprint[:]}, SerialNumber: serial.next(), GenTime: at.UTC().Truncate(time.Second)})
	if err != nil {
		tb.Fatal(err)
	}
	return tsa.SignCMS(tb, info, CMSOptions{Attached: true, ContentType: oidTSTInfo, NoChain: true})
}

// SignCMS signs data the way NCALayer does: CAdES-BES with content type,
// signing time and message digest attributes, SHA-256 with RSA.
func (k *Key) SignCMS(tb testing.TB, data []byte, o CMSOptions) []byte {
	tb.Helper()
	return signCMS(tb, data, o, k.Cert, k.Chain, cmsAlgorithms{
		digest: oidSHA256, sig: pkix.AlgorithmIdentifier{Algorithm: oidRSA, Parameters: asn1.NullRawValue},
		hash: func(b []byte) []byte { h := sha256.Sum256(b); return h[:] },
		sign: func(digest []byte) []byte {
			sig, err := rsa.SignPKCS1v15(rand.Reader, k.Key, crypto.SHA256, digest)
			if err != nil {
				tb.Fatal(err)
			}
			return sig
		},
	})
}

type cmsAlgorithms struct {
	digest asn1.ObjectIdentifier
	sig    pkix.AlgorithmIdentifier
	hash   func([]byte) []byte
	sign   func(digest []byte) []byte
}

func signCMS(tb testing.TB, data []byte, o CMSOptions, cert *x509.Certificate, chain []*x509.Certificate, alg cmsAlgorithms) []byte {
	tb.Helper()
	if o.SigningTime.IsZero() {
		o.SigningTime = time.Now()
	}
	digest := alg.hash(data)
	attr := func(oid asn1.ObjectIdentifier, v any) []byte {
		val, err := asn1.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		der, err := asn1.Marshal(struct {
			Type   asn1.ObjectIdentifier
			Values asn1.RawValue
		}{oid, asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: val}})
		if err != nil {
			tb.Fatal(err)
		}
		return der
	}
	contentType := o.ContentType
	if contentType == nil {
		contentType = oidData
	}
	attrs := [][]byte{
		attr(oidContentType, contentType),
		attr(oidSigningTime, o.SigningTime.UTC()),
		attr(oidMessageDigest, digest),
	}
	sort.Slice(attrs, func(i, j int) bool { return bytes.Compare(attrs[i], attrs[j]) < 0 })
	body := bytes.Join(attrs, nil)
	set, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: body})
	sig := alg.sign(alg.hash(set))
	var unsigned asn1.RawValue
	if o.TSA != nil {
		token := timestampToken(tb, o.TSA, sig, o.TSATime)
		unsigned = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true,
			Bytes: attr(oidTimeStampToken, asn1.RawValue{FullBytes: token})}
	}
	type sid struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}
	si, err := asn1.Marshal(struct {
		Version            int
		SID                sid
		DigestAlgorithm    pkix.AlgorithmIdentifier
		SignedAttrs        asn1.RawValue
		SignatureAlgorithm pkix.AlgorithmIdentifier
		Signature          []byte
		UnsignedAttrs      asn1.RawValue `asn1:"optional"`
	}{
		Version:            1,
		SID:                sid{asn1.RawValue{FullBytes: cert.RawIssuer}, cert.SerialNumber},
		DigestAlgorithm:    pkix.AlgorithmIdentifier{Algorithm: alg.digest},
		SignedAttrs:        asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: body},
		SignatureAlgorithm: alg.sig,
		Signature:          sig,
		UnsignedAttrs:      unsigned,
	})
	if err != nil {
		tb.Fatal(err)
	}
	var certs [][]byte
	if !o.NoSigner {
		certs = append(certs, cert.Raw)
		if !o.NoChain {
			for _, c := range chain {
				certs = append(certs, c.Raw)
			}
		}
	}
	cms, err := signature.BuildSignedData(contentType, data, !o.Attached, []pkix.AlgorithmIdentifier{{Algorithm: alg.digest}}, certs, [][]byte{si})
	if err != nil {
		tb.Fatal(err)
	}
	return cms
}

// KeyPEM is the private key in PEM (PKCS #8), for openssl in tests.
func (k *Key) KeyPEM(tb testing.TB) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k.Key)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// CertPEM is the certificate in PEM.
func (k *Key) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Raw})
}
