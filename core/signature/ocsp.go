package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// OCSP, RFC 6960, as NCA's responder speaks it. Request: §4.1.1 (CertID
// with SHA-256, as NCA's responder echoes it back to KalkanCrypt's clients;
// a nonce, §4.4.1 and RFC 8954). Response: §4.2.1 (BasicOCSPResponse),
// signed by the issuing CA or by a responder the CA delegated to with
// id-kp-OCSPSigning (§4.2.2.2). NCA's GOST answers are GOST-signed, which
// golang.org/x/crypto/ocsp cannot verify, so the response is read here with
// cryptobyte and its signature checked like a certificate's.
//
// NCA's responder: named in the AIA of NCA's certificates
// and in ncanode-kz/NCANode src/main/resources/application.yml. Its test
// PKI's: the AIA of NCA's test certificates (testdata/nca/leaves).
const (
	NCAOCSPURL     = "http://ocsp.pki.gov.kz"
	NCATestOCSPURL = "http://test.pki.gov.kz/ocsp/"

	ocspRequestType = "application/ocsp-request"
	// ocspNonceSize is what NCANode sends and NCA's responder echoes.
	ocspNonceSize   = 8
	ocspMaxResponse = 1 << 20
	ocspTimeout     = 10 * time.Second
	// ocspSkew is the clock difference tolerated with the responder.
	ocspSkew = 5 * time.Minute
	// ocspMaxAge bounds how old an answer may be that does not echo our
	// nonce and names no next update: it could be a replay.
	ocspMaxAge = time.Hour
)

var (
	oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
)

// ocspResponseStatus names OCSPResponseStatus values (RFC 6960 §4.2.1).
var ocspResponseStatus = map[int]string{1: "malformedRequest", 2: "internalError", 3: "tryLater", 5: "sigRequired", 6: "unauthorized"}

// FailurePolicy says what a signature gets when its certificate's status
// cannot be learnt: the responder cannot be reached, or answers garbage,
// an answer that does not verify, or "unknown".
type FailurePolicy int

const (
	// RefuseOnFailure refuses the signature with ErrRevocationUnknown; the
	// signer is asked to try again later. It is the default, and the safe
	// one: a signature recorded here is legally binding, and a key
	// revoked after its theft must not sign just because NCA's responder
	// was down or someone on the path kept it from answering.
	RefuseOnFailure FailurePolicy = iota
	// AcceptOnFailure accepts the signature as if the certificate were
	// good, and logs a warning. For installations that prefer signing to
	// go on through an outage of NCA's responder and take that risk.
	AcceptOnFailure
)

// OCSP asks an OCSP responder (NCA's by default in the binary's
// configuration) whether a signer's certificate was revoked.
type OCSP struct {
	// URL overrides the responder named in the certificates.
	URL       string
	Client    *http.Client
	OnFailure FailurePolicy
	Now       func() time.Time
	// Nonce makes the request's nonce; nil draws random bytes. Tests
	// replaying a recorded answer give the nonce it was made for.
	Nonce func() ([]byte, error)

	// appointed remembers responder certificates whose issuer's signature
	// verified: a GOST check costs milliseconds, and NCA's responder signs
	// every answer with the same certificate for a year.
	appointed sync.Map // [2][32]byte{responder, issuer} → struct{}
}

// OCSPStatus is what a verified OCSP answer says of one certificate.
type OCSPStatus struct {
	Revoked    bool
	RevokedAt  time.Time
	Reason     int // CRLReason (RFC 5280 §5.3.1); -1 when not given
	ThisUpdate time.Time
	ProducedAt time.Time
	Responder  *x509.Certificate // whose key signed the answer
}

