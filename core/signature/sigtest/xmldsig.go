package sigtest

import (
	"crypto/x509"
	"encoding/base64"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"edobot/core/signature/ncapki"
)

// XML signatures shaped like NCALayer's signXml output (Kalkan's Santuario):
// ds-prefixed, one Reference to the whole document with the enveloped and
// C14N-with-comments transforms, inclusive C14N of SignedInfo, the
// certificate in KeyInfo, the Signature appended to the root element.
const xmlSignatureTemplate = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
<ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>
<ds:SignatureMethod Algorithm=""/>
<ds:Reference URI="">
<ds:Transforms>
<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/>
</ds:Transforms>
<ds:DigestMethod Algorithm=""/>
<ds:DigestValue></ds:DigestValue>
</ds:Reference>
</ds:SignedInfo>
<ds:SignatureValue></ds:SignatureValue>
<ds:KeyInfo>
<ds:X509Data>
<ds:X509Certificate></ds:X509Certificate>
</ds:X509Data>
</ds:KeyInfo>
</ds:Signature>`

// xmlSigner is what signXML needs of a key.
type xmlSigner struct {
	cert              *x509.Certificate
	sigURI, digestURI string
	hash              func([]byte) []byte
	sign              func(digest []byte) []byte
}

// SignXML signs an XML document enveloped, as NCALayer does with an RSA key
// (rsa-sha256).
func (k *Key) SignXML(tb testing.TB, xml []byte) []byte {
	tb.Helper()
	alg := ncapki.RSA(k.Key)
	return signXML(tb, xml, xmlSigner{
		cert: k.Cert, sigURI: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
		digestURI: "http://www.w3.org/2001/04/xmlenc#sha256",
		hash:      alg.Hash,
		sign: func(d []byte) []byte {
			sig, err := alg.Sign(d)
			if err != nil {
				tb.Fatal(err)
			}
			return sig
		},
	})
}

// SignXML signs an XML document enveloped, as NCALayer does with a GOST key.
func (k *GOSTKey) SignXML(tb testing.TB, xml []byte) []byte {
	tb.Helper()
	s := xmlSigner{cert: k.Cert, hash: k.kind.alg().hash, sign: func(d []byte) []byte { return k.sign(tb, d) },
		sigURI:    "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512",
		digestURI: "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512"}
	if k.kind == GOST2004 {
		s.sigURI = "http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311"
		s.digestURI = "http://www.w3.org/2001/04/xmldsig-more#gost34311"
	}
	return signXML(tb, xml, s)
}

func signXML(tb testing.TB, xml []byte, s xmlSigner) []byte {
	tb.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		tb.Fatal(err)
	}
	root := doc.Root()
	content, err := dsig.MakeC14N10RecCanonicalizer().Canonicalize(root)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := etree.NewDocument()
	if err := tmpl.ReadFromString(xmlSignatureTemplate); err != nil {
		tb.Fatal(err)
	}
	sig := tmpl.Root()
	root.AddChild(sig)
	b64 := base64.StdEncoding.EncodeToString
	sig.FindElement("./SignedInfo/SignatureMethod").CreateAttr("Algorithm", s.sigURI)
	sig.FindElement("./SignedInfo/Reference/DigestMethod").CreateAttr("Algorithm", s.digestURI)
	sig.FindElement("./SignedInfo/Reference/DigestValue").SetText(b64(s.hash(content)))
	sig.FindElement("./KeyInfo/X509Data/X509Certificate").SetText(b64(s.cert.Raw))
	signedInfo, err := dsig.MakeC14N10RecCanonicalizer().Canonicalize(sig.FindElement("./SignedInfo"))
	if err != nil {
		tb.Fatal(err)
	}
	sig.FindElement("./SignatureValue").SetText(b64(s.sign(s.hash(signedInfo))))
	out, err := doc.WriteToBytes()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
