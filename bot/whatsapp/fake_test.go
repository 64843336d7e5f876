package whatsapp_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"edobot/bot/whatsapp"
	"edobot/core/coretest"
)

// fakeClient stands in for whatsmeow's connection to WhatsApp's servers:
// it records what would be sent, serves uploaded and "received" media, and
// lets a test emit whatsmeow's own event values into the adapter.
type fakeClient struct {
	net       *fakeNetwork
	mu        sync.Mutex
	handlers  []whatsmeow.EventHandlerWithSuccessStatus
	sent      []sentMessage
	media     map[string][]byte // direct path → bytes
	downloads int
	notOnWA   map[string]bool // "+7701…" numbers WhatsApp does not know
	connected bool
	seq       int
	// sentSig is closed (and replaced) when a message is sent.
	sentSig chan struct{}
	// gate, when set, holds every download until it is closed (or the
	// download's ctx ends); downloading is told of each download held.
	gate        chan struct{}
	downloading chan struct{}
	// nacks counts the messages the bot left unacknowledged.
	nacks int
	// connectedSig is closed at the first connect.
	connectedSig chan struct{}
	// refuse answers a send to these numbers ("7701…") as WhatsApp answers
	// a restricted account: "server returned error 463".
	refuse map[string]int
	// attempts counts sends tried, refused ones included, by number.
	attempts map[string]int
	lookups  int
	// connects counts Connect calls; presences the presence updates sent;
	// reads the message ids marked read. changed is closed (and replaced)
	// at each.
	connects  int
	presences []types.Presence
	reads     []types.MessageID
	changed   chan struct{}
}

// fakeNetwork is WhatsApp's side of one account: the messages it holds for
// the account while no client is connected or that a client left
// unacknowledged, delivered at the next connect, and the hidden ids (LID)
// of the people it knows.
type fakeNetwork struct {
	mu      sync.Mutex
	clients []*fakeClient
	pending []*events.Message
	lids    map[string]string // LID user → phone number user
	media   map[string][]byte // WhatsApp's media servers, which clients share
}

func newNetwork() *fakeNetwork {
	return &fakeNetwork{lids: map[string]string{}, media: map[string][]byte{}}
}

// learn records a person's LID beside their number, as whatsmeow's map does.
func (n *fakeNetwork) learn(lid, pn types.JID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lids[lid.User] = pn.User
}

func (n *fakeNetwork) GetPNForLID(_ context.Context, lid types.JID) (types.JID, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if pn, ok := n.lids[lid.User]; ok {
		return types.NewJID(pn, types.DefaultUserServer), nil
	}
	return types.JID{}, nil
}

func (n *fakeNetwork) GetLIDForPN(_ context.Context, pn types.JID) (types.JID, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for lid, p := range n.lids {
		if p == pn.User {
			return types.NewJID(lid, types.HiddenUserServer), nil
		}
	}
	return types.JID{}, nil
}

// signal wakes whoever waits for a change; c.mu is held.
func (c *fakeClient) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// until waits for cond over the fake's state, woken by its changes.
func (c *fakeClient) until(t testing.TB, what string, cond func(c *fakeClient) bool) {
	t.Helper()
	deadline := time.NewTimer(coretest.Patience)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok, ch := cond(c), c.changed
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (c *fakeClient) SendPresence(_ context.Context, state types.Presence) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.presences = append(c.presences, state)
	c.signal()
	return nil
}

func (c *fakeClient) MarkRead(_ context.Context, ids []types.MessageID, _ time.Time, _, _ types.JID, _ ...types.ReceiptType) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads = append(c.reads, ids...)
	c.signal()
	return nil
}

// dropConnection is WhatsApp closing the socket without reconnecting (a
// ban, a logout, a replaced stream): what whatsmeow does before the event.
func (c *fakeClient) dropConnection() {
	c.mu.Lock()
	c.connected = false
	c.mu.Unlock()
}

type sentMessage struct {
	To  types.JID
	Msg *waE2E.Message
}

// Text is what a person reads: the message, or a media's caption.
func (m sentMessage) Text() string {
	switch {
	case m.Msg.GetImageMessage() != nil:
		return m.Msg.GetImageMessage().GetCaption()
	case m.Msg.GetDocumentMessage() != nil:
		return m.Msg.GetDocumentMessage().GetCaption()
	}
	return m.Msg.GetConversation()
}

// newFake is a client of a new account, connected, as tests that send
// without running the bot want it; Run connects it (again) all the same.
func newFake() *fakeClient {
	c := newFakeOn(newNetwork())
	c.connected = true
	return c
}

