package storage

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"
)

// Lease is a right only one process among those sharing the database holds
// at a time: a PostgreSQL advisory lock, taken on a connection of its own
// that is kept for as long as the right is held. When the holder stops, or
// dies and PostgreSQL closes its connection, the lock is free and a waiting
// process gets it. (The database must be reached directly or through a
// pooler in session mode: a transaction-mode pooler cannot hold a session's
// lock.)
type Lease struct {
	config *pgx.ConnConfig
	key    int64
	name   string
	// Check is how often the held lock's connection is checked: a holder
	// whose connection broke has lost the lock. Retry is the pause before
	// connecting again after a failure.
	Check, Retry time.Duration
	Clock        clockwork.Clock
	Log          *slog.Logger
}

// Lease is the right called name, over this database.
func (db *DB) Lease(name string) *Lease {
	h := fnv.New64a()
	h.Write([]byte("edobot lease " + name))
	return &Lease{config: db.Pool.Config().ConnConfig.Copy(), key: int64(h.Sum64()), name: name,
		Check: 10 * time.Second, Retry: 5 * time.Second, Clock: clockwork.NewRealClock(), Log: slog.Default()}
}

// Key is the advisory lock's key, as pg_locks shows it ((classid << 32) |
// objid).
func (l *Lease) Key() int64 { return l.key }

// Acquire waits until this process holds the lease, or ctx ends (its error
// is returned then). held ends when the lease is lost (the connection broke)
// or ctx ends; release gives the lease up and must be called once held is
// no longer used.
func (l *Lease) Acquire(ctx context.Context) (held context.Context, release func(), err error) {
	for {
		conn, err := l.lock(ctx)
		if err == nil {
			return l.hold(ctx, conn)
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		l.Log.Warn("lease: cannot take the lock; trying again", "lease", l.name, "err", err, "retry_in", l.Retry)
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-l.Clock.After(l.Retry):
		}
	}
}

// lock connects and waits in PostgreSQL for the lock.
func (l *Lease) lock(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, l.config)
	if err != nil {
		return nil, fmt.Errorf("lease %s: connect: %w", l.name, err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, l.key); err != nil {
		// Closing the connection frees a lock granted as ctx ended.
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("lease %s: lock: %w", l.name, err)
	}
	return conn, nil
}

// hold checks the connection while the lease is held.
func (l *Lease) hold(ctx context.Context, conn *pgx.Conn) (context.Context, func(), error) {
	held, lost := context.WithCancel(ctx)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer lost()
		t := l.Clock.NewTicker(l.Check)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-held.Done():
				return
			case <-t.Chan():
			}
			cctx, cancel := context.WithTimeout(context.Background(), max(l.Check, time.Second))
			err := conn.Ping(cctx)
			cancel()
			if err != nil {
				l.Log.Error("lease lost: its connection broke", "lease", l.name, "err", err)
				return
			}
		}
	})
	var once sync.Once
	release := func() {
		once.Do(func() {
			close(stop)
			wg.Wait()
			lost()
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, l.key); err != nil && !errors.Is(err, context.Canceled) {
				l.Log.Warn("lease: unlock", "lease", l.name, "err", err) // closing frees it anyway
			}
			_ = conn.Close(uctx)
		})
	}
	return held, release, nil
}
