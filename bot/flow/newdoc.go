package flow

import (
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"edobot/core"
	"edobot/core/iinbin"
	"edobot/core/pdfintake"
)

// upload takes a PDF: it is checked and stored at once, so a bad file is
// refused before any question is asked, and starts a new document.
func (f *Flow) upload(ctx context.Context, u *core.ChatUser, st *state, up *Upload) ([]Screen, error) {
	if !u.Bound() {
		s, err := f.menu(ctx, u)
		return append([]Screen{{Text: f.t(u, "chat.login_to_send", nil)}}, s...), err
	}
	a, _, err := f.actor(ctx, u)
	if err != nil {
		return nil, err
	}
	// What the messenger declares is checked before downloading anything.
	name := strings.ToLower(up.Name)
	if !(strings.HasSuffix(name, ".pdf") || up.MIME == "application/pdf") {
		return f.prompt(ctx, u, st), pdfintake.ErrNotPDF
	}
	if up.Size > pdfintake.MaxSize {
		return f.prompt(ctx, u, st), pdfintake.ErrTooLarge
	}
	rc, err := up.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("download upload: %w", err)
	}
	defer rc.Close()
	// The download is bounded too: a messenger may not declare the size.
	info, prop, err := f.Service.StageDocument(ctx, a, io.LimitReader(rc, pdfintake.MaxSize+1))
	if err != nil {
		return f.prompt(ctx, u, st), err
	}
	if prop.Unread != nil {
		f.log().InfoContext(ctx, "document text not read", "chat_user", u.ID, "err", prop.Unread)
	}
	st.Made = ""
	st.Draft = draft{Key: core.NewToken()[:22], File: info, FileName: core.TextFileName.Sanitize(path.Base(up.Name))}
	st.set(f.propose(st, prop))
	if st.Step == stepRecipient {
		return []Screen{f.recipientScreen(ctx, u, st)}, nil
	}
	s := f.prompt(ctx, u, st)
	if st.Step != stepProposal {
		s[0].Text = f.t(u, "chat.file_accepted", map[string]any{"Name": st.Draft.FileName, "Pages": info.Pages}) + "\n\n" + s[0].Text
	}
	return s, nil
}

// recipientScreen offers the recent parties and a new one.
func (f *Flow) recipientScreen(ctx context.Context, u *core.ChatUser, st *state) Screen {
	text := f.t(u, "chat.file_accepted", map[string]any{"Name": st.Draft.FileName, "Pages": st.Draft.File.Pages}) +
		"\n\n" + f.t(u, "chat.ask_recipient", nil)
	rows := f.proposedButtons(u, st)
	if parties, err := f.Service.Parties(ctx, u.OrgID, 6); err == nil {
		for _, p := range parties {
			rows = append(rows, []Button{f.w(st, p.Name+" · "+p.Number, partyCode(p.ID))})
		}
	}
	rows = append(rows, []Button{f.w(st, "➕ "+f.t(u, "chat.new_party", nil), CodeNewParty)})
	rows = append(rows, []Button{f.w(st, f.t(u, "chat.cancel", nil), CodeCancel)})
	return Screen{Text: text, Buttons: rows}
}

// wizardChoice handles the buttons of the steps of a new document; a
// button of another step is stale.
func (f *Flow) wizardChoice(ctx context.Context, u *core.ChatUser, st *state, code Code) ([]Screen, error) {
	if s, ok, err := f.proposalChoice(ctx, u, st, code); ok {
		return s, err
	}
	party, isParty := code.partyOf()
	docType, isType := code.typeOf()
	kind, isKind := partyKinds[code]
	switch {
	case code == CodeCancel:
		st.set(stepIdle)
		st.Draft = draft{}
		return append([]Screen{{Text: f.t(u, "chat.cancelled", nil), Replace: true}}, f.mustMenu(ctx, u)...), nil
	case code == CodeNewParty && st.Step == stepRecipient:
		st.set(stepPartyNumber)
		return f.prompt(ctx, u, st), nil
	case isParty && st.Step == stepRecipient:
		p, err := f.Service.Party(ctx, u.OrgID, party)
		if err != nil {
			return f.prompt(ctx, u, st), err
		}
		f.takeParty(st, p)
		st.advance(stepType)
		return f.prompt(ctx, u, st), nil
	case isKind && st.Step == stepPartyKind:
		st.Draft.Party.Kind = kind
		st.advance(stepPartyName)
		return f.prompt(ctx, u, st), nil
	case code == CodeSkip && st.Step == stepPartyContact:
		if s, ok, err := f.afterContact(ctx, u, st); ok {
			return s, err
		}
		st.advance(stepType)
		return f.prompt(ctx, u, st), nil
	case isType && st.Step == stepType:
		st.Draft.Type = docType
		st.advance(stepNumber)
		return f.prompt(ctx, u, st), nil
	case code == CodeToday && (st.Step == stepDate || st.Step == stepEditDate):
		return f.takeDate(ctx, u, st, f.today())
	case code == CodeCreate && st.Step == stepConfirm:
		return f.create(ctx, u, st)
	}
	return f.stale(ctx, u, st), nil
}

