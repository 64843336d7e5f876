package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"edobot/core/iinbin"
	"edobot/core/pdfintake"
)

// Service holds the use cases. Its zero-value fields other than Store and
// Blobs have working defaults.
type Service struct {
	Store Store
	Blobs BlobStore
	// Verifier checks the CMS that SignCMS receives.
	Verifier SignatureVerifier
	// Egov keeps eGov QR signing sessions.
	Egov EgovStore
	// Broker, when set, is where eGov signing goes instead of our own QR
	// protocol (SIGEX's egovQr, EDOBOT_EGOV_VIA=sigex); BrokerSessions keeps
	// those signings, Background runs their waiting, EgovCaptions writes what
	// the app shows.
	Broker         EgovBroker
	BrokerSessions BrokerStore
	Background     *Background
	EgovCaptions   EgovCaptions
	// Webhooks keeps the organisations' webhooks.
	Webhooks WebhookStore
	// Combine builds the «Версия для ezSigner».
	Combine Combiner
	// Cards draws the «Электронная карточка»; Downloads keeps the cards and
	// ezSigner versions of documents in a final status (nil = make them on
	// every request).
	Cards     CardRenderer
	Downloads DownloadCache
	// Chats keeps chat users, conversations and identity challenges.
	Chats ChatStore
	// Trial is how long a self-registered organisation may send documents
	// before it needs a subscription; 0 = DefaultTrial.
	Trial   time.Duration
	Now     func() time.Time
	TempDir string // where uploads are spooled; "" = the system's
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// NewToken returns 256 random bits, URL-safe.
func NewToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// LinkHash is what the database indexes instead of the link token itself.
func LinkHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// ---- organisations and API keys ----

// RegisterOrganisation adds an organisation, or updates the name and
// subscription of one already registered under the same number.
func (s *Service) RegisterOrganisation(ctx context.Context, number, name string, until *time.Time) (*Organisation, bool, error) {
	number = iinbin.Normalize(number)
	if _, err := iinbin.Validate(number); err != nil {
		return nil, false, err
	}
	name, err := TextOrgName.Clean(name)
	if err != nil {
		return nil, false, err
	}
	o := &Organisation{Number: number, Name: name, SubscriptionUntil: until}
	var created bool
	err = s.Store.InTx(ctx, func(tx Tx) error {
		var err error
		created, err = tx.UpsertOrganisation(ctx, o)
		return err
	})
	if err != nil {
		return nil, false, wrapf(err, "register organisation")
	}
	return o, created, nil
}

const apiKeyPrefix = "edo_"

// CreateAPIKey makes a new key for the organisation. The key is returned once;
// only its hash is stored.
func (s *Service) CreateAPIKey(ctx context.Context, orgNumber string) (string, *Organisation, error) {
	org, err := s.Store.OrganisationByNumber(ctx, iinbin.Normalize(orgNumber))
	if err != nil {
		return "", nil, err
	}
	key := apiKeyPrefix + NewToken()
	h := sha256.Sum256([]byte(key))
	k := &APIKey{OrgID: org.ID, Hash: h[:], Prefix: key[:len(apiKeyPrefix)+6]}
	if err := s.Store.InTx(ctx, func(tx Tx) error { return tx.InsertAPIKey(ctx, k) }); err != nil {
		return "", nil, wrapf(err, "store api key")
	}
	return key, org, nil
}

// Authenticate turns an API key into the organisation's actor.
func (s *Service) Authenticate(ctx context.Context, key string) (Actor, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) {
		return Actor{}, ErrAPIKeyInvalid
	}
	h := sha256.Sum256([]byte(key))
	k, err := s.Store.APIKeyByHash(ctx, h[:])
	if errors.Is(err, ErrNotFound) || err == nil && (k.RevokedAt != nil || subtle.ConstantTimeCompare(k.Hash, h[:]) != 1) {
		return Actor{}, ErrAPIKeyInvalid
	}
	if err != nil {
		return Actor{}, wrapf(err, "look up api key")
	}
	org, err := s.Store.OrganisationByID(ctx, k.OrgID)
	if err != nil {
		return Actor{}, wrapf(err, "api key organisation")
	}
	// The key is looked up on every request, never cached, so a revoked
	// key is refused from the next request on. Its use is written down at
	// most once a minute: a write per request would cost more than it says.
	if now := s.now(); k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= APIKeyTouchEvery {
		if err := s.Store.TouchAPIKey(ctx, k.ID, now); err != nil {
			return Actor{}, wrapf(err, "api key use")
		}
	}
	return Actor{OrgID: org.ID, Number: org.Number, Label: fmt.Sprintf("apikey:%d", k.ID)}, nil
}

// APIKeyTouchEvery is how often a key's last use is written down.
const APIKeyTouchEvery = time.Minute

