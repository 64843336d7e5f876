package storagetest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"edobot/storage"
)

// Unreachable is a store whose server is gone: its pool dials a port
// nothing listens on, so every query fails to connect.
func Unreachable(tb testing.TB) *storage.DB {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@"+addr+"/edobot?sslmode=disable&connect_timeout=5")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return &storage.DB{Pool: pool}
}

// OneConnection is a store on the test database with a pool of one
// connection that is never pinged before use: a backend terminated under it
// (Terminate) is found out by the next query, as after a server restart.
func OneConnection(tb testing.TB) *storage.DB {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MaxConns, cfg.MinConns = 1, 0
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return &storage.DB{Pool: pool}
}

// Terminate ends the backend of db's connection from another session, as an
// administrator or a restarting server would, and returns once it is gone.
func Terminate(tb testing.TB, db *storage.DB) {
	tb.Helper()
	ctx := context.Background()
	var pid int
	if err := db.Pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		tb.Fatal(err)
	}
	admin := DB(tb)
	if _, err := admin.Pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		tb.Fatal(err)
	}
	// The signal is asynchronous: wait for the backend to leave.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var alive bool
		if err := admin.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)`, pid).Scan(&alive); err != nil {
			tb.Fatal(err)
		}
		if !alive {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("backend %d still alive", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
