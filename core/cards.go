package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
)

// CardRenderer draws the «Электронная карточка»: the original with every
// page marked, and a sheet of the signatures. The card package provides it
// (card.Renderer); it lives outside core because it needs fonts and PDF
// drawing, and imports core for the model.
type CardRenderer func(ctx context.Context, d *Document, sigs []Signature, verifyURL string, original io.ReadSeeker, w io.Writer) error

// CardStore remembers which blob holds the card of a document in a final
// status, so that a card is drawn once per status and then served as a file.
type CardStore interface {
	// CardFor returns the SHA-256 of the stored card, ok == false when there
	// is none yet.
	CardFor(ctx context.Context, documentID uuid.UUID, state string) (sha256 string, ok bool, err error)
	// PutCard records the card; when one is recorded already it stays.
	PutCard(ctx context.Context, documentID uuid.UUID, state, sha256 string) error
}

// Card returns the electronic card of one of the actor's documents, if the
// actor's side may download the document now, and records the download. A
// document nobody signed has a card too: its sheet says so, which is what a
// sender wants to show before asking for signatures.
func (s *Service) Card(ctx context.Context, a Actor, id uuid.UUID, verifyURL string) (io.ReadCloser, *Document, error) {
	if s.Cards == nil {
		return nil, nil, errors.New("card: no renderer configured")
	}
	d, side, err := s.Document(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	if err := Check(d, side, ActionDownload); err != nil {
		return nil, nil, err
	}
	rc, err := s.card(ctx, d, verifyURL)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.change(ctx, a, id, ActionDownload, func(tx Tx, d *Document, side Side) (*Event, error) {
		return &Event{Kind: EventDownloaded, Actor: a.Label, Details: details(map[string]string{"version": "card", "side": string(side)})}, nil
	}); err != nil {
		rc.Close()
		return nil, nil, err
	}
	return rc, d, nil
}

// CardByLink is the link visitor's download of the card. Like everything
// behind a link it dies with the link: a revoked document answers ErrRevoked
// here, and its sender gets the card, marked revoked, from the chat or the
// API.
func (s *Service) CardByLink(ctx context.Context, token string, verifyURL string) (io.ReadCloser, *Document, error) {
	if s.Cards == nil {
		return nil, nil, errors.New("card: no renderer configured")
	}
	d, err := s.visitLink(ctx, token, &Event{Kind: EventDownloaded, Actor: "link", Details: details(map[string]string{"version": "card"})})
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.card(ctx, d, verifyURL)
	if err != nil {
		return nil, nil, err
	}
	return rc, d, nil
}

// DownloadName is a download's file name: <type>_<number>_<date><suffix>,
// with the characters a file name or a Content-Disposition header cannot
// hold replaced.
func DownloadName(d *Document, suffix string) string {
	number := strings.Map(func(r rune) rune {
		switch r {
		case '"', '/', '\\', ':', '*', '?', '<', '>', '|':
			return '_'
		}
		if r < 32 {
			return '_'
		}
		return r
	}, d.Number)
	return string(d.Type) + "_" + number + "_" + d.Date.Format(time.DateOnly) + suffix
}

// CardFileName is the card's download name, beside the original's
// <type>_<number>_<date>.pdf.
func CardFileName(d *Document) string { return DownloadName(d, "_card.pdf") }

// card returns the card of d as it is now. A document in a final status
// cannot change any more, so its card is drawn once, stored as a blob and
// served from there; any other document's card is drawn for each request.
// Both the original and the card are spooled to temporary files so that a
// 15 MB document does not sit in memory twice beside the renderer's model.
func (s *Service) card(ctx context.Context, d *Document, verifyURL string) (io.ReadCloser, error) {
	state := string(d.Status)
	cached := s.CardCache != nil && d.Status.Final()
	if cached {
		sum, ok, err := s.CardCache.CardFor(ctx, d.ID, state)
		if err != nil {
			return nil, wrapf(err, "card %s of %s", state, d.ID)
		}
		if ok {
			rc, err := s.Blobs.Open(ctx, sum)
			if err != nil {
				return nil, wrapf(err, "open card %s", sum)
			}
			return rc, nil
		}
	}
	signers, err := s.Store.Signers(ctx, []uuid.UUID{d.ID})
	if err != nil {
		return nil, wrapf(err, "signers of %s", d.ID)
	}
	original, err := s.spool(ctx, d.File.SHA256)
	if err != nil {
		return nil, err
	}
	defer original.Close()
	out, err := os.CreateTemp(s.TempDir, "edobot-card-*.pdf")
	if err != nil {
		return nil, fmt.Errorf("card: temporary file: %w", err)
	}
	f := &tempFile{out}
	h := sha256.New()
	if err := s.Cards(ctx, d, signers[d.ID], verifyURL, original, io.MultiWriter(out, h)); err != nil {
		f.Close()
		return nil, wrapf(err, "render card of %s", d.ID)
	}
	size, err := out.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = out.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("card: rewind: %w", err)
	}
	if !cached {
		return f, nil
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := s.Blobs.Put(ctx, sum, size, out); err != nil {
		f.Close()
		return nil, wrapf(err, "store card of %s", d.ID)
	}
	// Two requests may draw the same card at once; the first recorded stays
	// and the other's blob is merely unused.
	if err := s.CardCache.PutCard(ctx, d.ID, state, sum); err != nil {
		f.Close()
		return nil, wrapf(err, "record card of %s", d.ID)
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("card: rewind: %w", err)
	}
	return f, nil
}

// spool copies a stored file into a temporary file, which the PDF reader
// can seek in without holding the file in memory.
func (s *Service) spool(ctx context.Context, sha256Hex string) (*tempFile, error) {
	rc, err := s.Blobs.Open(ctx, sha256Hex)
	if err != nil {
		return nil, wrapf(err, "open file %s", sha256Hex)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(s.TempDir, "edobot-original-*.pdf")
	if err != nil {
		return nil, fmt.Errorf("card: temporary file: %w", err)
	}
	f := &tempFile{tmp}
	if _, err := io.Copy(tmp, rc); err != nil {
		f.Close()
		return nil, wrapf(err, "read file %s", sha256Hex)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("card: rewind: %w", err)
	}
	return f, nil
}

// tempFile is a temporary file that is gone once closed.
type tempFile struct{ *os.File }

func (f *tempFile) Close() error {
	err := f.File.Close()
	if rmErr := os.Remove(f.Name()); err == nil {
		err = rmErr
	}
	return err
}