// APIKeys lists the organisation's API keys, newest first; only their
// prefixes are known.
func (s *Service) APIKeys(ctx context.Context, orgNumber string) ([]APIKey, *Organisation, error) {
	org, err := s.Store.OrganisationByNumber(ctx, iinbin.Normalize(orgNumber))
	if err != nil {
		return nil, nil, err
	}
	keys, err := s.Store.APIKeys(ctx, org.ID)
	if err != nil {
		return nil, nil, wrapf(err, "api keys of %s", org.Number)
	}
	return keys, org, nil
}

// RevokeAPIKey revokes a key: the next request with it is refused with
// ErrAPIKeyInvalid. Revoking a revoked key changes nothing and says so.
func (s *Service) RevokeAPIKey(ctx context.Context, id int64) (APIKey, bool, error) {
	k, already, err := s.Store.RevokeAPIKey(ctx, id, s.now())
	if errors.Is(err, ErrNotFound) {
		return APIKey{}, false, ErrAPIKeyNotFound
	}
	if err != nil {
		return APIKey{}, false, wrapf(err, "revoke api key %d", id)
	}
	return k, already, nil
}

// ---- chat users ----

// Channels a chat user can come from.
const (
	ChannelTelegram = "telegram"
	ChannelWhatsApp = "whatsapp"
)

// Languages users can read.
var Languages = []string{"ru", "kk", "en"}

func validLanguage(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// ChatUser returns the person behind a messenger account, registering them on
// first contact in the language their messenger reports (Russian otherwise).
func (s *Service) ChatUser(ctx context.Context, channel, externalID, name, lang string) (*ChatUser, error) {
	if channel != ChannelTelegram && channel != ChannelWhatsApp || externalID == "" {
		return nil, fmt.Errorf("chat user: bad channel %q or empty id", channel)
	}
	if !validLanguage(lang) {
		lang = "ru"
	}
	u := &ChatUser{Channel: channel, ExternalID: externalID, Name: TextPersonName.Sanitize(name), Language: lang}
	if err := s.Store.EnsureChatUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// SetLanguage changes the language a chat user reads (/lang).
func (s *Service) SetLanguage(ctx context.Context, u *ChatUser, lang string) error {
	if !validLanguage(lang) {
		return &Refusal{Code: CodeInvalidLanguage, Detail: lang}
	}
	if err := s.Store.SetChatLanguage(ctx, u.ID, lang); err != nil {
		return err
	}
	u.Language = lang
	return nil
}

// ---- documents ----

// PartyInput names a recipient, new or already in the directory.
type PartyInput struct {
	Kind   PartyKind
	Number string
	Name   string
	Phone  string
	// Telegram is the recipient's @username, for «Отправить получателю».
	Telegram string
}

// NewDocument is what a sender fills in. The file comes separately, as a stream.
type NewDocument struct {
	Recipient      PartyInput
	Type           DocType
	Number         string
	Date           time.Time
	BaseRef        string // the accounting system's reference of the base document
	IdempotencyKey string // the same key twice creates one document
}

func (p *PartyInput) normalise() error {
	if p.Kind != PartyEmployee && p.Kind != PartyCounterparty {
		return invalid(CodeInvalidPartyKind, "recipient_kind", string(p.Kind))
	}
	var err error
	for _, f := range []struct {
		v    *string
		rule TextRule
	}{{&p.Number, TextIINBIN}, {&p.Name, TextPartyName}, {&p.Phone, TextPhone}, {&p.Telegram, TextTelegram}} {
		if *f.v, err = f.rule.Clean(*f.v); err != nil {
			return err
		}
	}
	p.Number = iinbin.Normalize(p.Number)
	kind, err := iinbin.Validate(p.Number)
	if err != nil {
		return err
	}
	if p.Kind == PartyEmployee && kind != iinbin.KindIIN {
		return invalid(CodeInvalidPartyKind, "recipient_iin_bin", "an employee is identified by an IIN")
	}
	if p.Phone != "" {
		phone, ok := NormalizePhone(p.Phone)
		if !ok {
			return invalid(CodeInvalidPhone, "recipient_phone", p.Phone)
		}
		p.Phone = phone
	}
	if p.Telegram != "" {
		t, ok := NormalizeTelegram(p.Telegram)
		if !ok {
			return invalid(CodeInvalidTelegram, "recipient_telegram", p.Telegram)
		}
		p.Telegram = t
	}
	return nil
}

// NormalizeTelegram checks a Telegram @username (5–32 letters, digits and
// underscores) and returns it without the @ and without a t.me/ prefix.
func NormalizeTelegram(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, p := range []string{"https://t.me/", "http://t.me/", "t.me/", "@"} {
		s = strings.TrimPrefix(s, p)
	}
	if len(s) < 5 || len(s) > 32 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return "", false
		}
	}
	return s, true
}

