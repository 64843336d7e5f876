// Package flow is the conversation shared by the chat front ends: screens
// with text and choices, the inputs a person gives, and the transitions
// between them. It knows nothing of Telegram or WhatsApp: the Telegram
// adapter draws a Screen as a message with an inline keyboard, the WhatsApp
// adapter as numbered text. Where a person is in a flow lives in PostgreSQL
// (core.ChatStore), so a restart or a second instance loses nothing.
package flow

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"edobot/bot/i18n"
	"edobot/core"
	"edobot/core/egov"
)

// Button is one choice. Data comes back as Input.Choice when tapped; a
// button with a URL opens it instead; Copy puts a text on the clipboard
// where the messenger can.
type Button struct {
	Label string
	Data  string
	URL   string
	Copy  string
	// App opens URL (the link page) inside the messenger where it can (a
	// Telegram Mini App), else as a plain link.
	App bool
}

// File is a document or image the bot sends.
type File struct {
	Name string
	MIME string
	Data []byte
}

// Screen is one message of the bot.
type Screen struct {
	Text     string
	Buttons  [][]Button
	Photo    *File
	Document *File
	// Replace draws the screen over the message whose button was tapped,
	// where the messenger can edit messages; a messenger that cannot (or an
	// input that was no tap) sends it as a new message. Handle sets it on
	// the first screen answering a tap that is not a file: navigation
	// changes the screen in place, and only something new (a file, a
	// notification) comes as a message of its own.
	Replace bool
}

// Upload is a file the person sent. Size is what the messenger declared
// before download (0 when unknown); Open downloads it.
type Upload struct {
	Name string
	MIME string
	Size int64
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// Input is one thing the person did: typed text (commands included), a tap
// on a button, a file, or something the bot cannot use.
type Input struct {
	Text        string
	Choice      string
	Upload      *Upload
	Photo       bool // an image where a PDF was expected
	Unsupported bool // a sticker, a voice message…
}

// ReachFunc is Flow.Reach.
type ReachFunc = func(ctx context.Context, phone string, o Outreach) (*core.ChatUser, Send, error)

// Outreach is what a first message to a person who never wrote to the bot
// goes out for: the organisation it counts against and the document's link
// token, which an invitation link carries.
type Outreach struct {
	OrgID int64
	Token string
}

// Invitation is a messenger's answer, from Reach or a delivery, that it
// will not write first to the person: the sender forwards Link instead,
// which opens the person's chat with the bot on the document.
type Invitation struct {
	Link string
	// Why is what held the message back, for the logs.
	Why string
}

func (i *Invitation) Error() string { return "chat: the recipient is to be invited (" + i.Why + ")" }

// Flow runs the conversations of one channel.
type Flow struct {
	Service   *core.Service
	Cat       *i18n.Catalog
	Channel   string // core.ChannelTelegram or core.ChannelWhatsApp
	PublicURL string
	// StartLink is the link that opens a document's card in this messenger
	// ("https://t.me/<bot>?start=<token>"); nil when there is none.
	StartLink func(token string) string
	Egov      egov.Links
	EgovTTL   time.Duration
	// Deliver sends screens to another person's chat («Отправить
	// получателю»); nil when the channel cannot.
	Deliver func(ctx context.Context, to *core.ChatUser, screens []Screen) error
	// Reach finds, in another messenger, the chat of a recipient this
	// channel cannot reach (a phone on WhatsApp), with the way to deliver
	// screens there; core.ErrNotFound when the number is not on it, an
	// *Invitation when the messenger does not write first to that number.
	// nil when no other messenger is configured.
	Reach ReachFunc
	Log   *slog.Logger
	Now   func() time.Time

	orgs     *sync.Map // id → cachedOrg
	sessions *sync.Map // sessionKey → *core.EgovSession this process opened
}

// Prepare readies a flow a front end has copied from its template.
func (f *Flow) Prepare() {
	f.orgs = new(sync.Map)
	f.sessions = new(sync.Map)
}

func (f *Flow) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Flow) log() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.Default()
}

// state is a conversation as a flow reads and changes it.
type state struct {
	conv  core.Conversation
	Step  string
	Draft draft
	Query string // the last search
	// Made is the document the wizard made last, so that a second quick
	// «Создать» shows it.
	Made  string
	dirty bool
}