// Revoked reports whether cert was revoked at or before at. When no
// trustworthy answer can be had, OnFailure decides.
func (o *OCSP) Revoked(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (bool, error) {
	st, err := o.Status(ctx, cert, issuer)
	if err != nil {
		if o.OnFailure == AcceptOnFailure {
			slog.WarnContext(ctx, "certificate status unknown; accepted, as configured", "serial", certSerial(cert), "err", err)
			return false, nil
		}
		return false, ErrRevocationUnknown.With(err)
	}
	return st.Revoked && !st.RevokedAt.After(at), nil
}

// Status asks the responder about cert and verifies the answer: that it
// is about cert, signed by issuer or a responder issuer delegated to, and
// fresh (our nonce echoed, or recent). A status "unknown" is an error.
func (o *OCSP) Status(ctx context.Context, cert, issuer *x509.Certificate) (*OCSPStatus, error) {
	url := o.URL
	if url == "" && len(cert.OCSPServer) > 0 {
		url = cert.OCSPServer[0]
	}
	if url == "" {
		return nil, fmt.Errorf("no OCSP responder for certificate %s", certSerial(cert))
	}
	nonce, err := o.nonce()
	if err != nil {
		return nil, err
	}
	req, err := ocspRequest(cert, issuer, nonce)
	if err != nil {
		return nil, err
	}
	body, err := o.post(ctx, url, req)
	if err != nil {
		return nil, err
	}
	return o.verifyResponse(body, cert, issuer, nonce, o.now())
}

func (o *OCSP) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *OCSP) nonce() ([]byte, error) {
	if o.Nonce != nil {
		return o.Nonce()
	}
	b := make([]byte, ocspNonceSize)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

func (o *OCSP) post(ctx context.Context, url string, req []byte) ([]byte, error) {
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	httpReq.Header.Set("Content-Type", ocspRequestType)
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: ocspTimeout}
	}
	resp, err := client.Do(httpReq)
	if err != nil {
		return nil, fmt.Errorf("ocsp: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ocsp responder answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, ocspMaxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("ocsp: %w", err)
	}
	if len(body) > ocspMaxResponse {
		return nil, errors.New("ocsp: the answer is too large")
	}
	return body, nil
}

// ocspRequest is an OCSPRequest for one certificate, with a nonce.
func ocspRequest(cert, issuer *x509.Certificate, nonce []byte) ([]byte, error) {
	nameHash, keyHash, err := certIDHashes(crypto.SHA256, issuer)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // OCSPRequest
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // TBSRequest
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // requestList
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // Request
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // CertID
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1ObjectIdentifier(oidSHA256)
							b.AddASN1NULL()
						})
						b.AddASN1OctetString(nameHash)
						b.AddASN1OctetString(keyHash)
						b.AddASN1BigInt(cert.SerialNumber)
					})
				})
			})
			if nonce != nil {
				b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // Extensions
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1ObjectIdentifier(oidOCSPNonce)
							b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) { b.AddASN1OctetString(nonce) })
						})
					})
				})
			}
		})
	})
	return b.Bytes()
}

// certIDHashes are a CertID's issuerNameHash and issuerKeyHash: the hash of
// the issuer's DER name and of its public key's bits (RFC 6960 §4.1.1).
func certIDHashes(h crypto.Hash, issuer *x509.Certificate) (nameHash, keyHash []byte, err error) {
	if !h.Available() {
		return nil, nil, fmt.Errorf("ocsp: hash %v", h)
	}
	var info spki
	if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &info); err != nil {
		return nil, nil, fmt.Errorf("ocsp: issuer key: %w", err)
	}
	hn := h.New()
	hn.Write(issuer.RawSubject)
	hk := h.New()
	hk.Write(info.PublicKey.RightAlign())
	return hn.Sum(nil), hk.Sum(nil), nil
}

// basicResponse is a BasicOCSPResponse as read, its signed part kept raw.
type basicResponse struct {
	tbs           []byte // tbsResponseData, as signed
	responderName []byte // byName: the DER Name
	responderKey  []byte // byKey: SHA-1 of the responder's key bits
	producedAt    time.Time
	responses     []singleResponse
	nonce         []byte // the nonce extension's value; nil without one
	sigAlg        pkix.AlgorithmIdentifier
	signature     []byte
	certs         []*x509.Certificate
}

