#!/usr/bin/env bash
# Runs the whole test suite against real PostgreSQL and Redis: vet, every
# test with the race detector (fuzz targets run their seed corpora), then
# every benchmark once so that none rots. With arguments, runs only
# `go test -race -count=1 ARGS…`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
: "${TEST_DATABASE_URL:=postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable}"
export TEST_DATABASE_URL

if [ $# -gt 0 ]; then
  exec go test -race -count=1 "$@"
fi
echo "== go vet" >&2
go vet ./...
echo "== go test -race" >&2
go test -race -count=1 -timeout 20m ./...
echo "== benchmarks, one iteration each" >&2
go test -run='^$' -bench=. -benchtime=1x -count=1 -timeout 20m ./...
