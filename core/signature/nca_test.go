package signature_test

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"edobot/core"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
)

// Real NCA material, pinned in testdata/nca (its README names the sources).

func ncaFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "nca", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ncaCert reads one PEM certificate of testdata/nca.
func ncaCert(tb testing.TB, name string) *x509.Certificate {
	tb.Helper()
	certs, err := signature.ParsePEMCertificates(ncaFile(tb, name))
	if err != nil || len(certs) != 1 {
		tb.Fatalf("%s: %v", name, err)
	}
	return certs[0]
}

// kalkanTime is a fixed "now" a little after KalkanCrypt made the CMS
// (2022-09-27/28), while the GOST signer's certificate was valid.
var kalkanTime = time.Date(2022, 9, 28, 15, 0, 0, 0, time.UTC)

func kalkanVerifier(t testing.TB) *signature.Verifier {
	return &signature.Verifier{
		Roots:         []*x509.Certificate{ncaCert(t, "certs/root_test_gost_2022.pem")},
		Intermediates: []*x509.Certificate{ncaCert(t, "certs/nca_gost2022_test.pem")},
		Now:           func() time.Time { return kalkanTime },
	}
}

// TestKalkanCMS judges the CMS that NCA's own library made: the GOST
// 2015-512 signer is valid under NCA's 2022 test root; the RSA signer is
// refused because its certificate had expired before it signed. The BER
// form of each CMS is judged exactly alike.
func TestKalkanCMS(t *testing.T) {
	v := kalkanVerifier(t)
	data := ncaFile(t, "cms/data_test123.txt")
	for _, tc := range []struct {
		file     string
		signedAt time.Time
	}{
		{"kalkan_attached_gost2015_rsa.der", time.Date(2022, 9, 27, 21, 17, 59, 0, time.UTC)},
		{"kalkan_detached_gost2015_rsa.der", time.Date(2022, 9, 27, 21, 29, 41, 0, time.UTC)},
	} {
		der := ncaFile(t, "cms/"+tc.file)
		for form, cms := range map[string][]byte{"DER": der, "BER": sigtest.BER(t, der, 5)} {
			t.Run(tc.file+" "+form, func(t *testing.T) {
				results, err := v.Verify(ctx, cms, signature.NewContent(data), signature.PurposeSign)
				if err != nil || len(results) != 2 {
					t.Fatalf("Verify = %v, %d results", err, len(results))
				}
				gost, rsa := results[0], results[1]
				if gost.Err != nil || gost.Signer.KeyKind != core.KeyGOST2015 || gost.Signer.IIN != "123456789012" ||
					gost.Signer.FullName != "ТЕСТТОВ ТЕСТТ ТЕСТТОВИЧ" || gost.Role != signature.RoleIndividual ||
					gost.Signer.CertSerial != "0FF06211DC82BEB00253FFA000F1DE84ABEF454F" || !gost.SignedAt.Equal(tc.signedAt) {
					t.Fatalf("GOST signer: %+v %s %v: %v", gost.Signer, gost.Role, gost.SignedAt, gost.Err)
				}
				if !errors.Is(rsa.Err, signature.ErrExpired) || rsa.Signer.KeyKind != core.KeyRSA ||
					!rsa.Signer.NotAfter.Before(rsa.SignedAt) || !rsa.SignedAt.Equal(tc.signedAt) {
					t.Fatalf("RSA signer: %+v at %v: %v", rsa.Signer, rsa.SignedAt, rsa.Err)
				}
				if results, err := v.Verify(ctx, cms, signature.NewContent([]byte("test124")), signature.PurposeSign); err == nil &&
					!errors.Is(results[0].Err, signature.ErrContentMismatch) {
					t.Fatalf("over other data: %+v", results[0])
				} else if err != nil && !errors.Is(err, signature.ErrContentMismatch) {
					t.Fatalf("over other data: %v", err)
				}
			})
		}
	}
	// An attached CMS verifies over what it carries.
	results, err := v.Verify(ctx, ncaFile(t, "cms/kalkan_attached_gost2015_rsa.der"), nil, signature.PurposeSign)
	if err != nil || results[0].Err != nil {
		t.Fatalf("attached, over its own content: %v %+v", err, results)
	}
	// The single-signer CMS is the expired RSA key's.
	if _, err := v.VerifyOne(ctx, ncaFile(t, "cms/kalkan_attached_one_signer.der"), data, signature.PurposeSign); !errors.Is(err, signature.ErrExpired) {
		t.Fatalf("single RSA signer: %v", err)
	}
	// The CMS carries no CA certificate: without the intermediate the GOST
	// signer does not chain.
	bare := &signature.Verifier{Roots: v.Roots, Now: v.Now}
	results, err = bare.Verify(ctx, ncaFile(t, "cms/kalkan_detached_gost2015_rsa.der"), signature.NewContent(data), signature.PurposeSign)
	if err != nil || !errors.Is(results[0].Err, signature.ErrUntrusted) {
		t.Fatalf("without the intermediate: %v %+v", err, results)
	}
	// One flipped bit of the GOST signature value is refused.
	forged := bytes.Clone(ncaFile(t, "cms/kalkan_attached_gost2015_rsa.der"))
	i := bytes.Index(forged, unhex(t, "AAC864195F3192DA"))
	if i < 0 {
		t.Fatal("the GOST signature value is not where it was")
	}
	forged[i+40] ^= 0x10
	results, err = v.Verify(ctx, forged, signature.NewContent(data), signature.PurposeSign)
	if err != nil || !errors.Is(results[0].Err, signature.ErrBadSignature) {
		t.Fatalf("forged GOST signature: %v %+v", err, results)
	}
	// Live (the sign use case) the signing time must be near now: this
	// signature is 18 hours old.
	live := kalkanVerifier(t)
	live.Freshness = 15 * time.Minute
	results, err = live.Verify(ctx, ncaFile(t, "cms/kalkan_attached_gost2015_rsa.der"), nil, signature.PurposeSign)
	if err != nil || !errors.Is(results[0].Err, signature.ErrStale) {
		t.Fatalf("an old signature, live: %v %+v", err, results)
	}
	live.Now = func() time.Time { return time.Date(2022, 9, 27, 21, 20, 0, 0, time.UTC) }
	results, err = live.Verify(ctx, ncaFile(t, "cms/kalkan_attached_gost2015_rsa.der"), nil, signature.PurposeSign)
	if err != nil || results[0].Err != nil {
		t.Fatalf("a fresh signature, live: %v %+v", err, results)
	}
}

