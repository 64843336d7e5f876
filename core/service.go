package core

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"log/slog"
	"time"
)

// Deps is what the use cases are built from: the stores, the outside
// services they speak to and the settings. Only Store and Blobs are
// required; the others have working defaults or leave their use cases
// unconfigured. The stores stay inside core: a front end reaches data
// through the use cases only.
type Deps struct {
	Store Store
	Blobs BlobStore
	// Chats keeps chat users, conversations and identity challenges.
	Chats ChatStore
	// Inbox keeps the messages a chat front end received until handled;
	// nil: the front end keeps them in memory only.
	Inbox InboxStore
	// Outreach keeps the cold-outreach budgets; nil: no first message goes
	// to a number that never wrote.
	Outreach OutreachStore
	// Egov keeps eGov QR signing sessions.
	Egov EgovStore
	// Webhooks keeps the organisations' webhooks.
	Webhooks WebhookStore
	// Downloads keeps the cards and ezSigner versions of documents in a
	// final status (nil = make them on every request).
	Downloads DownloadCache
	// Verifier checks the CMS that SignCMS receives.
	Verifier SignatureVerifier
	// Broker, when set, is where eGov signing goes instead of our own QR
	// protocol (SIGEX's egovQr, EDOBOT_EGOV_VIA=sigex); BrokerSessions keeps
	// those signings, Background runs their waiting, EgovCaptions writes what
	// the app shows.
	Broker         EgovBroker
	BrokerSessions BrokerStore
	Background     *Background
	EgovCaptions   EgovCaptions
	// Combine builds the «Версия для ezSigner».
	Combine Combiner
	// Cards draws the «Электронная карточка».
	Cards CardRenderer
	// Trial is how long a self-registered organisation may send documents
	// before it needs a subscription; 0 = DefaultTrial.
	Trial time.Duration
	Now   func() time.Time
	// Demo is `edobot demo`'s service: every document it makes is a demo
	// document, and it signs no other (its verifier trusts the demo CA only).
	Demo    bool
	TempDir string       // where uploads are spooled; "" = the system's
	Log     *slog.Logger // nil = slog.Default()
}

// Service is every use case behind one value, for the front ends and the
// wiring: each embedded type is one group of use cases, built on the part
// of Deps it needs.
type Service struct {
	*Organisations
	*Documents
	*Signing
	*Identity
	*Downloads
	// Outreach are the cold-outreach use cases.
	Outreach *Outreach
	// ESF are the invoice use cases (ИС ЭСФ); nil when it is off. They are
	// built apart (NewInvoices) and set by the wiring.
	ESF     *Invoices
	tempDir string
}

// New builds the use cases from d.
func New(d Deps) *Service {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	rec := &records{store: d.Store, clock: d.Now}
	fs := &files{blobs: d.Blobs, tempDir: d.TempDir}
	orgs := &Organisations{records: rec, webhooks: d.Webhooks, trial: d.Trial}
	id := &Identity{records: rec, chats: d.Chats, inbox: d.Inbox, verifier: d.Verifier, orgs: orgs, log: log}
	return &Service{
		Organisations: orgs,
		Documents:     &Documents{records: rec, files: fs, log: log, demo: d.Demo},
		Signing: &Signing{records: rec, files: fs, verifier: d.Verifier, egov: d.Egov, broker: d.Broker,
			brokerSessions: d.BrokerSessions, background: d.Background, captions: d.EgovCaptions, identity: id, log: log, demo: d.Demo},
		Identity:  id,
		Outreach:  &Outreach{store: d.Outreach},
		Downloads: &Downloads{records: rec, files: fs, cards: d.Cards, cache: d.Downloads, combine: d.Combine},
		tempDir:   d.TempDir,
	}
}

// TempDir is where uploads are spooled; "" = the system's.
func (s *Service) TempDir() string { return s.tempDir }

// NewToken returns 256 random bits, URL-safe.
func NewToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// LinkHash is what the database indexes instead of the link token itself.
func LinkHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// tokenMatches reports, in constant time, whether token is the one whose
// LinkHash was kept; nothing kept (no token handed out yet) matches none.
func tokenMatches(kept []byte, token string) bool {
	return kept != nil && subtle.ConstantTimeCompare(kept, LinkHash(token)) == 1
}