type singleResponse struct {
	hashAlg            asn1.ObjectIdentifier
	nameHash, keyHash  []byte
	serial             *big.Int
	status             int // 0 good, 1 revoked, 2 unknown
	revokedAt          time.Time
	reason             int
	thisUpdate, next   time.Time
	hasNext            bool
	unknownCriticalExt bool
}

var errOCSPMalformed = errors.New("ocsp: malformed response")

// parseOCSPResponse reads an OCSPResponse holding a BasicOCSPResponse.
func parseOCSPResponse(der []byte) (*basicResponse, error) {
	in := cryptobyte.String(der)
	var resp, rb, rbSeq, basicDER, basic cryptobyte.String
	var status int
	if !in.ReadASN1(&resp, cbasn1.SEQUENCE) || !in.Empty() || !resp.ReadASN1Enum(&status) {
		return nil, errOCSPMalformed
	}
	if status != 0 {
		name := ocspResponseStatus[status]
		if name == "" {
			name = fmt.Sprint(status)
		}
		return nil, fmt.Errorf("ocsp responder says %s", name)
	}
	var typ asn1.ObjectIdentifier
	if !resp.ReadASN1(&rb, cbasn1.Tag(0).Constructed().ContextSpecific()) || !rb.ReadASN1(&rbSeq, cbasn1.SEQUENCE) ||
		!rbSeq.ReadASN1ObjectIdentifier(&typ) || !rbSeq.ReadASN1(&basicDER, cbasn1.OCTET_STRING) {
		return nil, errOCSPMalformed
	}
	if !typ.Equal(oidOCSPBasic) {
		return nil, fmt.Errorf("ocsp: response type %v", typ)
	}
	var tbs, alg cryptobyte.String
	var sig asn1.BitString
	br := &basicResponse{}
	if !basicDER.ReadASN1(&basic, cbasn1.SEQUENCE) || !basicDER.Empty() ||
		!basic.ReadASN1Element(&tbs, cbasn1.SEQUENCE) || !basic.ReadASN1Element(&alg, cbasn1.SEQUENCE) ||
		!basic.ReadASN1BitString(&sig) {
		return nil, errOCSPMalformed
	}
	if rest, err := asn1.Unmarshal(alg, &br.sigAlg); err != nil || len(rest) != 0 {
		return nil, errOCSPMalformed
	}
	br.tbs, br.signature = tbs, sig.RightAlign()
	var certs, certSeq cryptobyte.String
	var hasCerts bool
	if !basic.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, errOCSPMalformed
	}
	if hasCerts {
		if !certs.ReadASN1(&certSeq, cbasn1.SEQUENCE) {
			return nil, errOCSPMalformed
		}
		for !certSeq.Empty() {
			var raw cryptobyte.String
			if !certSeq.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
				return nil, errOCSPMalformed
			}
			c, err := x509.ParseCertificate(raw)
			if err != nil {
				return nil, fmt.Errorf("ocsp: responder certificate: %w", err)
			}
			br.certs = append(br.certs, c)
		}
	}
	if err := br.parseTBS(tbs); err != nil {
		return nil, err
	}
	return br, nil
}

