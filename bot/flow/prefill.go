package flow

import (
	"context"
	"time"

	"edobot/core"
	"edobot/core/iinbin"
)

// A PDF's own text proposes the new document's fields (core.StageDocument).
// When it proposes them all, the first answer to the PDF is one screen:
// «Договор №12/2026 от 01.11.2026 с ТОО «Ромашка» (БИН …)?» with «Создать
// и поделиться», one tap from the share actions, and «Изменить», today's
// wizard with the proposal offered at each step. When it proposes some,
// only the rest is asked, and the same screen ends the questions.

// proposed is what the text proposed, kept beside the draft so that the
// wizard opened by «Изменить» can offer it at each step.
type proposed struct {
	PartyID     int64          `json:"party_id,omitempty"`
	PartyKind   core.PartyKind `json:"party_kind,omitempty"`
	PartyNumber string         `json:"party_number,omitempty"`
	PartyName   string         `json:"party_name,omitempty"`
	PartyPhone  string         `json:"party_phone,omitempty"`
	PartyTG     string         `json:"party_telegram,omitempty"`
	Type        core.DocType   `json:"type,omitempty"`
	Number      string         `json:"number,omitempty"`
	Date        string         `json:"date,omitempty"` // yyyy-mm-dd
}

// stepProposal is the one-screen proposal.
const stepProposal = "new.proposal"

// propose fills the draft from a proposal and says which step comes next.
func (f *Flow) propose(st *state, p core.Proposal) string {
	d := &st.Draft
	prop := &proposed{Type: p.Type, Number: p.Number}
	if !p.Date.IsZero() {
		prop.Date = p.Date.Format(time.DateOnly)
	}
	if r := p.Recipient; r != nil && r.Name != "" {
		prop.PartyID, prop.PartyKind, prop.PartyNumber, prop.PartyName = r.ID, r.Kind, r.Number, r.Name
		prop.PartyPhone, prop.PartyTG = r.Phone, r.Telegram
	}
	if *prop == (proposed{}) {
		return stepRecipient
	}
	d.Prop = prop
	d.Quick = true
	if prop.PartyNumber != "" {
		d.PartyID = prop.PartyID
		d.Party.Kind, d.Party.Number, d.Party.Name = prop.PartyKind, prop.PartyNumber, prop.PartyName
		d.Party.Phone, d.Party.Telegram = prop.PartyPhone, prop.PartyTG
	}
	d.Type, d.Number, d.Date = prop.Type, prop.Number, prop.Date
	return nextStep(d)
}

// nextStep is, for a draft filled from a proposal, the first field still
// missing in the wizard's order, or the proposal screen once none is.
func nextStep(d *draft) string {
	switch {
	case d.Party.Number == "":
		return stepRecipient
	case d.Party.Kind == "":
		return stepPartyKind
	case d.Party.Name == "":
		return stepPartyName
	case d.Type == "":
		return stepType
	case d.Number == "":
		return stepNumber
	case d.Date == "":
		return stepDate
	}
	return stepProposal
}

// advance moves the wizard on: to step, or for a draft filled from a
// proposal to the next field still missing.
func (st *state) advance(step string) {
	if st.Draft.Quick && step != stepPartyContact && step != stepPartyKind && step != stepPartyName {
		step = nextStep(&st.Draft)
	}
	if step == stepPartyContact {
		st.Draft.ContactAsked = true
	}
	st.set(step)
}

// proposalScreen is the proposal as one question.
func (f *Flow) proposalScreen(u *core.ChatUser, st *state) Screen {
	d := st.Draft
	date, _ := time.Parse(time.DateOnly, d.Date)
	label := "BIN"
	if k, err := iinbin.Validate(d.Party.Number); err == nil && k == iinbin.KindIIN {
		label = "IIN"
	}
	text := f.t(u, "chat.proposal", map[string]any{
		"Type": f.t(u, "type."+string(d.Type), nil), "Number": d.Number, "Date": date.Format("02.01.2006"),
		"Recipient": d.Party.Name, "Label": f.t(u, "chat.label_"+label, nil), "RecipientNumber": d.Party.Number,
	})
	if c := contactOf(d.Party.Phone, d.Party.Telegram); c != "" {
		text += "\n" + c
	}
	text += "\n📎 " + d.FileName
	return Screen{Text: text, Buttons: [][]Button{
		{f.w(st, "✅ "+f.t(u, "chat.create_and_share", nil), CodeCreate)},
		{f.w(st, "✏️ "+f.t(u, "chat.edit_proposal", nil), CodeEditProposal)},
		{f.w(st, f.t(u, "chat.cancel", nil), CodeCancel)},
	}}
}