// draft is a new document being filled in, step by step.
type draft struct {
	Key      string        `json:"key,omitempty"` // idempotency key: one confirm, one document
	File     core.FileInfo `json:"file"`
	FileName string        `json:"file_name,omitempty"`
	PartyID  int64         `json:"party_id,omitempty"`
	Party    struct {
		Kind     core.PartyKind `json:"kind,omitempty"`
		Number   string         `json:"number,omitempty"`
		Name     string         `json:"name,omitempty"`
		Phone    string         `json:"phone,omitempty"`
		Telegram string         `json:"telegram,omitempty"`
	} `json:"party"`
	Type   core.DocType `json:"type,omitempty"`
	Number string       `json:"number,omitempty"`
	Date   string       `json:"date,omitempty"` // yyyy-mm-dd
	// Prop is what the PDF's text proposed; Quick says the wizard asks only
	// what it did not, ending on the proposal screen; ContactAsked that the
	// optional contact of a new party was asked already.
	Prop         *proposed `json:"prop,omitempty"`
	Quick        bool      `json:"quick,omitempty"`
	ContactAsked bool      `json:"contact_asked,omitempty"`
	CreateNext   bool      `json:"create_next,omitempty"` // the contact answered, the document is created

	// EditDoc is the document whose field is being edited, and its version.
	EditDoc     string `json:"edit_doc,omitempty"`
	EditVersion int64  `json:"edit_version,omitempty"`
}

type stored struct {
	Draft draft  `json:"draft"`
	Query string `json:"query,omitempty"`
	Made  string `json:"made,omitempty"`
}

func (st *state) set(step string) {
	st.Step = step
	st.dirty = true
}

// Steps of the conversation.
const (
	stepIdle         = ""
	stepRecipient    = "new.recipient"
	stepPartyNumber  = "new.party_number"
	stepPartyKind    = "new.party_kind"
	stepPartyName    = "new.party_name"
	stepPartyContact = "new.party_contact"
	stepType         = "new.type"
	stepNumber       = "new.number"
	stepDate         = "new.date"
	stepConfirm      = "new.confirm"
	stepSearch       = "search"
	stepEditNumber   = "edit.number"
	stepEditDate     = "edit.date"
)

// Handle answers one input of a person with the screens to show.
func (f *Flow) Handle(ctx context.Context, u *core.ChatUser, in Input) []Screen {
	screens := f.handle(ctx, u, in)
	if in.Choice != "" {
		replaceTapped(screens)
	}
	return fold(screens)
}

// fold joins a short note (a screen of text alone) to the screen after it,
// so that one message says what happened and what is next: every
// messenger sends it as one.
func fold(screens []Screen) []Screen {
	if len(screens) < 2 {
		return screens
	}
	out := make([]Screen, 0, len(screens))
	noteLast := false
	for _, s := range screens {
		if noteLast && s.Document == nil && s.Photo == nil {
			n := out[len(out)-1]
			s.Text = n.Text + "\n\n" + s.Text
			s.Replace = s.Replace || n.Replace
			out = out[:len(out)-1]
		}
		out = append(out, s)
		noteLast = len(s.Buttons) == 0 && s.Document == nil && s.Photo == nil
	}
	return out
}

// replaceTapped marks the first screen that is not a file to replace the
// screen whose button was tapped.
func replaceTapped(screens []Screen) {
	for i := range screens {
		if screens[i].Document == nil && screens[i].Photo == nil {
			screens[i].Replace = true
			return
		}
	}
}

