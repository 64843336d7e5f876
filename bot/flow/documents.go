package flow

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/skip2/go-qrcode"

	"edobot/core"
	"edobot/core/egov"
)

// docID packs a document id into 22 characters of a button's data.
func docID(id uuid.UUID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

func parseDocID(s string) (uuid.UUID, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return uuid.Nil, false
	}
	id, _ := uuid.FromBytes(b)
	return id, true
}

// docButton is an action on a document; it carries the version the card
// showed, so an action from an outdated card shows the current one instead.
func docButton(label string, d *core.Document, act Code) Button {
	return Button{Label: label, Data: string(CodeDocument) + "." + docID(d.ID) + "." + strconv.FormatInt(d.Version, 10) + "." + string(act)}
}

// reach finds a document for a person as core.DocumentAccess decides: as
// the person themself, through their organisation, or through a link they
// opened in this chat.
func (f *Flow) reach(ctx context.Context, u *core.ChatUser, id uuid.UUID) (*core.Document, core.ChatAccess, error) {
	a, err := f.chatActor(ctx, u)
	if err != nil {
		return nil, core.ChatAccess{}, err
	}
	return f.Service.ReachDocument(ctx, u, a, id)
}

// chatActor is the chat's actor, zero for a chat not bound to an
// organisation.
func (f *Flow) chatActor(ctx context.Context, u *core.ChatUser) (core.Actor, error) {
	if !u.Bound() {
		return core.Actor{}, nil
	}
	a, _, err := f.actor(ctx, u)
	return a, err
}

// openLink is /start <token>: the recipient (or anyone holding the link)
// sees the document's card and may sign it from the chat.
func (f *Flow) openLink(ctx context.Context, u *core.ChatUser, st *state, token string) ([]Screen, error) {
	d, err := f.Service.OpenLink(ctx, token, core.ChatVisitor(u.Channel, u.ID))
	if err != nil {
		return f.mustMenu(ctx, u), err
	}
	side := core.SideRecipient
	acc := core.ChatAccess{Side: side, ByLink: true}
	if u.Bound() {
		if dd, a, err := f.reach(ctx, u, d.ID); err == nil && !a.ByLink {
			d, acc = dd, a
		}
	}
	if err := f.Service.FollowDocument(ctx, d.ID, u.ID, acc.Side); err != nil {
		return nil, err
	}
	if st.Step != stepIdle {
		st.set(stepIdle)
		st.Draft = draft{}
	}
	card, err := f.cardFor(ctx, u, d, acc)
	if err != nil {
		return nil, err
	}
	return []Screen{card}, nil
}

// cardFor draws a document as the side sees it, with exactly the actions the
// action table allows that side now.
func (f *Flow) cardFor(ctx context.Context, u *core.ChatUser, d *core.Document, acc core.ChatAccess) (Screen, error) {
	signers, err := f.Service.Signers(ctx, []uuid.UUID{d.ID})
	if err != nil {
		return Screen{}, err
	}
	return Screen{Text: f.cardText(u, d, signers[d.ID]), Buttons: f.cardButtons(u, d, acc)}, nil
}

// title is "Договор №12 от 01.11.2026" in the person's language.
func (f *Flow) title(u *core.ChatUser, d *core.Document) string {
	title := f.t(u, "chat.title", map[string]any{"Type": f.t(u, "type."+string(d.Type), nil), "Number": d.Number,
		"Date": d.Date.Format("02.01.2006")})
	if d.Demo {
		// A demo document says so wherever the chat names it: its card,
		// its notifications, the texts that pass its link on.
		title = "🧪 " + f.t(u, "demo.mark", nil) + " · " + title
	}
	return title
}