// TestNCALeaves reads every end-entity certificate of the material: who it
// names, the role, the key, whether it may sign documents, and that its CA
// in the material signed it. The expected values were read off the
// certificates with `openssl x509 -noout -subject -serial -ext
// keyUsage,extendedKeyUsage -nameopt utf8,oid`.
func TestNCALeaves(t *testing.T) {
	const (
		iin1, iin2, bin = "123456789011", "123456789012", "123456789021"
		test1, test2    = "ТЕСТОВ ТЕСТ ТЕСТОВИЧ", "ТЕСТТОВ ТЕСТТ ТЕСТТОВИЧ"
		org             = `АО "ТЕСТ"`
		rsa, g04, g15   = core.KeyRSA, core.KeyGOST2004, core.KeyGOST2015
	)
	ind, head, emp, right := signature.RoleIndividual, signature.RoleHead, signature.RoleEmployee, signature.RoleSigningRight
	is, treasury := signature.RoleInformationSystem, signature.RoleTreasuryClient
	tests := []struct {
		file, issuer      string
		iin, bin          string
		name, org, serial string
		role              signature.Role
		key               core.KeyKind
		signs             bool // a signing key; the others are authentication keys
	}{
		{"AUTH_RSA256_6b361b864c679601b652fe387f61fcd9303c0327", "nca_rsa", iin1, "", test1, "", "157D5C497A54FD2757B38AFBE0F4BC605B956C0A", ind, rsa, false},
		{"RSA256_8426360556902ce4ac33977836f873e1dc190976", "nca_rsa", iin1, "", test1, "", "744CC3275FB3519EFF1CA31EFC9CED3321B87C12", ind, rsa, true},
		{"GOSTKNCA_f8a422238209b6e753116431b69b09178f14e9d7", "nca_gost", iin1, bin, test1, org, "20F1B57ED3185056BDF3F7004CE3881157ABF844", head, g04, true},
		{"ncanode_KEY_INDIVIDUAL_VALID_SIGN_2004", "nca_rsa_test_2004", iin1, "", test1, "", "4279390A141F5353A62947B61ED65E81741467D1", ind, rsa, true},
		{"ncanode_KEY_INDIVIDUAL_SIGN_REVOKED_2004", "nca_rsa_test_2004", iin1, "", test1, "", "46757A2158A604189C40FB1FCDAB1143F83F32DB", ind, rsa, true},
		{"ncanode_KEY_INDIVIDUAL_AUTH_REVOKED_2004", "nca_rsa_test_2004", iin1, "", test1, "", "1AB11253653B2537F2EDD55F0F66281CA4FA3F98", ind, rsa, false},
		{"ncanode_individual_valid_sign_2004_rsa", "nca_rsa_test_2004", iin1, "", test1, "", "41E45CC8A04C705963E5CD6769848A934D8EAEF5", ind, rsa, true},
		{"ncanode_CERT_INDIVIDUAL", "nca_rsa_test_2004", iin1, "", test1, "", "41E45CC8A04C705963E5CD6769848A934D8EAEF5", ind, rsa, true},
		{"ncanode_individual_valid_sign_2004_rsa_auth", "nca_rsa_test_2004", iin1, "", test1, "", "247C3FDA89FA641EA226987393CDAF3F5BAF24B3", ind, rsa, false},
		{"ncanode_ceo_valid_sign_2004_gost", "nca_gost_test_2004", iin1, bin, test1, org, "6CBD4560A33A58C0B07C3363C9AE0674A0838E58", head, g04, true},
		{"ncanode_KEY_CEO_SIGN_REVOKED_2004", "nca_gost_test_2004", iin1, bin, test1, org, "12E3E7B9966D09EB9CDA64251457E815C2A8DDED", head, g04, true},
		{"ncanode_KEY_INDIVIDUAL_VALID_2015", "nca_gost2022_test", iin2, "", test2, "", "0FF06211DC82BEB00253FFA000F1DE84ABEF454F", ind, g15, true},
		{"kalkan_cms_signer_gost2015", "nca_gost2022_test", iin2, "", test2, "", "0FF06211DC82BEB00253FFA000F1DE84ABEF454F", ind, g15, true},
		{"ncanode_KEY_CEO_REVOKED_2015", "nca_gost2022_test", iin1, bin, test1, org, "3A90343E720594C55204B19CB9A402422EF0E622", head, g15, true},
		{"individual_valid_individual_valid", "nca_gost2022_test", iin1, "", test1, "", "6C425659BD2FC6DC587B871AEDE1857727CF8451", ind, g15, true},
		{"individual_revoked_individual_revoked", "nca_gost2022_test", iin1, "", test1, "", "3ACEA55CBCDF38C861FB3F341854C53EC9ED6ECD", ind, g15, true},
		{"legal_valid_head", "nca_gost2022_test", iin1, bin, test1, org, "303EEBDF17969F3EDEDE9BD9828FB1355AABBE4E", head, g15, true},
		{"legal_revoked_head", "nca_gost2022_test", iin1, bin, test1, org, "5BFAB68530D2A5DAF87B65E29A105A7BEA75B411", head, g15, true},
		{"legal_valid_employee", "nca_gost2022_test", iin2, bin, test2, org, "130D7A4B878F28BF1B2B7A223BD7C03CE78C7481", emp, g15, true},
		{"legal_revoked_employee", "nca_gost2022_test", iin2, bin, test2, org, "663FCDB0C09DA1533E23E5DC52D2756664AD0F92", emp, g15, true},
		{"legal_valid_employee_signright", "nca_gost2022_test", iin2, bin, test2, org, "179FDD544A7F9A19B77AD38275CA45F20B84E590", right, g15, true},
		{"legal_revoked_employee_signright", "nca_gost2022_test", iin2, bin, test2, org, "12490D7BA57B59EFEA8433349D75CC807B168957", right, g15, true},
		{"legal_valid_infosystem", "nca_gost2022_test", iin2, bin, test2, org, "60954F23D41DB3F42FB04DB6F538609D98978D32", is, g15, true},
		{"legal_revoked_infosystem", "nca_gost2022_test", iin2, bin, test2, org, "54A51A9D554FE48A5588C26B2A05F71D576A6C48", is, g15, true},
		{"legal_valid_treasury_client", "nca_gost2022_test", "", bin, `ИС "Тест"`, org, "689BD2C53A2E05AAF877569F47DFFF2E7C314FE0", treasury, g15, true},
		{"legal_revoked_treasury_client", "nca_gost2022_test", "", bin, `ИС "Тест"`, org, "6B4FA0C2B2F483B4CCF9D9B019706E283C58EE41", treasury, g15, true},
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "nca", "leaves", "*.pem"))
	if len(files) != len(tests) {
		t.Fatalf("%d certificates in leaves/, %d in the table", len(files), len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			c := ncaCert(t, "leaves/"+tc.file+".pem")
			s, role, err := signature.Identity(c)
			if err != nil {
				t.Fatal(err)
			}
			want := core.Signer{IIN: tc.iin, BIN: tc.bin, FullName: tc.name, Organisation: tc.org, CertSerial: tc.serial,
				Issuer: c.Issuer.String(), NotBefore: c.NotBefore, NotAfter: c.NotAfter, KeyKind: tc.key}
			if s != want || role != tc.role {
				t.Fatalf("identity = %+v %s\nwant       %+v %s", s, role, want, tc.role)
			}
			if got := signature.SigningKey(c); got != tc.signs {
				t.Fatalf("signing key = %v, want %v", got, tc.signs)
			}
			if err := signature.Issued(c, ncaCert(t, "certs/"+tc.issuer+".pem")); err != nil {
				t.Fatalf("not signed by %s: %v", tc.issuer, err)
			}
		})
	}
}