func (f *Flow) takeParty(st *state, p *core.Party) {
	st.Draft.PartyID = p.ID
	st.Draft.Party.Kind, st.Draft.Party.Number, st.Draft.Party.Name = p.Kind, p.Number, p.Name
	st.Draft.Party.Phone, st.Draft.Party.Telegram = p.Phone, p.Telegram
}

// partyNumber takes a typed IIN/BIN: one from the directory is taken as is,
// a new one asks for the rest.
func (f *Flow) partyNumber(ctx context.Context, u *core.ChatUser, st *state, text string) ([]Screen, error) {
	number := iinbin.Normalize(text)
	kind, err := iinbin.Validate(number)
	if err != nil {
		return f.prompt(ctx, u, st), err
	}
	if parties, err := f.Service.Parties(ctx, u.OrgID, 500); err == nil {
		for i := range parties {
			if parties[i].Number == number {
				f.takeParty(st, &parties[i])
				st.advance(stepType)
				return append([]Screen{{Text: f.t(u, "chat.party_known", map[string]any{"Name": parties[i].Name})}},
					f.prompt(ctx, u, st)...), nil
			}
		}
	}
	st.Draft.PartyID = 0
	st.Draft.Party.Number, st.Draft.Party.Phone, st.Draft.Party.Telegram = number, "", ""
	st.Draft.Party.Kind, st.Draft.Party.Name = "", ""
	if kind == iinbin.KindBIN {
		// A BIN is always an organisation: no need to ask.
		st.Draft.Party.Kind = core.PartyCounterparty
		st.set(stepPartyName)
	} else {
		st.set(stepPartyKind)
	}
	return f.prompt(ctx, u, st), nil
}

func (f *Flow) partyName(ctx context.Context, u *core.ChatUser, st *state, text string) ([]Screen, error) {
	name, err := core.TextPartyName.Clean(text)
	if err != nil {
		return f.prompt(ctx, u, st), err
	}
	st.Draft.Party.Name = name
	st.advance(stepPartyContact)
	return f.prompt(ctx, u, st), nil
}

// partyContact takes a phone or a Telegram @username.
func (f *Flow) partyContact(ctx context.Context, u *core.ChatUser, st *state, text string) ([]Screen, error) {
	if strings.HasPrefix(text, "@") || strings.Contains(text, "t.me/") {
		t, ok := core.NormalizeTelegram(text)
		if !ok {
			return f.prompt(ctx, u, st), &core.Refusal{Code: core.CodeInvalidTelegram}
		}
		st.Draft.Party.Telegram = t
	} else {
		p, ok := core.NormalizePhone(text)
		if !ok {
			return f.prompt(ctx, u, st), &core.Refusal{Code: core.CodeInvalidPhone}
		}
		st.Draft.Party.Phone = p
	}
	if s, ok, err := f.afterContact(ctx, u, st); ok {
		return s, err
	}
	st.advance(stepType)
	return f.prompt(ctx, u, st), nil
}

func (f *Flow) typeScreen(u *core.ChatUser, st *state) Screen {
	var rows [][]Button
	for i := 0; i < len(core.DocTypes); i += 2 {
		row := []Button{f.w(st, typeMark(st, core.DocTypes[i])+f.t(u, "type."+string(core.DocTypes[i]), nil), typeCode(core.DocTypes[i]))}
		if i+1 < len(core.DocTypes) {
			row = append(row, f.w(st, typeMark(st, core.DocTypes[i+1])+f.t(u, "type."+string(core.DocTypes[i+1]), nil), typeCode(core.DocTypes[i+1])))
		}
		rows = append(rows, row)
	}
	rows = append(rows, []Button{f.w(st, f.t(u, "chat.cancel", nil), CodeCancel)})
	return Screen{Text: f.t(u, "chat.ask_type", nil), Buttons: rows}
}

func (f *Flow) docNumber(ctx context.Context, u *core.ChatUser, st *state, text string) ([]Screen, error) {
	number, err := core.TextNumber.Clean(text)
	if err != nil {
		return f.prompt(ctx, u, st), err
	}
	st.Draft.Number = number
	st.advance(stepDate)
	return f.prompt(ctx, u, st), nil
}