func (br *basicResponse) parseTBS(tbs cryptobyte.String) error {
	var data, list cryptobyte.String
	if !tbs.ReadASN1(&data, cbasn1.SEQUENCE) ||
		!data.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) { // version, v1 by default
		return errOCSPMalformed
	}
	switch {
	case data.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()):
		var byName, name cryptobyte.String
		if !data.ReadASN1(&byName, cbasn1.Tag(1).Constructed().ContextSpecific()) || !byName.ReadASN1Element(&name, cbasn1.SEQUENCE) {
			return errOCSPMalformed
		}
		br.responderName = name
	case data.PeekASN1Tag(cbasn1.Tag(2).Constructed().ContextSpecific()):
		var byKey cryptobyte.String
		if !data.ReadASN1(&byKey, cbasn1.Tag(2).Constructed().ContextSpecific()) || !byKey.ReadASN1Bytes(&br.responderKey, cbasn1.OCTET_STRING) {
			return errOCSPMalformed
		}
	default:
		return errOCSPMalformed
	}
	if !data.ReadASN1GeneralizedTime(&br.producedAt) || !data.ReadASN1(&list, cbasn1.SEQUENCE) {
		return errOCSPMalformed
	}
	for !list.Empty() {
		var sr cryptobyte.String
		if !list.ReadASN1(&sr, cbasn1.SEQUENCE) {
			return errOCSPMalformed
		}
		r, err := parseSingleResponse(sr)
		if err != nil {
			return err
		}
		br.responses = append(br.responses, r)
	}
	var exts cryptobyte.String
	var hasExts bool
	if !data.ReadOptionalASN1(&exts, &hasExts, cbasn1.Tag(1).Constructed().ContextSpecific()) || !data.Empty() {
		return errOCSPMalformed
	}
	if hasExts {
		return eachExtension(exts, func(id asn1.ObjectIdentifier, critical bool, value []byte) error {
			switch {
			case id.Equal(oidOCSPNonce):
				br.nonce = value
			case critical:
				return fmt.Errorf("ocsp: unknown critical extension %v", id)
			}
			return nil
		})
	}
	return nil
}

func parseSingleResponse(sr cryptobyte.String) (singleResponse, error) {
	r := singleResponse{reason: -1}
	var id, alg cryptobyte.String
	r.serial = new(big.Int)
	if !sr.ReadASN1(&id, cbasn1.SEQUENCE) || !id.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&r.hashAlg) ||
		!id.ReadASN1Bytes(&r.nameHash, cbasn1.OCTET_STRING) || !id.ReadASN1Bytes(&r.keyHash, cbasn1.OCTET_STRING) ||
		!id.ReadASN1Integer(r.serial) {
		return r, errOCSPMalformed
	}
	// CertStatus: good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo,
	// unknown [2] IMPLICIT NULL. (A failed ReadASN1 still consumes: peek.)
	var st cryptobyte.String
	good, revoked, unknown := cbasn1.Tag(0).ContextSpecific(), cbasn1.Tag(1).Constructed().ContextSpecific(), cbasn1.Tag(2).ContextSpecific()
	switch {
	case sr.PeekASN1Tag(good) && sr.ReadASN1(&st, good):
		r.status = 0
	case sr.PeekASN1Tag(revoked) && sr.ReadASN1(&st, revoked):
		r.status = 1
		var reason cryptobyte.String
		var hasReason bool
		if !st.ReadASN1GeneralizedTime(&r.revokedAt) ||
			!st.ReadOptionalASN1(&reason, &hasReason, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return r, errOCSPMalformed
		}
		if hasReason && !reason.ReadASN1Enum(&r.reason) {
			return r, errOCSPMalformed
		}
	case sr.PeekASN1Tag(unknown) && sr.ReadASN1(&st, unknown):
		r.status = 2
	default:
		return r, errOCSPMalformed
	}
	var next, exts cryptobyte.String
	var hasExts bool
	if !sr.ReadASN1GeneralizedTime(&r.thisUpdate) ||
		!sr.ReadOptionalASN1(&next, &r.hasNext, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		r.hasNext && !next.ReadASN1GeneralizedTime(&r.next) ||
		!sr.ReadOptionalASN1(&exts, &hasExts, cbasn1.Tag(1).Constructed().ContextSpecific()) || !sr.Empty() {
		return r, errOCSPMalformed
	}
	if hasExts {
		if err := eachExtension(exts, func(_ asn1.ObjectIdentifier, critical bool, _ []byte) error {
			r.unknownCriticalExt = r.unknownCriticalExt || critical
			return nil
		}); err != nil {
			return r, err
		}
	}
	return r, nil
}

