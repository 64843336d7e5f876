package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"
)

// CardRenderer draws the «Электронная карточка»: the original with every
// page marked, and a sheet of the signatures. The card package provides it
// (card.Renderer); it lives outside core because it needs fonts and PDF
// drawing, and imports core for the model.
type CardRenderer func(ctx context.Context, d *Document, sigs []Signature, verifyURL string, original io.ReadSeeker, w io.Writer) error

// DownloadCache remembers which blob holds a download of a document in a
// final status (kind "card" or "ezsigner"), so that it is made once per
// status and then served as a file.
type DownloadCache interface {
	// CachedDownload returns the SHA-256 of the stored download, ok == false
	// when there is none yet.
	CachedDownload(ctx context.Context, documentID uuid.UUID, kind, state string) (sha256 string, ok bool, err error)
	// PutDownload records the download; when one is recorded already it stays.
	PutDownload(ctx context.Context, documentID uuid.UUID, kind, state, sha256 string) error
}

// Card returns the electronic card of one of the actor's documents, if the
// actor's side may download the document now, and records the download. A
// document nobody signed has a card too: its sheet says so, which is what a
// sender wants to show before asking for signatures.
func (s *Downloads) Card(ctx context.Context, a Actor, id uuid.UUID, verifyURL string) (io.ReadCloser, *Document, error) {
	if s.cards == nil {
		return nil, nil, errors.New("card: no renderer configured")
	}
	d, side, err := s.document(ctx, a, id)
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
	if _, err := s.recordDownload(ctx, a, id, "card"); err != nil {
		rc.Close()
		return nil, nil, err
	}
	return rc, d, nil
}

// CardByLink is the link visitor's download of the card. Like everything
// behind a link it dies with the link: a revoked document answers ErrRevoked
// here, and its sender gets the card, marked revoked, from the chat or the
// API.
func (s *Downloads) CardByLink(ctx context.Context, token string, verifyURL string, who Visitor) (io.ReadCloser, *Document, error) {
	if s.cards == nil {
		return nil, nil, errors.New("card: no renderer configured")
	}
	d, err := s.visitLink(ctx, token, who, VisitCard)
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.card(ctx, d, verifyURL)
	if err != nil {
		return nil, nil, err
	}
	return rc, d, nil
}

// FileStem is what a document's downloads are named after: the name its
// file was uploaded under without ".pdf", or <type>_<number>_<date> when no
// name was kept. The front ends name the card and the ezSigner version in
// the reader's language around it («Карточка — <stem>.pdf»).
func FileStem(d *Document) string {
	if d.File.Name != "" {
		if ext := path.Ext(d.File.Name); strings.EqualFold(ext, ".pdf") && len(d.File.Name) > len(ext) {
			return d.File.Name[:len(d.File.Name)-len(ext)]
		}
		return d.File.Name
	}
	return string(d.Type) + "_" + fileNameChars(d.Number) + "_" + d.Date.Format(time.DateOnly)
}

// OriginalFileName is the original's download name: the uploaded name, or
// <type>_<number>_<date>.pdf.
func OriginalFileName(d *Document) string { return FileStem(d) + ".pdf" }

// fileNameChars replaces the characters a file name cannot hold on one of
// the common systems (and control characters) with "_".
func fileNameChars(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '"', '/', '\\', ':', '*', '?', '<', '>', '|':
			return '_'
		}
		if r < 32 {
			return '_'
		}
		return r
	}, s)
}

// CleanFileName makes a name a client gave its file safe to keep and to
// hand back as a download's name: the last element of a path only, no
// control or bidirectional characters (TextFileName), none a file system
// refuses. It never refuses: a name with nothing left is "".
func CleanFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Trim(fileNameChars(TextFileName.Sanitize(name)), " .")
	if strings.Trim(name, "_") == "" {
		return ""
	}
	return name
}

// card returns the card of d as it is now. The original is spooled to a
// temporary file so that a 15 MB document does not sit in memory twice
// beside the renderer's model.
func (s *Downloads) card(ctx context.Context, d *Document, verifyURL string) (io.ReadCloser, error) {
	return s.cachedDownload(ctx, d, "card", func(w io.Writer) error {
		signers, err := s.store.Signers(ctx, []uuid.UUID{d.ID})
		if err != nil {
			return wrapf(err, "signers of %s", d.ID)
		}
		original, err := s.spool(ctx, d.File.SHA256)
		if err != nil {
			return err
		}
		defer original.Close()
		if err := s.cards(ctx, d, signers[d.ID], verifyURL, original, w); err != nil {
			return wrapf(err, "render card of %s", d.ID)
		}
		return nil
	})
}

// cachedDownload serves a download made from a document. A document in a
// final status cannot change any more, so its download is made once, stored
// as a blob and served from there; any other document's is made for each
// request. make writes the download; it goes through a temporary file,
// hashed on the way, so it is never held in memory whole.
func (s *Downloads) cachedDownload(ctx context.Context, d *Document, kind string, make func(w io.Writer) error) (io.ReadCloser, error) {
	state := string(d.Status)
	cached := s.cache != nil && d.Status.Final()
	if cached {
		sum, ok, err := s.cache.CachedDownload(ctx, d.ID, kind, state)
		if err != nil {
			return nil, wrapf(err, "%s %s of %s", kind, state, d.ID)
		}
		if ok {
			rc, err := s.blobs.Open(ctx, sum)
			if err != nil {
				return nil, wrapf(err, "open %s %s", kind, sum)
			}
			return rc, nil
		}
	}
	out, err := os.CreateTemp(s.tempDir, "edobot-"+kind+"-*")
	if err != nil {
		return nil, fmt.Errorf("%s: temporary file: %w", kind, err)
	}
	f := &tempFile{out}
	h := sha256.New()
	if err := make(io.MultiWriter(out, h)); err != nil {
		f.Close()
		return nil, err
	}
	size, err := out.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = out.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: rewind: %w", kind, err)
	}
	if !cached {
		return f, nil
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := s.blobs.Put(ctx, sum, size, out); err != nil {
		f.Close()
		return nil, wrapf(err, "store %s of %s", kind, d.ID)
	}
	// Two requests may make the same download at once; the first recorded
	// stays and the other's blob is merely unused.
	if err := s.cache.PutDownload(ctx, d.ID, kind, state, sum); err != nil {
		f.Close()
		return nil, wrapf(err, "record %s of %s", kind, d.ID)
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: rewind: %w", kind, err)
	}
	return f, nil
}

// spool copies a stored file into a temporary file, which the PDF reader
// can seek in without holding the file in memory.
func (s *Downloads) spool(ctx context.Context, sha256Hex string) (*tempFile, error) {
	rc, err := s.openBlob(ctx, sha256Hex)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(s.tempDir, "edobot-original-*.pdf")
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