// TestNCATimestamp verifies the token of NCA's test TSA (GOST 2004), as
// NCALayer and eGov Mobile put such tokens in a CMS: it stamps SHA-1 of
// CA FE BA BE at 2022-09-18T13:20:14Z, and its TSA certificate was issued
// by «ҰКО 3.0 (GOST TEST)». That CA's root («НЕГІЗГІ КО TEST (GOST)») is in
// no public material, so the chain is checked up to that CA, trusted as the
// anchor.
func TestNCATimestamp(t *testing.T) {
	// The response: status granted, carrying the very token.
	var resp struct {
		Status struct {
			Status int
			Rest   asn1.RawValue `asn1:"optional"`
		}
		Token asn1.RawValue
	}
	if rest, err := asn1.Unmarshal(ncaFile(t, "tsp/ncanode_tsp_response.bin"), &resp); err != nil || len(rest) != 0 {
		t.Fatalf("TimeStampResp: %v", err)
	}
	token := ncaFile(t, "tsp/ncanode_tsp_token.bin")
	if resp.Status.Status != 0 || !bytes.Equal(resp.Token.FullBytes, token) {
		t.Fatalf("TimeStampResp: status %d, token differs: %v", resp.Status.Status, !bytes.Equal(resp.Token.FullBytes, token))
	}
	stamped := []byte{0xca, 0xfe, 0xba, 0xbe}
	v := &signature.Verifier{Roots: []*x509.Certificate{ncaCert(t, "certs/nca_gost_test_2004.pem")}}
	at, err := v.CheckTimestampToken(token, stamped)
	if err != nil || !at.Equal(time.Date(2022, 9, 18, 13, 20, 14, 0, time.UTC)) {
		t.Fatalf("NCA's token: %v, %v", at, err)
	}
	if _, err := v.CheckTimestampToken(sigtest.BER(t, token, 7), stamped); err != nil {
		t.Fatalf("NCA's token in BER: %v", err)
	}
	if _, err := v.CheckTimestampToken(token, []byte("other")); !errors.Is(err, signature.ErrBadTimestamp) {
		t.Fatalf("over other data: %v", err)
	}
	// The TSA must chain to what is trusted: NCA's GOST 2022 test root or
	// its production GOST CA of the time do not vouch for it.
	for _, anchor := range []string{"certs/root_test_gost_2022.pem", "certs/nca_gost.pem"} {
		other := &signature.Verifier{Roots: []*x509.Certificate{ncaCert(t, anchor)}}
		if _, err := other.CheckTimestampToken(token, stamped); !errors.Is(err, signature.ErrBadTimestamp) {
			t.Fatalf("trusting %s only: %v", anchor, err)
		}
	}
	// A changed TSTInfo (its serial number) breaks the TSA's signature.
	forged := bytes.Clone(token)
	i := bytes.Index(forged, unhex(t, "5E846DD75D861154"))
	forged[i+3] ^= 0x01
	if _, err := v.CheckTimestampToken(forged, stamped); !errors.Is(err, signature.ErrBadTimestamp) {
		t.Fatalf("a changed token: %v", err)
	}
}
