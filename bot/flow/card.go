package flow

import (
	"context"
	"io"

	"edobot/core"
)

// cardPDF renders the «Электронная карточка», whose QR codes lead to the
// document's link page.
func (f *Flow) cardPDF(ctx context.Context, u *core.ChatUser, d *core.Document, acc core.ChatAccess) ([]byte, error) {
	var rc io.ReadCloser
	var err error
	if acc.ByLink {
		rc, _, err = f.Service.CardByLink(ctx, d.LinkToken, f.linkURL(d), core.ChatVisitor(u.Channel, u.ID))
	} else {
		rc, _, err = f.Service.Card(ctx, acc.Actor, d.ID, f.linkURL(d))
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
