package core

import (
	"context"
	"edobot/core/pdfintake"
	"io"
	"os"
)

// files keeps documents' PDFs: checked once on the way in, then read by
// their SHA-256.
type files struct {
	blobs   BlobStore
	tempDir string
}

// intake checks and stores an uploaded PDF. The blob is content-addressed, so
// a file stored by a request that later fails is harmless and is shared by
// the next upload of the same bytes.
func (s *files) intake(ctx context.Context, file io.Reader) (FileInfo, error) {
	return s.stage(ctx, file, nil)
}

// stage checks a PDF and stores it; read, when set, reads the checked file
// first (and may leave it anywhere: stage rewinds it).
func (s *files) stage(ctx context.Context, file io.Reader, read func(f *os.File, info FileInfo)) (FileInfo, error) {
	up, err := pdfintake.Intake(ctx, file, s.tempDir)
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
	if err := s.blobs.Put(ctx, info.SHA256, info.Size, f); err != nil {
		return FileInfo{}, wrapf(err, "store file")
	}
	return info, nil
}

// openBlob opens a stored file by its SHA-256.
func (s *files) openBlob(ctx context.Context, sha256Hex string) (io.ReadCloser, error) {
	rc, err := s.blobs.Open(ctx, sha256Hex)
	if err != nil {
		return nil, wrapf(err, "open file %s", sha256Hex)
	}
	return rc, nil
}

// readFile reads a document's PDF whole: signing needs all of its bytes.
func (s *files) readFile(ctx context.Context, d *Document) ([]byte, error) {
	rc, err := s.openBlob(ctx, d.File.SHA256)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	pdf, err := io.ReadAll(rc)
	if err != nil {
		return nil, wrapf(err, "read file %s", d.File.SHA256)
	}
	return pdf, nil
}
