// Package migrations holds the database schema as numbered SQL files, embedded
// in the binary and applied by goose.
package migrations

import "embed"

// FS holds the *.sql migrations in version order.
//
//go:embed *.sql
var FS embed.FS
