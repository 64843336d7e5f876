package signature

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"edobot/core"
)

// Enveloped XML-DSig as NCALayer (kz.gov.pki.knca commonUtils.signXml,
// basics.sign with format "xml") and eGov Mobile (signMethod "XML") make
// it: Kalkan's Apache Santuario, one Reference to the whole document
// (URI=""), the enveloped-signature transform then inclusive C14N, SignedInfo
// in inclusive C14N, and the signer's certificate in KeyInfo/X509Data.
// The URIs are Kalkan's:
//   - mitwork/kalkan tests/KalkanValidationServiceTest.php (a GOST 2015
//     document NCALayer signed; our tests verify it byte for byte);
//   - Kalkan's Santuario SPI, SignatureGostR3410_2015.java (the signature
//     value is the JCE signature as is, the same bytes a CMS carries).
//
// Canonicalisation is goxmldsig's (github.com/russellhaering/goxmldsig, on
// beevik/etree): its verifier knows no GOST, so only its canonicalisers are
// used and the digests and keys are checked here, as for a CMS.
const (
	xmldsigNS = "http://www.w3.org/2000/09/xmldsig#"

	xmlC14N              = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	xmlC14NComments      = xmlC14N + "#WithComments"
	xmlExcC14N           = "http://www.w3.org/2001/10/xml-exc-c14n#"
	xmlExcC14NComments   = xmlExcC14N + "WithComments"
	xmlEnveloped         = xmldsigNS + "enveloped-signature"
	xmlSigRSASHA1        = xmldsigNS + "rsa-sha1"
	xmlSigRSASHA256      = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	xmlSigRSASHA512      = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	xmlSigGOST2004       = "http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311"
	xmlSigGOST2015       = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512"
	xmlSigGOST2015_256   = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-256"
	xmlDigestSHA1        = xmldsigNS + "sha1"
	xmlDigestSHA256      = "http://www.w3.org/2001/04/xmlenc#sha256"
	xmlDigestSHA512      = "http://www.w3.org/2001/04/xmlenc#sha512"
	xmlDigestGOST34311   = "http://www.w3.org/2001/04/xmldsig-more#gost34311"
	xmlDigestStreebog    = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512"
	xmlDigestStreebog256 = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-256"
)

// xmlDigests maps XML-DSig digest URIs to the digest OIDs the CMS verifier
// knows; xmlSignatures, signature URIs to their digest and whether the key
// is RSA.
var (
	xmlDigests = map[string]asn1.ObjectIdentifier{
		xmlDigestSHA1: oidSHA1, xmlDigestSHA256: oidSHA256, xmlDigestSHA512: oidSHA512,
		xmlDigestGOST34311: oidGOST34311Digest, xmlDigestStreebog: oidStreebog512, xmlDigestStreebog256: oidStreebog256,
	}
	xmlSignatures = map[string]struct {
		digest asn1.ObjectIdentifier
		rsa    bool
	}{
		xmlSigRSASHA1: {oidSHA1, true}, xmlSigRSASHA256: {oidSHA256, true}, xmlSigRSASHA512: {oidSHA512, true},
		xmlSigGOST2004: {oidGOST34311Digest, false}, xmlSigGOST2015: {oidStreebog512, false},
		xmlSigGOST2015_256: {oidStreebog256, false},
	}
)

// MaxXMLSize bounds a signed XML document: a signed ticket or challenge is a
// few KiB.
const MaxXMLSize = 1 << 20

// KeyPurposes are what a certificate's extended key usages allow. NCA's
// authentication key has client authentication, its signing key e-mail
// protection; the GOST 2015 single key has both.
type KeyPurposes struct {
	Auth bool
	Sign bool
}

// PurposesOf reads a certificate's purposes as checkPurpose does.
func PurposesOf(c *x509.Certificate) KeyPurposes {
	p := KeyPurposes{Sign: checkPurpose(c, PurposeSign) == nil}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny {
			p.Auth = true
		}
	}
	return p
}

// XMLResult is a valid enveloped XML signature and who made it.
type XMLResult struct {
	Signer   core.Signer
	Role     Role
	Purposes KeyPurposes
	// Signed is the canonical form of what the signature covers: the
	// document without its Signature element. Read the signed data from it,
	// never from the document as sent.
	Signed []byte
	// Certificate is the signer's, as KeyInfo carried it.
	Certificate *x509.Certificate
}

