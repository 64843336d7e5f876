#!/usr/bin/env bash
# Runs the whole test suite against real PostgreSQL and Redis, after setting
# the machine up (scripts/setup.sh): no build output or large file tracked
# by git (scripts/tracked-files.sh), go vet, every test with the race detector
# (each test binary creates its own database from TEST_DATABASE_URL and drops
# it), then every benchmark for one iteration so that none rots. All four
# steps run; the exit status is non-zero when any of them failed.
#
# With arguments, runs only `go test -race -count=1 -timeout 20m ARGS...`;
# when ARGS name no package (./..., ./core/x, edobot/...), ./... is added:
#   scripts/test.sh -run TestX ./core/...
#   scripts/test.sh -run TestX -v
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${TEST_DATABASE_URL:=postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable}"
export TEST_DATABASE_URL
# Rendered pages and screenshots the tests keep for a person to look at.
: "${EDOBOT_ARTEFACTS:=$PWD/artefacts}"
export EDOBOT_ARTEFACTS
# shellcheck source=scripts/setup.sh
. scripts/setup.sh

if [ $# -gt 0 ]; then
  pkgs=(./...)
  for a in "$@"; do
    case "$a" in ./* | ../* | edobot | edobot/* | all) pkgs=() ;; esac
  done
  exec go test -race -count=1 -timeout 20m "$@" "${pkgs[@]}"
fi

failed=()
step() { # step NAME CMD...
  printf '\n== %s\n' "$1" >&2
  shift
  "$@" || failed+=("$*")
}
step "tracked files: no build output, nothing over 5 MB" bash scripts/tracked-files.sh
step "go vet" go vet ./...
step "tests, with the race detector" go test -race -count=1 -timeout 20m ./...
step "benchmarks, one iteration each, one package at a time" go test -p 1 -run='^$' -bench=. -benchtime=1x -count=1 -timeout 20m ./...

if [ ${#failed[@]} -gt 0 ]; then
  printf '\nFAILED:\n' >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
printf '\nall passed\n' >&2