// today is the calendar date in Kazakhstan.
func (f *Flow) today() time.Time {
	n := f.now().In(core.KazakhstanTime)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

// docDate takes dd.mm.yyyy; a date that does not exist (31.02.2026) is
// refused, not rolled over.
func (f *Flow) docDate(ctx context.Context, u *core.ChatUser, st *state, text string) ([]Screen, error) {
	d, err := parseDate(text)
	if err != nil {
		return f.prompt(ctx, u, st), err
	}
	return f.takeDate(ctx, u, st, d)
}

func parseDate(text string) (time.Time, error) {
	text = strings.NewReplacer("/", ".", "-", ".", " ", "").Replace(strings.TrimSpace(text))
	for _, layout := range []string{"02.01.2006", "2.1.2006", "02.01.06"} {
		if d, err := time.Parse(layout, text); err == nil {
			if d.Year() < core.FirstDocYear || d.Year() > core.LastDocYear {
				break
			}
			return d, nil
		}
	}
	return time.Time{}, &core.Refusal{Code: core.CodeInvalidDate, Detail: text}
}

func (f *Flow) takeDate(ctx context.Context, u *core.ChatUser, st *state, d time.Time) ([]Screen, error) {
	if st.Step == stepEditDate {
		return f.applyEdit(ctx, u, st, core.DocumentEdit{Date: &d})
	}
	st.Draft.Date = d.Format(time.DateOnly)
	st.advance(stepConfirm)
	return f.prompt(ctx, u, st), nil
}

func (f *Flow) confirmScreen(u *core.ChatUser, st *state) Screen {
	d := st.Draft
	date, _ := time.Parse(time.DateOnly, d.Date)
	kind := f.t(u, "chat.kind_"+string(d.Party.Kind), nil)
	text := f.t(u, "chat.confirm", map[string]any{
		"Type": f.t(u, "type."+string(d.Type), nil), "Number": d.Number, "Date": date.Format("02.01.2006"),
		"Recipient": d.Party.Name, "RecipientNumber": d.Party.Number, "Kind": kind,
		"File": d.FileName, "Pages": d.File.Pages,
	})
	if c := contactOf(d.Party.Phone, d.Party.Telegram); c != "" {
		text += "\n" + c
	}
	return Screen{Text: text, Buttons: [][]Button{
		{f.w(st, "✅ "+f.t(u, "chat.create", nil), CodeCreate)},
		{f.w(st, f.t(u, "chat.cancel", nil), CodeCancel)},
	}}
}

func contactOf(phone, telegram string) string {
	var parts []string
	if phone != "" {
		parts = append(parts, "📞 "+phone)
	}
	if telegram != "" {
		parts = append(parts, "✈️ @"+telegram)
	}
	return strings.Join(parts, " · ")
}

// create makes the document from the draft. The draft's key makes a
// repeated confirm return the same document.
func (f *Flow) create(ctx context.Context, u *core.ChatUser, st *state) ([]Screen, error) {
	a, _, err := f.actor(ctx, u)
	if err != nil {
		return nil, err
	}
	d := st.Draft
	date, err := time.Parse(time.DateOnly, d.Date)
	if err != nil {
		return f.prompt(ctx, u, st), &core.Refusal{Code: core.CodeInvalidDate}
	}
	// The file was checked and stored when it came (upload): the document
	// takes it as it is.
	doc, err := f.Service.CreateStagedDocument(ctx, a, core.NewDocument{
		Recipient: core.PartyInput{Kind: d.Party.Kind, Number: d.Party.Number, Name: d.Party.Name,
			Phone: d.Party.Phone, Telegram: d.Party.Telegram},
		Type: d.Type, Number: d.Number, Date: date, IdempotencyKey: "chat:" + strconv.FormatInt(u.ID, 10) + ":" + d.Key,
		FileName: d.FileName,
	}, d.File)
	if err != nil {
		return f.prompt(ctx, u, st), err
	}
	if err := f.Service.FollowDocument(ctx, doc.ID, u.ID, core.SideSender); err != nil {
		return nil, err
	}
	st.set(stepIdle)
	st.Draft = draft{}
	card, err := f.cardFor(ctx, u, doc, core.ChatAccess{Actor: a, Side: core.SideSender})
	if err != nil {
		return nil, err
	}
	st.Made = doc.ID.String()
	return []Screen{f.createdCard(u, doc, core.ChatAccess{Actor: a, Side: core.SideSender}, card)}, nil
}

// createdCard is a new document's card with the ways to share its link in
// place of the «share» button: what a sender does next.
func (f *Flow) createdCard(u *core.ChatUser, d *core.Document, acc core.ChatAccess, card Screen) Screen {
	card.Text = f.t(u, "chat.created", nil) + "\n\n" + card.Text + "\n\n" + f.shareText(u, d)
	rows := append(f.whatsAppShare(u, d, f.linkURL(d)), f.shareRows(u, d)...)
	rows = append(rows, f.sendRow(u, d))
	card.Buttons = append(rows, f.cardRows(u, d, acc, false)...)
	return card
}

// madeTwice answers a tap on the wizard's screen just before the one now
// current when that screen made a document (a second quick «Создать»):
// the document, as the first tap showed it.
func (f *Flow) madeTwice(ctx context.Context, u *core.ChatUser, st *state) ([]Screen, bool) {
	id, err := uuid.Parse(st.Made)
	if err != nil || st.Step != stepIdle {
		return nil, false
	}
	d, acc, err := f.reach(ctx, u, id)
	if err != nil {
		return nil, false
	}
	card, err := f.cardFor(ctx, u, d, acc)
	if err != nil {
		return nil, false
	}
	if acc.Side == core.SideSender && !acc.ByLink && d.Status == core.StatusCreated {
		return []Screen{f.createdCard(u, d, acc, card)}, true
	}
	return []Screen{card}, true
}
