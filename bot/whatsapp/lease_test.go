package whatsapp_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"edobot/bot/flow"
	"edobot/bot/i18n"
	"edobot/bot/whatsapp"
	"edobot/core"
	"edobot/core/coretest"
	"edobot/core/egov"
	"edobot/core/pdfintake/pdftest"
	"edobot/storage"
	"edobot/storage/storagetest"
)

// newLID is a hidden id no earlier run has used.
func newLID() types.JID {
	return types.NewJID(fmt.Sprintf("%015d", rand.Int64N(1e15)), types.HiddenUserServer)
}

// asLID is p's message sent under their hidden id, with the number beside
// it (SenderAlt) when alt.
func asLID(e *events.Message, lid types.JID, alt bool) *events.Message {
	pn := e.Info.Sender
	e.Info.Sender = lid
	e.Info.Sender.Device = 3
	e.Info.Chat = lid
	e.Info.AddressingMode = types.AddressingModeLID
	if alt {
		e.Info.SenderAlt = pn
	}
	return e
}

// TestOnePersonOneChatUser: a person writes under their number, then under
// their hidden id with the number beside it, then under the hidden id
// alone: it is one chat user throughout, keyed on the hidden id once known,
// in the language they chose, and answers still go to their number. A
// person first seen under a hidden id alone is answered there, and is the
// same chat user once WhatsApp tells their number.
func TestOnePersonOneChatUser(t *testing.T) {
	f := storagetest.NewFixture(t)
	fc := newFake()
	startBot(t, f, fc, "http://edobot.test")
	ctx := context.Background()
	cat := i18n.MustNew()
	kk := func(name string) func(sentMessage) bool {
		return contains(cat.Text("kk", "chat.welcome", map[string]any{"Name": name}))
	}
	phone := newPhone()
	p := newPerson(phone, "Дана")
	lid := newLID()

	say(t, fc, p, p.text("/start"), contains("Здравствуйте"))
	before, err := f.DB.ChatUserByHandle(ctx, core.ChannelWhatsApp, "", phone)
	if err != nil || before.ExternalID != p.JID.String() {
		t.Fatalf("before = %+v, %v", before, err)
	}
	if err := f.Svc.SetLanguage(ctx, before, "kk"); err != nil {
		t.Fatal(err)
	}

	// WhatsApp moves the chat to the hidden id and tells the number beside
	// it; whatsmeow learns the pair.
	fc.net.learn(lid, p.JID)
	say(t, fc, p, asLID(p.text("/start"), lid, true), kk("Дана"))
	// Later messages carry the hidden id alone.
	say(t, fc, p, asLID(p.text("/start"), lid, false), kk("Дана"))

	var n int
	if err := f.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM chat_users WHERE channel = 'whatsapp' AND (phone = $1 OR external_id IN ($2, $3))`,
		phone, p.JID.String(), lid.String()).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d chat users for one person, %v", n, err)
	}
	u, err := f.DB.ChatUserByID(ctx, before.ID)
	if err != nil || u.ExternalID != lid.String() || u.Language != "kk" || u.Phone != phone {
		t.Fatalf("after = %+v, %v", u, err)
	}
	if got := fc.messages(lid); len(got) != 0 {
		t.Fatalf("%d answers went to the hidden id instead of the number", len(got))
	}

	// Seen under a hidden id alone first: answered there.
	q := newPerson(newPhone(), "Ерлан")
	hidden := person{JID: newLID(), Name: q.Name}
	say(t, fc, hidden, asLID(q.text("/start"), hidden.JID, false), contains("Здравствуйте"))
	first, err := f.DB.ChatUserByID(ctx, chatUserOf(t, f, hidden.JID).ID)
	if err != nil || first.Phone != "" {
		t.Fatalf("first = %+v, %v", first, err)
	}
	if err := f.Svc.SetLanguage(ctx, first, "kk"); err != nil {
		t.Fatal(err)
	}
	// Then with the number beside it: the same chat user, answered at the
	// number now.
	say(t, fc, q, asLID(q.text("/start"), hidden.JID, true), kk("Ерлан"))
	again := chatUserOf(t, f, hidden.JID)
	if again.ID != first.ID || again.Phone != "+"+q.JID.User {
		t.Fatalf("again = %+v; first %+v", again, first)
	}
}

// chatUserOf is the WhatsApp chat user keyed on jid.
func chatUserOf(t *testing.T, f *storagetest.Fixture, jid types.JID) *core.ChatUser {
	t.Helper()
	var id int64
	if err := f.DB.Pool.QueryRow(context.Background(), `SELECT id FROM chat_users WHERE channel = 'whatsapp' AND external_id = $1`,
		jid.String()).Scan(&id); err != nil {
		t.Fatalf("chat user %s: %v", jid, err)
	}
	u, err := f.DB.ChatUserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// startOn runs a bot of the account on net with a client of its own until
// stop is called (or the test ends); done is closed when Run returned.
func startOn(t *testing.T, f *storagetest.Fixture, c *fakeClient, cfg whatsapp.Config) (stop func(), done chan struct{}) {
	t.Helper()
	cfg.Phone = "77000000001"
	_, stop, done = startBotOn(t, f, c, cfg)
	return stop, done
}

// startBotOn is startOn with cfg's Phone as it is ("" for an account not
// linked), and the bot.
func startBotOn(t *testing.T, f *storagetest.Fixture, c *fakeClient, cfg whatsapp.Config) (b *whatsapp.Bot, stop func(), done chan struct{}) {
	t.Helper()
	keepInbox(f)
	cfg.LIDs = c.net
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	b = whatsapp.New(c, cfg, flow.Flow{Service: f.Svc, Cat: i18n.MustNew(), PublicURL: "http://edobot.test", Log: quiet, Egov: egov.DefaultLinks})
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return b, cancel, done
}

func waitFor(t *testing.T, what string, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(coretest.Patience):
		t.Fatalf("no %s within %v", what, coretest.Patience)
	}
}

// TestStopDrains: on stop, a message being handled is finished, its answer
// still going out on the open connection, and only then the bot
// disconnects; a message arriving meanwhile is left unacknowledged, and
// WhatsApp delivers it to the next instance.
func TestStopDrains(t *testing.T) {
	f := storagetest.NewFixture(t)
	clock := coretest.NewClock()
	net := newNetwork()
	a := newFakeOn(net)
	downloading, release := a.hold()
	stopA, doneA := startOn(t, f, a, whatsapp.Config{Clock: clock, Drain: time.Minute})
	p := boundPerson(t, f, newPhone(), "Дана")
	pdf := pdftest.PDF(1)
	a.emit(p.document(a.put(pdf), "a.pdf", "application/pdf", uint64(len(pdf))))
	waitFor(t, "download", downloading)

	stopA()                // SIGTERM
	clock.BlockUntil(t, 1) // no more taken; the drain waits
	if a.emit(p.text("/start")) {
		t.Fatal("a message was acknowledged by a stopping instance")
	}
	release()
	waitFor(t, "stop", doneA)
	if got := a.messages(p.JID); len(got) != 1 || !contains("Файл принят")(got[0]) {
		t.Fatalf("the stopping instance answered %d messages", len(got))
	}
	if a.IsConnected() {
		t.Fatal("still connected after the stop")
	}

	b := newFakeOn(net)
	startOn(t, f, b, whatsapp.Config{})
	b.wait(t, p.JID, 0, contains("Здравствуйте"))
}

// TestRestartLosesNoMessage: an instance stopped while a message is still
// being handled gives up at the drain's deadline; the message was kept, and
// the next instance handles it.
func TestRestartLosesNoMessage(t *testing.T) {
	f := storagetest.NewFixture(t)
	clock := coretest.NewClock()
	net := newNetwork()
	a := newFakeOn(net)
	downloading, release := a.hold()
	defer release()
	stopA, doneA := startOn(t, f, a, whatsapp.Config{Clock: clock, Drain: time.Minute})
	p := boundPerson(t, f, newPhone(), "Дана")
	pdf := pdftest.PDF(1)
	doc := p.document(a.put(pdf), "a.pdf", "application/pdf", uint64(len(pdf)))
	a.emit(doc)
	waitFor(t, "download", downloading)

	stopA()
	clock.BlockUntil(t, 1)
	clock.Advance(time.Minute) // the handling is cut short
	waitFor(t, "stop", doneA)
	a.mu.Lock()
	reads := slices.Clone(a.reads)
	a.mu.Unlock()
	if len(reads) != 0 {
		t.Fatalf("a message not handled was marked read: %v", reads)
	}

	b := newFakeOn(net)
	startOn(t, f, b, whatsapp.Config{})
	b.wait(t, p.JID, 0, contains("Файл принят"))
	// The kept message is marked read once handled, like a live one.
	b.until(t, "the read mark of the kept message", func(c *fakeClient) bool { return slices.Contains(c.reads, doc.Info.ID) })
}

// holds is a WhileHeld that tells when the session is held.
func holds() (func(context.Context), chan struct{}) {
	held := make(chan struct{}, 4)
	return func(ctx context.Context) {
		held <- struct{}{}
		<-ctx.Done()
	}, held
}

// waitLockWaiter returns once a process waits in PostgreSQL for the lease.
func waitLockWaiter(t *testing.T, f *storagetest.Fixture, key int64) {
	t.Helper()
	deadline := time.Now().Add(coretest.Patience)
	for {
		var n int
		if err := f.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
			AND NOT granted AND ((classid::bigint << 32) | objid::bigint) = $1`, key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("nobody waits for the lease")
		}
		time.Sleep(10 * time.Millisecond) // polling PostgreSQL, not a timing margin
	}
}