// VerifyXML checks an enveloped XML-DSig over a whole document: that it is
// the only signature, that its digest covers the document, that the
// certificate it carries signed it, and then the certificate as for a CMS
// (identity, purpose, validity now, chain, revocation). An XML signature
// states no signing time: the certificate must be valid now.
func (v *Verifier) VerifyXML(ctx context.Context, signedXML []byte, purpose Purpose) (XMLResult, error) {
	if roots, _ := v.trusted(); len(roots) == 0 {
		return XMLResult{}, refuse(ErrNoTrust, "no root certificate is trusted")
	}
	cert, pool, signed, err := checkXMLSignature(signedXML)
	if err != nil {
		return XMLResult{}, err
	}
	res := XMLResult{Signed: signed, Purposes: PurposesOf(cert), Certificate: cert}
	if res.Signer, res.Role, err = identity(cert); err != nil {
		return res, err
	}
	if res.Signer.IIN == "" {
		return res, refuse(ErrNoIdentity, "the certificate names no person (IIN)")
	}
	if err := checkPurpose(cert, purpose); err != nil {
		return res, err
	}
	now := v.now()
	chain, err := v.Chain(ctx, cert, pool, now)
	if err != nil {
		return res, err
	}
	if v.Revocation != nil {
		revoked, err := v.Revocation.Revoked(ctx, cert, chain[1], now)
		if err != nil {
			var refusal *Error
			if !errors.As(err, &refusal) {
				err = ErrRevocationUnknown.With(err)
			}
			return res, err
		}
		if revoked {
			return res, refuse(ErrRevoked, "certificate %s is revoked", res.Signer.CertSerial)
		}
	}
	return res, nil
}

