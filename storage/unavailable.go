package storage

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err means that PostgreSQL could not be
// reached or dropped the connection: a dial that failed, a server shutting
// down or refusing connections, a socket that broke mid-query. The request
// it failed did nothing (a transaction not committed is rolled back) and may
// be sent again once the server is back; the pool dials afresh for it.
//
// This is the one place that knows pgx's errors; the front ends are given
// it (web.Server.Unavailable) to answer 503 instead of 500.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true // refused, unreachable, or too slow to answer a dial
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller gave up mid-query, which says nothing of the server.
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// PostgreSQL's error codes, appendix A: class 08 is connection
		// exception; 57P01–57P03 the server shutting down or starting;
		// 53300 too many connections.
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", "53300":
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08")
	}
	var netErr net.Error
	return errors.Is(err, pgconn.ErrConnClosed) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED)
}
