package core

// Action is something a side may try to do with a document.
type Action string

const (
	ActionEdit      Action = "edit" // edit fields or replace the file
	ActionDelete    Action = "delete"
	ActionSign      Action = "sign"
	ActionRevoke    Action = "revoke"
	ActionDownload  Action = "download"
	ActionCopy      Action = "copy"
	ActionArchive   Action = "archive"
	ActionUnarchive Action = "unarchive"
)

// Actions lists every action in the order of the product's «Actions by status» table.
var Actions = []Action{ActionEdit, ActionDelete, ActionSign, ActionRevoke, ActionDownload,
	ActionCopy, ActionArchive, ActionUnarchive}

// who may do an action in a status.
type who int

const (
	nobody who = iota
	senderOnly
	both
)

// actionTable is the product's «Actions by status» table, cell for cell.
var actionTable = map[Action]map[Status]who{
	ActionEdit:      {StatusCreated: senderOnly},
	ActionDelete:    {StatusCreated: senderOnly},
	ActionSign:      {StatusCreated: both, StatusSigning: both},
	ActionRevoke:    {StatusSigning: senderOnly},
	ActionDownload:  {StatusCreated: both, StatusSigning: both, StatusSigned: both, StatusRevoked: senderOnly},
	ActionCopy:      {StatusCreated: senderOnly, StatusSigning: senderOnly, StatusSigned: senderOnly, StatusRevoked: senderOnly},
	ActionArchive:   {StatusSigned: both, StatusRevoked: both},
	ActionUnarchive: {StatusSigned: both, StatusRevoked: both},
}

// Check decides whether side may perform a on d now. It is the one place the
// action table is enforced; every use case calls it under the document's lock.
// The status is judged first: when nobody may act in this status the user
// learns that, rather than who else could.
func Check(d *Document, side Side, a Action) error {
	if d.DeletedAt != nil {
		return refuse(CodeDeleted, a, d.Status)
	}
	w := actionTable[a][d.Status]
	switch w {
	case nobody:
		if d.Status == StatusRevoked && a != ActionCopy {
			return refuse(CodeRevoked, a, d.Status)
		}
		return refuse(CodeStatusForbids, a, d.Status)
	case senderOnly:
		if side != SideSender {
			if d.Status == StatusRevoked && a == ActionDownload {
				return refuse(CodeRevoked, a, d.Status)
			}
			return refuse(CodeSenderOnly, a, d.Status)
		}
	}
	if a == ActionSign && d.SignedBy(side) {
		return refuse(CodeAlreadySigned, a, d.Status)
	}
	return nil
}

// Allowed lists the actions side may take on d now, for a card's buttons.
func Allowed(d *Document, side Side) []Action {
	var out []Action
	for _, a := range Actions {
		if Check(d, side, a) != nil {
			continue
		}
		// Archive and unarchive are one toggle: offer the one that changes something.
		if a == ActionArchive && d.ArchivedBy(side) || a == ActionUnarchive && !d.ArchivedBy(side) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// FolderOf tells in which folder side sees d; ok is false for a deleted document.
func FolderOf(d *Document, side Side) (f Folder, ok bool) {
	if d.DeletedAt != nil {
		return "", false
	}
	if !d.Status.Final() {
		if side == SideSender {
			return FolderOutgoing, true
		}
		return FolderIncoming, true
	}
	if d.ArchivedBy(side) {
		return FolderArchived, true
	}
	return FolderCompleted, true
}

// SideOf decides for which side a certificate signs. The certificate decides,
// never the caller: a legal-entity key matches by its BIN, a personal key by
// its IIN, and an employee recipient by the IIN whatever key they use. When a
// certificate matches both sides (a head signing their own employment
// contract) the side that has not signed yet is taken.
func SideOf(d *Document, s Signer) (Side, error) {
	var matches []Side
	if d.RecipientKind == PartyEmployee && s.IIN != "" && s.IIN == d.RecipientNumber {
		matches = append(matches, SideRecipient)
	}
	for _, side := range []Side{SideSender, SideRecipient} {
		n := d.NumberOf(side)
		if s.BIN != "" && s.BIN == n || s.BIN == "" && s.IIN != "" && s.IIN == n {
			matches = append(matches, side)
		}
	}
	if len(matches) == 0 {
		return "", refuse(CodeIDNumberMismatch, ActionSign, d.Status)
	}
	for _, side := range matches {
		if !d.SignedBy(side) {
			return side, nil
		}
	}
	return matches[0], nil
}

// nextStatusAfterSign is the status once side's signature is added.
func nextStatusAfterSign(d *Document, side Side) Status {
	if d.SignedBy(side.Other()) {
		return StatusSigned
	}
	return StatusSigning
}
