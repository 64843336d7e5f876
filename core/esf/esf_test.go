package esf_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"edobot/core/esf"
	"edobot/core/esf/esftest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
)

const (
	personIIN, otherIIN = "850101100304", "900202200405"
	buyerBIN, sellerBIN = "990140000806", "123456789021"
	password            = "кабинет-пароль"
)

type world struct {
	fake     *esftest.Server
	clock    *clockwork.FakeClock
	client   *esf.Client
	verifier *signature.Verifier
	auth     *sigtest.Key // the person's AUTH key
	signing  *sigtest.Key // the person's signing key
	other    *sigtest.Key // another person's AUTH key
	cred     esf.Credentials
}

func newWorld(tb testing.TB) *world {
	root := sigtest.NewRoot(tb, "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (TEST ROOT)")
	nca := root.Intermediate(tb, "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA TEST)")
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	fake := esftest.New(tb, clock)
	fake.AddUser(personIIN, password)
	person := sigtest.Person{IIN: personIIN, BIN: buyerBIN, Surname: "ИВАНОВ", Name: "ИВАН", Organisation: "ТОО «Ромашка»"}
	auth := person
	auth.Auth = true
	return &world{fake: fake, clock: clock, client: esf.New(http.DefaultClient, fake.BaseURL()),
		verifier: &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Intermediates: []*x509.Certificate{nca.Cert}},
		auth:     nca.Issue(tb, auth, nca.Cert), signing: nca.Issue(tb, person, nca.Cert),
		other: nca.Issue(tb, sigtest.Person{IIN: otherIIN, Surname: "ПЕТРОВ", Name: "ПЁТР", Auth: true}, nca.Cert),
		cred:  esf.Credentials{IIN: personIIN, Password: password}}
}