func (f *Flow) handle(ctx context.Context, u *core.ChatUser, in Input) []Screen {
	st, err := f.loadState(ctx, u)
	if err != nil {
		return f.failure(ctx, u, err)
	}
	screens, err := f.dispatch(ctx, u, st, in)
	if err != nil {
		if _, ok := refusalCode(err); !ok {
			return f.failure(ctx, u, err)
		}
		screens = append([]Screen{{Text: "⚠️ " + f.Cat.Error(u.Language, err)}}, screens...)
	}
	if st.dirty {
		data, _ := json.Marshal(stored{Draft: st.Draft, Query: st.Query, Made: st.Made})
		c := st.conv
		c.Step, c.Data = st.Step, data
		ok, err := f.Service.SaveConversation(ctx, &c)
		if err != nil {
			return f.failure(ctx, u, err)
		}
		if !ok {
			// Another input moved the conversation first (two quick taps,
			// or two devices): this one's screens would show a state that
			// was not kept.
			st, err := f.loadState(ctx, u)
			if err != nil {
				return f.failure(ctx, u, err)
			}
			return f.stale(ctx, u, st)
		}
	}
	return screens
}

// ExpectsText reports whether the person's current step asks for typed text
// that may well be a bare number (a document number, a search), so that a
// front end with numbered menus does not read "1" as a choice.
func (f *Flow) ExpectsText(ctx context.Context, u *core.ChatUser) bool {
	c, err := f.Service.Conversation(ctx, u.ID)
	if err != nil {
		return false
	}
	switch c.Step {
	case stepNumber, stepEditNumber, stepPartyName, stepPartyContact, stepSearch:
		return true
	}
	return false
}

// failure logs an internal error and apologises without details.
func (f *Flow) failure(ctx context.Context, u *core.ChatUser, err error) []Screen {
	f.log().ErrorContext(ctx, "chat input failed", "channel", f.Channel, "chat_user", u.ID, "err", err)
	if errors.Is(err, core.ErrStoreUnavailable) {
		// The database is out of reach: the chat says so rather than
		// apologise for a fault.
		err = core.ErrUnavailable
	}
	return []Screen{{Text: "⚠️ " + f.Cat.Error(u.Language, err), Buttons: [][]Button{{f.menuButton(u)}}}}
}

// loadState reads the person's conversation: its step and what it keeps.
func (f *Flow) loadState(ctx context.Context, u *core.ChatUser) (*state, error) {
	conv, err := f.Service.Conversation(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	st := &state{conv: conv, Step: conv.Step}
	if len(conv.Data) > 0 {
		var s stored
		if err := json.Unmarshal(conv.Data, &s); err == nil {
			st.Draft, st.Query, st.Made = s.Draft, s.Query, s.Made
		}
	}
	return st, nil
}

// stale answers a tap on a button whose screen is no longer current with
// the prompt of the conversation's step st.
func (f *Flow) stale(ctx context.Context, u *core.ChatUser, st *state) []Screen {
	out := []Screen{{Text: f.t(u, "chat.stale", nil)}}
	return append(out, f.prompt(ctx, u, st)...)
}

func refusalCode(err error) (string, bool) {
	c := i18n.ErrorCode(err)
	return c, c != ""
}

func (f *Flow) t(u *core.ChatUser, id string, data map[string]any) string {
	return f.Cat.Text(u.Language, id, data)
}

// kz is a moment as the chats show it: its date and time in Kazakhstan.
func kz(t time.Time) string { return t.In(core.KazakhstanTime).Format("02.01.2006 15:04") }

// kzClock is a moment within the day as the chats show it: its time in
// Kazakhstan.
func kzClock(t time.Time) string { return t.In(core.KazakhstanTime).Format("15:04") }

func (f *Flow) menuButton(u *core.ChatUser) Button {
	return Button{Label: f.t(u, "chat.menu", nil), Data: callbackData(CodeMenu)}
}

// dispatch routes an input by its kind and the conversation's step.
func (f *Flow) dispatch(ctx context.Context, u *core.ChatUser, st *state, in Input) ([]Screen, error) {
	switch {
	case in.Choice != "":
		return f.choice(ctx, u, st, in.Choice)
	case in.Upload != nil:
		return f.upload(ctx, u, st, in.Upload)
	case in.Photo:
		return f.retry(ctx, u, st, "chat.photo_not_pdf"), nil
	case in.Unsupported:
		return f.retry(ctx, u, st, "chat.unsupported"), nil
	}
	text := strings.TrimSpace(in.Text)
	if strings.HasPrefix(text, "/") {
		return f.command(ctx, u, st, text)
	}
	return f.text(ctx, u, st, text)
}

// retry repeats the current step's prompt after a short explanation.
func (f *Flow) retry(ctx context.Context, u *core.ChatUser, st *state, msg string) []Screen {
	return append([]Screen{{Text: f.t(u, msg, nil)}}, f.prompt(ctx, u, st)...)
}

func (f *Flow) command(ctx context.Context, u *core.ChatUser, st *state, text string) ([]Screen, error) {
	cmd, arg, _ := strings.Cut(text, " ")
	if i := strings.IndexByte(cmd, '@'); i > 0 {
		cmd = cmd[:i] // "/start@edobot_bot" in groups
	}
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "/start":
		if arg != "" {
			return f.openLink(ctx, u, st, arg)
		}
		st.set(stepIdle)
		return f.welcome(ctx, u)
	case "/menu":
		st.set(stepIdle)
		return f.menu(ctx, u)
	case "/cancel":
		st.set(stepIdle)
		st.Draft = draft{}
		return append([]Screen{{Text: f.t(u, "chat.cancelled", nil)}}, f.mustMenu(ctx, u)...), nil
	case "/lang":
		return []Screen{f.languages(u)}, nil
	case "/new":
		return []Screen{{Text: f.t(u, "chat.new_hint", nil), Buttons: [][]Button{{f.menuButton(u)}}}}, nil
	case "/login":
		return f.startAuth(ctx, u, false)
	case "/esf":
		st.set(stepIdle)
		return f.esfScreen(ctx, u)
	case "/search":
		if arg != "" {
			return f.search(ctx, u, st, arg, 0)
		}
		st.set(stepSearch)
		return f.prompt(ctx, u, st), nil
	}
	return f.retry(ctx, u, st, "chat.unknown_command"), nil
}