// NormalizePhone turns what people type into E.164: "8 701 123 45 67",
// "+7 (701) 123-45-67" and "77011234567" all become "+77011234567".
func NormalizePhone(s string) (string, bool) {
	var digits []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '+' && len(digits) == 0:
		default:
			return "", false
		}
	}
	if len(digits) == 11 && digits[0] == '8' {
		digits[0] = '7'
	}
	if len(digits) == 10 && digits[0] == '7' {
		digits = append([]byte{'7'}, digits...)
	}
	if len(digits) < 10 || len(digits) > 15 {
		return "", false
	}
	return "+" + string(digits), true
}

func validateFields(t DocType, number string, date time.Time) (string, time.Time, error) {
	if !t.Valid() {
		return "", time.Time{}, invalid(CodeInvalidType, "type", string(t))
	}
	number, err := TextNumber.Clean(number)
	if err != nil {
		return "", time.Time{}, err
	}
	if date.IsZero() || date.Year() < 1991 || date.Year() > 2100 {
		return "", time.Time{}, invalid(CodeInvalidDate, "date", "")
	}
	return number, time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, time.UTC), nil
}

// intake checks and stores an uploaded PDF. The blob is content-addressed, so
// a file stored by a request that later fails is harmless and is shared by
// the next upload of the same bytes.
func (s *Service) intake(ctx context.Context, file io.Reader) (FileInfo, error) {
	return s.StageFile(ctx, file)
}

// StageFile checks and stores a PDF before the document is created, so a
// chat can refuse a bad file at once and create the document steps later
// with CreateDocument over the stored blob.
func (s *Service) StageFile(ctx context.Context, file io.Reader) (FileInfo, error) {
	return s.stage(ctx, file, nil)
}

// stage checks a PDF and stores it; read, when set, reads the checked file
// first (and may leave it anywhere: stage rewinds it).
func (s *Service) stage(ctx context.Context, file io.Reader, read func(f *os.File, info FileInfo)) (FileInfo, error) {
	up, err := pdfintake.Intake(ctx, file, s.TempDir)
	if err != nil {
		return FileInfo{}, err
	}
	defer up.Close()
	f, err := up.Open()
	if err != nil {
		return FileInfo{}, wrapf(err, "reopen upload")
	}
	defer f.Close()
	info := FileInfo{SHA256: up.SHA256Hex(), Size: up.Size, Pages: up.Pages}
	if read != nil {
		read(f, info)
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return FileInfo{}, wrapf(err, "rewind upload")
		}
	}
	if err := s.Blobs.Put(ctx, info.SHA256, info.Size, f); err != nil {
		return FileInfo{}, wrapf(err, "store file")
	}
	return info, nil
}

func (s *Service) senderOrg(ctx context.Context, a Actor) (*Organisation, error) {
	if a.OrgID == 0 {
		return nil, ErrOrgUnknown
	}
	org, err := s.Store.OrganisationByID(ctx, a.OrgID)
	if err != nil {
		return nil, err
	}
	if !org.SubscriptionActive(s.now()) {
		return nil, ErrSubscription
	}
	return org, nil
}

// CreateDocument checks the fields and the PDF, stores the file and creates a
// document in «Создан» whose link works at once.
func (s *Service) CreateDocument(ctx context.Context, a Actor, in NewDocument, file io.Reader) (*Document, error) {
	org, err := s.senderOrg(ctx, a)
	if err != nil {
		return nil, err
	}
	if err := in.Recipient.normalise(); err != nil {
		return nil, err
	}
	if in.Recipient.Number == org.Number {
		return nil, ErrRecipientIsSender
	}
	number, date, err := validateFields(in.Type, in.Number, in.Date)
	if err != nil {
		return nil, err
	}
	if in.BaseRef, err = TextBaseRef.Clean(in.BaseRef); err != nil {
		return nil, err
	}
	if in.IdempotencyKey != "" {
		if in.IdempotencyKey, err = TextIdempotencyKey.Clean(in.IdempotencyKey); err != nil {
			return nil, err
		}
	}
	if in.BaseRef != "" && !in.Type.Accounting() {
		return nil, invalid(CodeBaseNotAccounting, "base_ref", string(in.Type))
	}
	info, err := s.intake(ctx, file)
	if err != nil {
		return nil, err
	}
	d := &Document{
		ID: uuid.New(), SenderOrgID: org.ID, SenderNumber: org.Number, SenderName: org.Name,
		RecipientKind: in.Recipient.Kind, RecipientNumber: in.Recipient.Number, RecipientName: in.Recipient.Name,
		Type: in.Type, Number: number, Date: date, File: info, Status: StatusCreated,
		LinkToken: NewToken(), BaseRef: in.BaseRef, IdempotencyKey: in.IdempotencyKey,
	}
	if d.IdempotencyKey != "" {
		d.IdempotencyHash = requestHash(map[string]any{"create": map[string]any{
			"recipient": in.Recipient, "type": d.Type, "number": d.Number, "date": d.Date.Format(time.DateOnly),
			"base_ref": d.BaseRef, "file": d.File.SHA256,
		}})
	}
	return s.insert(ctx, a, d, &in.Recipient, nil)
}

