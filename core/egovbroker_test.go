package core_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"testing"
	"time"

	"edobot/core"
	"edobot/core/sigex"
	"edobot/core/sigex/sigextest"
	"edobot/core/signature"
	"edobot/core/signature/sigtest"
	"edobot/storage/storagetest"
)

// captions is what a front end's catalogue would write.
type captions struct{}

func (captions) Document(d *core.Document) core.EgovTexts {
	return core.EgovTexts{Description: "Подписание: " + d.Number, NameRu: "Договор " + d.Number, NameKz: "Шарт " + d.Number,
		NameEn: "Contract " + d.Number, Meta: []core.EgovMeta{{Name: "SHA-256", Value: d.File.SHA256}}}
}

func (captions) Challenge([]byte) core.EgovTexts {
	return core.EgovTexts{Description: "Вход", NameRu: "Запрос на вход", NameKz: "Кіру", NameEn: "Sign-in"}
}

type brokerFixture struct {
	*storagetest.Fixture
	fake  *sigextest.Server
	bg    *core.Background
	nca   *sigtest.CA
	phone *sigextest.Phone
}

// newBrokerFixture is a service whose eGov signing goes through a fake
// SIGEX, with a phone holding a key of the recipient's head.
func newBrokerFixture(t *testing.T) *brokerFixture {
	f := &brokerFixture{Fixture: storagetest.NewFixture(t), fake: sigextest.NewServer(t)}
	root := sigtest.NewRoot(t, "НУЦ РК (тест)")
	f.nca = root.Intermediate(t, "ҰКО (тест)")
	f.Wire(func(deps *core.Deps) {
		deps.Verifier = &signature.Verifier{Roots: []*x509.Certificate{root.Cert}, Freshness: 15 * time.Minute}
	})
	client := sigex.New(&http.Client{}, f.fake.URL)
	client.Now, client.RetryPause = f.fake.Now, time.Millisecond
	f.bg = core.NewBackground(context.Background())
	t.Cleanup(f.bg.Close)
	f.Wire(func(deps *core.Deps) {
		deps.Broker, deps.BrokerSessions, deps.Background, deps.EgovCaptions = sigex.Broker{Client: client}, f.DB, f.bg, captions{}
	})
	f.phone = &sigextest.Phone{Key: f.key(t, f.Recipient.Number)}
	return f
}

func (f *brokerFixture) key(t *testing.T, bin string) *sigtest.Key {
	return f.nca.Issue(t, sigtest.Person{IIN: storagetest.RandomIIN(), BIN: bin, Surname: "СЕРІКОВА", Name: "ДАНА",
		Organisation: "ТОО «Контрагент»", Role: sigtest.RoleHead}, f.nca.Cert)
}

