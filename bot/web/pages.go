package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"edobot/core"
)

// Phones rarely show a PDF inside a page, so the link page also shows the
// document as page images, rendered by poppler's pdftoppm and cached on disk
// by the file's SHA-256 (the stored PDF never changes).

// renderDPI keeps a page readable on a phone and about 100–300 KB.
const renderDPI = 110

func (s *Server) pageCacheDir() (string, error) {
	dir := s.PageCache
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "edobot-pages")
	}
	return dir, os.MkdirAll(dir, 0o700)
}

func (s *Server) linkPageImage(w http.ResponseWriter, r *http.Request) {
	d, err := s.Service.LinkDocument(r.Context(), r.PathValue("token"))
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	n, err := strconv.Atoi(r.PathValue("page"))
	if err != nil || n < 1 || n > d.File.Pages {
		s.fail(w, r, core.ErrNotFound)
		return
	}
	path, err := s.renderPage(r.Context(), d, n)
	if err != nil {
		s.Log.Error("render page", "document", d.ID, "page", n, "err", err)
		http.Error(w, "page preview unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.ServeFile(w, r, path)
}

// renderPage returns the cached image of page n, rendering it first if needed.
func (s *Server) renderPage(ctx context.Context, d *core.Document, n int) (string, error) {
	dir, err := s.pageCacheDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, fmt.Sprintf("%s-%d.png", d.File.SHA256, n))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	pdf := filepath.Join(dir, d.File.SHA256+".pdf")
	if _, err := os.Stat(pdf); err != nil {
		if err := s.copyFile(ctx, d, pdf); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tmp := filepath.Join(dir, fmt.Sprintf("render-%d-%d", time.Now().UnixNano(), n))
	cmd := exec.CommandContext(ctx, "pdftoppm", "-png", "-r", strconv.Itoa(renderDPI), "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "-singlefile", pdf, tmp)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("pdftoppm: %v: %s", err, b)
	}
	// Renaming makes a concurrent render of the same page harmless.
	if err := os.Rename(tmp+".png", out); err != nil {
		return "", err
	}
	return out, nil
}

func (s *Server) copyFile(ctx context.Context, d *core.Document, dst string) error {
	rc, err := s.Service.Blobs.Open(ctx, d.File.SHA256)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp := dst + fmt.Sprintf(".%d.tmp", time.Now().UnixNano())
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}