// TestOneSessionHolder: two instances of one account; only the one holding
// the lease connects, the other waits for it in PostgreSQL, and takes over
// when the first stops, with the message that arrived in between.
func TestOneSessionHolder(t *testing.T) {
	f := storagetest.NewFixture(t)
	name := "whatsapp-test-" + core.NewToken()[:12]
	lease := func() *storage.Lease {
		l := f.DB.Lease(name)
		l.Log = quiet
		return l
	}
	net := newNetwork()
	a, b := newFakeOn(net), newFakeOn(net)
	whileA, heldA := holds()
	stopA, doneA := startOn(t, f, a, whatsapp.Config{Lease: lease(), WhileHeld: whileA})
	waitFor(t, "the first instance to hold the session", heldA)
	whileB, heldB := holds()
	botB, _, _ := startBotOn(t, f, b, whatsapp.Config{Lease: lease(), WhileHeld: whileB, Phone: "77000000001"})
	waitLockWaiter(t, f, lease().Key())
	if !a.IsConnected() || b.IsConnected() {
		t.Fatalf("connected: first %v, second %v", a.IsConnected(), b.IsConnected())
	}
	// Standing by is shown on /readyz and leaves the instance ready.
	var detail interface{ Degraded() bool }
	if err := botB.Ready(context.Background()); !errors.As(err, &detail) || !detail.Degraded() ||
		!strings.Contains(err.Error(), "another instance holds") {
		t.Fatalf("the waiting instance's readiness: %v", err)
	}
	p := newPerson(newPhone(), "Дана")
	say(t, a, p, p.text("/start"), contains("Здравствуйте"))

	stopA()
	waitFor(t, "the first instance to stop", doneA)
	if a.emit(p.text("/start")) { // WhatsApp holds it: nobody is connected
		t.Fatal("acknowledged with nobody connected")
	}
	waitFor(t, "the second instance to hold the session", heldB)
	b.wait(t, p.JID, 0, contains("Здравствуйте"))
	if !b.IsConnected() || len(a.messages(p.JID)) != 1 {
		t.Fatalf("second connected %v; first answered %d", b.IsConnected(), len(a.messages(p.JID)))
	}
}