// signedTicket asks for a ticket and has the person sign it.
func (w *world) signedTicket(tb testing.TB) esf.SignedTicket {
	tb.Helper()
	ctx := context.Background()
	xml, err := w.client.CreateAuthTicket(ctx, personIIN, 60)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := esf.VerifyTicket(ctx, w.verifier, w.auth.SignXML(tb, []byte(xml)), personIIN)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

func TestVerifyTicket(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	xml, err := w.client.CreateAuthTicket(ctx, personIIN, 0)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := esf.ParseTicket([]byte(xml))
	if err != nil || tk.IIN != personIIN || tk.TTLInMinutes != esf.DefaultTicketTTL || tk.State == "" {
		t.Fatalf("ticket %+v, %v", tk, err)
	}
	st, err := esf.VerifyTicket(ctx, w.verifier, w.auth.SignXML(t, []byte(xml)), personIIN)
	if err != nil {
		t.Fatal(err)
	}
	if st.Signer.IIN != personIIN || st.Signer.BIN != buyerBIN || !st.Purposes.Auth || st.State != tk.State || st.CertificateBase64() == "" {
		t.Fatalf("signed ticket %+v", st)
	}
	for _, tc := range []struct {
		name string
		xml  []byte
		iin  string
		want error
	}{
		{"another person's key", w.other.SignXML(t, []byte(xml)), "", esf.ErrTicketWrongSigner},
		{"signed for another person", w.auth.SignXML(t, []byte(xml)), otherIIN, esf.ErrTicketWrongSigner},
		{"signing key instead of AUTH", w.signing.SignXML(t, []byte(xml)), personIIN, esf.ErrTicketNotAuthKey},
		{"not signed", []byte(xml), personIIN, signature.ErrNoSigners},
		{"not a ticket", w.auth.SignXML(t, []byte("<root><key>nonce</key></root>")), personIIN, esf.ErrTicketMalformed},
		{"ticket changed after signing", []byte(strings.Replace(string(w.auth.SignXML(t, []byte(xml))), tk.State, tk.State+"0", 1)), personIIN, signature.ErrContentMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := esf.VerifyTicket(ctx, w.verifier, tc.xml, tc.iin); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	st := w.signedTicket(t)
	id, err := w.client.CreateSessionSigned(ctx, w.cred, buyerBIN, st.XML)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := w.client.CurrentSessionStatus(ctx, id); err != nil || s != esf.SessionOK {
		t.Fatalf("status %s, %v", s, err)
	}
	if u, err := w.client.CurrentUser(ctx, id); err != nil || u.Login != personIIN || u.Taxpayer.TIN != buyerBIN {
		t.Fatalf("user %+v, %v", u, err)
	}
	// One open session per person.
	if _, err := w.client.CreateSessionSigned(ctx, w.cred, buyerBIN, w.signedTicket(t).XML); !errors.Is(err, esf.ErrUserHasSession) {
		t.Fatalf("second session: %v", err)
	}
	if s, err := w.client.CloseSessionByCredentials(ctx, w.cred, buyerBIN, st.CertificateBase64()); err != nil || s != esf.SessionClosed {
		t.Fatalf("close by credentials: %s, %v", s, err)
	}
	if _, err := w.client.CurrentUser(ctx, id); !errors.Is(err, esf.ErrSessionClosed) {
		t.Fatalf("closed session: %v", err)
	}
	// The five-minute rule, then a single-use ticket used again.
	fresh := w.signedTicket(t)
	if _, err := w.client.CreateSessionSigned(ctx, w.cred, buyerBIN, fresh.XML); !errors.Is(err, esf.ErrSessionTooSoon) {
		t.Fatalf("within five minutes: %v", err)
	}
	w.clock.Advance(esf.SessionGap)
	id, err = w.client.CreateSessionSigned(ctx, w.cred, buyerBIN, fresh.XML)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := w.client.CloseSession(ctx, id); err != nil || s != esf.SessionClosed {
		t.Fatalf("close: %s, %v", s, err)
	}
	w.clock.Advance(esf.SessionGap)
	if _, err := w.client.CreateSessionSigned(ctx, w.cred, buyerBIN, fresh.XML); esf.CodeOf(err) != esf.CodeTicketInvalid {
		t.Fatalf("single-use ticket again: %v", err)
	}
	w.fake.ReusableTickets = true
	if _, err := w.client.CreateSessionSigned(ctx, w.cred, buyerBIN, fresh.XML); err != nil {
		t.Fatalf("reusable ticket again: %v", err)
	}
	bad := w.cred
	bad.Password = "wrong"
	if _, err := w.client.CreateSessionSigned(ctx, bad, buyerBIN, fresh.XML); !errors.Is(err, esf.ErrPasswordInvalid) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestFaults(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		f    esftest.Failure
		want esf.Code
	}{
		{"down", esftest.Failure{Down: true}, esf.CodeUnavailable},
		{"malformed", esftest.Failure{Malformed: true}, esf.CodeMalformed},
		{"system down", esftest.Failure{Code: esf.CodeSystemDown}, esf.CodeSystemDown},
		{"OCSP", esftest.Failure{Code: esf.CodeOCSPNotAvailable}, esf.CodeOCSPNotAvailable},
		{"GOST 2015", esftest.Failure{Code: esf.CodeGOST2015NotSupported}, esf.CodeGOST2015NotSupported},
		{"password", esftest.Failure{Code: esf.CodePasswordInvalid}, esf.CodePasswordInvalid},
		{"open session", esftest.Failure{Text: "User already has opened session"}, esf.CodeUserHasSession},
		{"session closed", esftest.Failure{Text: "Session closed", Detail: "sessionClosedException"}, esf.CodeSessionClosed},
		{"access denied", esftest.Failure{Text: "Access denied", Detail: "accessDeniedException"}, esf.CodeAccessDenied},
		{"free text", esftest.Failure{Text: "Something went wrong"}, esf.CodeUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.fake.FailNext(esf.OpCreateAuthTicket, tc.f)
			_, err := w.client.CreateAuthTicket(ctx, personIIN, 5)
			if esf.CodeOf(err) != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
			ru, kk, en := esf.Message(err, esf.LangRU), esf.Message(err, esf.LangKK), esf.Message(err, esf.LangEN)
			if ru == "" || kk == "" || en == "" || ru == kk || ru == en {
				t.Fatalf("messages %q %q %q", ru, kk, en)
			}
		})
	}
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	if _, err := w.client.CreateAuthTicket(expired, personIIN, 5); !errors.Is(err, esf.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	if err := w.client.CheckVersionService(ctx); err != nil {
		t.Fatal(err)
	}
	if err := esf.New(http.DefaultClient, "http://127.0.0.1:1").CheckVersionService(ctx); !errors.Is(err, esf.ErrUnavailable) {
		t.Fatalf("no VersionService: %v", err)
	}
}

func TestMessagesCoverCodes(t *testing.T) {
	for _, c := range esf.Codes() {
		err := &esf.Error{Code: c}
		if esf.Message(err, esf.LangKK) == esf.Message(&esf.Error{Code: esf.CodeUnknown}, esf.LangKK) && c != esf.CodeUnknown {
			t.Errorf("%s has no message of its own", c)
		}
	}
}

func TestInvoiceUpdates(t *testing.T) {
	w := newWorld(t)
	w.fake.NoSessionGap = true
	ctx := context.Background()
	ids := map[int64]bool{}
	for i := 0; i < 250; i++ {
		ids[w.fake.AddInvoice(sellerBIN, buyerBIN)] = true
		if i%50 == 0 {
			w.fake.AddInvoice(buyerBIN, sellerBIN) // outbound: not ours to read
		}
	}
	id, err := w.client.CreateSessionSigned(ctx, w.cred, buyerBIN, w.signedTicket(t).XML)
	if err != nil {
		t.Fatal(err)
	}
	cursor := esf.Cursor{LastEventDate: w.clock.Now().Add(-time.Hour)}
	seen, pages := map[int64]bool{}, 0
	for {
		page, err := w.client.QueryUpdates(ctx, id, cursor, 100)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, inv := range page.Invoices {
			if seen[inv.ID] || !ids[inv.ID] || inv.Status != esf.StatusCreated {
				t.Fatalf("invoice %d (%s) seen %t, ours %t", inv.ID, inv.Status, seen[inv.ID], ids[inv.ID])
			}
			seen[inv.ID] = true
		}
		cursor = page.Next
		if page.LastBlock {
			break
		}
	}
	if len(seen) != len(ids) || pages != 3 {
		t.Fatalf("%d invoices in %d pages", len(seen), pages)
	}
	// Nothing new: an empty last page that keeps the cursor.
	if page, err := w.client.QueryUpdates(ctx, id, cursor, 100); err != nil || len(page.Invoices) != 0 || !page.LastBlock || page.Next != cursor {
		t.Fatalf("empty page %+v, %v", page, err)
	}
	var one int64
	for one = range ids {
		break
	}
	w.clock.Advance(time.Second)
	w.fake.SetStatus(one, esf.StatusRevoked)
	page, err := w.client.QueryUpdates(ctx, id, cursor, 100)
	if err != nil || len(page.Invoices) != 1 || page.Invoices[0].ID != one || page.Invoices[0].Status != esf.StatusRevoked {
		t.Fatalf("status change %+v, %v", page, err)
	}
	body, err := esf.ParseInvoiceBody(page.Invoices[0].Body)
	if err != nil || body.SellerTIN != sellerBIN || body.CustomerTIN != buyerBIN || body.SellerName != `ТОО "АСЕМ-2"` ||
		body.TotalPriceWithTax != "65572" || body.Date != "03.10.2017" || body.Num == "" {
		t.Fatalf("body %+v, %v", body, err)
	}
	var other int64
	for other = range ids {
		if other != one {
			break
		}
	}
	w.clock.Advance(time.Second)
	sums, err := w.client.ConfirmInvoiceByID(ctx, id, other)
	if err != nil || len(sums) != 1 || sums[0].Status != esf.StatusDelivered || w.fake.Status(other) != esf.StatusDelivered {
		t.Fatalf("confirm %+v, %v", sums, err)
	}
	invs, err := w.client.QueryInvoiceByID(ctx, id, other)
	if err != nil || len(invs) != 1 || invs[0].Status != esf.StatusDelivered || invs[0].DeliveryDate.IsZero() {
		t.Fatalf("by id %+v, %v", invs, err)
	}
	w.fake.FailNext(esf.OpQueryUpdates, esftest.Failure{Malformed: true})
	if _, err := w.client.QueryUpdates(ctx, id, cursor, 100); !errors.Is(err, esf.ErrMalformed) {
		t.Fatalf("malformed page: %v", err)
	}
}

// BenchmarkSync1000 is one scheduled sync: open a session with a kept
// ticket, read 1,000 updates in 10 pages, close.
func BenchmarkSync1000(b *testing.B) {
	w := newWorld(b)
	w.fake.ReusableTickets = true
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		w.fake.AddInvoice(sellerBIN, buyerBIN)
	}
	ticket := w.signedTicket(b).XML
	start := esf.Cursor{LastEventDate: w.clock.Now().Add(-time.Hour)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.clock.Advance(esf.SessionGap)
		id, err := w.client.CreateSessionSigned(ctx, w.cred, buyerBIN, ticket)
		if err != nil {
			b.Fatal(err)
		}
		n, cursor := 0, start
		for {
			page, err := w.client.QueryUpdates(ctx, id, cursor, 100)
			if err != nil {
				b.Fatal(err)
			}
			n += len(page.Invoices)
			cursor = page.Next
			if page.LastBlock {
				break
			}
		}
		if _, err := w.client.CloseSession(ctx, id); err != nil || n != 1000 {
			b.Fatalf("%d updates, %v", n, err)
		}
	}
}