func (f *Flow) cardText(u *core.ChatUser, d *core.Document, sigs []core.Signature) string {
	var b strings.Builder
	b.WriteString("📄 " + f.title(u, d) + "\n")
	b.WriteString(f.t(u, "chat.card_sender", map[string]any{"Name": d.SenderName, "Number": d.SenderNumber}) + "\n")
	b.WriteString(f.t(u, "chat.card_recipient", map[string]any{"Name": d.RecipientName, "Number": d.RecipientNumber}) + "\n")
	status := f.Cat.Status(u.Language, d.Status)
	if d.DeletedAt != nil {
		status = f.t(u, "chat.deleted", nil)
	}
	b.WriteString(f.t(u, "chat.card_status", map[string]any{"Status": statusIcon[d.Status] + " " + status}) + "\n")
	b.WriteString(f.t(u, "chat.card_file", map[string]any{"Pages": d.File.Pages, "Size": f.sizeText(u, d.File.Size)}) + "\n")
	for _, side := range []core.Side{core.SideSender, core.SideRecipient} {
		label := f.t(u, "chat.side_"+string(side), nil)
		var sig *core.Signature
		for i := range sigs {
			if sigs[i].Side == side {
				sig = &sigs[i]
			}
		}
		switch {
		case sig != nil:
			b.WriteString(f.t(u, "chat.card_signed", map[string]any{"Side": label, "Name": sig.Signer.FullName,
				"IIN": sig.Signer.IIN, "At": kz(sig.SignedAt)}) + "\n")
		case d.Status == core.StatusRevoked || d.DeletedAt != nil:
		default:
			b.WriteString(f.t(u, "chat.card_waiting", map[string]any{"Side": label}) + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

var statusIcon = map[core.Status]string{
	core.StatusCreated: "🆕", core.StatusSigning: "✍️", core.StatusSigned: "✅", core.StatusRevoked: "⛔",
}

// sizeText is a file's size in the person's language: bytes as they are,
// kilobytes and megabytes (of 1024) to one decimal, with the language's
// decimal separator ("1,1 КБ", "1.1 KB").
func (f *Flow) sizeText(u *core.ChatUser, n int64) string {
	unit, v := "unit.bytes", float64(n)
	switch {
	case n < 1<<10:
		return f.t(u, unit, map[string]any{"N": n})
	case n < 1<<20:
		unit, v = "unit.kb", v/(1<<10)
	default:
		unit, v = "unit.mb", v/(1<<20)
	}
	num := strings.Replace(strconv.FormatFloat(v, 'f', 1, 64), ".", decimalMark(u.Language), 1)
	return f.t(u, unit, map[string]any{"N": num})
}

// decimalMark parts a number's whole from its fraction in lang: a comma in
// Russian and Kazakh, a point in English.
func decimalMark(lang string) string {
	if lang == "en" {
		return "."
	}
	return ","
}

// actionButtons is the card's button for each action of the action table;
// ownRow: it stands alone in its row, the rest go two to a row.
var actionButtons = map[core.Action]struct {
	icon   string
	code   Code
	ownRow bool
}{
	core.ActionSign:      {"✍️", CodeSign, true},
	core.ActionRevoke:    {"⛔", CodeRevoke, false},
	core.ActionDownload:  {"⬇️", CodeDownloads, false},
	core.ActionCopy:      {"📑", CodeCopy, false},
	core.ActionArchive:   {"🗄", CodeArchive, false},
	core.ActionUnarchive: {"📤", CodeUnarchive, false},
	core.ActionDelete:    {"🗑", CodeDelete, false},
	core.ActionEdit:      {"✏️", CodeEdit, false},
}

// cardButtons are the actions allowed now. A person who reached the
// document only through its link can sign and download; the rest needs the
// identity of a side.
func (f *Flow) cardButtons(u *core.ChatUser, d *core.Document, acc core.ChatAccess) [][]Button {
	return f.cardRows(u, d, acc, true)
}

// cardRows are cardButtons, with the «share» row or without it (where the
// ways to share are on the card already).
func (f *Flow) cardRows(u *core.ChatUser, d *core.Document, acc core.ChatAccess, share bool) [][]Button {
	if d.DeletedAt != nil {
		return [][]Button{{f.menuButton(u)}}
	}
	var rows [][]Button
	var row []Button
	for _, a := range core.Allowed(d, acc.Side) {
		b, ok := actionButtons[a]
		if !ok || acc.ByLink && !codes[b.code].link {
			continue
		}
		btn := docButton(b.icon+" "+f.t(u, "action."+string(a), nil), d, b.code)
		if b.ownRow {
			rows = append(rows, []Button{btn})
			continue
		}
		if row = append(row, btn); len(row) == 2 {
			rows, row = append(rows, row), nil
		}
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	if share && acc.Side == core.SideSender && !acc.ByLink && !d.Status.Final() {
		rows = append(rows, []Button{docButton("🔗 "+f.t(u, "chat.share", nil), d, CodeShare)})
	}
	rows = append(rows, []Button{docButton("🔄 "+f.t(u, "chat.refresh", nil), d, CodeView), f.menuButton(u)})
	return rows
}

// documentChoice handles "d.<id>.<version>.<action>".
func (f *Flow) documentChoice(ctx context.Context, u *core.ChatUser, st *state, rest string) ([]Screen, error) {
	parts := strings.SplitN(rest, ".", 3)
	if len(parts) != 3 {
		return f.stale(ctx, u, st), nil
	}
	id, ok := parseDocID(parts[0])
	ver, err := strconv.ParseInt(parts[1], 10, 64)
	act, code, known := parseDocumentCode(parts[2])
	if !ok || err != nil || !known {
		return f.stale(ctx, u, st), nil
	}
	d, acc, err := f.reach(ctx, u, id)
	if err != nil {
		return []Screen{{Text: "⚠️ " + f.Cat.Error(u.Language, err), Buttons: [][]Button{{f.menuButton(u)}}}}, nil
	}
	// An action that changes the document is taken only from a card that
	// shows its current version: a second quick tap, or a tap on an old
	// card, shows the document as it is now.
	if code.mutating && ver != d.Version {
		card, err := f.cardFor(ctx, u, d, acc)
		if err != nil {
			return nil, err
		}
		card.Text = f.t(u, "chat.doc_changed", nil) + "\n\n" + card.Text
		return []Screen{card}, nil
	}
	if acc.ByLink && !code.link {
		return f.cardScreen(ctx, u, d, acc, core.ErrNotFound)
	}
	switch act {
	case CodeView:
		card, err := f.cardFor(ctx, u, d, acc)
		if err != nil {
			return nil, err
		}
		card.Replace = true
		return []Screen{card}, nil
	case CodeSign:
		return f.signScreen(ctx, u, d, acc)
	case CodeSignQR:
		return f.signQR(ctx, u, d, acc)
	case CodeRevoke:
		return f.confirmAction(u, d, "chat.confirm_revoke", CodeRevokeYes), nil
	case CodeDelete:
		return f.confirmAction(u, d, "chat.confirm_delete", CodeDeleteYes), nil
	case CodeRevokeYes:
		nd, err := f.Service.Revoke(ctx, acc.Actor, d.ID)
		return f.afterChange(ctx, u, d, nd, acc, err)
	case CodeDeleteYes:
		if err := f.Service.DeleteDocument(ctx, acc.Actor, d.ID); err != nil {
			return f.cardScreen(ctx, u, d, acc, err)
		}
		return append([]Screen{{Text: f.t(u, "chat.deleted_done", nil), Replace: true}}, f.mustMenu(ctx, u)...), nil
	case CodeArchive:
		nd, err := f.Service.Archive(ctx, acc.Actor, d.ID)
		return f.afterChange(ctx, u, d, nd, acc, err)
	case CodeUnarchive:
		nd, err := f.Service.Unarchive(ctx, acc.Actor, d.ID)
		return f.afterChange(ctx, u, d, nd, acc, err)
	case CodeCopy:
		nd, err := f.Service.Copy(ctx, acc.Actor, d.ID, "chatcopy:"+strconv.FormatInt(u.ID, 10)+":"+d.ID.String()+":"+strconv.FormatInt(d.Version, 10))
		if err != nil {
			return f.cardScreen(ctx, u, d, acc, err)
		}
		if err := f.Service.FollowDocument(ctx, nd.ID, u.ID, core.SideSender); err != nil {
			return nil, err
		}
		card, err := f.cardFor(ctx, u, nd, core.ChatAccess{Actor: acc.Actor, Side: core.SideSender})
		if err != nil {
			return nil, err
		}
		card.Text = f.t(u, "chat.copied", nil) + "\n\n" + card.Text
		return []Screen{card}, nil
	case CodeDownloads:
		return []Screen{f.downloadsScreen(u, d, acc)}, nil
	case CodeOriginal, CodeCardPDF, CodeEzSigner:
		return f.download(ctx, u, d, acc, act)
	case CodeShare:
		return []Screen{f.shareScreen(u, d)}, nil
	case CodeSendRecipient:
		return f.sendToRecipient(ctx, u, d, acc)
	case CodeEdit:
		return []Screen{f.editScreen(u, d)}, nil
	case CodeEditNumber, CodeEditDate:
		return f.startEdit(ctx, u, st, d, act)
	case CodeEditType:
		return []Screen{f.editTypeScreen(u, d)}, nil
	}
	if dt, ok := act.typeOf(); ok {
		nd, err := f.Service.EditDocument(ctx, acc.Actor, d.ID, core.DocumentEdit{Version: ver, Type: &dt})
		return f.afterChange(ctx, u, d, nd, acc, err)
	}
	return f.stale(ctx, u, st), nil
}

// cardScreen shows a refusal with the card as it is now.
func (f *Flow) cardScreen(ctx context.Context, u *core.ChatUser, d *core.Document, acc core.ChatAccess, cause error) ([]Screen, error) {
	if nd, a, err := f.reach(ctx, u, d.ID); err == nil {
		d, acc = nd, a
	}
	card, err := f.cardFor(ctx, u, d, acc)
	if err != nil {
		return nil, err
	}
	return []Screen{card}, cause
}

func (f *Flow) afterChange(ctx context.Context, u *core.ChatUser, old, d *core.Document, acc core.ChatAccess, err error) ([]Screen, error) {
	if err != nil {
		return f.cardScreen(ctx, u, old, acc, err)
	}
	card, err := f.cardFor(ctx, u, d, acc)
	if err != nil {
		return nil, err
	}
	card.Replace = true
	return []Screen{card}, nil
}

func (f *Flow) confirmAction(u *core.ChatUser, d *core.Document, question string, yes Code) []Screen {
	return []Screen{{Text: f.t(u, question, map[string]any{"Title": f.title(u, d)}), Buttons: [][]Button{
		{docButton(f.t(u, "chat.yes", nil), d, yes), docButton(f.t(u, "chat.no", nil), d, CodeView)},
	}}}
}

// signScreen opens an eGov session and offers every way to sign: the two
// eGov apps by deep link on this phone, a QR for another phone, and the
// NCALayer page for a computer.
func (f *Flow) signScreen(ctx context.Context, u *core.ChatUser, d *core.Document, acc core.ChatAccess) ([]Screen, error) {
	o, err := f.egovOffer(ctx, u, d, acc, false)
	if err != nil {
		return f.cardScreen(ctx, u, d, acc, err)
	}
	return []Screen{{Text: f.t(u, "chat.sign_how", map[string]any{"Title": f.title(u, d),
		"Until": kzClock(o.Until)}), Buttons: [][]Button{
		{{Label: "📱 eGov Mobile", URL: o.Mobile}},
		{{Label: "💼 eGov Business", URL: o.Business}},
		{docButton("🔳 "+f.t(u, "chat.sign_qr", nil), d, CodeSignQR)},
		{{Label: "💻 NCALayer", URL: f.linkURL(d)}},
		{{Label: "🌐 " + f.t(u, "chat.open_page", nil), URL: f.linkURL(d), App: true}},
		{docButton("🔄 "+f.t(u, "chat.refresh", nil), d, CodeView)},
	}}}, nil
}

// egovOffer opens an eGov signing of d: our own session, or the broker's
// procedure when signing goes through one (EDOBOT_EGOV_VIA=sigex).
func (f *Flow) egovOffer(ctx context.Context, u *core.ChatUser, d *core.Document, acc core.ChatAccess, qr bool) (*egovOffer, error) {
	back := "" // the link page
	if f.StartLink != nil {
		back = f.StartLink(d.LinkToken) // this chat, on the document's card
	}
	if f.Service.ViaBroker() {
		return f.brokeredOffer(ctx, d, acc, back)
	}
	// A session this chat opened for the document and did not use yet is
	// offered again: two quick taps on «Подписать» open one.
	key := sessionKey{chat: u.ID, doc: d.ID}
	sess := f.liveSession(ctx, key)
	var err error
	switch {
	case sess != nil:
	case acc.ByLink:
		sess, err = f.Service.StartEgovSession(ctx, d.LinkToken, f.EgovTTL, back)
	default:
		sess, err = f.Service.StartEgovSessionFor(ctx, acc.Actor, d.ID, f.EgovTTL, back)
	}
	if err != nil {
		return nil, err
	}
	f.keepSession(key, sess)
	l := egov.NewLaunch(f.Egov, egov.DocumentAPI1(f.PublicURL, sess.ID))
	o := &egovOffer{Mobile: l.Mobile, Business: l.Business, Until: sess.ExpiresAt}
	if qr {
		if o.QR, err = qrcode.Encode(l.QRPayload, qrcode.Medium, 512); err != nil {
			return nil, fmt.Errorf("egov qr: %w", err)
		}
	}
	return o, nil
}

// signQR sends the QR of a fresh eGov session, to scan with the eGov app on
// another phone.
func (f *Flow) signQR(ctx context.Context, u *core.ChatUser, d *core.Document, acc core.ChatAccess) ([]Screen, error) {
	o, err := f.egovOffer(ctx, u, d, acc, true)
	if err != nil {
		return f.cardScreen(ctx, u, d, acc, err)
	}
	return []Screen{{Text: f.t(u, "chat.sign_qr_caption", map[string]any{"Title": f.title(u, d),
		"Until": kzClock(o.Until)}), Photo: o.photo()}}, nil
}

func (f *Flow) linkURL(d *core.Document) string {
	return strings.TrimRight(f.PublicURL, "/") + "/d/" + d.LinkToken
}

func (f *Flow) downloadsScreen(u *core.ChatUser, d *core.Document, acc core.ChatAccess) Screen {
	rows := [][]Button{{docButton("📄 "+f.t(u, "chat.dl_original", nil), d, CodeOriginal)}}
	rows = append(rows, []Button{docButton("🧾 "+f.t(u, "chat.dl_card", nil), d, CodeCardPDF)})
	if !acc.ByLink && (d.SenderSignedAt != nil || d.RecipientSignedAt != nil) {
		rows = append(rows, []Button{docButton("🔐 "+f.t(u, "chat.dl_ezsigner", nil), d, CodeEzSigner)})
	}
	rows = append(rows, []Button{docButton("⬅️ "+f.t(u, "chat.back", nil), d, CodeView)})
	return Screen{Text: f.t(u, "chat.dl_which", map[string]any{"Title": f.title(u, d)}), Buttons: rows}
}

func (f *Flow) download(ctx context.Context, u *core.ChatUser, d *core.Document, acc core.ChatAccess, act Code) ([]Screen, error) {
	var data []byte
	var name, mime string
	switch act {
	case CodeOriginal:
		var rc io.ReadCloser
		var err error
		if acc.ByLink {
			rc, _, err = f.Service.OpenOriginalByLink(ctx, d.LinkToken, core.ChatVisitor(u.Channel, u.ID))
		} else {
			rc, _, err = f.Service.OpenOriginal(ctx, acc.Actor, d.ID)
		}
		if err != nil {
			return f.cardScreen(ctx, u, d, acc, err)
		}
		defer rc.Close()
		if data, err = io.ReadAll(rc); err != nil {
			return nil, err
		}
		name, mime = core.OriginalFileName(d), "application/pdf"
	case CodeCardPDF:
		b, err := f.cardPDF(ctx, u, d, acc)
		if err != nil {
			return f.cardScreen(ctx, u, d, acc, err)
		}
		data, name, mime = b, f.t(u, "file.card", map[string]any{"Name": core.FileStem(d)}), "application/pdf"
	case CodeEzSigner:
		b, _, err := f.Service.EzSigner(ctx, acc.Actor, d.ID)
		if err != nil {
			return f.cardScreen(ctx, u, d, acc, err)
		}
		data, name, mime = b, f.t(u, "file.ezsigner", map[string]any{"Name": core.FileStem(d)}), "application/pkcs7-mime"
	}
	return []Screen{{Text: f.title(u, d), Document: &File{Name: name, MIME: mime, Data: data}}}, nil
}

// shareScreen gives the sender every way to pass the link on.
func (f *Flow) shareScreen(u *core.ChatUser, d *core.Document) Screen {
	rows := append(f.whatsAppShare(u, d, f.linkURL(d)), f.shareRows(u, d)...)
	rows = append(rows, f.sendRow(u, d), []Button{docButton("⬅️ "+f.t(u, "chat.back", nil), d, CodeView)})
	return Screen{Text: f.shareText(u, d), Buttons: rows}
}

// shareText says how the link may be passed on.
func (f *Flow) shareText(u *core.ChatUser, d *core.Document) string {
	return f.t(u, "chat.share_text", map[string]any{"Link": f.linkURL(d)})
}

// whatsAppShare is the row that opens WhatsApp with the message that
// passes link on.
func (f *Flow) whatsAppShare(u *core.ChatUser, d *core.Document, link string) [][]Button {
	msg := f.t(u, "chat.share_message", map[string]any{"Sender": d.SenderName, "Title": f.title(u, d), "Link": link})
	return [][]Button{{{Label: "🟢 WhatsApp", URL: "https://wa.me/?text=" + url.QueryEscape(msg)}}}
}

// shareRows are the other ways to pass the document's link on: Telegram,
// e-mail, a copy.
func (f *Flow) shareRows(u *core.ChatUser, d *core.Document) [][]Button {
	link := f.linkURL(d)
	return [][]Button{
		{{Label: "✈️ Telegram", URL: "https://t.me/share/url?url=" + url.QueryEscape(link) + "&text=" + url.QueryEscape(f.title(u, d))}},
		{{Label: "✉️ E-mail", URL: strings.TrimRight(f.PublicURL, "/") + "/d/" + d.LinkToken + "/mailto?lang=" + u.Language}},
		{{Label: "📋 " + f.t(u, "chat.copy_link", nil), Copy: link}},
	}
}

// sendRow sends the card straight into the recipient's chat.
func (f *Flow) sendRow(u *core.ChatUser, d *core.Document) []Button {
	return []Button{docButton("📨 "+f.t(u, "chat.send_recipient", nil), d, CodeSendRecipient)}
}

// sendToRecipient delivers the card straight into the recipient's chat:
// the chat this channel knows by @username or phone, or else one another
// messenger reaches by the phone (Reach: WhatsApp). A WhatsApp number that
// never wrote to the bot is not written to unless the operator allows cold
// outreach and its budgets have room: the sender gets the link to forward
// instead.
func (f *Flow) sendToRecipient(ctx context.Context, u *core.ChatUser, d *core.Document, acc core.ChatAccess) ([]Screen, error) {
	p, err := f.Service.Party(ctx, d.SenderOrgID, d.RecipientPartyID)
	if err != nil {
		return nil, err
	}
	// why says, when the card cannot go straight to the recipient, the
	// reason the manager can act on.
	var why string
	switch {
	case p.Telegram == "" && p.Phone == "":
		why = "chat.recipient_no_contact"
	case p.Telegram == "" && f.Channel == core.ChannelTelegram:
		// Telegram shows a bot no phone number until its owner shares
		// the contact: the person may well have written to the bot.
		why = "chat.recipient_phone_unmatched"
	default:
		why = "chat.recipient_unknown" // never wrote to the bot
	}
	unknown := func() []Screen {
		s := f.shareScreen(u, d)
		s.Text = f.t(u, why, map[string]any{"Name": d.RecipientName}) + "\n\n" + s.Text
		return []Screen{s}
	}
	// invite offers the link that opens the recipient's chat with the bot
	// on the document, for the sender to forward: the bot does not write
	// first to a WhatsApp number that never wrote to it.
	invite := func(inv *Invitation) []Screen {
		f.log().InfoContext(ctx, "recipient to be invited", "channel", f.Channel, "document", d.ID, "why", inv.Why)
		// The invitation takes the place of the document's own WhatsApp
		// message, and of sending, which would meet the same answer.
		rows := append(f.whatsAppShare(u, d, inv.Link), []Button{{Label: "📋 " + f.t(u, "chat.invite_link", nil), Copy: inv.Link}})
		rows = append(rows, f.shareRows(u, d)...)
		rows = append(rows, []Button{docButton("⬅️ "+f.t(u, "chat.back", nil), d, CodeView)})
		return []Screen{{Text: f.t(u, "chat.recipient_invite", map[string]any{"Name": d.RecipientName}) + "\n\n" + inv.Link, Buttons: rows}}
	}
	var inv *Invitation
	var to *core.ChatUser
	deliver := f.Deliver
	if f.Deliver != nil && (p.Telegram != "" || p.Phone != "") {
		to, err = f.Service.ChatUserByHandle(ctx, f.Channel, p.Telegram, p.Phone)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			return nil, err
		}
		if to != nil && to.BlockedAt != nil {
			why = "chat.recipient_blocked"
		}
	}
	if (to == nil || to.BlockedAt != nil) && f.Reach != nil && p.Phone != "" {
		other, send, err := f.Reach(ctx, p.Phone, Outreach{OrgID: d.SenderOrgID, Token: d.LinkToken})
		switch {
		case errors.As(err, &inv):
			return invite(inv), nil
		case err == nil && other.BlockedAt == nil:
			to, deliver = other, send
		case err == nil:
			why = "chat.recipient_blocked"
		case !errors.Is(err, core.ErrNotFound):
			// The other messenger being away is no reason to fail: the
			// manager can still pass the link on by hand.
			f.log().WarnContext(ctx, "reach recipient", "channel", f.Channel, "document", d.ID, "err", err)
			why = "chat.recipient_unreachable"
		}
	}
	if to == nil || to.BlockedAt != nil {
		return unknown(), nil
	}
	sent := []Screen{{Text: f.t(u, "chat.sent_recipient", map[string]any{"Name": d.RecipientName}),
		Buttons: [][]Button{{docButton("⬅️ "+f.t(u, "chat.back", nil), d, CodeView)}}}}
	// The recipient's chat that follows the document has it already, and
	// hears of every change: a second tap sends nothing twice.
	if _, already, err := f.Service.Following(ctx, d.ID, to.ID); err != nil {
		return nil, err
	} else if already {
		return sent, nil
	}
	card, err := f.cardFor(ctx, to, d, core.ChatAccess{Side: core.SideRecipient, ByLink: true})
	if err != nil {
		return nil, err
	}
	card.Text = f.t(to, "chat.sent_to_you", map[string]any{"Sender": d.SenderName, "Title": f.title(to, d)}) + "\n\n" + card.Text
	if err := deliver(ctx, to, []Screen{card}); err != nil {
		if errors.As(err, &inv) {
			return invite(inv), nil
		}
		if errors.Is(err, core.ErrChatBlocked) {
			_ = f.Service.MarkChatBlocked(ctx, to.ID, f.now())
			why = "chat.recipient_blocked"
			return unknown(), nil
		}
		f.log().WarnContext(ctx, "send to recipient", "channel", to.Channel, "document", d.ID, "err", err)
		why = "chat.recipient_unreachable"
		return unknown(), nil
	}
	if err := f.Service.FollowDocument(ctx, d.ID, to.ID, core.SideRecipient); err != nil {
		return nil, err
	}
	return sent, nil
}

// editScreen offers the fields a document in «Создан» may change.
func (f *Flow) editScreen(u *core.ChatUser, d *core.Document) Screen {
	return Screen{Text: f.t(u, "chat.edit_which", map[string]any{"Title": f.title(u, d)}), Buttons: [][]Button{
		{docButton(f.t(u, "chat.edit_type", nil), d, CodeEditType)},
		{docButton(f.t(u, "chat.edit_number", nil), d, CodeEditNumber)},
		{docButton(f.t(u, "chat.edit_date", nil), d, CodeEditDate)},
		{docButton("⬅️ "+f.t(u, "chat.back", nil), d, CodeView)},
	}}
}

func (f *Flow) editTypeScreen(u *core.ChatUser, d *core.Document) Screen {
	var rows [][]Button
	for _, t := range core.DocTypes {
		rows = append(rows, []Button{docButton(f.t(u, "type."+string(t), nil), d, typeCode(t))})
	}
	rows = append(rows, []Button{docButton("⬅️ "+f.t(u, "chat.back", nil), d, CodeView)})
	return Screen{Text: f.t(u, "chat.ask_type", nil), Buttons: rows}
}

// startEdit asks for a new number or date; the answer comes as text.
func (f *Flow) startEdit(ctx context.Context, u *core.ChatUser, st *state, d *core.Document, act Code) ([]Screen, error) {
	st.Draft = draft{EditDoc: d.ID.String(), EditVersion: d.Version}
	if act == CodeEditNumber {
		st.set(stepEditNumber)
	} else {
		st.set(stepEditDate)
	}
	return f.prompt(ctx, u, st), nil
}

func (f *Flow) editText(ctx context.Context, u *core.ChatUser, st *state, text string) ([]Screen, error) {
	if st.Step == stepEditDate {
		d, err := parseDate(text)
		if err != nil {
			return f.prompt(ctx, u, st), err
		}
		return f.applyEdit(ctx, u, st, core.DocumentEdit{Date: &d})
	}
	number, err := core.TextNumber.Clean(text)
	if err != nil {
		return f.prompt(ctx, u, st), err
	}
	return f.applyEdit(ctx, u, st, core.DocumentEdit{Number: &number})
}

func (f *Flow) applyEdit(ctx context.Context, u *core.ChatUser, st *state, e core.DocumentEdit) ([]Screen, error) {
	id, err := uuid.Parse(st.Draft.EditDoc)
	if err != nil {
		st.set(stepIdle)
		return f.mustMenu(ctx, u), nil
	}
	e.Version = st.Draft.EditVersion
	st.set(stepIdle)
	st.Draft = draft{}
	d, acc, err := f.reach(ctx, u, id)
	if err != nil {
		return f.mustMenu(ctx, u), err
	}
	nd, err := f.Service.EditDocument(ctx, acc.Actor, id, e)
	return f.afterChange(ctx, u, d, nd, acc, err)
}