// text handles typed text: the answer to the current step's question.
func (f *Flow) text(ctx context.Context, u *core.ChatUser, st *state, text string) ([]Screen, error) {
	switch st.Step {
	case stepRecipient, stepPartyNumber:
		return f.partyNumber(ctx, u, st, text)
	case stepPartyName:
		return f.partyName(ctx, u, st, text)
	case stepPartyContact:
		return f.partyContact(ctx, u, st, text)
	case stepNumber:
		return f.docNumber(ctx, u, st, text)
	case stepDate:
		return f.docDate(ctx, u, st, text)
	case stepEditNumber, stepEditDate:
		return f.editText(ctx, u, st, text)
	case stepSearch, stepIdle:
		if text == "" {
			return f.menu(ctx, u)
		}
		if st.Step == stepIdle && f.esfWord(text) {
			return f.esfScreen(ctx, u) // WhatsApp's way to /esf
		}
		return f.search(ctx, u, st, text, 0)
	}
	// A step that waits for a button.
	return f.retry(ctx, u, st, "chat.use_buttons"), nil
}

// prompt is the question of the current step, drawn again.
func (f *Flow) prompt(ctx context.Context, u *core.ChatUser, st *state) []Screen {
	switch st.Step {
	case stepRecipient:
		return []Screen{f.recipientScreen(ctx, u, st)}
	case stepPartyNumber:
		return []Screen{f.ask(u, st, "chat.ask_party_number")}
	case stepPartyKind:
		s := f.ask(u, st, "chat.ask_party_kind")
		s.Buttons = append([][]Button{
			{f.w(st, f.t(u, "chat.kind_employee", nil), CodeKindEmployee)},
			{f.w(st, f.t(u, "chat.kind_counterparty", nil), CodeKindCounterparty)},
		}, s.Buttons...)
		return []Screen{s}
	case stepPartyName:
		return []Screen{f.ask(u, st, "chat.ask_party_name")}
	case stepPartyContact:
		s := f.ask(u, st, "chat.ask_party_contact")
		s.Buttons = append([][]Button{{f.w(st, f.t(u, "chat.skip", nil), CodeSkip)}}, s.Buttons...)
		return []Screen{s}
	case stepType:
		return []Screen{f.typeScreen(u, st)}
	case stepNumber:
		s := f.ask(u, st, "chat.ask_number")
		s.Buttons = append(f.proposedButtons(u, st), s.Buttons...)
		return []Screen{s}
	case stepDate:
		s := f.ask(u, st, "chat.ask_date")
		s.Buttons = append(append(f.proposedButtons(u, st), []Button{f.w(st, f.t(u, "chat.today", nil), CodeToday)}), s.Buttons...)
		return []Screen{s}
	case stepConfirm:
		return []Screen{f.confirmScreen(u, st)}
	case stepProposal:
		return []Screen{f.proposalScreen(u, st)}
	case stepSearch:
		return []Screen{{Text: f.t(u, "chat.ask_search", nil), Buttons: [][]Button{{f.menuButton(u)}}}}
	case stepEditNumber:
		return []Screen{f.ask(u, st, "chat.ask_number")}
	case stepEditDate:
		s := f.ask(u, st, "chat.ask_date")
		s.Buttons = append([][]Button{{f.w(st, f.t(u, "chat.today", nil), CodeToday)}}, s.Buttons...)
		return []Screen{s}
	}
	return f.mustMenu(ctx, u)
}

