package web

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"edobot/core/pdfintake/pdftest"
	"edobot/storage/storagetest"
)

// renderBomb is a small PDF whose pages (all drawing one content stream)
// each fill the whole page fills times: a few KB that cost pdftoppm
// minutes of CPU per page.
func renderBomb(pages, fills int) []byte {
	var content bytes.Buffer
	w, _ := zlib.NewWriterLevel(&content, zlib.BestCompression)
	op := []byte("0 0 595 842 re f\n")
	for range fills {
		w.Write(op)
	}
	w.Close()
	var b bytes.Buffer
	var offs []int
	obj := func(body string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	b.WriteString("%PDF-1.7\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	var kids []string
	for i := range pages {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+i))
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	offs = append(offs, b.Len())
	fmt.Fprintf(&b, "3 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", content.Len())
	b.Write(content.Bytes())
	b.WriteString("\nendstream\nendobj\n")
	for range pages {
		obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R >>")
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, x)
	return b.Bytes()
}

// TestRenderBomb: pages that would take pdftoppm minutes fail at the CPU
// limit, once each however many visitors ask, are not rendered again, and
// are answered in JSON; no more renders than allowed run at once.
func TestRenderBomb(t *testing.T) {
	f := storagetest.NewFixture(t)
	const pages, slots = 6, 2
	bomb, err := f.Svc.CreateDocument(context.Background(), f.Sender, f.NewDocument(), bytes.NewReader(renderBomb(pages, 200_000)))
	if err != nil {
		t.Fatal(err)
	}
	// The CPU limit stops each render; the wall-clock timeout is far off,
	// so that a loaded machine changes nothing.
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc, PageCache: t.TempDir(),
		Limits: Limits{RenderConcurrency: slots, RenderCPU: time.Second, RenderTimeout: 5 * time.Minute, Rates: NoRateLimits()}}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	get := func(path string) (int, string, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Error(err)
			return 0, "", ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	refused := func(code int, ctype, body string) bool {
		var e struct {
			Error struct{ Code, Message string }
		}
		return code == http.StatusUnprocessableEntity && strings.HasPrefix(ctype, "application/json") &&
			json.Unmarshal([]byte(body), &e) == nil && e.Error.Code == "page_preview_unavailable" && e.Error.Message != ""
	}
	parallel := func(paths []string) {
		var wg sync.WaitGroup
		for _, p := range paths {
			wg.Go(func() {
				if code, ctype, body := get(p); !refused(code, ctype, body) {
					t.Errorf("%s: %d %s %.200s", p, code, ctype, body)
				}
			})
		}
		wg.Wait()
	}
	page := func(n int) string { return "/d/" + bomb.LinkToken + "/page/" + strconv.Itoa(n) }

	// Ten visitors at once on page 1: one render.
	parallel([]string{page(1), page(1), page(1), page(1), page(1), page(1), page(1), page(1), page(1), page(1)})
	if n := s.renders.starts.Load(); n != 1 {
		t.Fatalf("%d renders of one page for ten visitors at once", n)
	}
	// The failure is remembered: no render at all the next time.
	parallel([]string{page(1), page(1)})
	if n := s.renders.starts.Load(); n != 1 {
		t.Fatalf("a failed page was rendered again: %d renders", n)
	}
	// Every other page at once: each rendered once, at most slots at a time.
	var rest []string
	for n := 2; n <= pages; n++ {
		rest = append(rest, page(n), page(n))
	}
	parallel(rest)
	if n, peak := s.renders.starts.Load(), s.renders.peak.Load(); n != pages || peak > slots {
		t.Fatalf("%d renders for %d pages, %d at once (at most %d allowed)", n, pages, peak, slots)
	}
	if _, err := os.Stat(filepath.Join(s.PageCache, fmt.Sprintf("%s-1.failed", bomb.File.SHA256))); err != nil {
		t.Fatalf("no failure kept on disk: %v", err)
	}
}

// TestPageCacheSize: the cache folder stays under its size, the least
// recently used pages going first.
func TestPageCacheSize(t *testing.T) {
	f := storagetest.NewFixture(t)
	f.PDF = pdftest.PDF(8)
	d := f.Create(t)
	dir := t.TempDir()
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Service: f.Svc, PageCache: dir,
		Limits: Limits{PageCacheSize: 64 << 10, Rates: NoRateLimits()}}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	size := func() (total int64, names []string) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			fi, _ := e.Info()
			total += fi.Size()
			names = append(names, e.Name())
		}
		return total, names
	}
	var largest int64
	for n := 1; n <= 8; n++ {
		resp, err := http.Get(srv.URL + "/d/" + d.LinkToken + "/page/" + strconv.Itoa(n))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("page %d: %d", n, resp.StatusCode)
		}
		largest = max(largest, int64(len(b)))
		// At most the size, give or take the page just rendered.
		if total, names := size(); total > s.Limits.PageCacheSize+largest {
			t.Fatalf("after page %d the cache holds %d bytes: %v", n, total, names)
		}
	}
	_, names := size()
	kept := strings.Join(names, " ")
	if !strings.Contains(kept, "-8.png") || strings.Contains(kept, "-1.png") {
		t.Fatalf("the newest page should stay, the oldest go: %v", names)
	}
}

// TestPageCacheSweepsLeftovers: what a process killed mid-render left in
// the cache goes at the next start; a render another live instance is
// making now stays, and so do the pages.
func TestPageCacheSweepsLeftovers(t *testing.T) {
	dir := t.TempDir()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	write := func(name string, age time.Duration) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		at := clock.Now().Add(-age)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	write("render-1-1.png", time.Hour)     // a killed render
	write("abc.pdf.123.tmp", time.Hour)    // a killed copy
	write("render-2-1.png", 5*time.Second) // a live instance's render
	write("abc-1.png", 48*time.Hour)       // a page, old but kept
	write("abc-2.failed", 48*time.Hour)    // a failure marker, kept
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PageCache: dir, Clock: clock,
		Limits: Limits{Rates: NoRateLimits()}}
	s.Handler()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "abc-1.png abc-2.failed render-2-1.png" {
		t.Fatalf("left in the cache: %s", got)
	}
}
