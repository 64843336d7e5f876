package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"edobot/core"
)

// unavailable reports whether err means that PostgreSQL could not be
// reached or dropped the connection: a dial that failed, a server shutting
// down or refusing connections, a socket that broke mid-query. The request
// it failed did nothing (a transaction not committed is rolled back) and may
// be sent again once the server is back; the pool dials afresh for it.
//
// This is the one place that knows pgx's errors: every error the store's
// queries return passes through markUnavailable, so that the front ends
// tell it by core.ErrStoreUnavailable.
func unavailable(err error) bool {
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

// markUnavailable wraps an error that means the server is out of reach
// with core.ErrStoreUnavailable, keeping pgx's error inside it.
func markUnavailable(err error) error {
	if !unavailable(err) || errors.Is(err, core.ErrStoreUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", core.ErrStoreUnavailable, err)
}

// querier is what the pool and a transaction both run queries with.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// marked runs queries on q, passing each error, of the query or of reading
// its rows, through markUnavailable.
type marked struct{ q querier }

func (m marked) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := m.q.Exec(ctx, sql, args...)
	return tag, markUnavailable(err)
}

func (m marked) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	r, err := m.q.Query(ctx, sql, args...)
	if err != nil {
		return r, markUnavailable(err)
	}
	return rows{r}, nil
}

func (m marked) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return row{m.q.QueryRow(ctx, sql, args...)}
}

// pool is the pool as the store's queries use it: each error, of the
// query, of reading its rows or of a transaction begun from it, passes
// through markUnavailable.
type pool struct {
	marked
	p *pgxpool.Pool
}

func (db *DB) pool() pool { return pool{marked{db.Pool}, db.Pool} }

func (p pool) Begin(ctx context.Context) (pgx.Tx, error) {
	t, err := p.p.Begin(ctx)
	if err != nil {
		return nil, markUnavailable(err)
	}
	return newMarkedTx(t), nil
}

func (p pool) Ping(ctx context.Context) error { return markUnavailable(p.p.Ping(ctx)) }

type row struct{ pgx.Row }

func (r row) Scan(dest ...any) error { return markUnavailable(r.Row.Scan(dest...)) }

type rows struct{ pgx.Rows }

func (r rows) Err() error             { return markUnavailable(r.Rows.Err()) }
func (r rows) Scan(dest ...any) error { return markUnavailable(r.Rows.Scan(dest...)) }

// markedTx is a transaction whose errors pass through markUnavailable:
// marked's Exec, Query and QueryRow are shallower than the embedded
// transaction's, so they are the ones called.
type markedTx struct {
	marked
	inner
}

// inner holds the transaction one level down, for pgx.Tx's other methods.
type inner struct{ pgx.Tx }

func newMarkedTx(t pgx.Tx) markedTx { return markedTx{marked{t}, inner{t}} }

// Begin starts a savepoint, marked as its transaction is.
func (t markedTx) Begin(ctx context.Context) (pgx.Tx, error) {
	s, err := t.Tx.Begin(ctx)
	if err != nil {
		return nil, markUnavailable(err)
	}
	return newMarkedTx(s), nil
}

func (t markedTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return batch{t.Tx.SendBatch(ctx, b)}
}

func (t markedTx) Commit(ctx context.Context) error { return markUnavailable(t.Tx.Commit(ctx)) }

// batch is a batch's results, each error marked.
type batch struct{ pgx.BatchResults }

func (b batch) Exec() (pgconn.CommandTag, error) {
	tag, err := b.BatchResults.Exec()
	return tag, markUnavailable(err)
}

func (b batch) Query() (pgx.Rows, error) {
	r, err := b.BatchResults.Query()
	if err != nil {
		return r, markUnavailable(err)
	}
	return rows{r}, nil
}

func (b batch) QueryRow() pgx.Row { return row{b.BatchResults.QueryRow()} }

func (b batch) Close() error { return markUnavailable(b.BatchResults.Close()) }

var (
	_ pgx.Tx           = markedTx{}
	_ pgx.BatchResults = batch{}
)
