package web

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"edobot/bot/i18n"
	"edobot/core"
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

// pagePolicy is what a kind of page allows beyond pageCSP's base.
type pagePolicy struct {
	script  string // a script beside ours, when not empty
	form    string // where the page's forms may post: 'none' when empty
	framers string // who may frame the page: 'none' when empty
}

// The kinds of pages.
var (
	// plainPage: the link, check, home and notice pages.
	plainPage = pagePolicy{}
	// formPage: the ИС ЭСФ pages, whose forms post to us.
	formPage = pagePolicy{form: "'self'"}
	// miniAppPage: the link page open in Telegram (miniapp.go).
	miniAppPage = pagePolicy{script: miniAppScript, framers: miniAppFramers}
)

// pageCSP lets a page run our scripts, show our images and the QR, frame
// the PDF and reach NCALayer on the visitor's computer, and what p allows.
func (s *Server) pageCSP(p pagePolicy) string {
	img := "'self' data:"
	if o := origin(s.PublicURL, "http", "https"); o != "" {
		img += " " + o
	}
	connect := "'self'"
	if o := origin(s.ncalayerURL(), "ws", "wss"); o != "" {
		connect += " " + o
	}
	script := "'self'"
	if p.script != "" {
		script += " " + p.script
	}
	form, framers := "'none'", "'none'"
	if p.form != "" {
		form = p.form
	}
	if p.framers != "" {
		framers = p.framers
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + script,
		"style-src 'self'",
		"img-src " + img,
		"connect-src " + connect,
		"frame-src 'self'",
		"base-uri 'none'",
		"form-action " + form,
		"frame-ancestors " + framers,
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

// htmlHeaders starts a plain page's answer.
func (s *Server) htmlHeaders(w http.ResponseWriter) { s.pageHeaders(w, plainPage) }

// pageHeaders starts the answer of a page of kind p.
func (s *Server) pageHeaders(w http.ResponseWriter, p pagePolicy) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", s.pageCSP(p))
	if p.framers == "" {
		h.Set("X-Frame-Options", "DENY")
	}
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
	w.Header().Set("Content-Disposition", contentDisposition(disposition, name))
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

// contentDisposition is a Content-Disposition value for a download named
// name: an ASCII filename= for old clients (every other character "_") and
// the name itself as RFC 5987's filename*=UTF-8”… (RFC 6266 §4.3: a client
// that knows filename* takes it over filename).
func contentDisposition(disposition, name string) string {
	var ascii strings.Builder
	for _, r := range name {
		l, ok := latin[unicode.ToLower(r)]
		switch {
		case r == '"' || r == '\\':
			ascii.WriteByte('_')
		case r >= 0x20 && r <= 0x7e:
			ascii.WriteRune(r)
		case ok && r != unicode.ToLower(r) && l != "":
			ascii.WriteString(strings.ToUpper(l[:1]) + l[1:])
		case ok:
			ascii.WriteString(l)
		default:
			ascii.WriteByte('_')
		}
	}
	var enc strings.Builder
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			enc.WriteByte(b)
		} else {
			fmt.Fprintf(&enc, "%%%02X", b)
		}
	}
	return disposition + `; filename="` + ascii.String() + `"; filename*=UTF-8''` + enc.String()
}

// latin spells the Russian and Kazakh letters (and the dash and the number
// sign names take) in ASCII for the fallback filename=.
var latin = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh", 'з': "z", 'и': "i",
	'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t",
	'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "shch", 'ъ': "", 'ы': "y", 'ь': "",
	'э': "e", 'ю': "yu", 'я': "ya", 'ә': "a", 'ғ': "g", 'қ': "q", 'ң': "n", 'ө': "o", 'ұ': "u", 'ү': "u",
	'һ': "h", 'і': "i", '—': "-", '–': "-", '№': "N", '«': "_", '»': "_",
}

// isAttrChar is RFC 5987's attr-char: what an ext-value carries unescaped.
func isAttrChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}

// requestLang is the language a page or a download speaks: a posted
// form's lang (once the form is read), else ?lang=, else the client's
// Accept-Language, else Russian.
func requestLang(r *http.Request) string {
	if l := r.PostForm.Get("lang"); l != "" {
		return i18n.Lang(l)
	}
	if l := r.URL.Query().Get("lang"); l != "" {
		return i18n.Lang(l)
	}
	return i18n.Lang(acceptLanguage(r))
}

// cardName is the card's download name in the reader's language.
func (s *Server) cardName(r *http.Request, d *core.Document) string {
	return s.Cat.Text(requestLang(r), "file.card", map[string]any{"Name": core.FileStem(d)})
}

// ezSignerName is the ezSigner version's download name in the reader's
// language.
func (s *Server) ezSignerName(r *http.Request, d *core.Document) string {
	return s.Cat.Text(requestLang(r), "file.ezsigner", map[string]any{"Name": core.FileStem(d)})
}
