package signature

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// The CMS structures of RFC 5652, as much as signature verification needs.
// Raw bytes are kept wherever a signature covers them, because re-encoding
// can change them.

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type signedDataASN1 struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      asn1.RawValue
}

type signerInfoASN1 struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

// signedData is a parsed CMS SignedData.
type signedData struct {
	contentType  asn1.ObjectIdentifier
	content      []byte // the encapsulated content; nil when detached
	certificates []*x509.Certificate
	signers      []signerInfo
	digestAlgs   []pkix.AlgorithmIdentifier
}

type signerInfo struct {
	raw         []byte // the whole DER SignerInfo, for the combined CMS
	sid         asn1.RawValue
	digestAlg   pkix.AlgorithmIdentifier
	signedAttrs []byte // DER of the [0] IMPLICIT SET, nil when absent
	attrs       []attribute
	sigAlg      pkix.AlgorithmIdentifier
	signature   []byte
	unsigned    []attribute
}

// MaxCMSSize bounds a signature file: a detached CMS is a few KiB; an
// attached one carries the document (at most 15 MiB) and some certificates.
const MaxCMSSize = 24 << 20

// decodeInput accepts DER, PEM ("-----BEGIN CMS-----", PKCS7 or SIGNED
// DATA) and base64 as NCALayer and the eGov apps send it.
func decodeInput(in []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(in)
	if len(trimmed) == 0 {
		return nil, refuse(ErrMalformed, "empty")
	}
	if trimmed[0] == 0x30 {
		return in, nil
	}
	if bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		block, rest := pem.Decode(trimmed)
		if block == nil {
			return nil, refuse(ErrMalformed, "unreadable PEM")
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			return nil, refuse(ErrMalformed, "data after the PEM block")
		}
		return block.Bytes, nil
	}
	der, err := decodeBase64(trimmed)
	if err != nil || len(der) == 0 || der[0] != 0x30 {
		return nil, refuse(ErrMalformed, "neither DER, PEM nor base64 of DER")
	}
	return der, nil
}

// parseSignedData parses a CMS ContentInfo holding SignedData.
func parseSignedData(in []byte) (*signedData, error) {
	if len(in) > MaxCMSSize {
		return nil, refuse(ErrTooLarge, "%d bytes, at most %d", len(in), MaxCMSSize)
	}
	der, err := decodeInput(in)
	if err != nil {
		return nil, err
	}
	// A streamed (BER) CMS is read as its DER form, so that everything
	// below, the signed attributes' hash included, sees DER.
	if der, err = toDER(der); err != nil {
		return nil, refuse(ErrMalformed, "%v", err)
	}
	var ci contentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, refuse(ErrMalformed, "content info: %v", err)
	}
	if len(rest) != 0 {
		return nil, refuse(ErrMalformed, "%d bytes after the CMS", len(rest))
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, refuse(ErrMalformed, "content type %v is not signed data", ci.ContentType)
	}
	var sd signedDataASN1
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 {
		return nil, refuse(ErrMalformed, "signed data: %v", err)
	}
	out := &signedData{contentType: sd.EncapContentInfo.EContentType}
	if len(sd.EncapContentInfo.EContent.Bytes) > 0 {
		var octets []byte
		if _, err := asn1.Unmarshal(sd.EncapContentInfo.EContent.Bytes, &octets); err != nil {
			return nil, refuse(ErrMalformed, "encapsulated content: %v", err)
		}
		out.content = octets
	}
	if err := each(sd.DigestAlgorithms.Bytes, func(raw asn1.RawValue) error {
		var a pkix.AlgorithmIdentifier
		if _, err := asn1.Unmarshal(raw.FullBytes, &a); err != nil {
			return err
		}
		out.digestAlgs = append(out.digestAlgs, a)
		return nil
	}); err != nil {
		return nil, refuse(ErrMalformed, "digest algorithms: %v", err)
	}
	if err := each(sd.Certificates.Bytes, func(raw asn1.RawValue) error {
		if raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagSequence {
			return nil // attribute certificates and other choices: not ours to use
		}
		c, err := x509.ParseCertificate(raw.FullBytes)
		if err != nil {
			return err
		}
		out.certificates = append(out.certificates, c)
		return nil
	}); err != nil {
		return nil, refuse(ErrMalformed, "certificates: %v", err)
	}
	if err := each(sd.SignerInfos.Bytes, func(raw asn1.RawValue) error {
		si, err := parseSignerInfo(raw.FullBytes)
		if err != nil {
			return err
		}
		out.signers = append(out.signers, *si)
		return nil
	}); err != nil {
		return nil, refuse(ErrMalformed, "signer info: %v", err)
	}
	if len(out.signers) == 0 {
		return nil, refuse(ErrNoSigners, "the CMS holds no SignerInfo")
	}
	return out, nil
}

