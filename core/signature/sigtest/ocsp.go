package sigtest

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"edobot/core/signature/ncapki"
)

// An OCSP responder (RFC 6960) for a test CA, RSA or GOST, answering over
// HTTP like NCA's: the request's CertID and nonce echoed, the answer signed
// by a responder certificate the CA issued (or by the CA itself).

var (
	oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	oidSHA256RSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
)

// OCSPRequest is what a test responder reads of a request.
type OCSPRequest struct {
	HashAlgorithm     asn1.ObjectIdentifier
	NameHash, KeyHash []byte
	Serial            *big.Int
	Nonce             []byte // nil without one
}

// ParseOCSPRequest reads an OCSPRequest for one certificate.
func ParseOCSPRequest(der []byte) (*OCSPRequest, error) {
	bad := errors.New("sigtest: malformed OCSP request")
	in := cryptobyte.String(der)
	var req, tbs, list, one, id, alg cryptobyte.String
	r := &OCSPRequest{Serial: new(big.Int)}
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !req.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) ||
		!tbs.ReadASN1(&list, cbasn1.SEQUENCE) || !list.ReadASN1(&one, cbasn1.SEQUENCE) || !list.Empty() ||
		!one.ReadASN1(&id, cbasn1.SEQUENCE) || !id.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&r.HashAlgorithm) || !id.ReadASN1Bytes(&r.NameHash, cbasn1.OCTET_STRING) ||
		!id.ReadASN1Bytes(&r.KeyHash, cbasn1.OCTET_STRING) || !id.ReadASN1Integer(r.Serial) {
		return nil, bad
	}
	var exts, seq cryptobyte.String
	var has bool
	if !tbs.ReadOptionalASN1(&exts, &has, cbasn1.Tag(2).Constructed().ContextSpecific()) {
		return nil, bad
	}
	if has {
		if !exts.ReadASN1(&seq, cbasn1.SEQUENCE) {
			return nil, bad
		}
		for !seq.Empty() {
			var ext, value cryptobyte.String
			var oid asn1.ObjectIdentifier
			if !seq.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) ||
				!ext.SkipOptionalASN1(cbasn1.BOOLEAN) || !ext.ReadASN1(&value, cbasn1.OCTET_STRING) {
				return nil, bad
			}
			if oid.Equal(oidOCSPNonce) && !value.ReadASN1Bytes(&r.Nonce, cbasn1.OCTET_STRING) {
				return nil, bad
			}
		}
	}
	return r, nil
}

// OCSPOptions shape a test responder.
type OCSPOptions struct {
	// Delegated signs with a responder certificate the CA issued, as NCA
	// does; otherwise the CA signs itself.
	Delegated bool
	// NotForOCSP leaves id-kp-OCSPSigning out of that certificate.
	NotForOCSP bool
	// NoNonce answers without echoing the request's nonce.
	NoNonce bool
	// Cached signs one answer per certificate and serves it again, without
	// the nonce, as responders with pre-produced answers do (RFC 5019): a
	// benchmark then measures the verifier, not the test's slow GOST signing.
	Cached bool
}

// OCSPResponder answers OCSP requests for the certificates of one CA.
type OCSPResponder struct {
	tb       testing.TB
	issuer   *x509.Certificate
	cert     *x509.Certificate // the signer's certificate
	carry    bool              // whether the answer carries it
	noNonce  bool
	cache    map[string][]byte // by serial, when answers are cached
	sign     func(tbs []byte) (pkix.AlgorithmIdentifier, []byte)
	mu       sync.Mutex
	revoked  map[string]time.Time
	unknown  map[string]bool
	requests int
	// Now dates the answers; nil is the clock.
	Now func() time.Time
}

// OCSPResponder makes a responder for ca's certificates.
func (ca *CA) OCSPResponder(tb testing.TB, o OCSPOptions) *OCSPResponder {
	tb.Helper()
	r := &OCSPResponder{tb: tb, issuer: ca.Cert, cert: ca.Cert, noNonce: o.NoNonce, revoked: map[string]time.Time{}, unknown: map[string]bool{}}
	if o.Cached {
		r.noNonce, r.cache = true, map[string][]byte{}
	}
	key := ca.Key
	if o.Delegated {
		key = newKey(tb)
		r.cert, r.carry = create(tb, responderTemplate(o), ca.Cert, key, ca.Key), true
	}
	alg := ncapki.RSA(key)
	r.sign = func(tbs []byte) (pkix.AlgorithmIdentifier, []byte) {
		sig, err := alg.Sign(alg.Hash(tbs))
		if err != nil {
			tb.Error(err)
		}
		return pkix.AlgorithmIdentifier{Algorithm: oidSHA256RSA, Parameters: asn1.NullRawValue}, sig
	}
	return r
}

