package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"edobot/core"
	"edobot/core/pdfintake"
)

// Phones rarely show a PDF inside a page, so the link page also shows the
// document as page images, rendered by poppler's pdftoppm and cached on disk
// by the file's SHA-256 (the stored PDF never changes).
//
// A PDF is the sender's to craft: a page can take minutes of CPU and
// gigabytes to draw. So at most RenderConcurrency renders run at once, one
// per page however many visitors ask for it; each runs under a timeout and
// rlimits on CPU time and address space; a page that failed is remembered
// and not tried again for renderFailureTTL; and the folder of cached pages
// and PDF copies stays under PageCacheSize, the least recently used files
// removed first.

// renderSide is the long side of a page image in pixels: an A4 page at about
// 110 dpi, readable on a phone and about 100–300 KB. It also bounds what a
// page of absurd dimensions costs.
const renderSide = 1300

// renderFailureTTL is how long a page that failed to render is not tried
// again.
const renderFailureTTL = time.Hour

type renderer struct {
	log    *slog.Logger
	dir    string
	limits Limits
	slots  chan struct{}
	flight singleflight.Group

	mu     sync.Mutex
	inUse  map[string]int // SHA-256 of the PDFs being rendered: not evicted
	size   int64          // bytes in dir, once scanned
	sized  bool
	run    atomic.Int64 // renders running now
	peak   atomic.Int64 // most renders ever running at once
	starts atomic.Int64 // renders started

	rendered *prometheus.CounterVec
	running  prometheus.GaugeFunc
}

func (s *Server) newRenderer() *renderer {
	dir := s.PageCache
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "edobot-pages")
	}
	r := &renderer{log: s.Log, dir: dir, limits: s.Limits, slots: make(chan struct{}, s.Limits.RenderConcurrency), inUse: map[string]int{}}
	r.rendered = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edobot_page_renders_total",
		Help: "Page images rendered by pdftoppm, by result (ok, failed)."}, []string{"result"})
	r.running = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edobot_page_renders_running",
		Help: "pdftoppm processes running now."}, func() float64 { return float64(r.run.Load()) })
	r.sweep(s.clock().Now())
	return r
}

// sweep removes what a process killed mid-render left in the cache: a
// render's or a copy's temporary file. A live instance sharing the folder
// finishes each within RenderTimeout, so only files older than that (with
// room to spare) can be leftovers.
func (r *renderer) sweep(now time.Time) {
	stale := now.Add(-2*r.limits.RenderTimeout - time.Minute)
	for _, f := range r.files() {
		name := filepath.Base(f.path)
		if (strings.HasPrefix(name, "render-") || strings.HasSuffix(name, ".tmp")) && f.used.Before(stale) {
			if err := os.Remove(f.path); err == nil {
				r.log.Info("removed a page render left by a stopped process", "file", name)
			}
		}
	}
}

func (r *renderer) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.rendered, r.running}
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
	// Waiting for a render slot and the render itself come before the answer.
	waitBeforeAnswer(w, 2*s.Limits.RenderTimeout)
	path, err := s.renders.page(r.Context(), d.File.SHA256, n, func(ctx context.Context, dst string) error {
		return s.copyFile(ctx, d, dst)
	})
	if errors.Is(err, errPreviewUnavailable) {
		s.refuse(w, r, http.StatusUnprocessableEntity, errPreviewUnavailable)
		return
	}
	if err != nil {
		s.fail(w, r, fmt.Errorf("page %d of %s: %w", n, d.ID, err))
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	http.ServeFile(w, r, path)
}

