package signature_test

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"edobot/core/signature"
	"edobot/core/signature/sigtest"
)

// NCA's real test OCSP answers of 2022-09-02, with the nonces they were
// asked with (NCANode's OcspServiceTest) and the certificates they speak of.
type ncaOCSPAnswer struct {
	file, cert, issuer string
	nonce              []byte
	revoked            bool
	revokedAt          time.Time
	reason             int
	responderKey       string // the responder's key, as the signature algorithm says
}

var ncaOCSPAnswers = []ncaOCSPAnswer{
	{"ncanode_ocsp_response_ceo_2015_revoked.bin", "ncanode_KEY_CEO_REVOKED_2015", "nca_gost2022_test",
		[]byte{0x15, 0x7b, 0x28, 0xfd, 0x1a, 0xc7, 0x76, 0x1e}, true, time.Date(2022, 7, 27, 10, 25, 30, 0, time.UTC), 6, "GOST 2015-512"},
	{"ncanode_ocsp_response_individual_2015.bin", "ncanode_KEY_INDIVIDUAL_VALID_2015", "nca_gost2022_test",
		[]byte{0xe4, 0x08, 0xff, 0xb7, 0x90, 0x83, 0x4a, 0xf2}, true, time.Unix(0, 0).UTC(), 6, "GOST 2015-512"},
	{"ncanode_ocsp_response_ceo_sign_2004_revoked.bin", "ncanode_KEY_CEO_SIGN_REVOKED_2004", "nca_gost_test_2004",
		[]byte{0x8b, 0x6b, 0x9f, 0x10, 0x0d, 0x6b, 0x00, 0x05}, true, time.Date(2022, 1, 18, 6, 30, 55, 0, time.UTC), 4, "GOST 2004"},
	{"ncanode_ocsp_response_individual_sign_2004.bin", "ncanode_KEY_INDIVIDUAL_VALID_SIGN_2004", "nca_rsa_test_2004",
		[]byte{0xb5, 0xe5, 0xc9, 0xb5, 0x52, 0xcb, 0xca, 0xc4}, false, time.Time{}, -1, "RSA"},
}

// ocspTime is a fixed "now" just after NCA's responder answered.
var ocspTime = time.Date(2022, 9, 2, 17, 0, 0, 0, time.UTC)

// TestNCAOCSPAnswers parses and verifies each real answer: the status and
// revocation time come out as NCA gave them, the signature verifies with
// the key of the responder certificate the answer carries, which the
// certificate's issuing CA issued for OCSP signing; and any change to the
// answer, or using it for another request, is refused.
func TestNCAOCSPAnswers(t *testing.T) {
	for _, a := range ncaOCSPAnswers {
		t.Run(a.file, func(t *testing.T) {
			der := ncaFile(t, "ocsp/"+a.file)
			cert, issuer := ncaCert(t, "leaves/"+a.cert+".pem"), ncaCert(t, "certs/"+a.issuer+".pem")
			st, err := signature.VerifyOCSPResponse(der, cert, issuer, a.nonce, ocspTime)
			if err != nil {
				t.Fatal(err)
			}
			if st.Revoked != a.revoked || !st.RevokedAt.Equal(a.revokedAt) || st.Reason != a.reason {
				t.Fatalf("status: revoked %v at %v reason %d", st.Revoked, st.RevokedAt, st.Reason)
			}
			if st.Responder.Equal(issuer) || !bytes.Equal(st.Responder.RawIssuer, issuer.RawSubject) ||
				st.ProducedAt.Before(time.Date(2022, 9, 2, 16, 50, 0, 0, time.UTC)) {
				t.Fatalf("responder %q of %q, produced %v", st.Responder.Subject, st.Responder.Issuer, st.ProducedAt)
			}
			if err := signature.Issued(st.Responder, issuer); err != nil {
				t.Fatalf("the responder's certificate: %v", err)
			}
			// Any change to what the responder signed, or to the signature,
			// is refused: every ninth of those bytes flipped in turn (each
			// check of a GOST signature costs; the stride still lands in
			// every field).
			for n, i := range signedBytes(t, der) {
				if n%9 != 0 {
					continue
				}
				bad := bytes.Clone(der)
				bad[i] ^= 0x01
				if st, err := signature.VerifyOCSPResponse(bad, cert, issuer, a.nonce, ocspTime); err == nil {
					t.Fatalf("byte %d changed, the answer still verified: %+v", i, st)
				}
			}
			other := ncaCert(t, "leaves/legal_valid_head.pem")
			for name, check := range map[string]func() error{
				"another nonce": func() error {
					_, err := signature.VerifyOCSPResponse(der, cert, issuer, []byte("12345678"), ocspTime)
					return err
				},
				"another certificate": func() error {
					_, err := signature.VerifyOCSPResponse(der, other, issuer, a.nonce, ocspTime)
					return err
				},
				"another issuer": func() error {
					_, err := signature.VerifyOCSPResponse(der, cert, ncaCert(t, "certs/root_test_gost_2022.pem"), a.nonce, ocspTime)
					return err
				},
				"the responder's certificate expired": func() error {
					_, err := signature.VerifyOCSPResponse(der, cert, issuer, a.nonce, ocspTime.AddDate(2, 0, 0))
					return err
				},
				"no nonce asked, the answer hours old": func() error {
					_, err := signature.VerifyOCSPResponse(der, cert, issuer, nil, ocspTime.Add(3*time.Hour))
					return err
				},
				"truncated": func() error {
					_, err := signature.VerifyOCSPResponse(der[:len(der)-1], cert, issuer, a.nonce, ocspTime)
					return err
				},
			} {
				if err := check(); err == nil {
					t.Errorf("%s: accepted", name)
				}
			}
			// Without a nonce asked, a fresh answer is accepted.
			if _, err := signature.VerifyOCSPResponse(der, cert, issuer, nil, ocspTime); err != nil {
				t.Fatalf("no nonce asked, a fresh answer: %v", err)
			}
		})
	}
}

