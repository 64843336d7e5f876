package core

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// EgovSession is one signing session of the eGov Mobile / eGov Business QR
// protocol: a QR or deep link opens it once, within its lifetime.
type EgovSession struct {
	ID         string // public, in the URL; only its hash is stored
	DocumentID uuid.UUID
	ExpiresAt  time.Time
	// BackURL is where the app sends the person once they signed: the chat
	// or the page the session was started from.
	BackURL string
}

// EgovStore keeps signing sessions.
type EgovStore interface {
	InsertEgovSession(ctx context.Context, idHash []byte, documentID uuid.UUID, createdAt, expiresAt time.Time, backURL string) error
	// EgovSessionByHash returns the session's document, token hash (nil before
	// the app asked for it), expiry and use.
	EgovSessionByHash(ctx context.Context, idHash []byte) (documentID uuid.UUID, tokenHash []byte, expiresAt time.Time, used bool, err error)
	SetEgovToken(ctx context.Context, idHash, tokenHash []byte) error
	// UseEgovSession marks an unused, unexpired session used and returns its
	// back URL; false when it was not.
	UseEgovSession(ctx context.Context, idHash []byte, now time.Time) (backURL string, ok bool, err error)
}

// Refusals of the eGov protocol.
var (
	ErrEgovSession = &Refusal{Code: CodeEgovSession} // unknown, expired or used
	ErrEgovToken   = &Refusal{Code: CodeEgovToken}
)

// DefaultEgovTTL is how long a QR stays usable.
const DefaultEgovTTL = 10 * time.Minute

// StartEgovSession opens a signing session for a document that can still be
// signed, reached through its external link. back is where the app sends
// the person once they signed.
func (s *Signing) StartEgovSession(ctx context.Context, linkToken string, ttl time.Duration, back string) (*EgovSession, error) {
	doc, err := s.linkDocument(ctx, linkToken)
	if err != nil {
		return nil, err
	}
	return s.startEgov(ctx, doc, ttl, back)
}

// StartEgovSessionFor opens a signing session for one of the actor's
// documents (the API, the bots).
func (s *Signing) StartEgovSessionFor(ctx context.Context, a Actor, id uuid.UUID, ttl time.Duration, back string) (*EgovSession, error) {
	doc, side, err := s.document(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if err := Check(doc, side, ActionSign); err != nil {
		return nil, err
	}
	return s.startEgov(ctx, doc, ttl, back)
}

func (s *Signing) startEgov(ctx context.Context, doc *Document, ttl time.Duration, back string) (*EgovSession, error) {
	if ttl <= 0 {
		ttl = DefaultEgovTTL
	}
	if doc.DeletedAt != nil || doc.Status.Final() {
		return nil, Check(doc, SideRecipient, ActionSign)
	}
	now := s.now()
	sess := &EgovSession{ID: NewToken(), DocumentID: doc.ID, ExpiresAt: now.Add(ttl), BackURL: back}
	if err := s.egov.InsertEgovSession(ctx, LinkHash(sess.ID), doc.ID, now, sess.ExpiresAt, back); err != nil {
		return nil, wrapf(err, "store egov session")
	}
	return sess, nil
}

// EgovSessionLive reports ErrEgovSession unless the session can still be used.
func (s *Signing) EgovSessionLive(ctx context.Context, sessionID string) error {
	_, _, expires, used, err := s.egov.EgovSessionByHash(ctx, LinkHash(sessionID))
	if err != nil || used || !s.now().Before(expires) {
		return ErrEgovSession
	}
	return nil
}

// EgovDescribe answers the app's first request: the document behind a live
// session and a fresh one-time token for the next two requests.
func (s *Signing) EgovDescribe(ctx context.Context, sessionID string) (*Document, string, time.Time, error) {
	h := LinkHash(sessionID)
	docID, _, expires, used, err := s.egov.EgovSessionByHash(ctx, h)
	if err != nil || used || !s.now().Before(expires) {
		return nil, "", time.Time{}, ErrEgovSession
	}
	d, err := s.store.Document(ctx, docID)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	if d.DeletedAt != nil || d.Status.Final() {
		return nil, "", time.Time{}, Check(d, SideRecipient, ActionSign)
	}
	token := NewToken()
	if err := s.egov.SetEgovToken(ctx, h, LinkHash(token)); err != nil {
		return nil, "", time.Time{}, wrapf(err, "egov token")
	}
	return d, token, expires, nil
}

// egovAuthorise checks the session and its bearer token.
func (s *Signing) egovAuthorise(ctx context.Context, sessionID, token string) (uuid.UUID, error) {
	docID, tokenHash, expires, used, err := s.egov.EgovSessionByHash(ctx, LinkHash(sessionID))
	if err != nil || used || !s.now().Before(expires) {
		return uuid.Nil, ErrEgovSession
	}
	if !tokenMatches(tokenHash, token) {
		return uuid.Nil, ErrEgovToken
	}
	return docID, nil
}

// EgovDocument returns the document and its PDF for the app to show and sign.
func (s *Signing) EgovDocument(ctx context.Context, sessionID, token string) (*Document, []byte, error) {
	docID, err := s.egovAuthorise(ctx, sessionID, token)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.store.Document(ctx, docID)
	if err != nil {
		return nil, nil, err
	}
	pdf, err := s.readFile(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	return d, pdf, nil
}

// EgovSigned is what a signature through the app did.
type EgovSigned struct {
	Document *Document
	Side     Side
	// BackURL is where the app sends the person: the session's start.
	BackURL string
}

// EgovSign takes the signed CMS the app sends back. The session is used up
// by the attempt, successful or not: one QR, one use.
func (s *Signing) EgovSign(ctx context.Context, sessionID, token string, cms []byte) (*EgovSigned, error) {
	docID, err := s.egovAuthorise(ctx, sessionID, token)
	if err != nil {
		return nil, err
	}
	back, ok, err := s.egov.UseEgovSession(ctx, LinkHash(sessionID), s.now())
	if err != nil {
		return nil, wrapf(err, "use egov session")
	}
	if !ok {
		return nil, ErrEgovSession
	}
	d, side, err := s.SignCMS(ctx, docID, cms, "egov")
	if err != nil {
		return nil, err
	}
	return &EgovSigned{Document: d, Side: side, BackURL: back}, nil
}
