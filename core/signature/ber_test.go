package signature_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"edobot/core/pdfintake/pdftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBERToDER(t *testing.T) {
	long := bytes.Repeat([]byte{0xab}, 200)
	for _, tc := range []struct{ name, ber, der string }{
		{"indefinite sequence", "30 80 02 01 05 00 00", "30 03 02 01 05"},
		{"indefinite context tag", "a0 80 04 01 61 00 00", "a0 03 04 01 61"},
		{"constructed octet string", "24 80 04 02 61 62 04 01 63 00 00", "04 03 61 62 63"},
		{"nested constructed octet string", "24 80 24 80 04 01 61 00 00 04 01 62 00 00", "04 02 61 62"},
		{"definite constructed octet string", "24 06 04 01 61 04 01 62", "04 02 61 62"},
		{"constructed UTF8String", "2c 80 04 01 d0 04 01 90 00 00", "0c 02 d0 90"},
		{"length in the long form", "04 81 01 61", "04 01 61"},
		{"length with a leading zero", "04 82 00 01 61", "04 01 61"},
		{"empty indefinite", "30 80 00 00", "30 00"},
		{"indefinite in definite", "30 07 30 80 02 01 07 00 00", "30 05 30 03 02 01 07"},
		{"joined string needs the long form", "24 80 04 64 " + hex.EncodeToString(long[:100]) + " 04 64 " + hex.EncodeToString(long[100:]) + " 00 00",
			"04 81 c8 " + hex.EncodeToString(long)},
		{"high tag number", "bf 1f 80 02 01 01 00 00", "bf 1f 03 02 01 01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := signature.ToDER(unhex(t, tc.ber))
			if err != nil || !bytes.Equal(got, unhex(t, tc.der)) {
				t.Fatalf("ToDER = %x, %v; want %s", got, err, tc.der)
			}
		})
	}
	der := unhex(t, "30 06 02 01 05 04 01 61")
	if got, err := signature.ToDER(der); err != nil || &got[0] != &der[0] {
		t.Fatalf("DER must come back as it is: %x %v", got, err)
	}
	deep := append(bytes.Repeat([]byte{0x30, 0x80}, 100), bytes.Repeat([]byte{0, 0}, 100)...)
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"truncated", "30 05 02 01"},
		{"missing end-of-contents", "30 80 02 01 05"},
		{"indefinite primitive", "04 80 61 00 00"},
		{"stray end-of-contents", "30 02 00 00"},
		{"trailing bytes", "30 00 00"},
		{"child past its parent", "30 03 04 05 61 62 63 64 65"},
		{"reserved length", "04 ff 00"},
		{"length of five octets", "04 85 00 00 00 00 01 61"},
		{"segment of another type", "24 80 02 01 05 00 00"},
		{"low tag in the high form", "9f 05 01 00"},
		{"too deep", hex.EncodeToString(deep)},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			if got, err := signature.ToDER(unhex(t, tc.in)); err == nil {
				t.Fatalf("ToDER accepted it: %x", got)
			}
		})
	}
}

// A real KalkanCrypt CMS re-encoded in BER (every length indefinite, the
// content and the signature values cut into segments) comes back byte for
// byte.
func TestBERRoundTrip(t *testing.T) {
	for _, f := range []string{"kalkan_attached_gost2015_rsa.der", "kalkan_detached_gost2015_rsa.der"} {
		der := ncaFile(t, "cms/"+f)
		for _, chunk := range []int{1, 3, 64, 1 << 20} {
			got, err := signature.ToDER(sigtest.BER(t, der, chunk))
			if err != nil || !bytes.Equal(got, der) {
				t.Fatalf("%s, chunks of %d: %v", f, chunk, err)
			}
		}
	}
}

// A CMS that `openssl cms -sign -stream` writes (indefinite lengths, the
// content in 4 KiB segments) is accepted exactly like its DER form.
func TestBERFromOpenSSL(t *testing.T) {
	p := newPKI(t)
	dir, write := opensslDir(t)
	doc := pdftest.PDF(3)
	out := filepath.Join(dir, "sig.ber")
	cmd := exec.Command("openssl", "cms", "-sign", "-stream", "-binary", "-nodetach", "-in", write("doc.pdf", doc),
		"-signer", write("cert.pem", p.head.CertPEM()), "-inkey", write("key.pem", p.head.KeyPEM(t)),
		"-certfile", write("nca.pem", p.nca.PEM()), "-md", "sha256", "-outform", "DER", "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -sign -stream: %v\n%s", err, b)
	}
	ber, _ := os.ReadFile(out)
	if !bytes.HasPrefix(ber, []byte{0x30, 0x80}) || !bytes.Contains(ber, []byte{0x24, 0x80}) {
		t.Fatalf("openssl did not stream (indefinite lengths, constructed content): % x", ber[:16])
	}
	v, err := p.verifier.VerifyOne(ctx, ber, doc, signature.PurposeSign)
	if err != nil || v.Signer.IIN != headIIN || v.Signer.BIN != headBIN {
		t.Fatalf("streamed CMS: %+v %v", v.Signer, err)
	}
	// Over what it carries, and tampered with.
	if results, err := p.verifier.Verify(ctx, ber, nil, signature.PurposeSign); err != nil || results[0].Err != nil {
		t.Fatalf("streamed CMS over its own content: %v %+v", err, results)
	}
	forged := bytes.Clone(ber)
	forged[len(forged)-20] ^= 1 // inside the signature value, before the end-of-contents octets
	if _, err := p.verifier.VerifyOne(ctx, forged, doc, signature.PurposeSign); err == nil {
		t.Fatal("a forged streamed CMS verified")
	}
	// Combining a BER signature with a DER one gives DER that openssl accepts.
	combined, err := signature.Combine(doc, ber, p.solo.SignCMS(t, doc, sigtest.CMSOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := signature.ToDER(combined); err != nil || &got[0] != &combined[0] {
		t.Fatalf("the combined CMS is not DER: %v", err)
	}
}

func FuzzBERToDER(f *testing.F) {
	for _, s := range []string{"30 80 02 01 05 00 00", "24 80 24 80 04 01 61 00 00 04 01 62 00 00", "04 82 00 01 61",
		"30 07 30 80 02 01 07 00 00", "bf 1f 80 02 01 01 00 00"} {
		f.Add(unhex(f, s))
	}
	der := ncaFile(f, "cms/kalkan_attached_one_signer.der")
	f.Add(der)
	f.Add(sigtest.BER(f, der, 16))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := signature.ToDER(in)
		if err != nil {
			return
		}
		if len(out) > 2*len(in)+16 {
			t.Fatalf("%d bytes of BER became %d of DER", len(in), len(out))
		}
		again, err := signature.ToDER(out)
		if err != nil || !bytes.Equal(again, out) || len(out) > 0 && &again[0] != &out[0] {
			t.Fatalf("the output is not DER: %x → %x (%v)", out, again, err)
		}
	})
}
