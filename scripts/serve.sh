#!/usr/bin/env bash
# Runs edobot: sets the machine up, builds, and starts the service, which
# creates its database if missing and migrates before it listens.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
go build -o bin/edobot ./cmd/edobot
exec bin/edobot serve "$@"
