package flow

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/skip2/go-qrcode"

	"edobot/bot/i18n"
	"edobot/core"
	"edobot/core/egov"
)

// The ИС ЭСФ screen of a signed-in manager: whether the cabinet password is
// kept and which tickets are active, with the ways to enter or delete the
// password (on a one-time HTTPS page, never in the chat), to sign a new
// ticket (the eGov app signs it as XML, or the NCALayer page on a
// computer), and «Активные сессии» with an end for each.

// esfWord reports whether typed text asks for the ИС ЭСФ screen: a
// messenger without commands (WhatsApp) has the words (esf.words), in any
// of the languages, as a person may type the system's name in another.
func (f *Flow) esfWord(text string) bool {
	text = strings.ToLower(strings.TrimSpace(text))
	for _, l := range i18n.Languages {
		for _, w := range strings.Split(f.Cat.Text(l, "esf.words", nil), ",") {
			if text == strings.ToLower(strings.TrimSpace(w)) {
				return true
			}
		}
	}
	return false
}

// esfScreen is the ИС ЭСФ screen.
func (f *Flow) esfScreen(ctx context.Context, u *core.ChatUser) ([]Screen, error) {
	iv := f.Service.ESF
	if iv == nil {
		return []Screen{{Text: f.t(u, "esf.off", nil), Buttons: [][]Button{{f.menuButton(u)}}}}, nil
	}
	if !u.Bound() {
		return f.mustMenu(ctx, u), core.ErrESFNotBound
	}
	_, org, err := f.actor(ctx, u)
	if err != nil {
		return nil, err
	}
	kept, err := iv.HasPassword(ctx, u)
	if err != nil {
		return nil, err
	}
	tickets, err := iv.ActiveTickets(ctx, u)
	if err != nil {
		return nil, err
	}
	pw := f.t(u, "esf.password_none", nil)
	if kept {
		pw = f.t(u, "esf.password_kept", nil)
	}
	tk := f.t(u, "esf.tickets_none", nil)
	if len(tickets) > 0 {
		tk = f.t(u, "esf.tickets_some", map[string]any{"Count": len(tickets), "Until": kz(tickets[0].ExpiresAt)})
	}
	text := f.t(u, "esf.screen", map[string]any{"Org": org.Name, "Number": org.Number, "Password": pw, "Tickets": tk})
	label := "esf.enter_password"
	if kept {
		label = "esf.replace_password"
	}
	rows := [][]Button{{{Label: f.t(u, label, nil), Data: callbackData(CodeESFPassword)}}}
	if kept {
		rows = append(rows, []Button{{Label: f.t(u, "esf.sign_ticket", nil), Data: callbackData(CodeESFTicket)}},
			[]Button{{Label: f.t(u, "esf.delete_password", nil), Data: callbackData(CodeESFPasswordDelete)}})
	}
	rows = append(rows, []Button{{Label: f.t(u, "esf.sessions", nil) + " (" + strconv.Itoa(len(tickets)) + ")", Data: callbackData(CodeESFSessions)}},
		[]Button{f.menuButton(u)})
	return []Screen{{Text: text, Buttons: rows}}, nil
}

// esfChoice answers an ИС ЭСФ button; rest is what follows "esf.".
func (f *Flow) esfChoice(ctx context.Context, u *core.ChatUser, st *state, rest string) ([]Screen, error) {
	if rest == "" {
		return f.esfScreen(ctx, u)
	}
	code, arg, ok := parseESFCode(rest)
	if !ok {
		return f.stale(ctx, u, st), nil
	}
	iv := f.Service.ESF
	if iv == nil {
		return []Screen{{Text: f.t(u, "esf.off", nil), Buttons: [][]Button{{f.menuButton(u)}}}}, nil
	}
	if !u.Bound() {
		return f.mustMenu(ctx, u), core.ErrESFNotBound
	}
	back := []Button{{Label: "🧾 " + f.t(u, "esf.menu", nil), Data: callbackData(CodeESF)}}
	switch code {
	case CodeESFConfirm:
		id, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			return f.stale(ctx, u, st), nil
		}
		inv, err := iv.Invoice(ctx, u, id)
		if err != nil {
			return nil, err
		}
		if err := iv.Confirm(ctx, u, id); err != nil {
			return nil, err
		}
		// The answer takes the place of the notice tapped: the invoice stays
		// readable in the chat, marked received, without its button.
		return []Screen{{Text: f.esfInvoiceText(u, "esf.invoice", inv) + "\n\n" +
			f.t(u, "esf.confirmed", map[string]any{"Number": inv.Number, "Date": inv.Date, "Seller": inv.SellerName})}}, nil
	case CodeESFPassword:
		o, err := iv.OpenPasswordPage(ctx, u)
		if err != nil {
			return nil, err
		}
		link := strings.TrimRight(f.PublicURL, "/") + egov.ESFPasswordPath + o.ID + "?lang=" + u.Language
		return []Screen{{Text: f.t(u, "esf.password_page", map[string]any{"Until": kzClock(o.ExpiresAt)}),
			Buttons: [][]Button{{{Label: f.t(u, "esf.open_page", nil), URL: link}}}}}, nil
	case CodeESFPasswordDelete:
		return []Screen{{Text: f.t(u, "esf.confirm_delete_password", nil), Buttons: [][]Button{
			{{Label: f.t(u, "esf.yes_delete", nil), Data: callbackData(CodeESFPasswordDeleteY)}}, back}}}, nil
	case CodeESFPasswordDeleteY:
		if err := iv.DeletePassword(ctx, u); err != nil {
			return nil, err
		}
		s, err := f.esfScreen(ctx, u)
		return append([]Screen{{Text: f.t(u, "esf.password_deleted", nil)}}, s...), err
	case CodeESFTicket:
		return f.esfSign(ctx, u)
	case CodeESFTicketQR:
		return f.esfSignQR(ctx, u, arg)
	case CodeESFSessions:
		return f.esfSessions(ctx, u)
	case CodeESFEnd:
		id, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			return f.stale(ctx, u, st), nil
		}
		if err := iv.EndTicket(ctx, u, id); err != nil {
			return nil, err
		}
		s, err := f.esfSessions(ctx, u)
		return append([]Screen{{Text: f.t(u, "esf.ended", nil)}}, s...), err
	}
	return f.stale(ctx, u, st), nil
}

