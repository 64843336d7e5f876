package flow

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"edobot/core"
)

// egovOffer is one eGov signing as a chat shows it: the apps' links on this
// phone and the QR for another.
type egovOffer struct {
	Mobile, Business string
	QR               []byte // an image; nil unless asked for
	Until            time.Time
}

func (o *egovOffer) photo() *File {
	return &File{Name: "egov-qr.png", MIME: http.DetectContentType(o.QR), Data: o.QR}
}

// brokeredOffer opens the signing through the broker, whose links and QR
// the chat shows as they are; the broker's procedure waits for the person
// in the background.
func (f *Flow) brokeredOffer(ctx context.Context, d *core.Document, acc core.ChatAccess, back string) (*egovOffer, error) {
	var bs *core.BrokerSession
	var err error
	if acc.ByLink {
		bs, err = f.Service.StartBrokeredByLink(ctx, d.LinkToken, back)
	} else {
		bs, err = f.Service.StartBrokeredFor(ctx, acc.Actor, d.ID, back)
	}
	if err != nil {
		return nil, err
	}
	r := bs.Registration
	return &egovOffer{Mobile: r.MobileLink, Business: r.BusinessLink, QR: r.QRPNG, Until: r.ExpiresAt}, nil
}

// sessionKey is one chat's signing of one document.
type sessionKey struct {
	chat int64
	doc  uuid.UUID
}

// sessionReuseMargin is how long a kept session must still have to be
// offered again: less would expire while the person opens the app.
const sessionReuseMargin = time.Minute

// liveSession is the eGov session the chat opened for the document, when it
// is still unused and has time left; nil otherwise.
func (f *Flow) liveSession(ctx context.Context, key sessionKey) *core.EgovSession {
	if f.sessions == nil {
		return nil
	}
	v, ok := f.sessions.Load(key)
	if !ok {
		return nil
	}
	sess := v.(*core.EgovSession)
	if !f.now().Add(sessionReuseMargin).Before(sess.ExpiresAt) || f.Service.EgovSessionLive(ctx, sess.ID) != nil {
		f.sessions.CompareAndDelete(key, v)
		return nil
	}
	return sess
}

// keepSession remembers a session for liveSession, forgetting those that
// expired.
func (f *Flow) keepSession(key sessionKey, sess *core.EgovSession) {
	if f.sessions == nil {
		return
	}
	now := f.now()
	f.sessions.Range(func(k, v any) bool {
		if !now.Before(v.(*core.EgovSession).ExpiresAt) {
			f.sessions.CompareAndDelete(k, v)
		}
		return true
	})
	f.sessions.Store(key, sess)
}
