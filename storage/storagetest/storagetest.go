// Package storagetest gives integration tests a real, migrated PostgreSQL
// database of their own: one per test binary, created from
// TEST_DATABASE_URL's server and dropped when the binary ends.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"edobot/storage"
)

// DefaultURL is the server tests use when TEST_DATABASE_URL is not set.
const DefaultURL = "postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	once    sync.Once
	shared  *storage.DB
	dbName  string
	dbURL   string
	initErr error
)

func serverURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

func withDatabase(raw, name string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// DB returns the test binary's database, creating and migrating it on first use.
func DB(tb testing.TB) *storage.DB {
	tb.Helper()
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var b [6]byte
		_, _ = rand.Read(b[:])
		dbName = "edobot_test_" + hex.EncodeToString(b[:])
		u, err := withDatabase(serverURL(), dbName)
		if err != nil {
			initErr = err
			return
		}
		dbURL = u
		if err := storage.EnsureDatabase(ctx, u); err != nil {
			initErr = err
			return
		}
		db, err := storage.Open(ctx, u)
		if err != nil {
			initErr = err
			return
		}
		if _, err := db.Migrate(ctx); err != nil {
			initErr = err
			return
		}
		shared = db
	})
	if initErr != nil {
		tb.Fatalf("test database: %v (is PostgreSQL running? run scripts/test.sh)", initErr)
	}
	return shared
}

// URL returns the connection URL of the test binary's database, creating it
// on first use: for tests of commands that connect by themselves.
func URL(tb testing.TB) string {
	tb.Helper()
	DB(tb)
	return dbURL
}

// Main runs the tests and drops the database they used. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
		if err := drop(dbName); err != nil {
			fmt.Fprintln(os.Stderr, "storagetest:", err)
		}
	}
	os.Exit(code)
}

func drop(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}