// OCSPResponder makes a GOST-signing responder for ca's certificates.
func (ca *GOSTKey) OCSPResponder(tb testing.TB, o OCSPOptions) *OCSPResponder {
	tb.Helper()
	r := &OCSPResponder{tb: tb, issuer: ca.Cert, cert: ca.Cert, noNonce: o.NoNonce, revoked: map[string]time.Time{}, unknown: map[string]bool{}}
	if o.Cached {
		r.noNonce, r.cache = true, map[string][]byte{}
	}
	signer := ca
	if o.Delegated {
		signer = newGOSTKey(tb, ca.kind)
		signer.Cert = signer.certify(tb, responderTemplate(o), ca.Cert, ca)
		r.cert, r.carry = signer.Cert, true
	}
	r.sign = func(tbs []byte) (pkix.AlgorithmIdentifier, []byte) {
		a := signer.kind.alg()
		return pkix.AlgorithmIdentifier{Algorithm: a.sigOID, Parameters: asn1.NullRawValue}, signer.sign(tb, a.hash(tbs))
	}
	return r
}

func responderTemplate(o OCSPOptions) *x509.Certificate {
	t := &x509.Certificate{SerialNumber: ncapki.Serial(), Subject: pkix.Name{CommonName: "OCSP RESPONDER", Country: []string{"KZ"}},
		NotBefore: time.Now().AddDate(-1, 0, 0), NotAfter: time.Now().AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}}
	if o.NotForOCSP {
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
	}
	return t
}

// Revoke marks a certificate revoked at a time.
func (r *OCSPResponder) Revoke(c *x509.Certificate, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked[c.SerialNumber.String()] = at
}

// Disown makes the responder answer "unknown" about a certificate, as a
// responder does about certificates not of its CA.
func (r *OCSPResponder) Disown(c *x509.Certificate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unknown[c.SerialNumber.String()] = true
}

// Requests is how many requests were answered.
func (r *OCSPResponder) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// ServeHTTP answers a POSTed OCSP request.
func (r *OCSPResponder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<16))
	q, err := ParseOCSPRequest(body)
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/ocsp-request" || err != nil {
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write([]byte{0x30, 0x03, 0x0a, 0x01, 0x01}) // malformedRequest
		return
	}
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	r.mu.Lock()
	r.requests++
	revokedAt, revoked := r.revoked[q.Serial.String()]
	unknown := r.unknown[q.Serial.String()]
	cached, ok := r.cache[q.Serial.String()]
	r.mu.Unlock()
	if !ok {
		cached = r.answer(q, now, revoked, unknown, revokedAt)
		if r.cache != nil {
			r.mu.Lock()
			r.cache[q.Serial.String()] = cached
			r.mu.Unlock()
		}
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	_, _ = w.Write(cached)
}

func (r *OCSPResponder) answer(q *OCSPRequest, now time.Time, revoked, unknown bool, revokedAt time.Time) []byte {
	now = now.UTC().Truncate(time.Second)
	var tbs cryptobyte.Builder
	tbs.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(r.cert.RawSubject) })
		b.AddASN1GeneralizedTime(now)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(q.HashAlgorithm)
						b.AddASN1NULL()
					})
					b.AddASN1OctetString(q.NameHash)
					b.AddASN1OctetString(q.KeyHash)
					b.AddASN1BigInt(q.Serial)
				})
				switch {
				case unknown:
					b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(*cryptobyte.Builder) {})
				case revoked:
					b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1GeneralizedTime(revokedAt.UTC().Truncate(time.Second))
					})
				default:
					b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(*cryptobyte.Builder) {})
				}
				b.AddASN1GeneralizedTime(now)
			})
		})
		if q.Nonce != nil && !r.noNonce {
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(oidOCSPNonce)
						b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) { b.AddASN1OctetString(q.Nonce) })
					})
				})
			})
		}
	})
	tbsDER := tbs.BytesOrPanic()
	alg, sig := r.sign(tbsDER)
	algDER, _ := asn1.Marshal(alg)
	var basic cryptobyte.Builder
	basic.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbsDER)
		b.AddBytes(algDER)
		b.AddASN1BitString(sig)
		if r.carry {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(r.cert.Raw) })
			})
		}
	})
	var resp cryptobyte.Builder
	resp.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Enum(0)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidOCSPBasic)
				b.AddASN1OctetString(basic.BytesOrPanic())
			})
		})
	})
	return resp.BytesOrPanic()
}