// newFakeOn is a client of an account another client may have used: a
// second instance, or the same after a restart. It starts disconnected, as
// whatsmeow does.
func newFakeOn(n *fakeNetwork) *fakeClient {
	c := &fakeClient{net: n, media: n.media, notOnWA: map[string]bool{}, sentSig: make(chan struct{}),
		connectedSig: make(chan struct{}), refuse: map[string]int{}, attempts: map[string]int{}, changed: make(chan struct{})}
	n.mu.Lock()
	n.clients = append(n.clients, c)
	n.mu.Unlock()
	return c
}

func (c *fakeClient) AddEventHandlerWithSuccessStatus(h whatsmeow.EventHandlerWithSuccessStatus) uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handlers = append(c.handlers, h)
	return uint32(len(c.handlers))
}

// Connect connects and delivers what WhatsApp held for the account.
func (c *fakeClient) Connect() error {
	c.mu.Lock()
	select {
	case <-c.connectedSig:
	default:
		close(c.connectedSig)
	}
	c.connected = true
	c.connects++
	c.signal()
	c.mu.Unlock()
	c.emit(&events.Connected{})
	c.deliverHeld()
	return nil
}

// deliverHeld passes the client what WhatsApp held for the account.
func (c *fakeClient) deliverHeld() {
	c.net.mu.Lock()
	held := c.net.pending
	c.net.pending = nil
	c.net.mu.Unlock()
	for _, e := range held {
		c.emit(e)
	}
}

func (c *fakeClient) Disconnect() {
	c.mu.Lock()
	c.connected = false
	c.mu.Unlock()
}

func (c *fakeClient) IsConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

func (c *fakeClient) IsLoggedIn() bool { return c.IsConnected() }

func (c *fakeClient) SendMessage(_ context.Context, to types.JID, msg *waE2E.Message, _ ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.connected {
		return whatsmeow.SendResponse{}, whatsmeow.ErrNotConnected
	}
	c.attempts[to.User]++
	c.signal()
	if code := c.refuse[to.User]; code != 0 {
		// whatsmeow's own wording of a refused send (send.go).
		return whatsmeow.SendResponse{}, fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, code)
	}
	if c.notOnWA["+"+to.User] {
		return whatsmeow.SendResponse{}, errors.New("no devices")
	}
	if to.Device != 0 {
		return whatsmeow.SendResponse{}, whatsmeow.ErrRecipientADJID
	}
	c.sent = append(c.sent, sentMessage{To: to, Msg: proto.Clone(msg).(*waE2E.Message)})
	close(c.sentSig)
	c.sentSig = make(chan struct{})
	return whatsmeow.SendResponse{ID: types.MessageID("m" + strconv.Itoa(len(c.sent)))}, nil
}

func (c *fakeClient) Upload(_ context.Context, data []byte, _ whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	path := "/v/t62/" + strings.Repeat("x", c.seq)
	c.media[path] = append([]byte(nil), data...)
	sum := sha256.Sum256(data)
	return whatsmeow.UploadResponse{URL: "https://mmg.whatsapp.net" + path, DirectPath: path, MediaKey: make([]byte, 32),
		FileSHA256: sum[:], FileEncSHA256: sum[:], FileLength: uint64(len(data))}, nil
}

