package flow

import (
	"context"
	"fmt"
	"strings"

	"github.com/skip2/go-qrcode"

	"edobot/core"
	"edobot/core/egov"
)

// authSwitch follows CodeAuth on the button that signs in again, for
// another organisation.
const authSwitch = "switch"

// startAuth opens a sign-in challenge: the person signs it once with their
// key, and the certificate binds this chat to their IIN and organisation.
func (f *Flow) startAuth(ctx context.Context, u *core.ChatUser, switching bool) ([]Screen, error) {
	if u.Bound() && !switching {
		_, org, err := f.actor(ctx, u)
		if err != nil {
			return nil, err
		}
		return []Screen{{Text: f.t(u, "chat.already_signed_in", map[string]any{"IIN": u.IIN, "Org": org.Name, "Number": org.Number}),
			Buttons: [][]Button{
				{{Label: f.t(u, "chat.switch_org", nil), Data: callbackData(CodeAuth, authSwitch)}},
				{f.menuButton(u)},
			}}}, nil
	}
	c, err := f.Service.StartAuth(ctx, u, f.EgovTTL)
	if err != nil {
		return nil, err
	}
	l := egov.NewLaunch(f.Egov, egov.SignInAPI1(f.PublicURL, c.ID))
	if f.Service.ViaBroker() {
		// The broker's procedure for the same challenge, and its links.
		bs, err := f.Service.BrokerChallenge(ctx, c.ID, "")
		if err != nil {
			return nil, err
		}
		l.Mobile, l.Business = bs.Registration.MobileLink, bs.Registration.BusinessLink
	}
	return []Screen{{Text: f.t(u, "chat.login_how", map[string]any{"Until": kzClock(c.ExpiresAt)}),
		Buttons: [][]Button{
			{{Label: "📱 eGov Mobile", URL: l.Mobile}},
			{{Label: "💼 eGov Business", URL: l.Business}},
			{{Label: "🔳 " + f.t(u, "chat.sign_qr", nil), Data: callbackData(CodeAuthQR, c.ID)}},
			{{Label: "💻 NCALayer", URL: strings.TrimRight(f.PublicURL, "/") + "/auth/" + c.ID}},
		}}}, nil
}

// authQR draws the sign-in challenge's QR for the eGov app on another phone.
func (f *Flow) authQR(ctx context.Context, u *core.ChatUser, id string) ([]Screen, error) {
	if _, _, err := f.Service.AuthChallengeData(ctx, id); err != nil {
		return f.mustMenu(ctx, u), err
	}
	if f.Service.ViaBroker() {
		bs, err := f.Service.BrokerChallenge(ctx, id, "")
		if err != nil {
			return f.mustMenu(ctx, u), err
		}
		o := egovOffer{QR: bs.Registration.QRPNG}
		return []Screen{{Text: f.t(u, "chat.login_qr_caption", nil), Photo: o.photo()}}, nil
	}
	png, err := qrcode.Encode(egov.NewLaunch(f.Egov, egov.SignInAPI1(f.PublicURL, id)).QRPayload, qrcode.Medium, 512)
	if err != nil {
		return nil, fmt.Errorf("auth qr: %w", err)
	}
	return []Screen{{Text: f.t(u, "chat.login_qr_caption", nil), Photo: &File{Name: "egov-qr.png", MIME: "image/png", Data: png}}}, nil
}

// bound is what a chat shows once the person proved who they are.
func (f *Flow) bound(ctx context.Context, u *core.ChatUser, org *core.Organisation) []Screen {
	out := []Screen{{Text: f.t(u, "chat.bound", map[string]any{"Org": org.Name, "Number": org.Number, "IIN": u.IIN})}}
	return append(out, f.mustMenu(ctx, u)...)
}

// joined tells a chat of its organisation that another chat now acts for it.
func (f *Flow) joined(to, newcomer *core.ChatUser, org *core.Organisation) []Screen {
	return []Screen{{Text: f.t(to, "chat.joined", map[string]any{"Org": org.Name, "Who": core.ChatWho(newcomer), "IIN": newcomer.IIN})}}
}
