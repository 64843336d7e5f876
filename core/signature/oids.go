package signature

import (
	"crypto"
	"encoding/asn1"
)

// Every object identifier the verifier knows, in one place, so that a
// correction is one edit.
var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}

	// Subject attributes of NCA certificates.
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}  // "IIN123456789012"
	oidSurname      = asn1.ObjectIdentifier{2, 5, 4, 4}  // surname
	oidGivenName    = asn1.ObjectIdentifier{2, 5, 4, 42} // NCA puts the patronymic here
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}  // "SURNAME NAME"
	oidOrganisation = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOrgUnit      = asn1.ObjectIdentifier{2, 5, 4, 11} // "BIN123456789012"

	// Extended key usages: what the key is for, and whose it is.
	oidEKUSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}
	oidEKUAuth    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
	// NCA's role purposes: ncanode-kz/NCANode
	// src/main/java/kz/ncanode/dto/certificate/CertificateKeyUser.java
	// (1.2.398.3.3.4.1.1 to .1.2.5); the Treasury client's and the
	// information system's are read off NCA's test certificates
	// (ncanode-kz/NCANode-Go internal/testdata/certs/legal/).
	oidRoleIndividual        = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 1}
	oidRoleLegalEntity       = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2}
	oidRoleHead              = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 1}
	oidRoleSigningRight      = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 2}
	oidRoleFinancialSigner   = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 3}
	oidRoleHR                = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 4}
	oidRoleEmployee          = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 5}
	oidRoleTreasuryClient    = asn1.ObjectIdentifier{1, 2, 398, 3, 3, 4, 1, 2, 6}
	oidRoleInformationSystem = asn1.ObjectIdentifier{1, 2, 398, 5, 19, 1, 2, 2, 1}

	// RSA.
	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA1WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidSHA224WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 14}

	// ECDSA, for responders and TSAs that use it (RFC 5758 §3.2).
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}

	// Digests.
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
)

// roles ties NCA's role purposes to roles, the narrowest first.
var roles = []struct {
	oid  asn1.ObjectIdentifier
	role Role
}{
	{oidRoleHead, RoleHead}, {oidRoleSigningRight, RoleSigningRight}, {oidRoleFinancialSigner, RoleFinancialSigner},
	{oidRoleHR, RoleHR}, {oidRoleEmployee, RoleEmployee}, {oidRoleTreasuryClient, RoleTreasuryClient},
	{oidRoleInformationSystem, RoleInformationSystem}, {oidRoleIndividual, RoleIndividual},
}

// rsaDigests maps digest algorithm OIDs to Go hashes.
var rsaDigests = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
}{
	{oidSHA256, crypto.SHA256}, {oidSHA384, crypto.SHA384}, {oidSHA512, crypto.SHA512},
	{oidSHA224, crypto.SHA224}, {oidSHA1, crypto.SHA1},
}

// rsaSignatureAlgorithms are the SignerInfo signature algorithms that mean
// PKCS #1 v1.5 with the SignerInfo's digest algorithm.
var rsaSignatureAlgorithms = []asn1.ObjectIdentifier{oidRSAEncryption, oidSHA256WithRSA, oidSHA384WithRSA,
	oidSHA512WithRSA, oidSHA224WithRSA, oidSHA1WithRSA}

func oidIn(oid asn1.ObjectIdentifier, set []asn1.ObjectIdentifier) bool {
	for _, o := range set {
		if o.Equal(oid) {
			return true
		}
	}
	return false
}
