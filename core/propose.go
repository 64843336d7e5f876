package core

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"edobot/core/iinbin"
	"edobot/core/prefill"
)

// Proposal is what a document's own text proposes for the fields a sender
// would otherwise type. A zero field was not found and is asked as usual.
type Proposal struct {
	Type   DocType
	Number string
	Date   time.Time // a calendar date at 00:00 UTC
	// Recipient is the counterparty the text names: a party of the
	// directory (ID set, its stored name and contacts) when one of the
	// numbers in the text is known, else the first new one; nil if none.
	Recipient *Party
	// Unread says why the text could not be read (a scan, a broken text
	// layer); the upload is accepted all the same.
	Unread error
}

// Complete reports whether the proposal fills every field a document needs.
func (p *Proposal) Complete() bool {
	return p.Type != "" && p.Number != "" && !p.Date.IsZero() && p.Recipient != nil &&
		p.Recipient.Number != "" && p.Recipient.Name != ""
}

// StageDocument checks and stores a PDF before the document is created, so
// a chat can refuse a bad file at once and create the document steps later
// (CreateStagedDocument), and proposes the document's fields from its
// text. Reading the text never fails the upload: whatever goes wrong there
// leaves the proposal empty with the reason in Unread.
func (s *Documents) StageDocument(ctx context.Context, a Actor, file io.Reader) (FileInfo, Proposal, error) {
	org, err := s.senderOrg(ctx, a)
	if err != nil {
		return FileInfo{}, Proposal{}, err
	}
	var prop Proposal
	info, err := s.stage(ctx, file, func(f *os.File, info FileInfo) {
		text, err := prefill.Extract(ctx, f, info.Pages)
		if err != nil {
			prop.Unread = err
			return
		}
		prop = s.propose(ctx, org, a, text)
	})
	if err != nil {
		return FileInfo{}, Proposal{}, err
	}
	return info, prop, nil
}

func (s *Documents) propose(ctx context.Context, org *Organisation, a Actor, text string) Proposal {
	p := prefill.Propose(text, org.Number)
	out := Proposal{Type: DocType(p.Type), Number: p.Number, Date: p.Date}
	if out.Number != "" {
		if n, err := TextNumber.Clean(out.Number); err == nil {
			out.Number = n
		} else {
			out.Number = ""
		}
	}
	// «Прочее» is a proposal only for a titled document, one with a number;
	// text without either says nothing of the type.
	if !out.Type.Valid() || out.Type == TypeOther && out.Number == "" {
		out.Type = ""
	}
	var cands []prefill.Party
	for _, c := range p.Parties {
		// The person acting is never their own counterparty either.
		if c.Number != a.Number {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return out
	}
	numbers := make([]string, len(cands))
	for i, c := range cands {
		numbers[i] = c.Number
	}
	if known, err := s.store.PartiesByNumbers(ctx, org.ID, numbers); err == nil {
		byNumber := make(map[string]*Party, len(known))
		for i := range known {
			byNumber[known[i].Number] = &known[i]
		}
		for _, c := range cands {
			if k := byNumber[c.Number]; k != nil {
				out.Recipient = k
				return out
			}
		}
	} else if !errors.Is(err, ErrNotFound) {
		// The text was read; only the directory could not be: the party is
		// proposed as new, and the reason logged, not taken for a scan.
		s.log.WarnContext(ctx, "known parties for a proposal", "org", org.Number, "err", err)
	}
	c := cands[0]
	r := &Party{Number: c.Number, Kind: PartyCounterparty, Phone: c.Phone}
	if c.Kind == iinbin.KindIIN && (out.Type == TypeEmploymentContract || out.Type == TypePowerOfAttorney) {
		r.Kind = PartyEmployee
	}
	if name, err := TextPartyName.Clean(c.Name); err == nil {
		r.Name = name
	}
	out.Recipient = r
	return out
}
