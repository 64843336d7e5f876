// Package sigtest is a test PKI shaped like Kazakhstan's NCA: a root and an
// intermediate CA, personal and legal-entity certificates with the NCA
// subject layout and policy OIDs, and a CMS signer, so that tests verify
// real signatures end to end.
package sigtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"

	"edobot/core/signature/ncapki"
)

var (
	// RoleIndividual and the others are NCA's role purposes.
	RoleIndividual  = ncapki.RoleIndividual
	RoleLegalEntity = ncapki.RoleLegalEntity
	RoleHead        = ncapki.RoleHead
	RoleEmployee    = ncapki.RoleEmployee
	// RoleTreasuryClient is a system's key: NCA names no person on it.
	RoleTreasuryClient = ncapki.RoleTreasuryClient
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
	return ncapki.CATemplate(name, time.Now().AddDate(-years, 0, 0), time.Now().AddDate(years, 0, 0))
}

// PEM is the CA certificate in PEM, as EDOBOT_TRUSTED_CA takes it.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Person describes the holder of a certificate.
type Person = ncapki.Person

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
	tmpl := p.Template()
	return &Key{Cert: create(tb, tmpl, ca.Cert, key, ca.Key), Key: key, Chain: append([]*x509.Certificate{}, chain...)}
}

func create(tb testing.TB, tmpl, parent *x509.Certificate, pub, priv *rsa.PrivateKey) *x509.Certificate {
	tb.Helper()
	c, err := ncapki.Create(tmpl, parent, &pub.PublicKey, priv)
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
	tmpl := &x509.Certificate{SerialNumber: ncapki.Serial(), Subject: pkix.Name{CommonName: name, Country: []string{"KZ"}},
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
	}{pkix.AlgorithmIdentifier{Algorithm: ncapki.OIDSHA256}, imprint[:]}, SerialNumber: ncapki.Serial(), GenTime: at.UTC().Truncate(time.Second)})
	if err != nil {
		tb.Fatal(err)
	}
	return tsa.SignCMS(tb, info, CMSOptions{Attached: true, ContentType: oidTSTInfo, NoChain: true})
}

// SignCMS signs data the way NCALayer does: CAdES-BES with content type,
// signing time and message digest attributes, SHA-256 with RSA.
func (k *Key) SignCMS(tb testing.TB, data []byte, o CMSOptions) []byte {
	tb.Helper()
	return signCMS(tb, data, o, k.Cert, k.Chain, ncapki.RSA(k.Key))
}

func signCMS(tb testing.TB, data []byte, o CMSOptions, cert *x509.Certificate, chain []*x509.Certificate, alg ncapki.Algorithm) []byte {
	tb.Helper()
	s := ncapki.Signer{Cert: cert, Algorithm: alg, ContentType: o.ContentType, SigningTime: o.SigningTime}
	if o.TSA != nil {
		s.Unsigned = func(sig []byte) ([][]byte, error) {
			token := timestampToken(tb, o.TSA, sig, o.TSATime)
			a, err := ncapki.Attribute(oidTimeStampToken, asn1.RawValue{FullBytes: token})
			return [][]byte{a}, err
		}
	}
	var certs []*x509.Certificate
	if !o.NoSigner {
		certs = append(certs, cert)
		if !o.NoChain {
			certs = append(certs, chain...)
		}
	}
	cms, err := s.CMS(data, !o.Attached, certs)
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