// ask is a question with a cancel button.
func (f *Flow) ask(u *core.ChatUser, st *state, id string) Screen {
	return Screen{Text: f.t(u, id, nil), Buttons: [][]Button{{f.w(st, f.t(u, "chat.cancel", nil), CodeCancel)}}}
}

// w is a button of the current step, bound to the conversation's version:
// the version it will have once this input's transition is saved.
func (f *Flow) w(st *state, label string, value Code) Button {
	v := st.conv.Version
	if st.dirty {
		v++
	}
	return Button{Label: label, Data: callbackData(CodeWizard, strconv.FormatInt(v, 10), string(value))}
}

// choice routes a tapped button.
func (f *Flow) choice(ctx context.Context, u *core.ChatUser, st *state, data string) ([]Screen, error) {
	kind, rest, _ := strings.Cut(data, ".")
	code, ok := parseMenuCode(kind)
	if !ok {
		return f.stale(ctx, u, st), nil
	}
	switch code {
	case CodeMenu:
		if st.Step != stepIdle {
			st.set(stepIdle)
			st.Draft = draft{}
		}
		return f.menu(ctx, u)
	case CodeLang:
		if err := f.Service.SetLanguage(ctx, u, rest); err != nil {
			return nil, err
		}
		return append([]Screen{{Text: f.t(u, "chat.lang_set", nil), Replace: true}}, f.mustMenu(ctx, u)...), nil
	case CodeLangs:
		return []Screen{f.languages(u)}, nil
	case CodeAuth:
		return f.startAuth(ctx, u, rest == authSwitch)
	case CodeAuthQR:
		return f.authQR(ctx, u, rest)
	case CodeFolder:
		return f.folderChoice(ctx, u, rest)
	case CodeSearch:
		if rest == "" {
			st.set(stepSearch)
			return f.prompt(ctx, u, st), nil
		}
		off, _ := strconv.Atoi(rest)
		return f.search(ctx, u, st, st.Query, off)
	case CodeNew:
		return []Screen{{Text: f.t(u, "chat.new_hint", nil), Buttons: [][]Button{{f.menuButton(u)}}}}, nil
	case CodeWizard:
		ver, value, _ := strings.Cut(rest, ".")
		v, err := strconv.ParseInt(ver, 10, 64)
		code, known := parseWizardCode(value)
		if err == nil && v == st.conv.Version-1 && code == CodeCreate {
			if s, ok := f.madeTwice(ctx, u, st); ok {
				return s, nil
			}
		}
		if err != nil || v != st.conv.Version || !known {
			return f.stale(ctx, u, st), nil
		}
		return f.wizardChoice(ctx, u, st, code)
	case CodeDocument:
		return f.documentChoice(ctx, u, st, rest)
	case CodeESF:
		return f.esfChoice(ctx, u, st, rest)
	}
	return f.stale(ctx, u, st), nil
}

// languages offers the three languages.
func (f *Flow) languages(u *core.ChatUser) Screen {
	var row []Button
	for _, c := range i18n.Choices {
		row = append(row, Button{Label: c.Name, Data: callbackData(CodeLang, c.Code)})
	}
	return Screen{Text: f.t(u, "chat.choose_lang", nil), Buttons: [][]Button{row}}
}