// esfSign asks ИС ЭСФ for a ticket and offers its signing: the eGov apps
// on this phone, their QR for another, the NCALayer page on a computer.
func (f *Flow) esfSign(ctx context.Context, u *core.ChatUser) ([]Screen, error) {
	o, err := f.Service.ESF.StartTicketSigning(ctx, u)
	if err != nil {
		return nil, err
	}
	l := egov.NewLaunch(f.Egov, egov.TicketAPI1(f.PublicURL, o.ID))
	return []Screen{{Text: f.t(u, "esf.sign_how", map[string]any{"Until": kzClock(o.ExpiresAt)}),
		Buttons: [][]Button{
			{{Label: "📱 eGov Mobile", URL: l.Mobile}},
			{{Label: "💼 eGov Business", URL: l.Business}},
			{{Label: "🔳 " + f.t(u, "chat.sign_qr", nil), Data: callbackData(CodeESFTicketQR, o.ID)}},
			{{Label: "💻 NCALayer", URL: strings.TrimRight(f.PublicURL, "/") + egov.ESFTicketPath + o.ID + "?lang=" + u.Language}},
		}}}, nil
}

// esfSignQR draws a signing's QR for the eGov app on another phone.
func (f *Flow) esfSignQR(ctx context.Context, u *core.ChatUser, id string) ([]Screen, error) {
	if _, _, _, err := f.Service.ESF.TicketToSign(ctx, id); err != nil {
		return nil, err
	}
	png, err := qrcode.Encode(egov.NewLaunch(f.Egov, egov.TicketAPI1(f.PublicURL, id)).QRPayload, qrcode.Medium, 512)
	if err != nil {
		return nil, fmt.Errorf("esf qr: %w", err)
	}
	return []Screen{{Text: f.t(u, "esf.sign_qr_caption", nil), Photo: &File{Name: "egov-qr.png", MIME: "image/png", Data: png}}}, nil
}

// esfSessions is «Активные сессии»: who signed each active ticket, with
// which key, until when, and a button to end it.
func (f *Flow) esfSessions(ctx context.Context, u *core.ChatUser) ([]Screen, error) {
	tickets, err := f.Service.ESF.ActiveTickets(ctx, u)
	if err != nil {
		return nil, err
	}
	back := []Button{{Label: "🧾 " + f.t(u, "esf.menu", nil), Data: callbackData(CodeESF)}}
	if len(tickets) == 0 {
		return []Screen{{Text: f.t(u, "esf.sessions_none", nil), Buttons: [][]Button{
			{{Label: f.t(u, "esf.sign_ticket", nil), Data: callbackData(CodeESFTicket)}}, back}}}, nil
	}
	lines := []string{f.t(u, "esf.sessions_list", nil)}
	var rows [][]Button
	for i, t := range tickets {
		until := kz(t.ExpiresAt)
		lines = append(lines, strconv.Itoa(i+1)+". "+f.t(u, "esf.session_line", map[string]any{"Who": t.Name, "IIN": t.IIN,
			"Key": f.t(u, "esf.key."+string(t.KeyKind), nil), "Serial": t.KeySerial, "Until": until}))
		rows = append(rows, []Button{{Label: f.t(u, "esf.end", map[string]any{"N": i + 1, "Who": t.Name}),
			Data: callbackData(CodeESFEnd, strconv.FormatInt(t.ID, 10))}})
	}
	return []Screen{{Text: strings.Join(lines, "\n"), Buttons: append(rows, back)}}, nil
}
