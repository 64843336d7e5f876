package core

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Sealer encrypts a secret kept in the database (an ИС ЭСФ cabinet
// password) so that a copy of the database alone does not give it away.
// aad binds the sealed value to what it belongs to: a value moved to
// another row does not open.
type Sealer interface {
	Seal(plain, aad []byte) (sealed, nonce []byte, err error)
	Open(sealed, nonce, aad []byte) ([]byte, error)
}

// MinSecretKey is the shortest EDOBOT_SECRET_KEY accepted.
const MinSecretKey = 32

// ErrNoSecretKey is returned when a sealer is asked for without a key.
var ErrNoSecretKey = errors.New("EDOBOT_SECRET_KEY is not set (at least 32 characters): ИС ЭСФ passwords cannot be kept")

// AESSealer is AES-256-GCM with a random 96-bit nonce per value.
type AESSealer struct{ aead cipher.AEAD }

// NewSecretSealer derives the AES-256 key from the deployment's secret.
func NewSecretSealer(secret string) (*AESSealer, error) {
	if secret == "" {
		return nil, ErrNoSecretKey
	}
	if len(secret) < MinSecretKey {
		return nil, fmt.Errorf("EDOBOT_SECRET_KEY is %d characters; at least %d are needed", len(secret), MinSecretKey)
	}
	key := sha256.Sum256([]byte("edobot sealed secrets v1\x00" + secret))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &AESSealer{aead: aead}, nil
}

func (s *AESSealer) Seal(plain, aad []byte) (sealed, nonce []byte, err error) {
	nonce = make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	return s.aead.Seal(nil, nonce, plain, aad), nonce, nil
}

func (s *AESSealer) Open(sealed, nonce, aad []byte) ([]byte, error) {
	if len(nonce) != s.aead.NonceSize() {
		return nil, errors.New("sealed value: bad nonce")
	}
	p, err := s.aead.Open(nil, nonce, sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("sealed value: %w", err)
	}
	return p, nil
}
