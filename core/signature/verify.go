// Package signature verifies CMS (CAdES-BES) signatures made with
// Kazakhstan's NCA keys over a document's stored bytes, says who signed, and
// builds the combined CMS of all signers. RSA verifies with Go's standard
// library; GOST keys through the gost sub-package.
package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"edobot/core"
)

// Purpose is what a signature is for, which decides the keys accepted.
type Purpose int

const (
	// PurposeSign is a document signature: a signing key is required.
	PurposeSign Purpose = iota
	// PurposeAuth is an identity challenge: an authentication key will do too.
	PurposeAuth
)

// Role is what the certificate says the signer is.
type Role string

const (
	RoleIndividual  Role = "individual"
	RoleLegalEntity Role = "legal_entity" // a legal entity's key naming no narrower role
	RoleHead        Role = "head"
	// RoleSigningRight is an employee given the right to sign for the
	// organisation; RoleFinancialSigner, the right to sign its financial
	// documents.
	RoleSigningRight    Role = "signing_right"
	RoleFinancialSigner Role = "financial_signer"
	RoleHR              Role = "hr"
	RoleEmployee        Role = "employee"
	// RoleInformationSystem is a legal entity's information system, named
	// with the person responsible for it; RoleTreasuryClient, a system
	// of the Treasury's clients, which names no person (no IIN).
	RoleInformationSystem Role = "information_system"
	RoleTreasuryClient    Role = "treasury_client"
)

// Content is the signed data, hashed at most once per digest algorithm
// however many signatures are checked against it.
type Content struct {
	data    []byte
	mu      sync.Mutex
	digests map[string][]byte
}

// NewContent wraps the document's bytes.
func NewContent(data []byte) *Content {
	return &Content{data: data, digests: map[string][]byte{}}
}

// digest returns the content's digest under the algorithm, computing it once.
func (c *Content) digest(alg digestAlg) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.digests[alg.name]; ok {
		return d
	}
	h := alg.new()
	h.Write(c.data)
	d := h.Sum(nil)
	c.digests[alg.name] = d
	return d
}

// Result is the verdict on one SignerInfo.
type Result struct {
	Signer   core.Signer
	Role     Role
	SignedAt time.Time
	Err      error // nil when the signature is valid
}

// Verifier checks CMS signatures against trusted roots.
type Verifier struct {
	// Roots and Intermediates are CAs trusted for the verifier's lifetime.
	Roots         []*x509.Certificate
	Intermediates []*x509.Certificate
	// Trust, when set, adds CAs read anew at each verification, so that
	// trust refreshed while the service runs applies at once.
	Trust TrustSource
	// Issuers, when set, is asked for a certificate's issuer that neither
	// the trusted CAs nor the CMS carry (NCA names it in AIA).
	Issuers IssuerFetcher
	// Revocation, when set, is asked about every signer certificate; a
	// revoked one is refused.
	Revocation RevocationChecker
	// Freshness, when set, requires the stated signing time to lie within
	// this much of now, and the certificate to be valid now as well: a live
	// signature (the link page, eGov) is made seconds before it arrives, and
	// a signing time the signer states could otherwise be backdated into an
	// expired certificate's validity. Offline checks of old files leave it 0.
	Freshness time.Duration
	Now       func() time.Time
}

