#!/usr/bin/env bash
# Runs edobot: sets the machine up (scripts/setup.sh), builds bin/edobot and
# starts `edobot serve`, which creates the database when it is missing and
# applies the migrations before it listens. Arguments go to `edobot serve`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
. scripts/setup.sh
printf 'serve: building bin/edobot\n' >&2
# The commit is stamped into `edobot version` where git can tell it.
go build -buildvcs=true -o bin/edobot ./cmd/edobot 2>/dev/null || go build -buildvcs=false -o bin/edobot ./cmd/edobot
# `scripts/serve.sh demo` serves the demonstration instead (README, «The demo»).
if [ "${1:-}" = demo ]; then
	shift
	exec bin/edobot demo "$@"
fi
# What to do next, before serve's own log takes over the terminal.
if [ -z "${TELEGRAM_TOKEN:-}" ]; then
	printf 'serve: no TELEGRAM_TOKEN, so no bot. To see the whole loop without an NCA key, stop this and run: scripts/serve.sh demo\n' >&2
else
	printf 'serve: the bot'"'"'s link is logged below as "next" (https://t.me/...): open it and send /start\n' >&2
fi
exec bin/edobot serve "$@"