func (c *fakeClient) Download(ctx context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error) {
	c.mu.Lock()
	gate, downloading := c.gate, c.downloading
	c.mu.Unlock()
	if gate != nil {
		downloading <- struct{}{}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.downloads++
	data, ok := c.media[msg.GetDirectPath()]
	if !ok {
		return nil, whatsmeow.ErrNoURLPresent
	}
	return data, nil
}

func (c *fakeClient) IsOnWhatsApp(_ context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookups++
	var out []types.IsOnWhatsAppResponse
	for _, p := range phones {
		out = append(out, types.IsOnWhatsAppResponse{Query: p, IsIn: !c.notOnWA[p],
			JID: types.NewJID(strings.TrimPrefix(p, "+"), types.DefaultUserServer)})
	}
	return out, nil
}

// waitConnected returns once the bot connected.
func (c *fakeClient) waitConnected(t testing.TB) {
	t.Helper()
	select {
	case <-c.connectedSig:
	case <-time.After(coretest.Patience):
		t.Fatal("the bot did not connect")
	}
}

// hold makes downloads wait until the returned release is called.
func (c *fakeClient) hold() (downloading <-chan struct{}, release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gate, c.downloading = make(chan struct{}), make(chan struct{}, 16)
	gate := c.gate
	return c.downloading, func() { close(gate) }
}

// emit passes an event to the handlers, as whatsmeow does. A message
// reaches them only while connected; WhatsApp holds it otherwise, and
// also when a handler left it unacknowledged, until the next connect.
func (c *fakeClient) emit(evt any) (acked bool) {
	c.mu.Lock()
	hs := append([]whatsmeow.EventHandlerWithSuccessStatus(nil), c.handlers...)
	connected := c.connected
	c.mu.Unlock()
	msg, isMsg := evt.(*events.Message)
	if isMsg && !connected {
		// WhatsApp holds it, and hands it to a client of the account
		// that is connected, if any.
		c.net.mu.Lock()
		c.net.pending = append(c.net.pending, msg)
		others := slices.Clone(c.net.clients)
		c.net.mu.Unlock()
		for _, o := range others {
			if o != c && o.IsConnected() {
				o.deliverHeld()
				break
			}
		}
		return false
	}
	for _, h := range hs {
		if !h(evt) {
			if isMsg {
				c.mu.Lock()
				c.nacks++
				c.mu.Unlock()
				c.net.mu.Lock()
				c.net.pending = append(c.net.pending, msg)
				c.net.mu.Unlock()
			}
			return false
		}
	}
	return true
}

// put stores media as if a person's phone had uploaded it.
func (c *fakeClient) put(data []byte) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	path := "/v/t62/in" + strings.Repeat("y", c.seq)
	c.media[path] = data
	return path
}

func (c *fakeClient) messages(to types.JID) []sentMessage {
	ms, _ := c.messagesAndSignal(to)
	return ms
}

// messagesAndSignal is messages, and a channel closed at the next send.
func (c *fakeClient) messagesAndSignal(to types.JID) ([]sentMessage, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []sentMessage
	for _, m := range c.sent {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out, c.sentSig
}

func (c *fakeClient) downloadCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.downloads
}

// wait returns the first message to a chat, from the n-th on, that
// satisfies cond.
func (c *fakeClient) wait(t testing.TB, to types.JID, n int, cond func(sentMessage) bool) sentMessage {
	t.Helper()
	deadline := time.NewTimer(coretest.Patience)
	defer deadline.Stop()
	for timedOut := false; !timedOut; {
		ms, sent := c.messagesAndSignal(to)
		for i := n; i < len(ms); i++ {
			if cond(ms[i]) {
				return ms[i]
			}
		}
		select {
		case <-sent:
		case <-deadline.C:
			timedOut = true
		}
	}
	var texts []string
	for _, m := range c.messages(to) {
		texts = append(texts, m.Text())
	}
	t.Fatalf("no such message to %s; got:\n%s", to, strings.Join(texts, "\n-----\n"))
	return sentMessage{}
}

// person is someone writing to the bot from their phone.
type person struct {
	JID  types.JID
	Name string
}

func newPerson(phone, name string) person {
	return person{JID: types.NewJID(strings.TrimPrefix(phone, "+"), types.DefaultUserServer), Name: name}
}

// newPhone is a Kazakh mobile number no earlier test run has used: the
// database outlives a run (go test -count=N), and a person is their number.
func newPhone() string {
	return fmt.Sprintf("+7701%07d", rand.IntN(10_000_000))
}

var msgSeq struct {
	sync.Mutex
	n int
}

func (p person) info() types.MessageInfo {
	msgSeq.Lock()
	msgSeq.n++
	id := msgSeq.n
	msgSeq.Unlock()
	ad := p.JID
	ad.Device = 3 // a message comes from one of the person's devices
	return types.MessageInfo{MessageSource: types.MessageSource{Chat: p.JID, Sender: ad},
		ID: types.MessageID("IN" + strconv.Itoa(id)), PushName: p.Name, Timestamp: time.Now(), Type: "text"}
}

func (p person) text(s string) *events.Message {
	return &events.Message{Info: p.info(), Message: &waE2E.Message{Conversation: proto.String(s)}}
}

func (p person) extText(s string) *events.Message {
	return &events.Message{Info: p.info(), Message: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String(s)}}}
}

func (p person) document(path, name, mime string, length uint64) *events.Message {
	return &events.Message{Info: p.info(), Message: &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
		DirectPath: proto.String(path), MediaKey: make([]byte, 32), FileLength: proto.Uint64(length),
		Mimetype: proto.String(mime), FileName: proto.String(name)}}}
}

// lidsOf is the fake's LID map; none for another client.
func lidsOf(c whatsapp.Client) whatsapp.LIDMap {
	if fc, ok := c.(*fakeClient); ok {
		return fc.net
	}
	return nil
}
