package egovtest_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"edobot/bot/egovtest"
	"edobot/core/egov"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
)

const ticket = `<authSign><timeMark>1767225600000</timeMark><state>abc</state><iin>850101100304</iin><ttlInMinutes>30</ttlInMinutes></authSign>`

// xmlServer serves one XML signing as core/egov's table has it; api2 may
// change API №2's answer. The signed XML it was sent back is verified.
func xmlServer(t *testing.T, v *signature.Verifier, api2 func(map[string]any)) (*httptest.Server, *string) {
	var signed string
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("GET /s/mgovSign", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(egov.NewDescription("Тикет", time.Now().Add(time.Minute),
			egov.Organisation{NameRu: "ТОО", NameKz: "ЖШС", NameEn: "LLP", BIN: "123456789012"}, srv.URL+"/s/documents", "tok", time.UTC))
	})
	mux.HandleFunc("GET /s/documents", func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		b, _ := json.Marshal(egov.OneXML(egov.Names{"Тикет", "Тикет", "Ticket"}, nil, ticket))
		_ = json.Unmarshal(b, &m)
		if api2 != nil {
			api2(m)
		}
		_ = json.NewEncoder(w).Encode(m)
	})
	mux.HandleFunc("PUT /s/documents", func(w http.ResponseWriter, r *http.Request) {
		var in egov.XMLDocuments
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || r.Header.Get("Authorization") != "Bearer tok" || in.SignMethod != egov.SignXML {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprint(w, `{"message":"bad"}`)
			return
		}
		signed = in.DocumentsToSign[0].DocumentXML
		if _, err := v.VerifyXML(context.Background(), []byte(signed), signature.PurposeAuth); err != nil {
			w.WriteHeader(http.StatusForbidden)
			_, _ = fmt.Fprintf(w, `{"message":%q}`, err.Error())
			return
		}
		_ = json.NewEncoder(w).Encode(egov.Done{Message: egov.Success})
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &signed
}

// TestSignXML: for signMethod XML the app signs documentXml in place with
// the key (RSA and GOST) and sends it back in the same field.
func TestSignXML(t *testing.T) {
	root := sigtest.NewRoot(t, "ROOT")
	nca := root.Intermediate(t, "NCA")
	groot := sigtest.NewGOSTRoot(t, "GOST ROOT", sigtest.GOST2015)
	gnca := groot.IssueCA(t, "GOST NCA", sigtest.GOST2015)
	v := &signature.Verifier{Roots: []*x509.Certificate{root.Cert, groot.Cert}, Intermediates: []*x509.Certificate{nca.Cert, gnca.Cert}}
	p := sigtest.Person{IIN: "850101100304", Surname: "ИВАНОВ", Name: "ИВАН", Auth: true}
	for name, key := range map[string]egovtest.XMLKey{
		"RSA":       nca.Issue(t, p, nca.Cert),
		"GOST 2015": gnca.Issue(t, p, sigtest.GOST2015, gnca.Cert),
	} {
		t.Run(name, func(t *testing.T) {
			srv, signed := xmlServer(t, v, nil)
			res := egovtest.App{}.Sign(t, egov.NewLaunch(egov.Links{}, srv.URL+"/s/mgovSign").Mobile, key)
			if res.Status != http.StatusOK || res.Message != egov.Success || res.SignMethod != egov.SignXML || string(res.Data) != ticket {
				t.Fatalf("result %+v", res)
			}
			if !strings.Contains(*signed, "<ds:SignatureValue>") || !strings.HasPrefix(*signed, "<authSign>") {
				t.Fatalf("sent back %q", *signed)
			}
		})
	}
}

// recorder is a test the app's side fails, to see that it does.
type recorder struct {
	*testing.T
	failed string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

func (r *recorder) Helper() {}

// TestXMLStrict: an API №2 of signMethod XML in another method's shape, or
// whose documentXml is not XML, fails the test.
func TestXMLStrict(t *testing.T) {
	root := sigtest.NewRoot(t, "ROOT")
	nca := root.Intermediate(t, "NCA")
	key := nca.Issue(t, sigtest.Person{IIN: "850101100304", Surname: "ИВАНОВ", Name: "ИВАН", Auth: true}, nca.Cert)
	v := &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Intermediates: []*x509.Certificate{nca.Cert}}
	for name, change := range map[string]func(map[string]any){
		"document.file beside documentXml": func(m map[string]any) {
			m["documentsToSign"].([]any)[0].(map[string]any)["document"] = map[string]any{"file": map[string]any{"mime": "text/plain", "data": "eA=="}}
		},
		"documentXml not XML": func(m map[string]any) {
			m["documentsToSign"].([]any)[0].(map[string]any)["documentXml"] = "<authSign>"
		},
		"version 2":         func(m map[string]any) { m["version"] = 2 },
		"an unknown method": func(m map[string]any) { m["signMethod"] = "XMLDSIG" },
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := xmlServer(t, v, change)
			r := &recorder{T: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				egovtest.App{}.Sign(r, srv.URL+"/s/mgovSign", key)
			}()
			<-done
			if r.failed == "" {
				t.Fatal("the app's side took it")
			}
		})
	}
}
