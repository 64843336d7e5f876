package core

import (
	"context"
	"fmt"
	"io"

	"github.com/google/uuid"
)

// Downloads hands out a document's files: the original, the electronic
// card (cards.go) and the version for ezSigner, each counted as a
// download.
type Downloads struct {
	*records
	*files
	cards   CardRenderer
	cache   DownloadCache
	combine Combiner
}

// OpenOriginalByLink is the link visitor's download of the PDF; it is
// counted like a view.
func (s *Downloads) OpenOriginalByLink(ctx context.Context, token string, who Visitor) (io.ReadCloser, *Document, error) {
	out, err := s.visitLink(ctx, token, who, VisitOriginal)
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.OpenFile(ctx, out)
	if err != nil {
		return nil, nil, err
	}
	return rc, out, nil
}

// OpenOriginal returns the PDF exactly as uploaded, if the actor's side may
// download it now, and records the download.
func (s *Downloads) OpenOriginal(ctx context.Context, a Actor, id uuid.UUID) (io.ReadCloser, *Document, error) {
	d, err := s.recordDownload(ctx, a, id, "original")
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.OpenFile(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	return rc, d, nil
}

// recordDownload records the actor's download of the document's version,
// if their side may download it now.
func (s *Downloads) recordDownload(ctx context.Context, a Actor, id uuid.UUID, version string) (*Document, error) {
	return s.change(ctx, a, id, ActionDownload, func(tx Tx, d *Document, side Side) (*Event, error) {
		return &Event{Kind: EventDownloaded, Actor: a.Label, Details: details(map[string]string{"version": version, "side": string(side)})}, nil
	})
}

// Combiner builds the attached CMS of all signatures; the signature package
// provides it (signature.Combine).
type Combiner func(document []byte, cmss ...[]byte) ([]byte, error)

// CodeNoSignatures refuses the ezSigner version of a document nobody signed.
const CodeNoSignatures Code = "no_signatures"

// EzSigner returns the «Версия для ezSigner»: the document and every
// signature in one attached CMS. Downloading it follows the action table.
func (s *Downloads) EzSigner(ctx context.Context, a Actor, id uuid.UUID) ([]byte, *Document, error) {
	if s.combine == nil {
		return nil, nil, fmt.Errorf("ezsigner: no combiner configured")
	}
	d, side, err := s.document(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	if err := Check(d, side, ActionDownload); err != nil {
		return nil, nil, err
	}
	sigs, err := s.store.Signatures(ctx, id)
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
		cms, err := s.combine(pdf, cmss...)
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
	if _, err := s.recordDownload(ctx, a, id, "ezsigner"); err != nil {
		return nil, nil, err
	}
	return cms, d, nil
}

// OpenFile returns the stored PDF of a document the caller has reached,
// for drawing its pages; it is not a download and is not counted.
func (s *Downloads) OpenFile(ctx context.Context, d *Document) (io.ReadCloser, error) {
	return s.openBlob(ctx, d.File.SHA256)
}