// TestSessionHolderDies: the holder's connection to PostgreSQL is cut, as
// when its process dies: the waiting instance takes the session at once,
// and the old holder, at its next check, finds the lease lost and stops.
func TestSessionHolderDies(t *testing.T) {
	f := storagetest.NewFixture(t)
	name := "whatsapp-test-" + core.NewToken()[:12]
	clock := coretest.NewClock()
	lease := func() *storage.Lease {
		l := f.DB.Lease(name)
		l.Log, l.Clock = quiet, clock
		return l
	}
	net := newNetwork()
	a, b := newFakeOn(net), newFakeOn(net)
	first := lease()
	whileA, heldA := holds()
	startOn(t, f, a, whatsapp.Config{Lease: first, WhileHeld: whileA, Clock: clock})
	waitFor(t, "the first instance to hold the session", heldA)
	whileB, heldB := holds()
	startOn(t, f, b, whatsapp.Config{Lease: lease(), WhileHeld: whileB})
	waitLockWaiter(t, f, first.Key())

	// The holder's lock connection dies.
	if _, err := f.DB.Pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'
		AND granted AND ((classid::bigint << 32) | objid::bigint) = $1`, first.Key()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second instance to hold the session", heldB)
	clock.BlockUntil(t, 1) // the first's check of its lease
	clock.Advance(first.Check)
	deadline := time.After(coretest.Patience)
	for a.IsConnected() {
		select {
		case <-deadline:
			t.Fatal("the old holder is still connected")
		case <-time.After(10 * time.Millisecond): // polling the fake, not a timing margin
		}
	}
}

// TestPairingOnlyWhileHeld: an account not linked is offered for pairing
// by the instance holding the session only; the waiting one offers it once
// it takes the session over.
func TestPairingOnlyWhileHeld(t *testing.T) {
	f := storagetest.NewFixture(t)
	name := "whatsapp-test-" + core.NewToken()[:12]
	lease := func() *storage.Lease {
		l := f.DB.Lease(name)
		l.Log = quiet
		return l
	}
	pairing := func(n *atomic.Int32, started chan struct{}) func(context.Context) {
		return func(ctx context.Context) {
			n.Add(1)
			started <- struct{}{}
			<-ctx.Done()
		}
	}
	net := newNetwork()
	var pairedA, pairedB atomic.Int32
	startedA, startedB := make(chan struct{}, 4), make(chan struct{}, 4)
	_, stopA, doneA := startBotOn(t, f, newFakeOn(net), whatsapp.Config{Lease: lease(), Pair: pairing(&pairedA, startedA)})
	waitFor(t, "the holder to offer pairing", startedA)
	startBotOn(t, f, newFakeOn(net), whatsapp.Config{Lease: lease(), Pair: pairing(&pairedB, startedB)})
	waitLockWaiter(t, f, lease().Key())
	if n := pairedB.Load(); n != 0 {
		t.Fatalf("the waiting instance offered pairing %d times", n)
	}
	stopA()
	waitFor(t, "the first instance to stop", doneA)
	waitFor(t, "the new holder to offer pairing", startedB)
	if n := pairedA.Load(); n != 1 {
		t.Fatalf("the first instance offered pairing %d times", n)
	}
}
