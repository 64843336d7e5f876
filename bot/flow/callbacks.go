package flow

import (
	"strconv"
	"strings"

	"edobot/core"
)

// Code is what a button says when tapped: the first part of its callback
// data (CodeMenu, CodeDocument…), or, for a document's button
// "d.<id>.<version>.<code>", the last part (CodeView, CodeSign…). Every code
// is in codes; whatever is not is refused as stale.
type Code string

// The codes of the menus, before the first ".".
const (
	CodeMenu     Code = "m"     // the main menu
	CodeLang     Code = "lang"  // "lang.<language>"
	CodeLangs    Code = "langs" // the choice of languages
	CodeAuth     Code = "auth"  // start signing in
	CodeAuthQR   Code = "aq"    // "aq.<challenge>": the sign-in QR
	CodeFolder   Code = "f"     // "f.<folder>.<offset>"
	CodeSearch   Code = "s"     // "s" asks, "s.<offset>" pages
	CodeNew      Code = "new"   // how to create a document
	CodeWizard   Code = "w"     // "w.<conversation version>.<value>"
	CodeDocument Code = "d"     // "d.<id>.<version>.<document code>"
	CodeESF      Code = "esf"   // the ИС ЭСФ screen; "esf.<code>[.<argument>]" its buttons
)

// The codes of the ИС ЭСФ buttons, "esf." and one part; an argument may
// follow after another ".".
const (
	CodeESFConfirm         Code = "esf.c"   // "esf.c.<invoice's ИС ЭСФ id>": «✅ Получено»
	CodeESFTicket          Code = "esf.t"   // sign a new ticket
	CodeESFTicketQR        Code = "esf.tq"  // "esf.tq.<signing>": the signing's QR for the eGov app
	CodeESFPassword        Code = "esf.p"   // open the one-time password page
	CodeESFPasswordDelete  Code = "esf.pd"  // asks to confirm
	CodeESFPasswordDeleteY Code = "esf.pdy" // confirmed
	CodeESFSessions        Code = "esf.s"   // «Активные сессии»
	CodeESFEnd             Code = "esf.e"   // "esf.e.<ticket id>": end a ticket
)

// The codes of a document's buttons.
const (
	CodeView          Code = "v"
	CodeSign          Code = "sg"
	CodeSignQR        Code = "qr"
	CodeRevoke        Code = "rv"   // asks to confirm
	CodeRevokeYes     Code = "rvy"  // confirmed
	CodeDelete        Code = "del"  // asks to confirm
	CodeDeleteYes     Code = "dely" // confirmed
	CodeArchive       Code = "ar"
	CodeUnarchive     Code = "ua"
	CodeCopy          Code = "cp"
	CodeDownloads     Code = "dl" // the choice of versions
	CodeOriginal      Code = "do" // the PDF as uploaded
	CodeCardPDF       Code = "dc" // the «Электронная карточка»
	CodeEzSigner      Code = "de" // the «Версия для ezSigner»
	CodeShare         Code = "sh"
	CodeSendRecipient Code = "snd"
	CodeEdit          Code = "ed"
	CodeEditNumber    Code = "en"
	CodeEditDate      Code = "edt"
	CodeEditType      Code = "et"
	// CodeType is the prefix of a type on the edit screen: "t<type>",
	// made by typeCode.
	CodeType Code = "t"
)

// The codes of the new document's wizard, "w.<conversation version>.<code>".
const (
	CodeCancel           Code = "cancel"
	CodeNewParty         Code = "newparty"
	CodeKindEmployee     Code = "kemployee"
	CodeKindCounterparty Code = "kcounterparty"
	CodeSkip             Code = "skip" // no phone or @username for the party
	CodeToday            Code = "today"
	CodeCreate           Code = "create"
	CodeEditProposal     Code = "edit"  // fill in the proposal step by step
	CodeProposedParty    Code = "pprop" // the proposal's recipient
	CodeProposedNumber   Code = "nprop"
	CodeProposedDate     Code = "dprop"
	// CodeParty is the prefix of a party of the directory: "p<party id>",
	// made by partyCode. A type is chosen with CodeType, as on the edit
	// screen.
	CodeParty Code = "p"
)

// partyKinds are the kinds a wizard's button chooses.
var partyKinds = map[Code]core.PartyKind{
	CodeKindEmployee: core.PartyEmployee, CodeKindCounterparty: core.PartyCounterparty,
}

// codeInfo is what a code is and may do.
type codeInfo struct {
	// document: a document's button, "d.<id>.<version>.<code>"; otherwise
	// a menu's, "<code>[.<rest>]".
	document bool
	// mutating: it changes the document or sends it to someone, so it is
	// taken only from a card of the document's current version.
	mutating bool
	// link: a person who reaches the document only through its link may
	// tap it.
	link bool
	// esf: an ИС ЭСФ button, "esf.<code>[.<argument>]", for a person
	// signed in for an organisation (mutating is a document's, never
	// theirs: what they change is checked by the use case); arg: it
	// carries an argument.
	esf bool
	arg bool
	// wizard: a button of the new document's wizard, "w.<conversation
	// version>.<code>", taken only from the conversation's current screen.
	wizard bool
}