// RevocationChecker tells whether a certificate was revoked at a time.
type RevocationChecker interface {
	Revoked(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (bool, error)
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Verify checks every SignerInfo of cms over content. A CMS that cannot be
// read at all is an error; otherwise each signer gets its own Result. When
// the CMS carries its own content (attached), that content must equal
// content; content may be nil to verify an attached CMS over what it carries.
func (v *Verifier) Verify(ctx context.Context, cms []byte, content *Content, purpose Purpose) ([]Result, error) {
	if roots, _ := v.trusted(); len(roots) == 0 {
		return nil, refuse(ErrNoTrust, "no root certificate is trusted")
	}
	sd, err := parseSignedData(cms)
	if err != nil {
		return nil, err
	}
	if !sd.contentType.Equal(oidData) {
		return nil, refuse(ErrUnsupported, "encapsulated content type %v is not data", sd.contentType)
	}
	if sd.content != nil {
		if content == nil {
			content = NewContent(sd.content)
		} else if !bytes.Equal(sd.content, content.data) {
			return nil, refuse(ErrContentMismatch, "the CMS carries other data than the document")
		}
	}
	if content == nil {
		return nil, refuse(ErrContentMismatch, "a detached CMS needs the signed data")
	}
	results := make([]Result, len(sd.signers))
	for i := range sd.signers {
		results[i] = v.verifySigner(ctx, sd, &sd.signers[i], content, purpose)
	}
	return results, nil
}

// VerifyOne accepts a CMS that holds exactly one valid signature over the
// document, as the sign use case needs it.
func (v *Verifier) VerifyOne(ctx context.Context, cms []byte, document []byte, purpose Purpose) (core.VerifiedSignature, error) {
	results, err := v.Verify(ctx, cms, NewContent(document), purpose)
	if err != nil {
		return core.VerifiedSignature{}, err
	}
	if len(results) != 1 {
		return core.VerifiedSignature{}, refuse(ErrSignerCount, "%d signatures where one was expected", len(results))
	}
	r := results[0]
	if r.Err != nil {
		return core.VerifiedSignature{}, r.Err
	}
	return core.VerifiedSignature{Signer: r.Signer, CMS: cms, SignedAt: r.SignedAt}, nil
}

// VerifyDocument is VerifyOne for a document signature, as core's sign use
// case asks for it.
func (v *Verifier) VerifyDocument(ctx context.Context, cms, document []byte) (core.VerifiedSignature, error) {
	return v.VerifyOne(ctx, cms, document, PurposeSign)
}

// VerifyChallenge is VerifyOne for a sign-in challenge: an authentication
// key proves who a person is as well as a signing key does.
func (v *Verifier) VerifyChallenge(ctx context.Context, cms, challenge []byte) (core.VerifiedSignature, error) {
	return v.VerifyOne(ctx, cms, challenge, PurposeAuth)
}

func (v *Verifier) verifySigner(ctx context.Context, sd *signedData, si *signerInfo, content *Content, purpose Purpose) (res Result) {
	cert, err := si.certificate(sd.certificates)
	if err != nil {
		res.Err = err
		return res
	}
	res.Signer, res.Role, err = identity(cert)
	if err != nil {
		res.Err = err
		return res
	}
	if res.Signer.IIN == "" {
		// A sign-in binds a person, and a document's signature records the
		// person who signed for the side: a system's key (an information
		// system's, a Treasury client's) names none, so it signs neither.
		res.Err = refuse(ErrNoIdentity, "the certificate names no person (IIN)")
		return res
	}
	res.SignedAt = v.now()
	if t, ok, err := si.signingTime(); err != nil {
		res.Err = refuse(ErrMalformed, "%v", err)
		return res
	} else if ok {
		res.SignedAt = t
	}
	if err := checkSignature(si, cert, content, sd.contentType); err != nil {
		res.Err = err
		return res
	}
	if t, ok, err := v.timestamp(ctx, si, sd.certificates); err != nil {
		res.Err = err
		return res
	} else if ok {
		res.SignedAt = t
	}
	if v.Freshness > 0 {
		now := v.now()
		if d := now.Sub(res.SignedAt); d > v.Freshness || d < -v.Freshness {
			res.Err = refuse(ErrStale, "signed at %s, now is %s", res.SignedAt.Format(time.RFC3339), now.Format(time.RFC3339))
			return res
		}
		if err := validAt(cert, now); err != nil {
			res.Err = err
			return res
		}
	}
	if err := checkPurpose(cert, purpose); err != nil {
		res.Err = err
		return res
	}
	// A key used outside its validity is refused as such, whatever the
	// chain behind it.
	if err := validAt(cert, res.SignedAt); err != nil {
		res.Err = err
		return res
	}
	chain, err := v.Chain(ctx, cert, sd.certificates, res.SignedAt)
	if err != nil {
		res.Err = err
		return res
	}
	if v.Revocation != nil {
		revoked, err := v.Revocation.Revoked(ctx, cert, chain[1], res.SignedAt)
		if err != nil {
			var refusal *Error
			if !errors.As(err, &refusal) {
				err = ErrRevocationUnknown.With(err)
			}
			res.Err = err
			return res
		}
		if revoked {
			res.Err = refuse(ErrRevoked, "certificate %s is revoked", res.Signer.CertSerial)
			return res
		}
	}
	return res
}

// checkSignature verifies the signed attributes against the content and the
// signature against the attributes (or the content, when there are none).
func checkSignature(si *signerInfo, cert *x509.Certificate, content *Content, contentType asn1.ObjectIdentifier) error {
	alg, ok := digestByOID(si.digestAlg.Algorithm)
	if !ok {
		return refuse(ErrUnsupported, "digest algorithm %v", si.digestAlg.Algorithm)
	}
	signed := content.digest(alg)
	var message []byte // what the signature's own digest is taken over
	if si.signedAttrs != nil {
		ct, ok, err := si.attr(oidContentType)
		if err != nil || !ok {
			return refuse(ErrMalformed, "content-type attribute missing or repeated")
		}
		var ctOID asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(ct.FullBytes, &ctOID); err != nil || !ctOID.Equal(contentType) {
			return refuse(ErrMalformed, "content-type attribute does not name the encapsulated content type")
		}
		md, ok, err := si.attr(oidMessageDigest)
		if err != nil || !ok {
			return refuse(ErrMalformed, "message-digest attribute missing or repeated")
		}
		var digest []byte
		if _, err := asn1.Unmarshal(md.FullBytes, &digest); err != nil {
			return refuse(ErrMalformed, "message-digest attribute: %v", err)
		}
		if !bytes.Equal(digest, signed) {
			return refuse(ErrContentMismatch, "the signature was made over other data")
		}
		message = si.signedAttrs
	}
	return verifyWithKey(cert, si, alg, message, signed)
}

// verifyWithKey checks the signature value with the certificate's key. When
// message is nil the signature is over the content, whose digest is given.
func verifyWithKey(cert *x509.Certificate, si *signerInfo, alg digestAlg, message, contentDigest []byte) error {
	digest := contentDigest
	if message != nil {
		h := alg.new()
		h.Write(message)
		digest = h.Sum(nil)
	}
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if !oidIn(si.sigAlg.Algorithm, rsaSignatureAlgorithms) || alg.hash == 0 {
			return refuse(ErrUnsupported, "signature algorithm %v with an RSA key", si.sigAlg.Algorithm)
		}
		if err := rsa.VerifyPKCS1v15(pub, alg.hash, digest, si.signature); err != nil {
			return refuse(ErrBadSignature, "%v", err)
		}
		return nil
	}
	if gostKey(cert) {
		return verifyGOST(cert, si, alg, digest)
	}
	return refuse(ErrUnsupported, "public key algorithm %v", cert.PublicKeyAlgorithm)
}

// checkPurpose refuses an authentication key where a signing key is needed.
// NCA marks signing keys with the e-mail protection purpose and
// non-repudiation; the GOST 2015 single key carries both purposes.
func checkPurpose(cert *x509.Certificate, purpose Purpose) error {
	if purpose == PurposeAuth {
		return nil
	}
	for _, u := range cert.ExtKeyUsage {
		if u == x509.ExtKeyUsageEmailProtection || u == x509.ExtKeyUsageAny {
			return nil
		}
	}
	// Without a standard purpose (only NCA's role purposes, as on a
	// Treasury client's key) the key usage decides, as NCA's own tools read
	// it: non-repudiation is a signing key.
	if len(cert.ExtKeyUsage) == 0 && cert.KeyUsage&x509.KeyUsageContentCommitment != 0 {
		return nil
	}
	return refuse(ErrWrongKeyPurpose, "the certificate is not for signing documents (an authentication key?)")
}

// chain is Chain for callers without a context; an IssuerFetcher bounds
// its own time.
func (v *Verifier) chain(cert *x509.Certificate, pool []*x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	return v.Chain(context.Background(), cert, pool, at)
}

// maxChainDepth bounds the intermediates between a certificate and its root.
const maxChainDepth = 8

// Chain builds the path from cert to a trusted root, checking every
// signature and validity at time at; pool are other certificates that may
// be intermediates (those a CMS carries). It returns the path, leaf first.
// Go's x509.Verify cannot be used: it checks validity at one time for the
// whole chain well enough, but knows no GOST algorithms.
func (v *Verifier) Chain(ctx context.Context, cert *x509.Certificate, pool []*x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	roots, intermediates := v.trusted()
	if len(roots) == 0 {
		return nil, refuse(ErrNoTrust, "no root certificate is trusted")
	}
	if err := validAt(cert, at); err != nil {
		return nil, err
	}
	candidates := append(append([]*x509.Certificate{}, intermediates...), pool...)
	path := []*x509.Certificate{cert}
	cur := cert
	var fetchErr error
	for depth := 0; depth < maxChainDepth; depth++ {
		for _, root := range roots {
			if IssuedBy(cur, root) {
				if err := validAt(root, at); err != nil {
					return nil, err
				}
				return append(path, root), nil
			}
		}
		next := issuerAmong(cur, candidates)
		if next == nil && v.Issuers != nil {
			fetched, err := v.Issuers.FetchIssuer(ctx, cur)
			switch {
			case err != nil:
				fetchErr = err
			case fetched == nil:
			case fetched.IsCA && !fetched.Equal(cur) && IssuedBy(cur, fetched):
				next = fetched
				candidates = append(candidates, fetched)
			default:
				fetchErr = fmt.Errorf("the certificate %q its AIA URL gives did not issue it", fetched.Subject.CommonName)
			}
		}
		if next == nil {
			break
		}
		if err := validAt(next, at); err != nil {
			return nil, err
		}
		path = append(path, next)
		cur = next
	}
	if fetchErr != nil {
		return nil, refuse(ErrUntrusted, "certificate %q does not chain to a trusted root; fetching its issuer: %v", cert.Subject.CommonName, fetchErr)
	}
	return nil, refuse(ErrUntrusted, "certificate %q does not chain to a trusted root", cert.Subject.CommonName)
}

// trusted is every CA trusted at this moment.
func (v *Verifier) trusted() (roots, intermediates []*x509.Certificate) {
	roots, intermediates = v.Roots, v.Intermediates
	if v.Trust != nil {
		r, i := v.Trust.TrustedCAs()
		roots = append(append([]*x509.Certificate{}, roots...), r...)
		intermediates = append(append([]*x509.Certificate{}, intermediates...), i...)
	}
	return roots, intermediates
}

func issuerAmong(c *x509.Certificate, candidates []*x509.Certificate) *x509.Certificate {
	for _, p := range candidates {
		if p.IsCA && !p.Equal(c) && IssuedBy(c, p) {
			return p
		}
	}
	return nil
}

func validAt(c *x509.Certificate, at time.Time) error {
	if at.Before(c.NotBefore) {
		return refuse(ErrNotYetValid, "certificate %q is valid from %s, signed at %s", c.Subject.CommonName, c.NotBefore.Format(time.RFC3339), at.Format(time.RFC3339))
	}
	if at.After(c.NotAfter) {
		return refuse(ErrExpired, "certificate %q expired %s, signed at %s", c.Subject.CommonName, c.NotAfter.Format(time.RFC3339), at.Format(time.RFC3339))
	}
	return nil
}

// checkCertSignature checks that parent signed c.
func checkCertSignature(c, parent *x509.Certificate) error {
	if gostKey(parent) {
		return verifyGOSTCertificate(c, parent)
	}
	return parent.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
}

// identity reads who the certificate names, NCA style. A person's key names
// an IIN; a legal entity's key names its BIN too, and the key of a system
// (a Treasury client) names the BIN alone.
func identity(c *x509.Certificate) (core.Signer, Role, error) {
	s := core.Signer{
		CertSerial: certSerial(c),
		Issuer:     c.Issuer.String(),
		NotBefore:  c.NotBefore,
		NotAfter:   c.NotAfter,
		KeyKind:    keyKind(c),
	}
	var surname, given, patronymic string
	for _, n := range c.Subject.Names {
		str, _ := n.Value.(string)
		switch {
		case n.Type.Equal(oidSerialNumber) && strings.HasPrefix(str, "BIN"):
			if s.BIN == "" {
				s.BIN = strings.TrimPrefix(str, "BIN")
			}
		case n.Type.Equal(oidSerialNumber):
			s.IIN = strings.TrimPrefix(str, "IIN")
		case n.Type.Equal(oidOrgUnit) && strings.HasPrefix(str, "BIN"):
			s.BIN = strings.TrimPrefix(str, "BIN")
		case n.Type.Equal(oidOrganisation):
			s.Organisation = str
		case n.Type.Equal(oidSurname):
			surname = str
		case n.Type.Equal(oidGivenName):
			patronymic = str
		case n.Type.Equal(oidCommonName):
			given = str
		}
	}
	// CN is "SURNAME NAME"; the patronymic sits in givenName.
	name := given
	if surname != "" && !strings.HasPrefix(given, surname) {
		name = surname + " " + given
	}
	s.FullName = strings.TrimSpace(strings.Join([]string{name, patronymic}, " "))
	if s.IIN != "" && len(s.IIN) != 12 {
		return s, "", refuse(ErrNoIdentity, "the certificate's IIN is malformed")
	}
	if s.BIN != "" && len(s.BIN) != 12 {
		return s, "", refuse(ErrNoIdentity, "the certificate's BIN is malformed")
	}
	if s.IIN == "" && s.BIN == "" {
		return s, "", refuse(ErrNoIdentity, "the certificate names no IIN or BIN")
	}
	return s, roleOf(c, s), nil
}

// roleOf reads the role purposes NCA puts among the extended key usages,
// the narrowest first.
func roleOf(c *x509.Certificate, s core.Signer) Role {
	for _, r := range roles {
		for _, u := range c.UnknownExtKeyUsage {
			if u.Equal(r.oid) {
				return r.role
			}
		}
	}
	for _, u := range c.UnknownExtKeyUsage {
		if u.Equal(oidRoleLegalEntity) {
			return RoleLegalEntity
		}
	}
	if s.BIN != "" {
		return RoleLegalEntity
	}
	return RoleIndividual
}

// certSerial is the serial number as NCA's tools and openssl print it: hex
// of whole bytes, a leading zero kept.
func certSerial(c *x509.Certificate) string {
	s := strings.ToUpper(c.SerialNumber.Text(16))
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}

func keyKind(c *x509.Certificate) core.KeyKind {
	if _, ok := c.PublicKey.(*rsa.PublicKey); ok {
		return core.KeyRSA
	}
	return gostKeyKind(c)
}

func decodeBase64(b []byte) ([]byte, error) {
	s := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, string(b))
	if d, err := base64.StdEncoding.DecodeString(s); err == nil {
		return d, nil
	}
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// digestAlg is a digest algorithm the verifier knows.
type digestAlg struct {
	name string
	hash crypto.Hash // 0 for GOST digests
	new  func() hashWriter
}

type hashWriter interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
}

func digestByOID(oid asn1.ObjectIdentifier) (digestAlg, bool) {
	for _, d := range rsaDigests {
		if d.oid.Equal(oid) {
			h := d.hash
			return digestAlg{name: h.String(), hash: h, new: func() hashWriter { return h.New() }}, true
		}
	}
	return gostDigestByOID(oid)
}