// page returns the image of page n of the PDF with the given SHA-256,
// rendering it first if needed; fetch puts the PDF at a path.
func (r *renderer) page(ctx context.Context, sha string, n int, fetch func(context.Context, string) error) (string, error) {
	out := filepath.Join(r.dir, fmt.Sprintf("%s-%d.png", sha, n))
	if done, err := r.cached(out); done || err != nil {
		return out, err
	}
	ch := r.flight.DoChan(out, func() (any, error) {
		// The render serves every visitor waiting for this page: the first
		// one leaving must not cancel it.
		return nil, r.render(context.WithoutCancel(ctx), sha, n, out, fetch)
	})
	select {
	case res := <-ch:
		return out, res.Err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// cached reports whether the page is on disk, or errPreviewUnavailable when
// it failed not long ago. A hit marks the image as recently used.
func (r *renderer) cached(out string) (bool, error) {
	now := time.Now()
	if _, err := os.Stat(out); err == nil {
		_ = os.Chtimes(out, now, now)
		return true, nil
	}
	if fi, err := os.Stat(failedMarker(out)); err == nil && now.Sub(fi.ModTime()) < renderFailureTTL {
		return false, errPreviewUnavailable
	}
	return false, nil
}

func failedMarker(out string) string { return strings.TrimSuffix(out, ".png") + ".failed" }

func (r *renderer) render(ctx context.Context, sha string, n int, out string, fetch func(context.Context, string) error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*r.limits.RenderTimeout)
	defer cancel()
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-ctx.Done():
		return fmt.Errorf("waiting for a render slot: %w", ctx.Err())
	}
	// Another render may have finished this page while this one waited.
	if done, err := r.cached(out); done || err != nil {
		return err
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return err
	}
	r.hold(sha, 1)
	defer r.hold(sha, -1)
	pdf := filepath.Join(r.dir, sha+".pdf")
	if _, err := os.Stat(pdf); err != nil {
		if err := fetch(ctx, pdf); err != nil {
			return err
		}
		r.added(pdf)
	}
	tmp := filepath.Join(r.dir, fmt.Sprintf("render-%d-%d", time.Now().UnixNano(), n))
	defer os.Remove(tmp + ".png")
	if err := r.pdftoppm(ctx, pdf, n, tmp); err != nil {
		r.rendered.WithLabelValues("failed").Inc()
		if errors.Is(err, exec.ErrNotFound) {
			return err // our fault, not the document's
		}
		r.log.Warn("page preview failed; not tried again for a while", "sha256", sha, "page", n, "err", err)
		if werr := os.WriteFile(failedMarker(out), []byte(err.Error()), 0o600); werr != nil {
			return errors.Join(err, werr)
		}
		return fmt.Errorf("%w: %v", errPreviewUnavailable, err)
	}
	r.rendered.WithLabelValues("ok").Inc()
	// Renaming makes a concurrent render of the same page harmless.
	if err := os.Rename(tmp+".png", out); err != nil {
		return err
	}
	r.added(out)
	return nil
}

// pdftoppm renders page n of pdf to tmp.png under the render limits. The
// rlimits are set by the shell that then becomes pdftoppm (exec), so they
// bind pdftoppm alone, from its first instruction.
func (r *renderer) pdftoppm(ctx context.Context, pdf string, n int, tmp string) error {
	ctx, cancel := context.WithTimeout(ctx, r.limits.RenderTimeout)
	defer cancel()
	cmd := pdfintake.BoundedCommand(ctx, pdfintake.Bounds{CPU: r.limits.RenderCPU, Memory: r.limits.RenderMemory}, "pdftoppm",
		"-png", "-scale-to", strconv.Itoa(renderSide), "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "-singlefile", pdf, tmp)
	cmd.WaitDelay = 5 * time.Second
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		return err
	}
	running := r.run.Add(1)
	for p := r.peak.Load(); running > p && !r.peak.CompareAndSwap(p, running); p = r.peak.Load() {
	}
	r.starts.Add(1)
	defer r.run.Add(-1)
	b, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Errorf("pdftoppm: over %v: %w", r.limits.RenderTimeout, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("pdftoppm: %v: %s", err, b)
	}
	return nil
}

// hold marks a PDF as being rendered (delta 1) or no longer (-1).
func (r *renderer) hold(sha string, delta int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inUse[sha] += delta; r.inUse[sha] <= 0 {
		delete(r.inUse, sha)
	}
}

// added counts a new file in the cache and trims the cache when it is over
// its size.
func (r *renderer) added(path string) {
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.sized {
		r.size, r.sized = r.scan(), true
	} else {
		r.size += fi.Size()
	}
	if r.size > r.limits.PageCacheSize {
		r.trim(path)
	}
}

func (r *renderer) scan() int64 {
	var total int64
	for _, f := range r.files() {
		total += f.size
	}
	return total
}

type cacheFile struct {
	path string
	size int64
	used time.Time
}

func (r *renderer) files() []cacheFile {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil
	}
	var out []cacheFile
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			out = append(out, cacheFile{filepath.Join(r.dir, e.Name()), fi.Size(), fi.ModTime()})
		}
	}
	return out
}

// trim removes the least recently used files until the cache is at most
// nine tenths of its size, leaving the file just added (about to be
// served), PDFs being rendered and failure markers (they are small, and
// they are what stops a costly page from being tried again).
func (r *renderer) trim(keep string) {
	files := r.files()
	sort.Slice(files, func(i, j int) bool { return files[i].used.Before(files[j].used) })
	var total int64
	for _, f := range files {
		total += f.size
	}
	target := r.limits.PageCacheSize / 10 * 9
	for _, f := range files {
		if total <= target {
			break
		}
		name := filepath.Base(f.path)
		if f.path == keep || strings.HasSuffix(name, ".failed") || strings.HasSuffix(name, ".tmp") || strings.HasPrefix(name, "render-") ||
			r.inUse[strings.TrimSuffix(name, ".pdf")] > 0 {
			continue
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
	r.size = total
}

func (s *Server) copyFile(ctx context.Context, d *core.Document, dst string) error {
	rc, err := s.Service.OpenFile(ctx, d)
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