// codes is every code there is.
var codes = map[Code]codeInfo{
	CodeMenu: {}, CodeLang: {}, CodeLangs: {}, CodeAuth: {}, CodeAuthQR: {}, CodeFolder: {},
	CodeSearch: {}, CodeNew: {}, CodeWizard: {}, CodeDocument: {}, CodeESF: {},

	CodeESFConfirm:         {esf: true, arg: true},
	CodeESFTicket:          {esf: true},
	CodeESFTicketQR:        {esf: true, arg: true},
	CodeESFPassword:        {esf: true},
	CodeESFPasswordDelete:  {esf: true},
	CodeESFPasswordDeleteY: {esf: true},
	CodeESFSessions:        {esf: true},
	CodeESFEnd:             {esf: true, arg: true},

	CodeView:          {document: true, link: true},
	CodeSign:          {document: true, link: true},
	CodeSignQR:        {document: true, link: true},
	CodeDownloads:     {document: true, link: true},
	CodeOriginal:      {document: true, link: true},
	CodeCardPDF:       {document: true, link: true},
	CodeEzSigner:      {document: true},
	CodeShare:         {document: true},
	CodeRevoke:        {document: true, mutating: true},
	CodeRevokeYes:     {document: true, mutating: true},
	CodeDelete:        {document: true, mutating: true},
	CodeDeleteYes:     {document: true, mutating: true},
	CodeArchive:       {document: true, mutating: true},
	CodeUnarchive:     {document: true, mutating: true},
	CodeCopy:          {document: true, mutating: true},
	CodeSendRecipient: {document: true, mutating: true},
	CodeEdit:          {document: true, mutating: true},
	CodeEditNumber:    {document: true, mutating: true},
	CodeEditDate:      {document: true, mutating: true},
	CodeEditType:      {document: true, mutating: true},
	CodeType:          {document: true, mutating: true, wizard: true},

	CodeCancel: {wizard: true}, CodeNewParty: {wizard: true}, CodeParty: {wizard: true},
	CodeKindEmployee: {wizard: true}, CodeKindCounterparty: {wizard: true}, CodeSkip: {wizard: true},
	CodeToday: {wizard: true}, CodeCreate: {wizard: true}, CodeEditProposal: {wizard: true},
	CodeProposedParty: {wizard: true}, CodeProposedNumber: {wizard: true}, CodeProposedDate: {wizard: true},
}

// typeCode is the edit screen's button for a document type.
func typeCode(t core.DocType) Code { return CodeType + Code(t) }

// typeOf is the type a CodeType code chose; false for another code.
func (c Code) typeOf() (core.DocType, bool) {
	t := core.DocType(strings.TrimPrefix(string(c), string(CodeType)))
	return t, len(c) > len(CodeType) && c[:len(CodeType)] == CodeType && t.Valid()
}

// partyCode is the wizard's button for a party of the directory.
func partyCode(id int64) Code { return CodeParty + Code(strconv.FormatInt(id, 10)) }

// partyOf is the party a CodeParty code chose; false for another code.
func (c Code) partyOf() (int64, bool) {
	rest, ok := strings.CutPrefix(string(c), string(CodeParty))
	if !ok || rest == "" || rest[0] < '1' || rest[0] > '9' {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil
}

// info is what the code is; false when it is no code of ours (a button
// of an older version of the bot, or made up).
func (c Code) info() (codeInfo, bool) {
	if _, ok := c.typeOf(); ok {
		return codes[CodeType], true
	}
	if _, ok := c.partyOf(); ok {
		return codes[CodeParty], true
	}
	if c == CodeType || c == CodeParty {
		return codeInfo{}, false // a prefix, never a code alone
	}
	i, ok := codes[c]
	return i, ok
}

// parseMenuCode reads a menu button's code.
func parseMenuCode(s string) (Code, bool) {
	i, ok := Code(s).info()
	return Code(s), ok && !i.document && !i.esf && !i.wizard
}

// parseWizardCode reads a wizard button's code, after "w.<version>.".
func parseWizardCode(s string) (Code, bool) {
	i, ok := Code(s).info()
	return Code(s), ok && i.wizard
}

// parseESFCode reads an ИС ЭСФ button's data after "esf.": its code and
// argument; false for no such code, or an argument where none belongs.
func parseESFCode(rest string) (Code, string, bool) {
	sub, arg, hasArg := strings.Cut(rest, ".")
	c := CodeESF + "." + Code(sub)
	i, ok := c.info()
	return c, arg, ok && i.esf && hasArg == i.arg && (!hasArg || arg != "")
}

// parseDocumentCode reads a document button's code.
func parseDocumentCode(s string) (Code, codeInfo, bool) {
	i, ok := Code(s).info()
	return Code(s), i, ok && i.document
}

// callbackData is a menu button's callback data: the code and what follows it,
// joined by ".".
func callbackData(c Code, rest ...string) string {
	return strings.Join(append([]string{string(c)}, rest...), ".")
}