// ncaResponder replays NCA's recorded answers like NCA's responder: it
// reads the request and answers the one recorded for the serial asked
// about, "unauthorized" for any other.
func ncaResponder(t *testing.T) *httptest.Server {
	answers := map[string][]byte{}
	for _, a := range ncaOCSPAnswers {
		answers[ncaCert(t, "leaves/"+a.cert+".pem").SerialNumber.String()] = ncaFile(t, "ocsp/"+a.file)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		q, err := sigtest.ParseOCSPRequest(body.Bytes())
		w.Header().Set("Content-Type", "application/ocsp-response")
		if err != nil || r.Header.Get("Content-Type") != "application/ocsp-request" {
			_, _ = w.Write([]byte{0x30, 0x03, 0x0a, 0x01, 0x01}) // malformedRequest
			return
		}
		answer, ok := answers[q.Serial.String()]
		if !ok {
			_, _ = w.Write([]byte{0x30, 0x03, 0x0a, 0x01, 0x06}) // unauthorized
			return
		}
		_, _ = w.Write(answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestNCAOCSPOverHTTP asks a responder that replays NCA's answers: the
// request we build names the certificate as NCA's responder hashed it
// (CertID with SHA-256), so the recorded answers match it.
func TestNCAOCSPOverHTTP(t *testing.T) {
	srv := ncaResponder(t)
	for _, a := range ncaOCSPAnswers {
		o := &signature.OCSP{URL: srv.URL, Now: func() time.Time { return ocspTime },
			Nonce: func() ([]byte, error) { return a.nonce, nil }}
		cert, issuer := ncaCert(t, "leaves/"+a.cert+".pem"), ncaCert(t, "certs/"+a.issuer+".pem")
		st, err := o.Status(ctx, cert, issuer)
		if err != nil || st.Revoked != a.revoked || !st.RevokedAt.Equal(a.revokedAt) {
			t.Fatalf("%s: %+v %v", a.file, st, err)
		}
		revoked, err := o.Revoked(ctx, cert, issuer, a.revokedAt.Add(-time.Second))
		if err != nil || revoked {
			t.Fatalf("%s, a second before the revocation: %v %v", a.file, revoked, err)
		}
		revoked, err = o.Revoked(ctx, cert, issuer, a.revokedAt)
		if err != nil || revoked != a.revoked {
			t.Fatalf("%s, at the revocation: %v %v", a.file, revoked, err)
		}
	}
	// A certificate NCA's responder does not answer for.
	o := &signature.OCSP{URL: srv.URL, Now: func() time.Time { return ocspTime }}
	if _, err := o.Revoked(ctx, ncaCert(t, "leaves/legal_valid_head.pem"), ncaCert(t, "certs/nca_gost2022_test.pem"), ocspTime); !errors.Is(err, signature.ErrRevocationUnknown) {
		t.Fatalf("an unauthorized answer: %v", err)
	}
	// The KalkanCrypt CMS's GOST signer is on hold since 1970 by NCA's
	// answer: with OCSP on, its signature is refused as revoked.
	v := kalkanVerifier(t)
	v.Revocation = &signature.OCSP{URL: srv.URL, Now: v.Now,
		Nonce: func() ([]byte, error) { return ncaOCSPAnswers[1].nonce, nil }}
	results, err := v.Verify(ctx, ncaFile(t, "cms/kalkan_attached_gost2015_rsa.der"), nil, signature.PurposeSign)
	if err != nil || !errors.Is(results[0].Err, signature.ErrRevoked) {
		t.Fatalf("the Kalkan GOST signer with OCSP: %v %+v", err, results)
	}
}

// signedBytes are the offsets in an OCSPResponse of tbsResponseData and of
// the signature value, and of the headers around them.
func signedBytes(t *testing.T, der []byte) []int {
	var resp struct {
		Status asn1.Enumerated
		Bytes  struct {
			Type  asn1.ObjectIdentifier
			Basic []byte
		} `asn1:"explicit,tag:0"`
	}
	var basic struct {
		TBS       asn1.RawValue
		Alg       asn1.RawValue
		Signature asn1.BitString
		Rest      asn1.RawValue `asn1:"optional,explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &resp); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(resp.Bytes.Basic, &basic); err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(der, basic.TBS.FullBytes)
	sig := bytes.Index(der, basic.Signature.Bytes)
	var out []int
	for i := 0; i < start+len(basic.TBS.FullBytes); i++ {
		out = append(out, i)
	}
	for i := sig; i < sig+len(basic.Signature.Bytes); i++ {
		out = append(out, i)
	}
	return out
}