// each calls fn for every element of a DER SET OF / SEQUENCE OF body.
func each(body []byte, fn func(asn1.RawValue) error) error {
	for len(body) > 0 {
		var raw asn1.RawValue
		rest, err := asn1.Unmarshal(body, &raw)
		if err != nil {
			return err
		}
		if err := fn(raw); err != nil {
			return err
		}
		body = rest
	}
	return nil
}

func parseSignerInfo(der []byte) (*signerInfo, error) {
	var s signerInfoASN1
	if rest, err := asn1.Unmarshal(der, &s); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("signer info: %v", err)
	}
	si := &signerInfo{raw: der, sid: s.SID, digestAlg: s.DigestAlgorithm, sigAlg: s.SignatureAlgorithm, signature: s.Signature}
	if err := each(s.UnsignedAttrs.Bytes, func(raw asn1.RawValue) error {
		var a attribute
		if _, err := asn1.Unmarshal(raw.FullBytes, &a); err != nil {
			return err
		}
		si.unsigned = append(si.unsigned, a)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("unsigned attributes: %v", err)
	}
	if len(s.SignedAttrs.FullBytes) > 0 {
		// The signature covers the attributes DER-encoded as a SET (tag
		// 0x31), not with the [0] IMPLICIT tag they carry here.
		attrs := append([]byte(nil), s.SignedAttrs.FullBytes...)
		attrs[0] = 0x31
		si.signedAttrs = attrs
		if err := each(s.SignedAttrs.Bytes, func(raw asn1.RawValue) error {
			var a attribute
			if _, err := asn1.Unmarshal(raw.FullBytes, &a); err != nil {
				return err
			}
			si.attrs = append(si.attrs, a)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("signed attributes: %v", err)
		}
	}
	return si, nil
}

// attr returns the single value of a signed attribute.
func (si *signerInfo) attr(oid asn1.ObjectIdentifier) (asn1.RawValue, bool, error) {
	var found *attribute
	for i := range si.attrs {
		if si.attrs[i].Type.Equal(oid) {
			if found != nil {
				return asn1.RawValue{}, false, fmt.Errorf("attribute %v appears twice", oid)
			}
			found = &si.attrs[i]
		}
	}
	if found == nil {
		return asn1.RawValue{}, false, nil
	}
	var v asn1.RawValue
	rest, err := asn1.Unmarshal(found.Values.Bytes, &v)
	if err != nil || len(rest) != 0 {
		return asn1.RawValue{}, false, fmt.Errorf("attribute %v must hold exactly one value", oid)
	}
	return v, true, nil
}

// signingTime reads the signingTime attribute; ok is false when there is none.
func (si *signerInfo) signingTime() (t time.Time, ok bool, err error) {
	v, ok, err := si.attr(oidSigningTime)
	if err != nil || !ok {
		return time.Time{}, ok, err
	}
	if _, err := asn1.Unmarshal(v.FullBytes, &t); err != nil {
		return time.Time{}, false, fmt.Errorf("signing time: %v", err)
	}
	return t, true, nil
}

// certificate finds the signer's certificate among the CMS's.
func (si *signerInfo) certificate(certs []*x509.Certificate) (*x509.Certificate, error) {
	switch {
	case si.sid.Class == asn1.ClassUniversal && si.sid.Tag == asn1.TagSequence:
		var ias issuerAndSerial
		if _, err := asn1.Unmarshal(si.sid.FullBytes, &ias); err != nil {
			return nil, refuse(ErrMalformed, "signer identifier: %v", err)
		}
		for _, c := range certs {
			if c.SerialNumber.Cmp(ias.Serial) == 0 && bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) {
				return c, nil
			}
		}
	case si.sid.Class == asn1.ClassContextSpecific && si.sid.Tag == 0:
		for _, c := range certs {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, si.sid.Bytes) {
				return c, nil
			}
		}
	default:
		return nil, refuse(ErrMalformed, "unknown signer identifier")
	}
	return nil, refuse(ErrNoCertificate, "the CMS does not carry the signer's certificate")
}