// session reads a brokered signing once its work is done.
func (f *brokerFixture) settled(t *testing.T, id string) *core.BrokerSession {
	t.Helper()
	f.bg.Wait()
	bs, err := f.Svc.BrokerSession(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func (f *brokerFixture) signatures(t *testing.T, d *core.Document) int {
	t.Helper()
	sigs, err := f.DB.Signatures(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(sigs)
}

// Through SIGEX, a recipient's signature is verified and recorded by the
// same use case as in direct mode: the document moves to «На подписании»
// and an outbox row tells the chats.
func TestBrokeredSignatureIsRecorded(t *testing.T) {
	f := newBrokerFixture(t)
	ctx := context.Background()
	d := f.Create(t)
	bs, err := f.Svc.StartBrokeredByLink(ctx, d.LinkToken, "https://edo.example/d/"+d.LinkToken)
	if err != nil {
		t.Fatal(err)
	}
	if bs.State != core.BrokerWaiting || len(bs.Registration.QRPNG) == 0 || bs.Registration.MobileLink == "" {
		t.Fatalf("started %+v", bs)
	}
	shown, code, body := f.phone.Take(t, bs.Registration.MobileLink)
	if shown == nil {
		t.Fatalf("phone: %d %s", code, body)
	}
	if shown.Description != "Подписание: "+d.Number || shown.Documents[0].NameKz != "Шарт "+d.Number ||
		shown.Documents[0].Mime != sigex.MimePDF || string(shown.Documents[0].Data) != string(f.PDF) {
		t.Fatalf("the app showed %+v", shown)
	}
	p := f.fake.WaitFor(t, f.fake.Last(t), sigextest.Taken)
	if p.BackURL != "https://edo.example/d/"+d.LinkToken {
		t.Fatalf("backUrl %q", p.BackURL)
	}
	if code, body := f.phone.Sign(t, shown); code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	if got := f.settled(t, bs.ID); got.State != core.BrokerSigned || got.Refusal != nil {
		t.Fatalf("session %s %+v", got.State, got.Refusal)
	}
	doc, err := f.DB.Document(ctx, d.ID)
	if err != nil || doc.Status != core.StatusSigning || f.signatures(t, d) != 1 {
		t.Fatalf("document %s, %d signatures, %v", doc.Status, f.signatures(t, d), err)
	}
	var outbox int
	if err := f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE document_id = $1 AND payload->>'status' = $2`,
		d.ID, core.StatusSigning).Scan(&outbox); err != nil || outbox != 1 {
		t.Fatalf("%d outbox rows for «На подписании», %v", outbox, err)
	}
}

// A signature by someone who is neither side is refused as in direct mode,
// and nothing is recorded.
func TestBrokeredWrongSignerIsRefused(t *testing.T) {
	f := newBrokerFixture(t)
	d := f.Create(t)
	bs, err := f.Svc.StartBrokeredByLink(context.Background(), d.LinkToken, "")
	if err != nil {
		t.Fatal(err)
	}
	shown, _, _ := f.phone.Take(t, bs.Registration.MobileLink)
	if code, _ := f.phone.SignWith(t, shown, f.key(t, storagetest.RandomBIN())); code != http.StatusOK {
		t.Fatal(code)
	}
	got := f.settled(t, bs.ID)
	if got.State != core.BrokerRefused || got.Refusal == nil || got.Refusal.Code != core.CodeIDNumberMismatch {
		t.Fatalf("session %s %+v", got.State, got.Refusal)
	}
	if n := f.signatures(t, d); n != 0 {
		t.Fatalf("%d signatures recorded", n)
	}
}

func TestBrokeredCanceled(t *testing.T) {
	f := newBrokerFixture(t)
	d := f.Create(t)
	bs, err := f.Svc.StartBrokeredFor(context.Background(), f.Recipient, d.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if shown, code, _ := f.phone.Take(t, bs.Registration.BusinessLink); shown == nil {
		t.Fatal(code)
	}
	id := f.fake.Last(t)
	f.fake.WaitFor(t, id, sigextest.Taken)
	f.fake.Cancel(id)
	if got := f.settled(t, bs.ID); got.State != core.BrokerCanceled || got.Refusal == nil || got.Refusal.Code != core.CodeEgovCanceled {
		t.Fatalf("session %s %+v", got.State, got.Refusal)
	}
	if n := f.signatures(t, d); n != 0 {
		t.Fatalf("%d signatures recorded", n)
	}
}

func TestBrokeredExpired(t *testing.T) {
	f := newBrokerFixture(t)
	d := f.Create(t)
	bs, err := f.Svc.StartBrokeredByLink(context.Background(), d.LinkToken, "")
	if err != nil {
		t.Fatal(err)
	}
	f.fake.WaitFor(t, f.fake.Last(t), sigextest.DataPosted)
	f.fake.Advance(sigextest.DefaultTTL)
	if got := f.settled(t, bs.ID); got.State != core.BrokerExpired || got.Refusal.Code != core.CodeEgovExpired {
		t.Fatalf("session %s %+v", got.State, got.Refusal)
	}
}

// A stop while the person has the QR open leaves the session to the next
// start, which hands the data over again and records the signature; no
// other instance takes a session its holder still waits for.
func TestBrokeredResumesAfterRestart(t *testing.T) {
	f := newBrokerFixture(t)
	d := f.Create(t)
	bs, err := f.Svc.StartBrokeredByLink(context.Background(), d.LinkToken, "")
	if err != nil {
		t.Fatal(err)
	}
	id := f.fake.Last(t)
	f.fake.WaitFor(t, id, sigextest.DataPosted)
	// Another instance on the same database leaves it alone while this
	// one waits for it.
	deps := f.Deps
	deps.Background = core.NewBackground(context.Background())
	t.Cleanup(deps.Background.Close)
	other := core.New(deps)
	if n, err := other.ResumeBrokered(context.Background()); n != 0 || err != nil {
		t.Fatalf("another instance took over %d live sessions: %v", n, err)
	}
	f.bg.Close()
	if got := f.settled(t, bs.ID); got.State != core.BrokerWaiting {
		t.Fatalf("after the stop: %s", got.State)
	}
	f.bg = core.NewBackground(context.Background())
	t.Cleanup(f.bg.Close)
	f.Wire(func(deps *core.Deps) { deps.Background = f.bg })
	if n, err := f.Svc.ResumeBrokered(context.Background()); n != 1 || err != nil {
		t.Fatalf("resumed %d: %v", n, err)
	}
	f.phone.Scan(t, bs.Registration.MobileLink)
	if got := f.settled(t, bs.ID); got.State != core.BrokerSigned {
		t.Fatalf("resumed session %s %+v", got.State, got.Refusal)
	}
	if p, _ := f.fake.Get(id); p.DataPosts != 2 {
		t.Fatalf("%d data POSTs", p.DataPosts)
	}
}

// A chat signs in through SIGEX: the app is shown the challenge as text.
func TestBrokeredSignIn(t *testing.T) {
	f := newBrokerFixture(t)
	u := newChatUser(t, f.Fixture)
	bin := storagetest.RandomBIN()
	c, err := f.Svc.StartAuth(context.Background(), u, 0)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := f.Svc.BrokerChallenge(context.Background(), c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	shown, _, _ := f.phone.Take(t, bs.Registration.MobileLink)
	if shown.Documents[0].Mime != sigex.MimeText || string(shown.Documents[0].Data) != string(c.Data) {
		t.Fatalf("the app showed %+v", shown.Documents[0])
	}
	if code, _ := f.phone.SignWith(t, shown, f.key(t, bin)); code != http.StatusOK {
		t.Fatal(code)
	}
	if got := f.settled(t, bs.ID); got.State != core.BrokerSigned {
		t.Fatalf("session %s %+v", got.State, got.Refusal)
	}
	stored, err := f.DB.ChatUserByID(context.Background(), u.ID)
	if err != nil || !stored.Bound() {
		t.Fatalf("chat user %+v %v", stored, err)
	}
	org, err := f.DB.OrganisationByID(context.Background(), stored.OrgID)
	if err != nil || org.Number != bin {
		t.Fatalf("bound to %+v %v", org, err)
	}
}

// TestBrokeredCapped: taps on «Подписать» cannot open signings through the
// broker without end: past MaxBrokeredPerThing waiting ones of a document,
// another is refused as busy, with nothing registered at the broker; other
// documents are not held back by it.
func TestBrokeredCapped(t *testing.T) {
	f := newBrokerFixture(t)
	d := f.Create(t)
	for i := 0; i < core.MaxBrokeredPerThing; i++ {
		if _, err := f.Svc.StartBrokeredByLink(context.Background(), d.LinkToken, ""); err != nil {
			t.Fatalf("signing %d: %v", i+1, err)
		}
	}
	registered := f.fake.Last(t)
	if _, err := f.Svc.StartBrokeredByLink(context.Background(), d.LinkToken, ""); !errors.Is(err, core.ErrEgovBusy) {
		t.Fatalf("one signing too many: %v", err)
	}
	if f.fake.Last(t) != registered {
		t.Fatal("a refused signing was registered at the broker")
	}
	if _, err := f.Svc.StartBrokeredByLink(context.Background(), f.Create(t).LinkToken, ""); err != nil {
		t.Fatalf("another document: %v", err)
	}
}
