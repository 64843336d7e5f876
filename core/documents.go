package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"edobot/core/iinbin"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Documents creates, changes and lists documents: the sender's and the
// recipient's actions on them, by the action table.
type Documents struct {
	*records
	*files
	log  *slog.Logger
	demo bool // documents made are demo documents (Deps.Demo)
}

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
	// FileName is the name the file was uploaded under, as the client said
	// it; it is cleaned (CleanFileName), never refused.
	FileName string
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

// The years a document's date may fall in.
const (
	FirstDocYear = 1991
	LastDocYear  = 2100
)

func validateFields(t DocType, number string, date time.Time) (string, time.Time, error) {
	if !t.Valid() {
		return "", time.Time{}, invalid(CodeInvalidType, "type", string(t))
	}
	number, err := TextNumber.Clean(number)
	if err != nil {
		return "", time.Time{}, err
	}
	if date.IsZero() || date.Year() < FirstDocYear || date.Year() > LastDocYear {
		return "", time.Time{}, invalid(CodeInvalidDate, "date", "")
	}
	return number, time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, time.UTC), nil
}

// CreateDocument checks the fields and the PDF, stores the file and creates a
// document in «Создан» whose link works at once.
func (s *Documents) CreateDocument(ctx context.Context, a Actor, in NewDocument, file io.Reader) (*Document, error) {
	return s.create(ctx, a, in, func() (FileInfo, error) { return s.intake(ctx, file) })
}

// CreateStagedDocument is CreateDocument for a file that StageDocument
// already checked and stored, as a chat does: the file is
// neither read nor checked again.
func (s *Documents) CreateStagedDocument(ctx context.Context, a Actor, in NewDocument, staged FileInfo) (*Document, error) {
	if staged.SHA256 == "" || staged.Size <= 0 {
		return nil, fmt.Errorf("create staged document: no staged file")
	}
	return s.create(ctx, a, in, func() (FileInfo, error) { return staged, nil })
}

// create checks the fields, then takes the file from file (which checks
// and stores it, or names one stored before), and inserts the document.
func (s *Documents) create(ctx context.Context, a Actor, in NewDocument, file func() (FileInfo, error)) (*Document, error) {
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
	info, err := file()
	if err != nil {
		return nil, err
	}
	info.Name = CleanFileName(in.FileName)
	d := &Document{
		ID: uuid.New(), SenderOrgID: org.ID, SenderNumber: org.Number, SenderName: org.Name,
		RecipientKind: in.Recipient.Kind, RecipientNumber: in.Recipient.Number, RecipientName: in.Recipient.Name,
		Type: in.Type, Number: number, Date: date, File: info, Status: StatusCreated,
		LinkToken: NewToken(), BaseRef: in.BaseRef, IdempotencyKey: in.IdempotencyKey, Demo: s.demo,
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
func (s *Documents) insert(ctx context.Context, a Actor, d *Document, recipient *PartyInput, extra map[string]string) (*Document, error) {
	err := s.store.InTx(ctx, func(tx Tx) error {
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
		return s.outbox(ctx, tx, d, OutboxCreated, "", "", a)
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

// Copy creates a new document in «Создан» with the same file, fields and
// recipient, and a new link.
func (s *Documents) Copy(ctx context.Context, a Actor, id uuid.UUID, idempotencyKey string) (*Document, error) {
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
		LinkToken: NewToken(), IdempotencyKey: idempotencyKey, CopiedFrom: src.ID, Demo: s.demo,
	}
	if idempotencyKey != "" {
		d.IdempotencyHash = requestHash(map[string]any{"copy": src.ID})
	}
	recipient := &PartyInput{Kind: src.RecipientKind, Number: src.RecipientNumber, Name: src.RecipientName}
	return s.insert(ctx, a, d, recipient, map[string]string{"copied_from": src.ID.String()})
}
