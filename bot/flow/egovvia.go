package flow

import (
	"context"
	"net/http"
	"time"

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
func (f *Flow) brokeredOffer(ctx context.Context, d *core.Document, acc access, back string) (*egovOffer, error) {
	var bs *core.BrokerSession
	var err error
	if acc.byLink {
		bs, err = f.Service.StartBrokeredByLink(ctx, d.LinkToken, back)
	} else {
		bs, err = f.Service.StartBrokeredFor(ctx, acc.actor, d.ID, back)
	}
	if err != nil {
		return nil, err
	}
	r := bs.Registration
	return &egovOffer{Mobile: r.MobileLink, Business: r.BusinessLink, QR: r.QRPNG, Until: r.ExpiresAt}, nil
}