// eachExtension walks an [n] EXPLICIT Extensions body.
func eachExtension(exts cryptobyte.String, fn func(id asn1.ObjectIdentifier, critical bool, value []byte) error) error {
	var seq cryptobyte.String
	if !exts.ReadASN1(&seq, cbasn1.SEQUENCE) || !exts.Empty() {
		return errOCSPMalformed
	}
	for !seq.Empty() {
		var ext cryptobyte.String
		var id asn1.ObjectIdentifier
		var critical bool
		var value []byte
		if !seq.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&id) ||
			!ext.ReadOptionalASN1Boolean(&critical, cbasn1.BOOLEAN, false) || !ext.ReadASN1Bytes(&value, cbasn1.OCTET_STRING) {
			return errOCSPMalformed
		}
		if err := fn(id, critical, value); err != nil {
			return err
		}
	}
	return nil
}

// verifyResponse reads an answer and checks it is a trustworthy answer
// about cert to a request carrying nonce (nil: none was sent), at now.
func (o *OCSP) verifyResponse(der []byte, cert, issuer *x509.Certificate, nonce []byte, now time.Time) (*OCSPStatus, error) {
	br, err := parseOCSPResponse(der)
	if err != nil {
		return nil, err
	}
	r, err := br.responseFor(cert, issuer)
	if err != nil {
		return nil, err
	}
	responder, err := br.signer(issuer, now, o.issuedBy)
	if err != nil {
		return nil, err
	}
	if err := br.fresh(r, nonce, now); err != nil {
		return nil, err
	}
	if r.unknownCriticalExt {
		return nil, errors.New("ocsp: unknown critical extension in the answer")
	}
	st := &OCSPStatus{Reason: r.reason, ThisUpdate: r.thisUpdate, ProducedAt: br.producedAt, Responder: responder}
	switch r.status {
	case 0:
	case 1:
		st.Revoked, st.RevokedAt = true, r.revokedAt
	default:
		return nil, fmt.Errorf("ocsp: the responder does not know certificate %s", certSerial(cert))
	}
	return st, nil
}

// responseFor finds the SingleResponse about cert as issuer's.
func (br *basicResponse) responseFor(cert, issuer *x509.Certificate) (singleResponse, error) {
	for _, r := range br.responses {
		h, ok := hashByOID(r.hashAlg)
		if !ok || r.serial.Cmp(cert.SerialNumber) != 0 {
			continue
		}
		nameHash, keyHash, err := certIDHashes(h, issuer)
		if err == nil && bytes.Equal(nameHash, r.nameHash) && bytes.Equal(keyHash, r.keyHash) {
			return r, nil
		}
	}
	return singleResponse{}, fmt.Errorf("ocsp: the answer says nothing of certificate %s", certSerial(cert))
}

func hashByOID(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	for _, d := range rsaDigests {
		if d.oid.Equal(oid) {
			return d.hash, true
		}
	}
	return 0, false
}

// signer finds who signed the answer among the issuer and the certificates
// the answer carries, checks that it may answer for the issuer, and
// verifies the signature with its key.
func (br *basicResponse) signer(issuer *x509.Certificate, now time.Time, issuedBy func(c, issuer *x509.Certificate) bool) (*x509.Certificate, error) {
	var failure error = errors.New("ocsp: no certificate of the responder it names")
	for _, c := range append([]*x509.Certificate{issuer}, br.certs...) {
		if !br.names(c) {
			continue
		}
		if err := authorisedResponder(c, issuer, now, issuedBy); err != nil {
			failure = err
			continue
		}
		if err := checkSignedBy(c, br.sigAlg, br.tbs, br.signature); err != nil {
			return nil, fmt.Errorf("ocsp: the answer's signature: %w", err)
		}
		return c, nil
	}
	return nil, failure
}

// names reports whether the responder ID names c.
func (br *basicResponse) names(c *x509.Certificate) bool {
	if br.responderName != nil {
		return bytes.Equal(br.responderName, c.RawSubject)
	}
	var info spki
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &info); err != nil {
		return false
	}
	h := crypto.SHA1.New()
	h.Write(info.PublicKey.RightAlign())
	return bytes.Equal(h.Sum(nil), br.responderKey)
}

