package signature

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"sort"
)

// BuildSignedData assembles a DER ContentInfo of SignedData from parts that
// are already DER: certificates and SignerInfos are copied byte for byte, so
// every signature in them stays valid. content, of contentType (nil means
// id-data), is encapsulated unless detached is set.
func BuildSignedData(contentType asn1.ObjectIdentifier, content []byte, detached bool, digestAlgs []pkix.AlgorithmIdentifier, certs, signerInfos [][]byte) ([]byte, error) {
	if contentType == nil {
		contentType = oidData
	}
	var algs [][]byte
	for _, a := range digestAlgs {
		der, err := asn1.Marshal(a)
		if err != nil {
			return nil, err
		}
		algs = append(algs, der)
	}
	encap := encapContentInfo{EContentType: contentType}
	if !detached {
		octets, err := asn1.Marshal(content)
		if err != nil {
			return nil, err
		}
		encap.EContent = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: octets}
	}
	version := 1
	sd := signedDataASN1{
		Version:          version,
		DigestAlgorithms: setOf(asn1.ClassUniversal, asn1.TagSet, algs),
		EncapContentInfo: encap,
		SignerInfos:      setOf(asn1.ClassUniversal, asn1.TagSet, signerInfos),
	}
	if len(certs) > 0 {
		sd.Certificates = setOf(asn1.ClassContextSpecific, 0, certs)
	}
	inner, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("signed data: %w", err)
	}
	return asn1.Marshal(contentInfo{ContentType: oidSignedData,
		Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}})
}

// setOf encodes a DER SET OF: the elements sorted by their encodings, with
// duplicates dropped.
func setOf(class, tag int, elems [][]byte) asn1.RawValue {
	sorted := append([][]byte(nil), elems...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i], sorted[j]) < 0 })
	var body []byte
	for i, e := range sorted {
		if i > 0 && bytes.Equal(e, sorted[i-1]) {
			continue
		}
		body = append(body, e...)
	}
	return asn1.RawValue{Class: class, Tag: tag, IsCompound: true, Bytes: body}
}

// Combine makes one attached CMS holding the document and every signer of
// the given CMSs (each over the same document), with all their
// certificates: the "version for ezSigner", which verification services and
// `openssl cms -verify` accept as a whole.
func Combine(document []byte, cmss ...[]byte) ([]byte, error) {
	var algs []pkix.AlgorithmIdentifier
	seenAlg := map[string]bool{}
	var certs, signers [][]byte
	for i, cms := range cmss {
		sd, err := parseSignedData(cms)
		if err != nil {
			return nil, fmt.Errorf("signature %d: %w", i+1, err)
		}
		if sd.content != nil && !bytes.Equal(sd.content, document) {
			return nil, refuse(ErrContentMismatch, "signature %d carries other data than the document", i+1)
		}
		for _, a := range sd.digestAlgs {
			if !seenAlg[a.Algorithm.String()] {
				seenAlg[a.Algorithm.String()] = true
				algs = append(algs, a)
			}
		}
		for _, c := range sd.certificates {
			certs = append(certs, c.Raw)
		}
		for _, s := range sd.signers {
			signers = append(signers, s.raw)
		}
	}
	if len(signers) == 0 {
		return nil, refuse(ErrNoSigners, "nothing to combine")
	}
	return BuildSignedData(nil, document, false, algs, certs, signers)
}
