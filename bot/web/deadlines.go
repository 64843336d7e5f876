package web

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// A client that sends slowly, or stops reading, holds a connection, a
// goroutine and the buffers of its answer. http.Server's own timeouts are
// one number for every route, which is wrong both for a long poll and for a
// 15 MB download on a phone; so the server sets only the header and idle
// timeouts, and every request gets deadlines of its own here: a body must
// arrive, and an answer be taken, at MinRate on average after a start of
// RequestTimeout (plus what the route waits before answering), and never
// over TransferMax. A stalled client is cut at its deadline, whatever the
// route.

// NewHTTPServer is the server serve runs: the routes, with the header and
// idle timeouts. Serve it on Listen's listener.
func (s *Server) NewHTTPServer(addr string) *http.Server {
	l := s.limits()
	hs := &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: l.HeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	if s.Log != nil {
		hs.ErrorLog = slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn)
	}
	return hs
}

// Listen listens on addr, holding at most MaxConns connections open.
func (s *Server) Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return s.LimitListener(ln), nil
}

// LimitListener caps ln at MaxConns connections open at once.
func (s *Server) LimitListener(ln net.Listener) net.Listener {
	return netutil.LimitListener(ln, s.limits().MaxConns)
}

func (s *Server) limits() Limits { return s.Limits.withDefaults() }

// paced sets the request's deadlines: reading its body and writing its
// answer are both paced.
func (s *Server) paced(next http.Handler) http.Handler {
	l := s.limits()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rc := http.NewResponseController(w)
		pw := &pacedWriter{ResponseWriter: w, rc: rc, pace: pace{start: start, grace: l.RequestTimeout, rate: l.MinRate, max: l.TransferMax}}
		// A deadline now, before anything is read: a handler that never
		// reads the body still has the server drain it after the answer.
		_ = rc.SetReadDeadline(start.Add(l.RequestTimeout))
		_ = rc.SetWriteDeadline(pw.deadline(0))
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &pacedBody{ReadCloser: r.Body, rc: rc, pace: pace{start: start, grace: l.RequestTimeout, rate: l.MinRate, max: l.TransferMax}}
		}
		next.ServeHTTP(pw, r)
	})
}

// pace is a deadline that moves with the bytes moved: start + grace +
// bytes/rate, never beyond start + max.
type pace struct {
	start time.Time
	grace time.Duration
	rate  int64
	max   time.Duration
	n     int64
}

// deadline is when the next size bytes must have moved.
func (p *pace) deadline(size int) time.Time {
	d := p.grace + time.Duration(float64(p.n+int64(size))/float64(p.rate)*float64(time.Second))
	return p.start.Add(min(d, max(p.max, p.grace)))
}

// chunk bounds one paced write, so a large one is not given the whole
// allowance at once.
const chunk = 64 << 10

type pacedBody struct {
	io.ReadCloser
	rc *http.ResponseController
	pace
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if len(p) > chunk {
		p = p[:chunk]
	}
	_ = b.rc.SetReadDeadline(b.deadline(len(p)))
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

type pacedWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	pace
}

func (w *pacedWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		c := p[:min(len(p), chunk)]
		w.setDeadlines(w.deadline(len(c)))
		n, err := w.ResponseWriter.Write(c)
		w.n += int64(n)
		written += n
		if err != nil {
			return written, err
		}
		p = p[len(c):]
	}
	return written, nil
}

// setDeadlines moves the read deadline with the write one: once a handler
// answers, the server's background read of the connection (which tells the
// handler that the client went away) must not time out and cancel the
// request while the answer is still going.
func (w *pacedWriter) setDeadlines(t time.Time) {
	_ = w.rc.SetWriteDeadline(t)
	_ = w.rc.SetReadDeadline(t)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *pacedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps the writer a Flusher for the handlers that stream.
func (w *pacedWriter) Flush() { _ = w.rc.Flush() }

// waitBeforeAnswer gives a route that waits before it answers (a long poll,
// a queued render) that much more time to start its answer. The route must
// have read its body first: the read deadline moves too.
func waitBeforeAnswer(w http.ResponseWriter, d time.Duration) {
	if pw, ok := w.(*pacedWriter); ok {
		pw.grace += d
		pw.setDeadlines(pw.deadline(0))
	}
}
