// Package demo is the PKI of `edobot demo`: a certificate authority made
// when the process starts and kept only in its memory, certificates with
// NCA's subject layout issued by it on demand, and CMS signatures made
// with them, so that a newcomer sees the whole signing loop without an NCA
// key. Nothing of it is written anywhere: once the process ends, no one can
// check its signatures, and no other process ever trusts them.
package demo

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
	"sync"
	"time"

	"edobot/core/signature"
)

// Object identifiers of the certificates and signatures it makes.
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
	// NCA's role purposes: an individual, a legal entity's head.
	roleIndividual  = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 1}
	roleLegalEntity = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2}
	roleHead        = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 1}
)

// Name is the demo CA's common name: a signature's issuer says «demo».
const Name = "edobot DEMO CA (not trusted anywhere)"

// CA is the process's demo certificate authority.
type CA struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey

	mu   sync.Mutex
	keys map[Person]*key
}

type key struct {
	cert *x509.Certificate
	priv *rsa.PrivateKey
}

// Person is the holder of a demo certificate: an IIN, and a BIN when the
// person signs for an organisation.
type Person struct {
	IIN, BIN                  string
	Surname, Name, Patronymic string
	Organisation              string
}

// New makes a CA valid for a day around now.
func New() (*CA, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("demo CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: Name, Country: []string{"KZ"}},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	cert, err := create(tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: priv, keys: map[Person]*key{}}, nil
}

// Certificate is the CA's certificate, for a verifier of this process only.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// SignCMS signs data the way NCALayer does (CAdES-BES, detached, SHA-256
// with RSA) with p's key, issuing p's certificate the first time.
func (ca *CA) SignCMS(p Person, data []byte) ([]byte, error) {
	k, err := ca.keyOf(p)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(data)
	attrs := make([][]byte, 0, 3)
	for _, a := range []struct {
		oid asn1.ObjectIdentifier
		v   any
	}{{oidContentType, oidData}, {oidSigningTime, time.Now().UTC()}, {oidMessageDigest, digest[:]}} {
		der, err := attribute(a.oid, a.v)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, der)
	}
	sort.Slice(attrs, func(i, j int) bool { return bytes.Compare(attrs[i], attrs[j]) < 0 })
	body := bytes.Join(attrs, nil)
	set, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: body})
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(set)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, h[:])
	if err != nil {
		return nil, fmt.Errorf("demo signature: %w", err)
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
	}{
		Version:            1,
		SID:                sid{asn1.RawValue{FullBytes: k.cert.RawIssuer}, k.cert.SerialNumber},
		DigestAlgorithm:    pkix.AlgorithmIdentifier{Algorithm: oidSHA256},
		SignedAttrs:        asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: body},
		SignatureAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidRSA, Parameters: asn1.NullRawValue},
		Signature:          sig,
	})
	if err != nil {
		return nil, err
	}
	return signature.BuildSignedData(oidData, data, true, []pkix.AlgorithmIdentifier{{Algorithm: oidSHA256}},
		[][]byte{k.cert.Raw}, [][]byte{si})
}

// keyOf is p's key and certificate, made once.
func (ca *CA) keyOf(p Person) (*key, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if k := ca.keys[p]; k != nil {
		return k, nil
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("demo key: %w", err)
	}
	subject := pkix.Name{Country: []string{"KZ"}, CommonName: p.Surname + " " + p.Name,
		ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidSurname, Value: p.Surname},
			{Type: oidSerialNumber, Value: "IIN" + p.IIN},
			{Type: oidGivenName, Value: p.Patronymic},
		}}
	roles := []asn1.ObjectIdentifier{roleIndividual}
	if p.BIN != "" {
		subject.Organization = []string{p.Organisation}
		subject.OrganizationalUnit = []string{"BIN" + p.BIN}
		roles = []asn1.ObjectIdentifier{roleHead, roleLegalEntity}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: subject,
		NotBefore: ca.cert.NotBefore, NotAfter: ca.cert.NotAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		UnknownExtKeyUsage: roles,
	}
	cert, err := create(tmpl, ca.cert, &priv.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	k := &key{cert: cert, priv: priv}
	ca.keys[p] = k
	return k, nil
}

func create(tmpl, parent *x509.Certificate, pub *rsa.PublicKey, priv *rsa.PrivateKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		return nil, fmt.Errorf("demo certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func attribute(oid asn1.ObjectIdentifier, v any) ([]byte, error) {
	val, err := asn1.Marshal(v)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct {
		Type   asn1.ObjectIdentifier
		Values asn1.RawValue
	}{oid, asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: val}})
}

func serial() *big.Int {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return new(big.Int).SetBytes(b)
}
