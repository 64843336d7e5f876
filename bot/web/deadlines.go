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
// arrive at MinRate on average after a start of RequestTimeout, each piece
// of an answer (64 KiB at most) be taken within RequestTimeout and its size
// at MinRate, a route that waits before it answers (the long poll, a page
// render) says so, and nothing takes over TransferMax. A stalled or
// trickling client is cut at its deadline, whatever the route.

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
		p := pace{start: start, grace: l.RequestTimeout, rate: l.MinRate, max: l.TransferMax}
		pw := &pacedWriter{ResponseWriter: w, rc: rc, pace: p}
		// Deadlines now, before anything is read or written: the request
		// must be under way within RequestTimeout.
		_ = rc.SetReadDeadline(start.Add(l.RequestTimeout))
		_ = rc.SetWriteDeadline(pw.writeDeadline(start, 0))
		var body *pacedBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &pacedBody{ReadCloser: r.Body, rc: rc, pace: p}
			r.Body = body
		}
		next.ServeHTTP(pw, r)
		// The server drains what the handler left of the body: at the
		// body's pace too, so an early answer (a 401) does not let a
		// trickling client hold the connection.
		if body != nil {
			_ = rc.SetReadDeadline(body.deadline(0))
		}
	})
}

// pace is a deadline that moves with the bytes moved, never beyond
// start + max.
type pace struct {
	start time.Time
	grace time.Duration
	rate  int64
	max   time.Duration
	n     int64
}

// deadline is when the body's next size bytes must have arrived: start +
// grace + all the bytes so far at rate. Counted from the start, because a
// read returns whatever arrived: a client trickling a byte at a time would
// otherwise keep a deadline counted from its last byte for ever.
func (p *pace) deadline(size int) time.Time {
	return p.capped(p.start.Add(p.grace + p.time(p.n+int64(size))))
}

// writeDeadline is when a write of size bytes starting at now must be
// done: grace and the size at rate. Counted from now, because the time
// the handler takes between writes is ours, not the client's; a write
// returns only once all of it is taken, so a client taking a byte at a
// time is cut anyway.
func (p *pace) writeDeadline(now time.Time, size int) time.Time {
	return p.capped(now.Add(p.grace + p.time(int64(size))))
}

func (p *pace) time(bytes int64) time.Duration {
	return time.Duration(float64(bytes) / float64(p.rate) * float64(time.Second))
}

func (p *pace) capped(t time.Time) time.Time {
	if limit := p.start.Add(max(p.max, p.grace)); t.After(limit) {
		return limit
	}
	return t
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
		w.setDeadlines(w.writeDeadline(time.Now(), len(c)))
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

// setDeadlines sets the write deadline, and keeps the read one out of the
// way: once a handler answers, the server's background read of the
// connection (which tells the handler that the client went away) must not
// time out and cancel the request while the answer is still going, however
// long the handler takes between writes.
func (w *pacedWriter) setDeadlines(t time.Time) {
	_ = w.rc.SetWriteDeadline(t)
	_ = w.rc.SetReadDeadline(w.capped(t.Add(w.max)))
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
		pw.setDeadlines(pw.writeDeadline(time.Now().Add(d), 0))
	}
}