// welcome greets and shows the menu.
func (f *Flow) welcome(ctx context.Context, u *core.ChatUser) ([]Screen, error) {
	name := u.Name
	if name == "" {
		name = "👋"
	}
	m, err := f.menu(ctx, u)
	if err != nil {
		return nil, err
	}
	m[0].Text = f.t(u, "chat.welcome", map[string]any{"Name": name}) + "\n\n" + m[0].Text
	return m, nil
}

func (f *Flow) mustMenu(ctx context.Context, u *core.ChatUser) []Screen {
	m, err := f.menu(ctx, u)
	if err != nil {
		return f.failure(ctx, u, err)
	}
	return m
}

// menu is the main screen: the folders with their counts for a person who
// proved who they are, the sign-in for one who did not.
func (f *Flow) menu(ctx context.Context, u *core.ChatUser) ([]Screen, error) {
	if !u.Bound() {
		return []Screen{{Text: f.t(u, "chat.menu_unbound", nil), Buttons: [][]Button{
			{{Label: f.t(u, "chat.login", nil), Data: callbackData(CodeAuth)}},
			{{Label: "🌐 " + f.t(u, "chat.language", nil), Data: callbackData(CodeLangs)}},
		}}}, nil
	}
	a, org, err := f.actor(ctx, u)
	if err != nil {
		return nil, err
	}
	counts, err := f.Service.FolderCounts(ctx, a)
	if err != nil {
		return nil, err
	}
	var rows [][]Button
	for _, fo := range core.Folders {
		rows = append(rows, []Button{{Label: folderIcon[fo] + " " + f.t(u, "folder."+string(fo), nil) + " (" + strconv.Itoa(counts[fo]) + ")",
			Data: callbackData(CodeFolder, string(fo), "0")}})
	}
	rows = append(rows, []Button{{Label: "🔍 " + f.t(u, "chat.search", nil), Data: callbackData(CodeSearch)}, {Label: "📄 " + f.t(u, "chat.new", nil), Data: callbackData(CodeNew)}})
	if f.Service.ESF != nil {
		rows = append(rows, []Button{{Label: "🧾 " + f.t(u, "esf.menu", nil), Data: callbackData(CodeESF)}})
	}
	rows = append(rows, []Button{{Label: "🌐 " + f.t(u, "chat.language", nil), Data: callbackData(CodeLangs)}})
	text := f.t(u, "chat.menu_bound", map[string]any{"Org": org.Name, "Number": org.Number})
	if !org.SubscriptionActive(f.now()) {
		text += "\n" + f.t(u, "error.subscription_inactive", nil)
	}
	return []Screen{{Text: text, Buttons: rows}}, nil
}

var folderIcon = map[core.Folder]string{
	core.FolderIncoming: "📥", core.FolderOutgoing: "📤", core.FolderCompleted: "✅", core.FolderArchived: "🗄",
}

// actor is the organisation a bound person acts for.
func (f *Flow) actor(ctx context.Context, u *core.ChatUser) (core.Actor, *core.Organisation, error) {
	if !u.Bound() {
		return core.Actor{}, nil, core.ErrOrgUnknown
	}
	org, err := f.organisation(ctx, u.OrgID)
	if err != nil {
		return core.Actor{}, nil, err
	}
	return core.ChatActor(u, org.Number), org, nil
}

// orgTTL is how long an organisation read for a chat is reused: every tap
// needs it, and its number never changes (a renewed subscription shows
// within the TTL).
const orgTTL = 30 * time.Second

type cachedOrg struct {
	org *core.Organisation
	at  time.Time
}

func (f *Flow) organisation(ctx context.Context, id int64) (*core.Organisation, error) {
	if f.orgs == nil {
		return f.Service.Organisation(ctx, id)
	}
	now := time.Now()
	if v, ok := f.orgs.Load(id); ok && now.Sub(v.(cachedOrg).at) < orgTTL {
		return v.(cachedOrg).org, nil
	}
	org, err := f.Service.Organisation(ctx, id)
	if err != nil {
		return nil, err
	}
	f.orgs.Store(id, cachedOrg{org: org, at: now})
	return org, nil
}
