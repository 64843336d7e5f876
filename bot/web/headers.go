package web

import (
	"edobot/core"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Security headers. Every answer is nosniff and sends no referrer (link
// tokens and challenge ids are in our URLs); anything not a page gets a CSP
// that allows nothing. Pages get pageCSP: scripts, styles and frames from
// our origin only, nothing may frame them. The document's own PDF is
// sandboxed (fileCSP): a script inside it, should a viewer run it, runs in
// an opaque origin, never ours; the link page itself may frame it.

const (
	noneCSP = "default-src 'none'; frame-ancestors 'none'"
	fileCSP = "sandbox; frame-ancestors 'self'"
)

func (s *Server) secured(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", noneCSP)
		next.ServeHTTP(w, r)
	})
}

// pageCSP lets a page run our scripts, show our images and the QR, frame
// the PDF and reach NCALayer on the visitor's computer.
func (s *Server) pageCSP() string {
	img := "'self' data:"
	if o := origin(s.PublicURL, "http", "https"); o != "" {
		img += " " + o
	}
	connect := "'self'"
	if o := origin(s.ncalayerURL(), "ws", "wss"); o != "" {
		connect += " " + o
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src " + img,
		"connect-src " + connect,
		"frame-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// origin is scheme://host[:port] of u when its scheme is one of schemes.
func origin(u string, schemes ...string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	for _, s := range schemes {
		if p.Scheme == s {
			return p.Scheme + "://" + p.Host
		}
	}
	return ""
}

// htmlHeaders starts an HTML page's answer.
func (s *Server) htmlHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", s.pageCSP())
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// fileHeaders starts a PDF's answer.
func fileHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Security-Policy", fileCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
}

// writePDF streams a document's PDF (its original or its card) and closes
// rc: disposition is "attachment" or "inline", size -1 when not known
// beforehand. A download the client broke off is only logged.
func (s *Server) writePDF(w http.ResponseWriter, rc io.ReadCloser, d *core.Document, disposition, name string, size int64) {
	defer rc.Close()
	fileHeaders(w)
	if size >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	}
	w.Header().Set("Content-Disposition", disposition+`; filename="`+name+`"`)
	if _, err := io.Copy(w, rc); err != nil {
		s.Log.Warn("download interrupted", "document", d.ID, "file", name, "err", strings.TrimSpace(err.Error()))
	}
}

// staticFiles serves the pages' scripts and styles, cached for a while:
// they change only with a release.
func staticFiles() http.Handler {
	fs := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fs.ServeHTTP(w, r)
	})
}