// checkXMLSignature checks the signature itself and returns the signer's
// certificate, the other certificates KeyInfo carries, and the canonical
// signed document. It trusts nothing yet.
func checkXMLSignature(in []byte) (*x509.Certificate, []*x509.Certificate, []byte, error) {
	if len(in) > MaxXMLSize {
		return nil, nil, nil, refuse(ErrTooLarge, "%d bytes, at most %d", len(in), MaxXMLSize)
	}
	// No document type: entities could make the signed view differ from
	// what a reader of the text sees.
	if bytes.Contains(bytes.ToUpper(in), []byte("<!DOCTYPE")) {
		return nil, nil, nil, refuse(ErrMalformed, "a document type declaration")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(in); err != nil {
		return nil, nil, nil, refuse(ErrMalformed, "XML: %v", err)
	}
	root := doc.Root()
	if root == nil {
		return nil, nil, nil, refuse(ErrMalformed, "no root element")
	}
	var sigs []*etree.Element
	err := etreeutils.NSFindIterate(root, xmldsigNS, "Signature", func(_ etreeutils.NSContext, el *etree.Element) error {
		sigs = append(sigs, el)
		return nil
	})
	if err != nil {
		return nil, nil, nil, refuse(ErrMalformed, "XML namespaces: %v", err)
	}
	switch {
	case len(sigs) == 0:
		return nil, nil, nil, refuse(ErrNoSigners, "the XML carries no signature")
	case len(sigs) > 1:
		return nil, nil, nil, refuse(ErrSignerCount, "%d XML signatures where one was expected", len(sigs))
	case sigs[0].Parent() != root:
		return nil, nil, nil, refuse(ErrMalformed, "the signature is not enveloped in the root element")
	}
	sig := sigs[0]
	si, err := parseSignedInfo(sig)
	if err != nil {
		return nil, nil, nil, err
	}
	signed, err := referencedDocument(root, sig, si)
	if err != nil {
		return nil, nil, nil, err
	}
	certs, err := keyInfoCertificates(sig)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := verifySignedInfo(sig, si, certs[0]); err != nil {
		return nil, nil, nil, err
	}
	return certs[0], certs[1:], signed, nil
}

// signedInfoXML is what parseSignedInfo reads of a SignedInfo.
type signedInfoXML struct {
	el           *etree.Element
	c14n         string
	sigMethod    string
	transforms   []string
	digestMethod string
	digestValue  []byte
	value        []byte // SignatureValue
}

func parseSignedInfo(sig *etree.Element) (*signedInfoXML, error) {
	si := &signedInfoXML{el: dsChild(sig, "SignedInfo")}
	if si.el.Tag == "" {
		return nil, refuse(ErrMalformed, "no SignedInfo")
	}
	si.c14n = algorithm(dsChild(si.el, "CanonicalizationMethod"))
	si.sigMethod = algorithm(dsChild(si.el, "SignatureMethod"))
	refs := dsChildren(si.el, "Reference")
	if len(refs) != 1 {
		return nil, refuse(ErrUnsupported, "%d references where one was expected", len(refs))
	}
	ref := refs[0]
	// Only the whole document: a reference to an ID could leave out the
	// very data a reader takes as signed.
	if uri := ref.SelectAttrValue("URI", "-"); uri != "" {
		return nil, refuse(ErrUnsupported, "a reference to %q instead of the whole document", uri)
	}
	if t := dsChild(ref, "Transforms"); t != nil {
		for _, tr := range dsChildren(t, "Transform") {
			si.transforms = append(si.transforms, algorithm(tr))
		}
	}
	si.digestMethod = algorithm(dsChild(ref, "DigestMethod"))
	var err error
	if si.digestValue, err = decodeBase64([]byte(dsChild(ref, "DigestValue").Text())); err != nil {
		return nil, refuse(ErrMalformed, "DigestValue: %v", err)
	}
	if si.value, err = decodeBase64([]byte(dsChild(sig, "SignatureValue").Text())); err != nil || len(si.value) == 0 {
		return nil, refuse(ErrMalformed, "SignatureValue: %v", err)
	}
	return si, nil
}

// referencedDocument applies the transforms to the document and checks the
// digest. With URI="" comments are not part of the signed data (XML-DSig
// §4.3.3.3), whatever the canonicalisation named.
func referencedDocument(root, sig *etree.Element, si *signedInfoXML) ([]byte, error) {
	enveloped := false
	var c14n dsig.Canonicalizer = dsig.MakeC14N10RecCanonicalizer()
	for _, t := range si.transforms {
		switch t {
		case xmlEnveloped:
			enveloped = true
		case xmlC14N, xmlC14NComments:
			c14n = dsig.MakeC14N10RecCanonicalizer()
		case xmlExcC14N, xmlExcC14NComments:
			c14n = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
		default:
			return nil, refuse(ErrUnsupported, "transform %q", t)
		}
	}
	if !enveloped {
		return nil, refuse(ErrUnsupported, "the signature is not enveloped")
	}
	doc := root.Copy()
	doc.RemoveChildAt(sig.Index())
	signed, err := c14n.Canonicalize(doc)
	if err != nil {
		return nil, refuse(ErrMalformed, "canonicalisation: %v", err)
	}
	oid, ok := xmlDigests[si.digestMethod]
	if !ok {
		return nil, refuse(ErrUnsupported, "digest method %q", si.digestMethod)
	}
	alg, _ := digestByOID(oid)
	if !bytes.Equal(NewContent(signed).digest(alg), si.digestValue) {
		return nil, refuse(ErrContentMismatch, "the signature was made over other data")
	}
	return signed, nil
}

// verifySignedInfo checks SignatureValue over the canonical SignedInfo with
// the certificate's key.
func verifySignedInfo(sig *etree.Element, si *signedInfoXML, cert *x509.Certificate) error {
	var c14n dsig.Canonicalizer
	el := si.el
	switch si.c14n {
	case xmlC14N:
		c14n = dsig.MakeC14N10RecCanonicalizer()
	case xmlC14NComments:
		c14n = dsig.MakeC14N10WithCommentsCanonicalizer()
	case xmlExcC14N, xmlExcC14NComments:
		ctx, err := etreeutils.NSBuildParentContext(el)
		if err == nil {
			el, err = etreeutils.NSDetatch(ctx, el)
		}
		if err != nil {
			return refuse(ErrMalformed, "XML namespaces: %v", err)
		}
		c14n = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
		if si.c14n == xmlExcC14NComments {
			c14n = dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList("")
		}
	default:
		return refuse(ErrUnsupported, "canonicalization method %q", si.c14n)
	}
	canonical, err := c14n.Canonicalize(el)
	if err != nil {
		return refuse(ErrMalformed, "canonicalisation: %v", err)
	}
	m, ok := xmlSignatures[si.sigMethod]
	if !ok {
		return refuse(ErrUnsupported, "signature method %q", si.sigMethod)
	}
	alg, _ := digestByOID(m.digest)
	digest := NewContent(canonical).digest(alg)
	pub, isRSA := cert.PublicKey.(*rsa.PublicKey)
	switch {
	case m.rsa && isRSA:
		if err := rsa.VerifyPKCS1v15(pub, alg.hash, digest, si.value); err != nil {
			return refuse(ErrBadSignature, "%v", err)
		}
		return nil
	case !m.rsa && gostKey(cert):
		return gostVerify(cert, digest, si.value)
	}
	return refuse(ErrUnsupported, "signature method %q with a %v key", si.sigMethod, cert.PublicKeyAlgorithm)
}

// keyInfoCertificates reads KeyInfo/X509Data/X509Certificate: the signer's
// first, as Kalkan writes it.
func keyInfoCertificates(sig *etree.Element) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	if ki := dsChild(sig, "KeyInfo"); ki != nil {
		for _, data := range dsChildren(ki, "X509Data") {
			for _, c := range dsChildren(data, "X509Certificate") {
				der, err := decodeBase64([]byte(c.Text()))
				if err != nil {
					return nil, refuse(ErrMalformed, "X509Certificate: %v", err)
				}
				cert, err := x509.ParseCertificate(der)
				if err != nil {
					return nil, refuse(ErrMalformed, "X509Certificate: %v", err)
				}
				certs = append(certs, cert)
			}
		}
	}
	if len(certs) == 0 {
		return nil, refuse(ErrNoCertificate, "the XML signature carries no certificate")
	}
	return certs, nil
}

func dsChildren(el *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == xmldsigNS {
			out = append(out, c)
		}
	}
	return out
}

// dsChild is the only child so named; an empty element stands in for a
// missing one, so that reading on yields empty values that fail checks.
func dsChild(el *etree.Element, tag string) *etree.Element {
	if c := dsChildren(el, tag); len(c) == 1 {
		return c[0]
	}
	return etree.NewElement("")
}

func algorithm(el *etree.Element) string { return el.SelectAttrValue("Algorithm", "") }
