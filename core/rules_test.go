package core

import (
	"errors"
	"testing"
	"time"
)

// productTable is the product's «Actions by status» table as written there:
// columns Создан, На подписании, Подписан, Отозван.
var productTable = map[Action][4]string{
	ActionEdit:      {"sender", "—", "—", "—"},
	ActionDelete:    {"sender", "—", "—", "—"},
	ActionSign:      {"both", "not-signed", "—", "—"},
	ActionRevoke:    {"—", "sender", "—", "—"},
	ActionDownload:  {"both", "both", "both", "sender"},
	ActionCopy:      {"sender", "sender", "sender", "sender"},
	ActionArchive:   {"—", "—", "both", "both"},
	ActionUnarchive: {"—", "—", "both", "both"},
}

// docIn builds a document in status; in «На подписании» signed says who signed.
func docIn(st Status, signed Side) *Document {
	now := time.Now()
	d := &Document{Status: st}
	switch st {
	case StatusSigning, StatusRevoked:
		if signed == SideSender {
			d.SenderSignedAt = &now
		} else {
			d.RecipientSignedAt = &now
		}
	case StatusSigned:
		d.SenderSignedAt, d.RecipientSignedAt = &now, &now
	}
	return d
}

func TestCheckEveryCell(t *testing.T) {
	for a, row := range productTable {
		for i, st := range Statuses {
			for _, signed := range []Side{SideSender, SideRecipient} {
				for _, side := range []Side{SideSender, SideRecipient} {
					d := docIn(st, signed)
					err := Check(d, side, a)
					var allowed bool
					switch row[i] {
					case "both":
						allowed = true
					case "sender":
						allowed = side == SideSender
					case "not-signed":
						allowed = side != signed
					}
					if allowed != (err == nil) {
						t.Errorf("%s in %s (signed by %s) as %s: err = %v, allowed by table = %v", a, st, signed, side, err, allowed)
					}
					if err != nil {
						if _, ok := AsRefusal(err); !ok {
							t.Errorf("%s in %s as %s: %v is not a refusal", a, st, side, err)
						}
					}
				}
			}
		}
	}
}

func TestCheckSaysWhy(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		d    *Document
		side Side
		a    Action
		want error
	}{
		{"recipient edits", docIn(StatusCreated, ""), SideRecipient, ActionEdit, ErrSenderOnly},
		{"sender edits while signing", docIn(StatusSigning, SideRecipient), SideSender, ActionEdit, ErrStatusForbids},
		{"sender signs twice", docIn(StatusSigning, SideSender), SideSender, ActionSign, ErrAlreadySigned},
		{"sign a revoked document", docIn(StatusRevoked, SideSender), SideRecipient, ActionSign, ErrRevoked},
		{"recipient downloads a revoked document", docIn(StatusRevoked, SideSender), SideRecipient, ActionDownload, ErrRevoked},
		{"revoke in created", docIn(StatusCreated, ""), SideSender, ActionRevoke, ErrStatusForbids},
		{"archive while signing", docIn(StatusSigning, SideSender), SideRecipient, ActionArchive, ErrStatusForbids},
		{"anything on a deleted document", &Document{Status: StatusCreated, DeletedAt: &now}, SideSender, ActionDownload, ErrDeleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.d, tt.side, tt.a)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
			r, _ := AsRefusal(err)
			if r.Action != tt.a {
				t.Fatalf("refusal names action %q, want %q", r.Action, tt.a)
			}
		})
	}
}

func TestSideOf(t *testing.T) {
	const senderBIN, recipientBIN, employeeIIN, headIIN = "990140000007", "990140000806", "850101100002", "850101100304"
	counterparty := &Document{SenderNumber: senderBIN, RecipientNumber: recipientBIN, RecipientKind: PartyCounterparty}
	employee := &Document{SenderNumber: senderBIN, RecipientNumber: employeeIIN, RecipientKind: PartyEmployee}
	soleProprietor := &Document{SenderNumber: senderBIN, RecipientNumber: employeeIIN, RecipientKind: PartyCounterparty}
	now := time.Now()
	employeeSigned := *employee
	employeeSigned.RecipientSignedAt = &now

	tests := []struct {
		name string
		d    *Document
		s    Signer
		want Side
		err  error
	}{
		{"sender's legal entity key", counterparty, Signer{IIN: headIIN, BIN: senderBIN}, SideSender, nil},
		{"counterparty's legal entity key", counterparty, Signer{IIN: headIIN, BIN: recipientBIN}, SideRecipient, nil},
		{"a third organisation", counterparty, Signer{IIN: headIIN, BIN: "990140000017"}, "", ErrIDNumberMismatch},
		{"a person's key on a BIN document", counterparty, Signer{IIN: headIIN}, "", ErrIDNumberMismatch},
		{"employee's personal key", employee, Signer{IIN: employeeIIN}, SideRecipient, nil},
		{"employee with the employer's key signs as employee", employee, Signer{IIN: employeeIIN, BIN: senderBIN}, SideRecipient, nil},
		{"the same person, after signing as employee, signs for the employer", &employeeSigned, Signer{IIN: employeeIIN, BIN: senderBIN}, SideSender, nil},
		{"sole proprietor signs by IIN", soleProprietor, Signer{IIN: employeeIIN}, SideRecipient, nil},
		{"someone else's IIN", employee, Signer{IIN: headIIN}, "", ErrIDNumberMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SideOf(tt.d, tt.s)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("SideOf = %v, %v; want %v", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("SideOf = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestFolderOf(t *testing.T) {
	now := time.Now()
	archived := docIn(StatusSigned, "")
	archived.RecipientArchivedAt = &now
	tests := []struct {
		d         *Document
		side      Side
		want      Folder
		wantShown bool
	}{
		{docIn(StatusCreated, ""), SideSender, FolderOutgoing, true},
		{docIn(StatusCreated, ""), SideRecipient, FolderIncoming, true},
		{docIn(StatusSigning, SideSender), SideRecipient, FolderIncoming, true},
		{docIn(StatusSigned, ""), SideSender, FolderCompleted, true},
		{docIn(StatusRevoked, SideSender), SideRecipient, FolderCompleted, true},
		{archived, SideRecipient, FolderArchived, true},
		{archived, SideSender, FolderCompleted, true}, // each side archives for itself
		{&Document{Status: StatusCreated, DeletedAt: &now}, SideSender, "", false},
	}
	for _, tt := range tests {
		got, ok := FolderOf(tt.d, tt.side)
		if got != tt.want || ok != tt.wantShown {
			t.Errorf("FolderOf(%s, %s) = %q, %v; want %q, %v", tt.d.Status, tt.side, got, ok, tt.want, tt.wantShown)
		}
	}
}
