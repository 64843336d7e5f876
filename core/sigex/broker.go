package sigex

import (
	"context"
	"errors"
	"fmt"

	"edobot/core"
)

// Broker is the client as core's eGov broker: one document a procedure,
// detached CMS (the document is ours already).
type Broker struct{ Client *Client }

var _ core.EgovBroker = Broker{}

// Register opens a procedure.
func (b Broker) Register(ctx context.Context, description, backURL string) (*core.BrokerRegistration, error) {
	r, err := b.Client.Register(ctx, description, backURL)
	if err != nil {
		return nil, err
	}
	return &core.BrokerRegistration{QRPNG: r.QRPNG, MobileLink: r.MobileLink, BusinessLink: r.BusinessLink,
		DataURL: r.DataURL, SignURL: r.SignURL, ExpiresAt: r.ExpireAt}, nil
}

// SendData posts the document: a PDF, or a sign-in challenge as text.
func (b Broker) SendData(ctx context.Context, r *core.BrokerRegistration, doc core.BrokerDocument) error {
	d := Document{NameRu: doc.NameRu, NameKz: doc.NameKz, NameEn: doc.NameEn, Mime: MimePDF, Data: doc.Data}
	if doc.Text {
		d.Mime = MimeText
	}
	for _, m := range doc.Meta {
		d.Meta = append(d.Meta, Meta{Name: m.Name, Value: m.Value})
	}
	return coreError(b.Client.SendData(ctx, r.DataURL, r.ExpiresAt, MethodDetached, []Document{d}))
}

// AwaitSignature waits for the one CMS.
func (b Broker) AwaitSignature(ctx context.Context, r *core.BrokerRegistration) ([]byte, error) {
	cms, err := b.Client.AwaitSignatures(ctx, r.SignURL, r.ExpiresAt)
	if err != nil {
		return nil, coreError(err)
	}
	if len(cms) != 1 {
		return nil, fmt.Errorf("sigex: %w: %d signatures for one document", ErrMalformed, len(cms))
	}
	return cms[0], nil
}

// coreError adds core's refusal to a cancel or an expiry.
func coreError(err error) error {
	switch {
	case errors.Is(err, ErrCanceled):
		return fmt.Errorf("%w: %w", core.ErrEgovCanceled, err)
	case errors.Is(err, ErrExpired):
		return fmt.Errorf("%w: %w", core.ErrEgovExpired, err)
	}
	return err
}
