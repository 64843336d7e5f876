package core

import (
	"context"
	"edobot/core/tasks"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// EgovBroker is a signing service whose domain eGov Mobile already allows
// (SIGEX's egovQr, core/sigex): it shows the app our document and hands back
// the CMS. Through it, a server whose own domain is not on eGov's list can
// still be signed for with eGov; the CMS is verified here like any other.
type EgovBroker interface {
	// Register opens a procedure: what to show the person. backURL is where
	// the app sends them when done.
	Register(ctx context.Context, description, backURL string) (*BrokerRegistration, error)
	// SendData hands over the document; it returns once the phone has taken
	// it.
	SendData(ctx context.Context, r *BrokerRegistration, doc BrokerDocument) error
	// AwaitSignature waits for the person: the CMS, or ErrEgovCanceled, or
	// ErrEgovExpired.
	AwaitSignature(ctx context.Context, r *BrokerRegistration) ([]byte, error)
}

// BrokerRegistration is a procedure the broker opened.
type BrokerRegistration struct {
	QRPNG                    []byte // for a second phone to scan
	MobileLink, BusinessLink string // open eGov Mobile / eGov Business on this phone
	DataURL, SignURL         string // the broker's, used as given
	ExpiresAt                time.Time
}

// EgovTexts is what the app shows of a thing to sign; the front ends'
// catalogue writes it (the same texts as the direct protocol's API №2).
type EgovTexts struct {
	Description            string
	NameRu, NameKz, NameEn string
	Meta                   []EgovMeta
}

// EgovMeta is one line the app shows beside a document.
type EgovMeta struct{ Name, Value string }

// BrokerDocument is one thing to sign.
type BrokerDocument struct {
	EgovTexts
	Text bool // a sign-in challenge, to be shown as text; otherwise a PDF
	Data []byte
}

// BrokerState is where a brokered signing is.
type BrokerState string

const (
	BrokerWaiting  BrokerState = "waiting"  // shown; the phone has not taken the document yet
	BrokerTaken    BrokerState = "taken"    // the person has it open in the app
	BrokerSigned   BrokerState = "signed"   // the CMS was verified and recorded
	BrokerRefused  BrokerState = "refused"  // the CMS was refused (Refusal says why); nothing recorded
	BrokerCanceled BrokerState = "canceled" // the person refused in the app
	BrokerExpired  BrokerState = "expired"
	BrokerFailed   BrokerState = "failed" // the broker failed; logged
)

// Final reports whether the signing is over.
func (s BrokerState) Final() bool { return s != BrokerWaiting && s != BrokerTaken }

// Refusals of brokered signing.
const (
	CodeEgovCanceled Code = "egov_canceled"
	CodeEgovExpired  Code = "egov_expired"
	CodeEgovBroker   Code = "egov_broker_failed"
	CodeEgovBusy     Code = "egov_broker_busy"
)

// How many brokered signings may wait at once: each holds two requests to
// the broker and, until the phone takes it, the document in memory. A
// person taps «Подписать» a few times at most; more is a client run amok.
const (
	MaxBrokeredPerThing = 4   // of one document or one sign-in challenge
	MaxBrokeredWaiting  = 200 // of this whole service
)

var (
	ErrEgovCanceled = &Refusal{Code: CodeEgovCanceled}
	ErrEgovExpired  = &Refusal{Code: CodeEgovExpired}
	ErrEgovBroker   = &Refusal{Code: CodeEgovBroker}
	ErrEgovBusy     = &Refusal{Code: CodeEgovBusy}
)

// BrokerSession is one brokered signing of a document, or of a sign-in
// challenge. Its ID is public (the status and QR URLs); only its hash is
// stored.
type BrokerSession struct {
	ID            string
	DocumentID    uuid.UUID // uuid.Nil for a sign-in challenge
	ChallengeHash []byte    // the sign-in challenge's hash, or nil
	Registration  BrokerRegistration
	Texts         EgovTexts
	State         BrokerState
	// Refusal is why the CMS was refused (BrokerRefused), why the signing
	// ended otherwise (ErrEgovCanceled, ErrEgovExpired, ErrEgovBroker), or
	// nil.
	Refusal   *Refusal
	CreatedAt time.Time
	UpdatedAt time.Time
}

// BrokerStore keeps brokered signings. Each unfinished one is leased to
// the instance that waits for it (several instances share the database).
type BrokerStore interface {
	InsertBrokerSession(ctx context.Context, idHash []byte, s *BrokerSession, leasedUntil time.Time) error
	// BrokerSessionByHash returns ErrEgovSession for an unknown hash.
	BrokerSessionByHash(ctx context.Context, idHash []byte) (*BrokerSession, error)
	// SetBrokerState moves a session from one of from to to; false when it
	// was in none of them.
	SetBrokerState(ctx context.Context, idHash []byte, from []BrokerState, to BrokerState, why *Refusal, at time.Time) (bool, error)
	// ClaimBrokerSessions leases to the caller every unfinished session
	// whose lease ran out by now, and returns their hashes.
	ClaimBrokerSessions(ctx context.Context, now, until time.Time) ([][]byte, error)
	// UnfinishedBrokerSessions counts the unfinished, unexpired signings of
	// one document or challenge (documentID or challengeHash set), and of
	// all.
	UnfinishedBrokerSessions(ctx context.Context, documentID uuid.UUID, challengeHash []byte, now time.Time) (thing, all int, err error)
	// LeaseBrokerSession moves a session's lease.
	LeaseBrokerSession(ctx context.Context, idHash []byte, until time.Time) error
}

// BrokerLease is how long an instance holds a brokered signing without
// renewing it: another instance takes over that long after a crash.
const BrokerLease = 2 * time.Minute

// Background owns work that outlives the request that began it: brokered
// signings waiting for a person. serve closes it at shutdown, which stops
// the work and waits for it; what was stopped resumes at the next start.
type Background struct {
	ctx    context.Context
	cancel context.CancelFunc
	work   tasks.Group
}

// NewBackground returns an owner of background work; ctx gives its values,
// not its end: Close ends the work.
func NewBackground(ctx context.Context) *Background {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &Background{ctx: ctx, cancel: cancel}
}

// Go runs f with the background's context; false once closed.
func (b *Background) Go(f func(ctx context.Context)) bool {
	return b.work.Go(func() { f(b.ctx) })
}

// Wait blocks until no work is running (tests: the work they started is
// done).
func (b *Background) Wait() { b.work.Wait() }

// Close stops the work and waits for it; nothing new starts after.
func (b *Background) Close() {
	b.work.Refuse()
	b.cancel()
	b.work.Wait()
}

// EgovCaptions writes what the eGov app shows: the same texts whether the
// app reaches us directly or through a broker.
type EgovCaptions interface {
	Document(d *Document) EgovTexts
	Challenge(data []byte) EgovTexts
}

// ViaBroker reports whether eGov signing goes through a broker.
func (s *Signing) ViaBroker() bool { return s.broker != nil }

// StartBrokeredByLink opens a brokered signing for a document reached
// through its external link.
func (s *Signing) StartBrokeredByLink(ctx context.Context, linkToken, backURL string) (*BrokerSession, error) {
	doc, err := s.linkDocument(ctx, linkToken)
	if err != nil {
		return nil, err
	}
	return s.startBrokered(ctx, doc, backURL)
}

// StartBrokeredFor opens a brokered signing of one of the actor's
// documents (the API, the bots).
func (s *Signing) StartBrokeredFor(ctx context.Context, a Actor, id uuid.UUID, backURL string) (*BrokerSession, error) {
	doc, side, err := s.document(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if err := Check(doc, side, ActionSign); err != nil {
		return nil, err
	}
	return s.startBrokered(ctx, doc, backURL)
}

func (s *Signing) startBrokered(ctx context.Context, doc *Document, backURL string) (*BrokerSession, error) {
	if doc.DeletedAt != nil || doc.Status.Final() {
		return nil, Check(doc, SideRecipient, ActionSign)
	}
	if s.broker == nil || s.brokerSessions == nil || s.background == nil || s.captions == nil {
		return nil, errors.New("brokered egov signing is not configured")
	}
	return s.openBrokered(ctx, &BrokerSession{DocumentID: doc.ID, Texts: s.captions.Document(doc)}, backURL)
}

// openBrokered registers with the broker, stores the session and starts
// the work that hands over the data and waits for the person.
func (s *Signing) openBrokered(ctx context.Context, bs *BrokerSession, backURL string) (*BrokerSession, error) {
	thing, all, err := s.brokerSessions.UnfinishedBrokerSessions(ctx, bs.DocumentID, bs.ChallengeHash, s.now())
	if err != nil {
		return nil, wrapf(err, "count broker sessions")
	}
	if thing >= MaxBrokeredPerThing || all >= MaxBrokeredWaiting {
		return nil, ErrEgovBusy
	}
	reg, err := s.broker.Register(ctx, bs.Texts.Description, backURL)
	if err != nil {
		s.log.WarnContext(ctx, "egov broker: register", "err", err)
		return nil, fmt.Errorf("%w: %w", ErrEgovBroker, err)
	}
	now := s.now()
	bs.ID, bs.Registration, bs.State, bs.CreatedAt, bs.UpdatedAt = NewToken(), *reg, BrokerWaiting, now, now
	h := LinkHash(bs.ID)
	if err := s.brokerSessions.InsertBrokerSession(ctx, h, bs, now.Add(BrokerLease)); err != nil {
		return nil, wrapf(err, "store broker session")
	}
	if !s.background.Go(func(ctx context.Context) { s.runBrokered(ctx, h, false) }) {
		return nil, errors.New("egov broker: shutting down")
	}
	return bs, nil
}

// BrokerSession returns a brokered signing by its public ID.
func (s *Signing) BrokerSession(ctx context.Context, id string) (*BrokerSession, error) {
	if s.brokerSessions == nil {
		return nil, ErrEgovSession
	}
	bs, err := s.brokerSessions.BrokerSessionByHash(ctx, LinkHash(id))
	if err != nil {
		return nil, err
	}
	bs.ID = id
	return bs, nil
}

// ResumeBrokered takes over the brokered signings no instance waits for
// any longer: the ones a stop gave back, or whose instance died. serve
// calls it at start and then every BrokerLease; it returns how many it
// took.
func (s *Signing) ResumeBrokered(ctx context.Context) (int, error) {
	if s.brokerSessions == nil || s.background == nil {
		return 0, nil
	}
	now := s.now()
	hashes, err := s.brokerSessions.ClaimBrokerSessions(ctx, now, now.Add(BrokerLease))
	if err != nil {
		return 0, wrapf(err, "claim broker sessions")
	}
	for _, h := range hashes {
		s.background.Go(func(ctx context.Context) { s.runBrokered(ctx, h, true) })
	}
	return len(hashes), nil
}

var unfinished = []BrokerState{BrokerWaiting, BrokerTaken}

// runBrokered hands the data over, waits for the person and signs with the
// CMS through the same use case as every other signature. Each step starts
// from the stored state, so the work can stop at shutdown and resume.
func (s *Signing) runBrokered(ctx context.Context, h []byte, resumed bool) {
	defer s.holdLease(ctx, h)()
	bs, err := s.brokerSessions.BrokerSessionByHash(ctx, h)
	if err != nil {
		s.log.ErrorContext(ctx, "egov broker: load session", "err", err)
		return
	}
	log := s.log.With("broker_session", fmt.Sprintf("%x", h[:6]))
	if bs.ChallengeHash != nil {
		log = log.With("sign_in", true)
	} else {
		log = log.With("document", bs.DocumentID)
	}
	end := func(to BrokerState, why *Refusal, cause error) {
		if ctx.Err() != nil && to == BrokerFailed {
			return // shutdown: resumed at the next start
		}
		if _, err := s.brokerSessions.SetBrokerState(context.WithoutCancel(ctx), h, unfinished, to, why, s.now()); err != nil {
			log.Error("egov broker: record end", "state", to, "err", err)
			return
		}
		switch to {
		case BrokerSigned:
			log.Info("egov broker: signed")
		case BrokerFailed:
			log.Error("egov broker: failed", "err", cause)
		default:
			log.Info("egov broker: ended unsigned", "state", to, "reason", cause)
		}
	}
	if !s.now().Before(bs.Registration.ExpiresAt) && !bs.State.Final() {
		end(BrokerExpired, ErrEgovExpired, errors.New("past its time"))
		return
	}
	if bs.State == BrokerWaiting {
		doc, err := s.brokerDocument(ctx, bs)
		if err != nil {
			end(BrokerFailed, ErrEgovBroker, err)
			return
		}
		if err := s.broker.SendData(ctx, &bs.Registration, doc); err != nil {
			// A resumed session's data may have been taken before the stop,
			// and the broker then refuses it again: the signature may still
			// come.
			retake := resumed && ctx.Err() == nil && !errors.Is(err, ErrEgovExpired) && !errors.Is(err, ErrEgovCanceled)
			if !retake {
				s.endBrokered(err, end)
				return
			}
			log.Warn("egov broker: data refused on resume; waiting for the signature all the same", "err", err)
		}
		if _, err := s.brokerSessions.SetBrokerState(ctx, h, []BrokerState{BrokerWaiting}, BrokerTaken, nil, s.now()); err != nil {
			end(BrokerFailed, ErrEgovBroker, err)
			return
		}
		bs.State = BrokerTaken
	}
	if bs.State != BrokerTaken {
		return
	}
	cms, err := s.broker.AwaitSignature(ctx, &bs.Registration)
	if err != nil {
		s.endBrokered(err, end)
		return
	}
	// The signature is recorded even if a shutdown begins meanwhile: the
	// broker gives it once.
	rec := context.WithoutCancel(ctx)
	if bs.ChallengeHash != nil {
		_, _, err = s.identity.authSignHash(rec, bs.ChallengeHash, cms)
	} else {
		_, _, err = s.SignCMS(rec, bs.DocumentID, cms, "egov")
	}
	if r, ok := AsRefusal(err); ok {
		end(BrokerRefused, r, err)
		return
	}
	if code := refusalCode(err); code != "" {
		end(BrokerRefused, &Refusal{Code: Code(code)}, err)
		return
	}
	if err != nil {
		end(BrokerFailed, ErrEgovBroker, err)
		return
	}
	end(BrokerSigned, nil, nil)
}

// holdLease renews the session's lease while the work runs; the returned
// func stops it and gives the lease back, so that a stopped session is
// taken over at once.
func (s *Signing) holdLease(ctx context.Context, h []byte) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(BrokerLease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := s.brokerSessions.LeaseBrokerSession(ctx, h, s.now().Add(BrokerLease)); err != nil && ctx.Err() == nil {
					s.log.WarnContext(ctx, "egov broker: renew lease", "err", err)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		if err := s.brokerSessions.LeaseBrokerSession(context.WithoutCancel(ctx), h, s.now()); err != nil {
			s.log.WarnContext(ctx, "egov broker: give the lease back", "err", err)
		}
	}
}

// endBrokered records why the broker's side ended.
func (s *Signing) endBrokered(err error, end func(BrokerState, *Refusal, error)) {
	switch {
	case errors.Is(err, ErrEgovCanceled):
		end(BrokerCanceled, ErrEgovCanceled, err)
	case errors.Is(err, ErrEgovExpired):
		end(BrokerExpired, ErrEgovExpired, err)
	default:
		end(BrokerFailed, ErrEgovBroker, err)
	}
}

// refusalCode is the code of a refusal that is not core's own (the
// signature verifier's), or "".
func refusalCode(err error) string {
	var c interface{ Code() string }
	if errors.As(err, &c) {
		return c.Code()
	}
	return ""
}

// brokerDocument is what the broker hands the app: the PDF, or the
// sign-in challenge's text.
func (s *Signing) brokerDocument(ctx context.Context, bs *BrokerSession) (BrokerDocument, error) {
	out := BrokerDocument{EgovTexts: bs.Texts}
	if bs.ChallengeHash != nil {
		_, data, _, _, _, err := s.identity.chats.AuthChallengeByHash(ctx, bs.ChallengeHash)
		if err != nil {
			return out, err
		}
		out.Text, out.Data = true, data
		return out, nil
	}
	d, err := s.store.Document(ctx, bs.DocumentID)
	if err != nil {
		return out, err
	}
	out.Data, err = s.readFile(ctx, d)
	return out, err
}

// BrokerChallenge opens another brokered signing of a live sign-in
// challenge (a QR for a second phone); whichever signs first binds.
func (s *Signing) BrokerChallenge(ctx context.Context, challengeID, backURL string) (*BrokerSession, error) {
	if s.broker == nil || s.brokerSessions == nil || s.background == nil || s.captions == nil {
		return nil, errors.New("brokered egov signing is not configured")
	}
	data, _, err := s.identity.AuthChallengeData(ctx, challengeID)
	if err != nil {
		return nil, err
	}
	return s.openBrokered(ctx, &BrokerSession{ChallengeHash: LinkHash(challengeID), Texts: s.captions.Challenge(data)}, backURL)
}