// authorisedResponder: the issuing CA itself, or a certificate it issued
// for OCSP signing (RFC 6960 §4.2.2.2), valid now.
func authorisedResponder(c, issuer *x509.Certificate, now time.Time, issuedBy func(c, issuer *x509.Certificate) bool) error {
	if c.Equal(issuer) {
		return nil
	}
	if !bytes.Equal(c.RawIssuer, issuer.RawSubject) || !issuedBy(c, issuer) {
		return fmt.Errorf("ocsp: responder %q was not appointed by the certificate's issuer", c.Subject.CommonName)
	}
	if !hasEKU(c, x509.ExtKeyUsageOCSPSigning) {
		return fmt.Errorf("ocsp: certificate %q is not an OCSP responder's", c.Subject.CommonName)
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return fmt.Errorf("ocsp: responder certificate %q is not valid now", c.Subject.CommonName)
	}
	return nil
}

// issuedBy reports whether issuer's key signed c, remembering a yes.
func (o *OCSP) issuedBy(c, issuer *x509.Certificate) bool {
	key := [2][32]byte{sha256.Sum256(c.Raw), sha256.Sum256(issuer.Raw)}
	if _, ok := o.appointed.Load(key); ok {
		return true
	}
	if checkCertSignature(c, issuer) != nil {
		return false
	}
	o.appointed.Store(key, struct{}{})
	return true
}

// fresh checks that the answer was made for this request, or recently.
func (br *basicResponse) fresh(r singleResponse, nonce []byte, now time.Time) error {
	echoed := false
	if nonce != nil && br.nonce != nil {
		var inner []byte
		if rest, err := asn1.Unmarshal(br.nonce, &inner); err == nil && len(rest) == 0 && bytes.Equal(inner, nonce) ||
			bytes.Equal(br.nonce, nonce) {
			echoed = true
		} else {
			return errors.New("ocsp: the answer carries another request's nonce")
		}
	}
	if r.thisUpdate.After(now.Add(ocspSkew)) {
		return fmt.Errorf("ocsp: the answer is dated %s, in the future", r.thisUpdate.Format(time.RFC3339))
	}
	if r.hasNext {
		if now.After(r.next.Add(ocspSkew)) {
			return fmt.Errorf("ocsp: the answer expired %s", r.next.Format(time.RFC3339))
		}
		return nil
	}
	if !echoed && r.thisUpdate.Before(now.Add(-ocspMaxAge)) {
		return fmt.Errorf("ocsp: an answer of %s, without our nonce, may be a replay", r.thisUpdate.Format(time.RFC3339))
	}
	return nil
}

// checkSignedBy verifies a signature made by signer's key over signed with
// the algorithm, GOST or not (OCSP answers and the like).
func checkSignedBy(signer *x509.Certificate, alg pkix.AlgorithmIdentifier, signed, sig []byte) error {
	if gostKey(signer) {
		a, ok := gostAlgorithmFor(alg.Algorithm)
		if !ok {
			return refuse(ErrUnsupported, "signature algorithm %v with a GOST key", alg.Algorithm)
		}
		d, _ := gostDigestByOID(a.digest)
		h := d.new()
		h.Write(signed)
		return gostVerify(signer, h.Sum(nil), sig)
	}
	for _, a := range x509SignatureAlgorithms {
		if a.oid.Equal(alg.Algorithm) {
			return signer.CheckSignature(a.alg, signed, sig)
		}
	}
	return refuse(ErrUnsupported, "signature algorithm %v", alg.Algorithm)
}

// x509SignatureAlgorithms are the non-GOST algorithms an OCSP responder or
// a TSA may sign with, as Go's x509 names them.
var x509SignatureAlgorithms = []struct {
	oid asn1.ObjectIdentifier
	alg x509.SignatureAlgorithm
}{
	{oidSHA256WithRSA, x509.SHA256WithRSA}, {oidSHA384WithRSA, x509.SHA384WithRSA}, {oidSHA512WithRSA, x509.SHA512WithRSA},
	{oidECDSAWithSHA256, x509.ECDSAWithSHA256}, {oidECDSAWithSHA384, x509.ECDSAWithSHA384}, {oidECDSAWithSHA512, x509.ECDSAWithSHA512},
}