// insert stores a new document with its first audit event and outbox row.
func (s *Service) insert(ctx context.Context, a Actor, d *Document, recipient *PartyInput, extra map[string]string) (*Document, error) {
	err := s.Store.InTx(ctx, func(tx Tx) error {
		if d.BaseRef != "" {
			inUse, err := tx.BaseRefInUse(ctx, d.SenderOrgID, d.BaseRef, d.ID)
			if err != nil {
				return err
			}
			if inUse {
				return ErrBaseInUse
			}
		}
		p := &Party{OrgID: d.SenderOrgID, Kind: recipient.Kind, Number: recipient.Number, Name: recipient.Name, Phone: recipient.Phone,
			Telegram: recipient.Telegram}
		if err := tx.UpsertParty(ctx, p); err != nil {
			return err
		}
		d.RecipientPartyID = p.ID
		now := s.now()
		d.CreatedAt, d.UpdatedAt, d.Version = now, now, 1
		ev := &Event{Kind: EventCreated, Actor: a.Label, At: now, Details: details(mergeDetails(extra, map[string]string{
			"sha256": d.File.SHA256, "type": string(d.Type), "number": d.Number, "recipient": d.RecipientNumber,
		}))}
		chain(d, ev)
		asked := d.IdempotencyHash
		created, err := tx.InsertDocument(ctx, d)
		if err != nil {
			return err
		}
		if !created {
			// The key was used before: the same request gets the same
			// document, another request a refusal.
			if d.IdempotencyHash != nil && !bytes.Equal(d.IdempotencyHash, asked) {
				return ErrIdempotencyReused
			}
			return nil
		}
		if err := tx.AppendEvent(ctx, ev); err != nil {
			return err
		}
		return s.outbox(ctx, tx, d, OutboxCreated, "", "")
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// requestHash is the SHA-256 of a request as the use case understood it
// (fields normalised, the file by its hash), kept with its idempotency key.
// encoding/json writes map keys sorted, so the form is canonical.
func requestHash(req map[string]any) []byte {
	b, err := json.Marshal(req)
	if err != nil {
		panic(err) // strings, numbers and ids only
	}
	h := sha256.Sum256(b)
	return h[:]
}

func mergeDetails(a, b map[string]string) map[string]string {
	for k, v := range a {
		b[k] = v
	}
	return b
}

func (s *Service) outbox(ctx context.Context, tx Tx, d *Document, kind string, from Status, side Side) error {
	payload, err := json.Marshal(map[string]any{
		"document_id": d.ID, "status": d.Status, "previous_status": from, "side": side,
		"event_seq": d.AuditSeq, "sender_org_id": d.SenderOrgID, "recipient": d.RecipientNumber,
	})
	if err != nil {
		return err
	}
	return tx.AddOutbox(ctx, &OutboxMessage{ID: uuid.New(), DocumentID: d.ID, Kind: kind, Payload: payload, CreatedAt: s.now()})
}

// ActorSide tells which side the actor is on, hiding another organisation's
// documents behind ErrNotFound so that their existence is not revealed.
func ActorSide(d *Document, a Actor) (Side, error) {
	switch {
	case a.OrgID != 0 && a.OrgID == d.SenderOrgID:
		return SideSender, nil
	case a.Number != "" && a.Number == d.RecipientNumber:
		return SideRecipient, nil
	}
	return "", ErrNotFound
}

// change runs fn on the locked document after checking the action for the
// actor's side, then saves the document with the audit event fn recorded.
func (s *Service) change(ctx context.Context, a Actor, id uuid.UUID, act Action, fn func(tx Tx, d *Document, side Side) (*Event, error)) (*Document, error) {
	var out *Document
	err := s.Store.InTx(ctx, func(tx Tx) error {
		d, err := tx.LockDocument(ctx, id)
		if err != nil {
			return err
		}
		side, err := ActorSide(d, a)
		if err != nil {
			return err
		}
		if err := Check(d, side, act); err != nil {
			return err
		}
		ev, err := fn(tx, d, side)
		if err != nil {
			return err
		}
		out = d
		if ev == nil { // nothing to change: a repeated tap
			return nil
		}
		return s.save(ctx, tx, d, ev)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) save(ctx context.Context, tx Tx, d *Document, ev *Event) error {
	if ev.At.IsZero() {
		ev.At = s.now()
	}
	chain(d, ev)
	// A visit or a download changes nothing a card shows: it must not make
	// the sender's open card stale.
	if ev.Kind != EventLinkOpened && ev.Kind != EventDownloaded {
		d.Version++
		d.UpdatedAt = ev.At
	}
	if err := tx.AppendEvent(ctx, ev); err != nil {
		return err
	}
	return tx.UpdateDocument(ctx, d)
}

// Document returns a document the actor may see, with the actor's side.
func (s *Service) Document(ctx context.Context, a Actor, id uuid.UUID) (*Document, Side, error) {
	d, err := s.Store.Document(ctx, id)
	if err != nil {
		return nil, "", err
	}
	side, err := ActorSide(d, a)
	if err != nil {
		return nil, "", err
	}
	return d, side, nil
}

// DocumentEdit changes fields of a document still in «Создан». Nil fields stay.
// Version is the document's version the edit was made on: it must match, so
// an edit made from a stale card is refused with ErrStale instead of
// overwriting a newer change, and an edit that names none is refused with
// ErrVersionRequired.
type DocumentEdit struct {
	Version   int64
	Type      *DocType
	Number    *string
	Date      *time.Time
	Recipient *PartyInput
	BaseRef   *string
	File      io.Reader
}

// EditDocument edits fields or replaces the file of a document in «Создан».
func (s *Service) EditDocument(ctx context.Context, a Actor, id uuid.UUID, e DocumentEdit) (*Document, error) {
	if e.Recipient != nil {
		if err := e.Recipient.normalise(); err != nil {
			return nil, err
		}
	}
	// The file is checked and stored before the lock: intake is slow, and a
	// blob nobody refers to is harmless.
	var file *FileInfo
	if e.File != nil {
		cur, side, err := s.Document(ctx, a, id)
		if err != nil {
			return nil, err
		}
		if err := Check(cur, side, ActionEdit); err != nil {
			return nil, err
		}
		if e.Version == 0 {
			return nil, ErrVersionRequired
		}
		info, err := s.intake(ctx, e.File)
		if err != nil {
			return nil, err
		}
		file = &info
	}
	return s.change(ctx, a, id, ActionEdit, func(tx Tx, d *Document, _ Side) (*Event, error) {
		switch {
		case e.Version == 0:
			return nil, ErrVersionRequired
		case e.Version != d.Version:
			return nil, ErrStale
		}
		t, number, date, baseRef := d.Type, d.Number, d.Date, d.BaseRef
		if e.Type != nil {
			t = *e.Type
		}
		if e.Number != nil {
			number = *e.Number
		}
		if e.Date != nil {
			date = *e.Date
		}
		if e.BaseRef != nil {
			var err error
			if baseRef, err = TextBaseRef.Clean(*e.BaseRef); err != nil {
				return nil, err
			}
		}
		number, date, err := validateFields(t, number, date)
		if err != nil {
			return nil, err
		}
		if baseRef != "" && !t.Accounting() {
			return nil, invalid(CodeBaseNotAccounting, "base_ref", string(t))
		}
		changed := map[string]string{}
		if baseRef != d.BaseRef && baseRef != "" {
			inUse, err := tx.BaseRefInUse(ctx, d.SenderOrgID, baseRef, d.ID)
			if err != nil {
				return nil, err
			}
			if inUse {
				return nil, ErrBaseInUse
			}
		}
		set := func(field, old, new string) {
			if old != new {
				changed[field] = new
			}
		}
		set("type", string(d.Type), string(t))
		set("number", d.Number, number)
		set("date", d.Date.Format(time.DateOnly), date.Format(time.DateOnly))
		set("base_ref", d.BaseRef, baseRef)
		d.Type, d.Number, d.Date, d.BaseRef = t, number, date, baseRef
		if r := e.Recipient; r != nil {
			if r.Number == d.SenderNumber {
				return nil, ErrRecipientIsSender
			}
			p := &Party{OrgID: d.SenderOrgID, Kind: r.Kind, Number: r.Number, Name: r.Name, Phone: r.Phone}
			if err := tx.UpsertParty(ctx, p); err != nil {
				return nil, err
			}
			set("recipient", d.RecipientNumber, r.Number)
			set("recipient_name", d.RecipientName, r.Name)
			set("recipient_kind", string(d.RecipientKind), string(r.Kind))
			d.RecipientPartyID, d.RecipientKind, d.RecipientNumber, d.RecipientName = p.ID, r.Kind, r.Number, r.Name
		}
		if file != nil {
			set("sha256", d.File.SHA256, file.SHA256)
			d.File = *file
		}
		if len(changed) == 0 {
			return nil, nil
		}
		return &Event{Kind: EventEdited, Actor: a.Label, Details: details(changed)}, nil
	})
}

// DeleteDocument deletes a document in «Создан»: its link dies at once. The
// row stays, for the audit trail, and disappears from every folder.
func (s *Service) DeleteDocument(ctx context.Context, a Actor, id uuid.UUID) error {
	_, err := s.change(ctx, a, id, ActionDelete, func(tx Tx, d *Document, side Side) (*Event, error) {
		now := s.now()
		d.DeletedAt = &now
		if err := s.save(ctx, tx, d, &Event{Kind: EventDeleted, Actor: a.Label, At: now}); err != nil {
			return nil, err
		}
		return nil, s.outbox(ctx, tx, d, OutboxDeleted, d.Status, side)
	})
	return err
}

// Revoke revokes a document «На подписании»: the link stops working and the
// signatures given are void.
func (s *Service) Revoke(ctx context.Context, a Actor, id uuid.UUID) (*Document, error) {
	return s.change(ctx, a, id, ActionRevoke, func(tx Tx, d *Document, side Side) (*Event, error) {
		from := d.Status
		d.Status = StatusRevoked
		ev := &Event{Kind: EventRevoked, Actor: a.Label, At: s.now()}
		// The outbox row must carry the event's sequence number, so chain first.
		if err := s.save(ctx, tx, d, ev); err != nil {
			return nil, err
		}
		return nil, s.outbox(ctx, tx, d, OutboxRevoked, from, side)
	})
}

// Archive moves a finished document to the actor's own archive. Archiving
// twice changes nothing and records nothing.
func (s *Service) Archive(ctx context.Context, a Actor, id uuid.UUID) (*Document, error) {
	return s.setArchived(ctx, a, id, ActionArchive, true)
}

// Unarchive returns a document from the actor's archive to Завершенные.
func (s *Service) Unarchive(ctx context.Context, a Actor, id uuid.UUID) (*Document, error) {
	return s.setArchived(ctx, a, id, ActionUnarchive, false)
}

func (s *Service) setArchived(ctx context.Context, a Actor, id uuid.UUID, act Action, archived bool) (*Document, error) {
	return s.change(ctx, a, id, act, func(tx Tx, d *Document, side Side) (*Event, error) {
		if d.ArchivedBy(side) == archived {
			return nil, nil
		}
		var at *time.Time
		if archived {
			now := s.now()
			at = &now
		}
		if side == SideSender {
			d.SenderArchivedAt = at
		} else {
			d.RecipientArchivedAt = at
		}
		kind := EventUnarchived
		if archived {
			kind = EventArchived
		}
		return &Event{Kind: kind, Actor: a.Label, Details: details(map[string]string{"side": string(side)})}, nil
	})
}

// Copy creates a new document in «Создан» with the same file, fields and
// recipient, and a new link.
func (s *Service) Copy(ctx context.Context, a Actor, id uuid.UUID, idempotencyKey string) (*Document, error) {
	if idempotencyKey != "" {
		var err error
		if idempotencyKey, err = TextIdempotencyKey.Clean(idempotencyKey); err != nil {
			return nil, err
		}
	}
	org, err := s.senderOrg(ctx, a)
	if err != nil {
		return nil, err
	}
	src, side, err := s.Document(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if err := Check(src, side, ActionCopy); err != nil {
		return nil, err
	}
	d := &Document{
		ID: uuid.New(), SenderOrgID: org.ID, SenderNumber: org.Number, SenderName: org.Name,
		RecipientKind: src.RecipientKind, RecipientNumber: src.RecipientNumber, RecipientName: src.RecipientName,
		Type: src.Type, Number: src.Number, Date: src.Date, File: src.File, Status: StatusCreated,
		LinkToken: NewToken(), IdempotencyKey: idempotencyKey, CopiedFrom: src.ID,
	}
	if idempotencyKey != "" {
		d.IdempotencyHash = requestHash(map[string]any{"copy": src.ID})
	}
	recipient := &PartyInput{Kind: src.RecipientKind, Number: src.RecipientNumber, Name: src.RecipientName}
	return s.insert(ctx, a, d, recipient, map[string]string{"copied_from": src.ID.String()})
}

// Sign records a verified signature. The certificate decides the side; a
// certificate of neither side is refused with ErrIDNumberMismatch and nothing
// is recorded. via names the channel for the audit trail ("link", "egov"…).
func (s *Service) Sign(ctx context.Context, id uuid.UUID, sig VerifiedSignature, via string) (*Document, Side, error) {
	var side Side
	d, err := s.signLocked(ctx, func(tx Tx) (*Document, error) { return tx.LockDocument(ctx, id) }, sig, via, &side)
	return d, side, err
}

// SignByLink is Sign for a visitor who holds the document's external link.
func (s *Service) SignByLink(ctx context.Context, token string, sig VerifiedSignature, via string) (*Document, Side, error) {
	var side Side
	d, err := s.signLocked(ctx, func(tx Tx) (*Document, error) { return lockByLink(ctx, tx, token) }, sig, via, &side)
	return d, side, err
}

// SignCMS verifies a CMS over the document's stored PDF and records it. The
// verification, the costly part, runs before the document is locked; if the
// file was replaced meanwhile, the signature is refused as made over a
// document that changed.
func (s *Service) SignCMS(ctx context.Context, id uuid.UUID, cms []byte, via string) (*Document, Side, error) {
	d, err := s.Store.Document(ctx, id)
	if err != nil {
		return nil, "", err
	}
	return s.signCMS(ctx, d, func(tx Tx) (*Document, error) { return tx.LockDocument(ctx, id) }, cms, via)
}

// SignCMSByLink is SignCMS for a visitor who holds the external link.
func (s *Service) SignCMSByLink(ctx context.Context, token string, cms []byte, via string) (*Document, Side, error) {
	d, err := s.LinkDocument(ctx, token)
	if err != nil {
		return nil, "", err
	}
	return s.signCMS(ctx, d, func(tx Tx) (*Document, error) { return lockByLink(ctx, tx, token) }, cms, via)
}

func (s *Service) signCMS(ctx context.Context, d *Document, lock func(Tx) (*Document, error), cms []byte, via string) (*Document, Side, error) {
	if d.DeletedAt != nil || d.Status.Final() {
		return nil, "", Check(d, SideRecipient, ActionSign)
	}
	if s.Verifier == nil {
		return nil, "", fmt.Errorf("sign: no signature verifier configured")
	}
	pdf, err := s.readFile(ctx, d)
	if err != nil {
		return nil, "", err
	}
	sig, err := s.Verifier.VerifyDocument(ctx, cms, pdf)
	if err != nil {
		return nil, "", err
	}
	verifiedFile := d.File.SHA256
	var side Side
	out, err := s.signLocked(ctx, func(tx Tx) (*Document, error) {
		cur, err := lock(tx)
		if err == nil && cur.File.SHA256 != verifiedFile {
			return nil, &Refusal{Code: CodeStale, Action: ActionSign, Status: cur.Status}
		}
		return cur, err
	}, sig, via, &side)
	return out, side, err
}

// readFile reads a document's PDF whole: signing needs all of its bytes.
func (s *Service) readFile(ctx context.Context, d *Document) ([]byte, error) {
	rc, err := s.Blobs.Open(ctx, d.File.SHA256)
	if err != nil {
		return nil, wrapf(err, "open file %s", d.File.SHA256)
	}
	defer rc.Close()
	pdf, err := io.ReadAll(rc)
	if err != nil {
		return nil, wrapf(err, "read file %s", d.File.SHA256)
	}
	return pdf, nil
}

func (s *Service) signLocked(ctx context.Context, lock func(Tx) (*Document, error), sig VerifiedSignature, via string, sideOut *Side) (*Document, error) {
	if len(sig.CMS) == 0 || sig.Signer.IIN == "" && sig.Signer.BIN == "" {
		return nil, &Refusal{Code: CodeSignatureIncomplete, Action: ActionSign}
	}
	var out *Document
	err := s.Store.InTx(ctx, func(tx Tx) error {
		d, err := lock(tx)
		if err != nil {
			return err
		}
		if d.DeletedAt != nil || d.Status.Final() {
			return Check(d, SideRecipient, ActionSign)
		}
		side, err := SideOf(d, sig.Signer)
		if err != nil {
			return err
		}
		if err := Check(d, side, ActionSign); err != nil {
			return err
		}
		now := s.now()
		if err := tx.InsertSignature(ctx, &Signature{DocumentID: d.ID, Side: side, Signer: sig.Signer, CMS: sig.CMS, SignedAt: sig.SignedAt, RecordedAt: now}); err != nil {
			return err
		}
		if side == SideSender {
			d.SenderSignedAt = &now
		} else {
			d.RecipientSignedAt = &now
		}
		from := d.Status
		d.Status = nextStatusAfterSign(d, side)
		signer := sig.Signer.BIN
		if signer == "" {
			signer = sig.Signer.IIN
		}
		ev := &Event{Kind: EventSigned, Actor: "signer:" + sig.Signer.IIN, At: now, Details: details(map[string]string{
			"side": string(side), "iin": sig.Signer.IIN, "bin": sig.Signer.BIN, "serial": sig.Signer.CertSerial,
			"status": string(d.Status), "via": via, "number": signer,
		})}
		if err := s.save(ctx, tx, d, ev); err != nil {
			return err
		}
		*sideOut, out = side, d
		return s.outbox(ctx, tx, d, OutboxSigned, from, side)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func lockByLink(ctx context.Context, tx Tx, token string) (*Document, error) {
	return byLink(token, func(h []byte) (*Document, error) { return tx.LockDocumentByLink(ctx, h) })
}

// byLink finds the document behind a link token with find (locking or not).
// The row is found by the token's hash; comparing the token itself in
// constant time keeps the check independent of how the index compares bytes.
func byLink(token string, find func(hash []byte) (*Document, error)) (*Document, error) {
	if token == "" {
		return nil, ErrNotFound
	}
	d, err := find(LinkHash(token))
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(d.LinkToken), []byte(token)) != 1 {
		return nil, ErrNotFound
	}
	return d, nil
}

// liveLink refuses a link that died with its document.
func liveLink(d *Document) error {
	if d.DeletedAt != nil || d.Status == StatusRevoked {
		return ErrRevoked
	}
	return nil
}

// OpenLink is a visit to the external link: it counts the visit (see
// recordVisit) and returns the document, or ErrRevoked for a revoked or
// deleted one (the page then shows «Документ отозван» and nothing else).
func (s *Service) OpenLink(ctx context.Context, token string, who Visitor) (*Document, error) {
	return s.visitLink(ctx, token, who, VisitPage)
}

// visitLink counts a visit of what on the live document behind a link.
func (s *Service) visitLink(ctx context.Context, token string, who Visitor, what string) (*Document, error) {
	d, err := s.LinkDocument(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := s.recordVisit(ctx, d, who, what); err != nil {
		return nil, wrapf(err, "record a visit of %s", d.ID)
	}
	return d, nil
}

// LinkDocument reads the document behind a link without recording a visit,
// for status refreshes: ErrRevoked once it is revoked or deleted.
func (s *Service) LinkDocument(ctx context.Context, token string) (*Document, error) {
	d, err := byLink(token, func(h []byte) (*Document, error) { return s.Store.DocumentByLink(ctx, h) })
	if err == nil {
		err = liveLink(d)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// OpenOriginalByLink is the link visitor's download of the PDF; it is
// counted like a view.
func (s *Service) OpenOriginalByLink(ctx context.Context, token string, who Visitor) (io.ReadCloser, *Document, error) {
	out, err := s.visitLink(ctx, token, who, VisitOriginal)
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.Blobs.Open(ctx, out.File.SHA256)
	if err != nil {
		return nil, nil, wrapf(err, "open file %s", out.File.SHA256)
	}
	return rc, out, nil
}

// OpenOriginal returns the PDF exactly as uploaded, if the actor's side may
// download it now, and records the download.
func (s *Service) OpenOriginal(ctx context.Context, a Actor, id uuid.UUID) (io.ReadCloser, *Document, error) {
	d, err := s.change(ctx, a, id, ActionDownload, func(tx Tx, d *Document, side Side) (*Event, error) {
		return &Event{Kind: EventDownloaded, Actor: a.Label, Details: details(map[string]string{"version": "original", "side": string(side)})}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.Blobs.Open(ctx, d.File.SHA256)
	if err != nil {
		return nil, nil, wrapf(err, "open file %s", d.File.SHA256)
	}
	return rc, d, nil
}

// Combiner builds the attached CMS of all signatures; the signature package
// provides it (signature.Combine).
type Combiner func(document []byte, cmss ...[]byte) ([]byte, error)

// CodeNoSignatures refuses the ezSigner version of a document nobody signed.
const CodeNoSignatures Code = "no_signatures"

// EzSigner returns the «Версия для ezSigner»: the document and every
// signature in one attached CMS. Downloading it follows the action table.
func (s *Service) EzSigner(ctx context.Context, a Actor, id uuid.UUID) ([]byte, *Document, error) {
	if s.Combine == nil {
		return nil, nil, fmt.Errorf("ezsigner: no combiner configured")
	}
	d, side, err := s.Document(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	if err := Check(d, side, ActionDownload); err != nil {
		return nil, nil, err
	}
	sigs, err := s.Store.Signatures(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if len(sigs) == 0 {
		return nil, nil, &Refusal{Code: CodeNoSignatures, Action: ActionDownload, Status: d.Status}
	}
	rc, err := s.cachedDownload(ctx, d, "ezsigner", func(w io.Writer) error {
		pdf, err := s.readFile(ctx, d)
		if err != nil {
			return err
		}
		var cmss [][]byte
		for _, g := range sigs {
			cmss = append(cmss, g.CMS)
		}
		cms, err := s.Combine(pdf, cmss...)
		if err != nil {
			return wrapf(err, "combine signatures")
		}
		_, err = w.Write(cms)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	cms, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, nil, wrapf(err, "read ezsigner version")
	}
	if _, err := s.change(ctx, a, id, ActionDownload, func(tx Tx, d *Document, side Side) (*Event, error) {
		return &Event{Kind: EventDownloaded, Actor: a.Label, Details: details(map[string]string{"version": "ezsigner", "side": string(side)})}, nil
	}); err != nil {
		return nil, nil, err
	}
	return cms, d, nil
}

// Folder lists the actor's documents in a folder, newest first.
func (s *Service) Folder(ctx context.Context, a Actor, f Folder, q FolderQuery) ([]Document, error) {
	switch f {
	case FolderIncoming, FolderOutgoing, FolderCompleted, FolderArchived:
	default:
		return nil, &Refusal{Code: CodeNotFound, Field: "folder", Detail: string(f)}
	}
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 20
	}
	if q.Offset < 0 {
		q.Offset = 0
	}
	var err error
	if q.Search, err = TextSearch.Clean(q.Search); err != nil {
		return nil, err
	}
	return s.Store.ListFolder(ctx, a, f, q)
}

// FolderCounts counts the actor's documents in each folder.
func (s *Service) FolderCounts(ctx context.Context, a Actor) (map[Folder]int, error) {
	return s.Store.FolderCounts(ctx, a)
}

// VerifyAudit checks the document's audit chain end to end.
func (s *Service) VerifyAudit(ctx context.Context, id uuid.UUID) error {
	d, err := s.Store.Document(ctx, id)
	if err != nil {
		return err
	}
	events, err := s.Store.Events(ctx, id)
	if err != nil {
		return err
	}
	return VerifyChain(d.AuditSeq, d.AuditHead, events)
}
