// Package demo is the PKI of `edobot demo`: a certificate authority made
// when the process starts and kept only in its memory, certificates with
// NCA's subject layout issued by it on demand, and CMS signatures made
// with them, so that a newcomer sees the whole signing loop without an NCA
// key. Nothing of it is written anywhere: once the process ends, no one can
// check its signatures, and no other process ever trusts them.
package demo

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	"edobot/core/signature/ncapki"
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
	tmpl := ncapki.CATemplate(Name, now.Add(-24*time.Hour), now.Add(24*time.Hour))
	cert, err := ncapki.Create(tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("demo CA: %w", err)
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
	cms, err := ncapki.Signer{Cert: k.cert, Algorithm: ncapki.RSA(k.priv)}.CMS(data, true, []*x509.Certificate{k.cert})
	if err != nil {
		return nil, fmt.Errorf("demo %w", err)
	}
	return cms, nil
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
	holder := ncapki.Person{IIN: p.IIN, BIN: p.BIN, Surname: p.Surname, Name: p.Name, Patronymic: p.Patronymic,
		NotBefore: ca.cert.NotBefore, NotAfter: ca.cert.NotAfter}
	if p.BIN != "" {
		holder.Organisation = p.Organisation
	}
	cert, err := ncapki.Create(holder.Template(), ca.cert, &priv.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("demo %w", err)
	}
	k := &key{cert: cert, priv: priv}
	ca.keys[p] = k
	return k, nil
}
