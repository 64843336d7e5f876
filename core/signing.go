package core

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
)

// Signing records signatures: a verified CMS from the link page, the API
// or a chat, and the eGov app's, directly (egov.go) or through a broker
// (egovbroker.go).
type Signing struct {
	*records
	*files
	verifier       SignatureVerifier
	egov           EgovStore
	broker         EgovBroker
	brokerSessions BrokerStore
	background     *Background
	captions       EgovCaptions
	identity       *Identity // a brokered sign-in binds the chat
	log            *slog.Logger
	demo           bool // only demo documents are signed (Deps.Demo)
}

// Sign records a verified signature. The certificate decides the side; a
// certificate of neither side is refused with ErrIDNumberMismatch and nothing
// is recorded. via names the channel for the audit trail ("link", "egov"…).
func (s *Signing) Sign(ctx context.Context, id uuid.UUID, sig VerifiedSignature, via string) (*Document, Side, error) {
	var side Side
	d, err := s.signLocked(ctx, func(tx Tx) (*Document, error) { return tx.LockDocument(ctx, id) }, sig, via, &side)
	return d, side, err
}

// SignByLink is Sign for a visitor who holds the document's external link.
func (s *Signing) SignByLink(ctx context.Context, token string, sig VerifiedSignature, via string) (*Document, Side, error) {
	var side Side
	d, err := s.signLocked(ctx, func(tx Tx) (*Document, error) { return lockByLink(ctx, tx, token) }, sig, via, &side)
	return d, side, err
}

// SignCMS verifies a CMS over the document's stored PDF and records it. The
// verification, the costly part, runs before the document is locked; if the
// file was replaced meanwhile, the signature is refused as made over a
// document that changed.
func (s *Signing) SignCMS(ctx context.Context, id uuid.UUID, cms []byte, via string) (*Document, Side, error) {
	d, err := s.store.Document(ctx, id)
	if err != nil {
		return nil, "", err
	}
	return s.signCMS(ctx, d, func(tx Tx) (*Document, error) { return tx.LockDocument(ctx, id) }, cms, via)
}

// SignCMSByLink is SignCMS for a visitor who holds the external link.
func (s *Signing) SignCMSByLink(ctx context.Context, token string, cms []byte, via string) (*Document, Side, error) {
	d, err := s.linkDocument(ctx, token)
	if err != nil {
		return nil, "", err
	}
	return s.signCMS(ctx, d, func(tx Tx) (*Document, error) { return lockByLink(ctx, tx, token) }, cms, via)
}

func (s *Signing) signCMS(ctx context.Context, d *Document, lock func(Tx) (*Document, error), cms []byte, via string) (*Document, Side, error) {
	if d.DeletedAt != nil || d.Status.Final() {
		return nil, "", Check(d, SideRecipient, ActionSign)
	}
	if s.verifier == nil {
		return nil, "", fmt.Errorf("sign: no signature verifier configured")
	}
	pdf, err := s.readFile(ctx, d)
	if err != nil {
		return nil, "", err
	}
	sig, err := s.verifier.VerifyDocument(ctx, cms, pdf)
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

func (s *Signing) signLocked(ctx context.Context, lock func(Tx) (*Document, error), sig VerifiedSignature, via string, sideOut *Side) (*Document, error) {
	if len(sig.CMS) == 0 || sig.Signer.IIN == "" && sig.Signer.BIN == "" {
		return nil, &Refusal{Code: CodeSignatureIncomplete, Action: ActionSign}
	}
	var out *Document
	err := s.store.InTx(ctx, func(tx Tx) error {
		d, err := lock(tx)
		if err != nil {
			return err
		}
		if d.DeletedAt != nil || d.Status.Final() {
			return Check(d, SideRecipient, ActionSign)
		}
		if s.demo && !d.Demo {
			return &Refusal{Code: CodeNotDemo, Action: ActionSign, Status: d.Status}
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
		return s.outbox(ctx, tx, d, OutboxSigned, from, side, Actor{})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
