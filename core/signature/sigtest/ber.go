package sigtest

import (
	"encoding/asn1"
	"testing"
)

// BER re-encodes DER the way streaming signers write it: every constructed
// element in the indefinite-length form, and every OCTET STRING longer than
// chunk bytes cut into a constructed string of chunk-sized segments. The
// result is valid BER of the same value (X.690 §8.1.3.6, §8.7.3).
func BER(tb testing.TB, der []byte, chunk int) []byte {
	tb.Helper()
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(der, &raw)
	if err != nil || len(rest) != 0 {
		tb.Fatalf("sigtest.BER: not one DER element: %v", err)
	}
	return berOf(tb, raw, chunk)
}

func berOf(tb testing.TB, raw asn1.RawValue, chunk int) []byte {
	ident := raw.FullBytes[:identifierSize(raw.FullBytes)]
	switch {
	case raw.IsCompound:
		out := append(append([]byte{}, ident...), 0x80)
		for body := raw.Bytes; len(body) > 0; {
			var child asn1.RawValue
			var err error
			if body, err = asn1.Unmarshal(body, &child); err != nil {
				tb.Fatalf("sigtest.BER: %v", err)
			}
			out = append(out, berOf(tb, child, chunk)...)
		}
		return append(out, 0, 0)
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagOctetString && len(raw.Bytes) > chunk:
		out := []byte{0x24, 0x80}
		for b := raw.Bytes; len(b) > 0; {
			n := min(chunk, len(b))
			seg, _ := asn1.Marshal(b[:n])
			out = append(out, seg...)
			b = b[n:]
		}
		return append(out, 0, 0)
	}
	return raw.FullBytes
}

func identifierSize(b []byte) int {
	if b[0]&0x1f != 0x1f {
		return 1
	}
	n := 1
	for b[n]&0x80 != 0 {
		n++
	}
	return n + 1
}
