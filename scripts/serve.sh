#!/usr/bin/env bash
# Runs edobot: sets the machine up (scripts/setup.sh), builds bin/edobot and
# starts `edobot serve`, which creates the database when it is missing and
# applies the migrations before it listens. Arguments go to `edobot serve`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
printf 'serve: building bin/edobot\n' >&2
go build -o bin/edobot ./cmd/edobot
exec bin/edobot serve "$@"
