package nca

import "testing"

// TestAIAAllowed: only plain addresses of certificate files on the list's
// hosts and ports are asked, so one forged certificate cannot name endless
// addresses of the same file.
func TestAIAAllowed(t *testing.T) {
	tr := &Trust{Sources: []Source{{URL: "https://pki.gov.kz/cert/nca_gost_2022.cer"}, {URL: "http://root.gov.kz/cert/root_gost.cer"}}}
	for raw, ok := range map[string]bool{
		"http://pki.gov.kz/cert/nca_gost.cer":         true,
		"https://pki.gov.kz/cert/nca_rsa.crt":         true,
		"http://root.gov.kz/cert/root_rsa.cer":        true,
		"http://pki.gov.kz/cert/nca_gost.cer?1":       false,
		"http://pki.gov.kz/cert/nca_gost.cer#x":       false,
		"http://pki.gov.kz:8080/cert/nca_gost.cer":    false,
		"http://pki.gov.kz/cert//nca_gost.cer":        false,
		"http://pki.gov.kz/cert/../cert/nca_gost.cer": false,
		"http://user@pki.gov.kz/cert/nca_gost.cer":    false,
		"http://pki.gov.kz/cert/nca_gost.html":        false,
		"http://evil.example/cert/nca_gost.cer":       false,
		"ftp://pki.gov.kz/cert/nca_gost.cer":          false,
		"http://169.254.169.254/latest/meta-data.cer": false,
	} {
		if err := tr.aiaAllowed(raw); (err == nil) != ok {
			t.Errorf("%s: allowed=%v, want %v (%v)", raw, err == nil, ok, err)
		}
	}
}