// proposalChoice handles the proposal screen's buttons and the proposed
// values the wizard offers.
func (f *Flow) proposalChoice(ctx context.Context, u *core.ChatUser, st *state, code Code) ([]Screen, bool, error) {
	d := &st.Draft
	switch {
	case code == CodeCreate && st.Step == stepProposal:
		// A new party without a phone or @username is asked for one once;
		// it is optional, and «Пропустить» creates the document.
		if d.PartyID == 0 && d.Party.Phone == "" && d.Party.Telegram == "" && !d.ContactAsked {
			d.ContactAsked, d.CreateNext = true, true
			st.set(stepPartyContact)
			return f.prompt(ctx, u, st), true, nil
		}
		s, err := f.create(ctx, u, st)
		return s, true, err
	case code == CodeEditProposal && st.Step == stepProposal:
		d.Quick = false
		st.set(stepRecipient)
		return f.prompt(ctx, u, st), true, nil
	case code == CodeProposedParty && st.Step == stepRecipient && d.Prop != nil && d.Prop.PartyNumber != "":
		p := d.Prop
		d.PartyID = p.PartyID
		d.Party.Kind, d.Party.Number, d.Party.Name = p.PartyKind, p.PartyNumber, p.PartyName
		d.Party.Phone, d.Party.Telegram = p.PartyPhone, p.PartyTG
		st.advance(stepType)
		return f.prompt(ctx, u, st), true, nil
	case code == CodeProposedNumber && st.Step == stepNumber && d.Prop != nil && d.Prop.Number != "":
		d.Number = d.Prop.Number
		st.advance(stepDate)
		return f.prompt(ctx, u, st), true, nil
	case code == CodeProposedDate && st.Step == stepDate && d.Prop != nil && d.Prop.Date != "":
		date, err := time.Parse(time.DateOnly, d.Prop.Date)
		if err != nil {
			return f.stale(ctx, u, st), true, nil
		}
		s, err := f.takeDate(ctx, u, st, date)
		return s, true, err
	}
	return nil, false, nil
}

// afterContact ends the contact question of a proposal: the document is
// created at once.
func (f *Flow) afterContact(ctx context.Context, u *core.ChatUser, st *state) ([]Screen, bool, error) {
	if !st.Draft.Quick || !st.Draft.CreateNext || nextStep(&st.Draft) != stepProposal {
		return nil, false, nil
	}
	s, err := f.create(ctx, u, st)
	return s, true, err
}

// proposedButtons are the proposal's values offered at a wizard's step.
func (f *Flow) proposedButtons(u *core.ChatUser, st *state) [][]Button {
	p := st.Draft.Prop
	if p == nil {
		return nil
	}
	switch st.Step {
	case stepRecipient:
		if p.PartyNumber != "" {
			return [][]Button{{f.w(st, "📄 "+p.PartyName+" · "+p.PartyNumber, CodeProposedParty)}}
		}
	case stepNumber:
		if p.Number != "" {
			return [][]Button{{f.w(st, "📄 №"+p.Number, CodeProposedNumber)}}
		}
	case stepDate:
		if d, err := time.Parse(time.DateOnly, p.Date); err == nil {
			return [][]Button{{f.w(st, "📄 "+d.Format("02.01.2006"), CodeProposedDate)}}
		}
	}
	return nil
}

// typeMark marks the proposed type on the type screen.
func typeMark(st *state, t core.DocType) string {
	if st.Draft.Prop != nil && st.Draft.Prop.Type == t {
		return "📄 "
	}
	return ""
}
