#!/usr/bin/env bash
# Makes this machine ready to build, run and test edobot: Go, PostgreSQL and
# Redis (only when the configured address is local and nothing answers there),
# and the Debian packages the build and the tests use. Idempotent: with
# everything up it installs and starts nothing and takes about a second.
# Sourced by scripts/serve.sh and scripts/test.sh; can also be run alone.
#
# Works as root, or as a user with sudo. Progress lines go to stderr.
set -euo pipefail

: "${DATABASE_URL:=postgres://postgres:postgres@127.0.0.1:5432/edobot?sslmode=disable}"
: "${REDIS_ADDR:=127.0.0.1:6379}"
export DATABASE_URL REDIS_ADDR

# Debian packages the build and the tests need, as package:probe, where the
# probe is a command on PATH or an absolute path that exists once the package
# is installed. Add more here.
EDOBOT_PACKAGES=(
  ca-certificates:/etc/ssl/certs/ca-certificates.crt # HTTPS to the Go module proxy
  gcc:gcc libc6-dev:/usr/include/stdio.h             # cgo, which go test -race needs
  poppler-utils:pdftoppm                             # PDF rendering in the tests
  openssl:openssl                                    # certificates in the tests
  chromium:/usr/bin/chromium                         # the signing pages, tested in a real browser
)

# Set by PostgreSQL's installation here, removed once role postgres has the
# password of the default DATABASE_URL (a fresh Debian server has none).
: "${EDOBOT_PG_PASSWORD_PENDING:=/var/lib/postgresql/.edobot-setup-password-pending}"

setup_log() { printf 'setup: %s\n' "$*" >&2; }
setup_die() { setup_log "$*"; exit 1; }

# setup_root CMD...: runs CMD as root (through sudo when not root).
setup_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else setup_die "need root for: $* (not root, and no sudo)"
  fi
}

setup_apt_updated=""
# setup_apt_install PKG...: one apt-get update per run, then install.
setup_apt_install() {
  [ $# -gt 0 ] || return 0
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q)
  if [ -z "$setup_apt_updated" ]; then
    setup_log "apt-get update"
    setup_root "${apt[@]}" update >&2
    setup_apt_updated=1
  fi
  setup_log "installing $*"
  setup_root "${apt[@]}" install -y --no-install-recommends "$@" >&2
}

# setup_is_local HOST: the address is this machine's loopback (or a socket).
setup_is_local() { case "$1" in 127.0.0.1 | localhost | ::1 | /*) return 0 ;; *) return 1 ;; esac; }

# setup_port_open HOST PORT: something accepts connections there. A HOST that
# is a directory is PostgreSQL's Unix socket directory.
setup_port_open() {
  case "$1" in
    /*) [ -S "$1/.s.PGSQL.$2" ] ;;
    *) (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null ;;
  esac
}

# setup_split_hostport ADDR DEFAULT_PORT: prints "host port"; accepts host,
# host:port, [v6], [v6]:port, :port.
setup_split_hostport() {
  local a=$1 host port=$2
  case "$a" in
    \[*\]:*) host=${a%%]*}; host=${host#[}; port=${a##*]:} ;;
    \[*\]) host=${a#[}; host=${host%]} ;;
    *:*:*) host=$a ;; # a bare IPv6 address
    *:*) host=${a%:*}; port=${a##*:} ;;
    *) host=$a ;;
  esac
  [ -n "$host" ] || host=127.0.0.1
  [ -n "$port" ] || port=$2
  printf '%s %s\n' "$host" "$port"
}

# setup_pg_endpoint URL: prints "host port" of a PostgreSQL URL
# (postgres://user:pass@host:port/db?...) or key=value string (host=... port=...).
setup_pg_endpoint() {
  local u=$1 hp host port
  case "$u" in
    postgres://* | postgresql://*)
      hp=${u#*://}; hp=${hp%%/*}; hp=${hp%%\?*}; hp=${hp##*@}; hp=${hp%%,*}
      setup_split_hostport "$hp" 5432
      ;;
    *)
      host=$(printf '%s\n' "$u" | sed -n 's/.*\(^\|[[:space:]]\)host=\([^[:space:]]*\).*/\2/p')
      port=$(printf '%s\n' "$u" | sed -n 's/.*\(^\|[[:space:]]\)port=\([0-9]*\).*/\2/p')
      printf '%s %s\n' "${host:-127.0.0.1}" "${port:-5432}"
      ;;
  esac
}

setup_have_pg_isready=""
# setup_pg_ready HOST PORT: the server there accepts connections.
setup_pg_ready() {
  if [ -z "$setup_have_pg_isready" ]; then
    # pg_isready is a wrapper that fails when no PostgreSQL client is installed.
    if pg_isready --version >/dev/null 2>&1; then setup_have_pg_isready=yes; else setup_have_pg_isready=no; fi
  fi
  if [ "$setup_have_pg_isready" = yes ]; then
    pg_isready -q -h "$1" -p "$2" -t 3 >/dev/null 2>&1
  else
    setup_port_open "$1" "$2"
  fi
}

# setup_redis_ready HOST PORT: Redis there answers (a password it asks for counts).
setup_redis_ready() {
  local out
  if command -v redis-cli >/dev/null 2>&1; then
    out=$(redis-cli -h "$1" -p "$2" ping 2>&1 </dev/null) || true
    case "$out" in *PONG* | *NOAUTH* | *"Authentication required"*) return 0 ;; *) return 1 ;; esac
  fi
  setup_port_open "$1" "$2"
}

# setup_wait SECONDS CHECK ARGS...: polls CHECK until it succeeds.
setup_wait() {
  local n=$(($1 * 5)) i
  shift
  for ((i = 0; i < n; i++)); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

# setup_go_wanted: the Go version go.mod asks for (toolchain line, else go line).
setup_go_wanted() {
  local v
  v=$(sed -n 's/^toolchain[[:space:]]*go\([0-9][0-9.a-z]*\).*/\1/p' "$1/go.mod" | head -n 1)
  [ -n "$v" ] || v=$(sed -n 's/^go[[:space:]]*\([0-9][0-9.a-z]*\).*/\1/p' "$1/go.mod" | head -n 1)
  case "$v" in *.*.* | *rc* | *beta*) ;; ?*) v=$v.0 ;; esac # "go 1.26" means go1.26.0
  printf '%s\n' "$v"
}

# setup_go_switches: the go on PATH is 1.21 or later, so it can switch toolchains.
setup_go_switches() {
  local v minor
  v=$(cd / && go env GOVERSION) # go1.19.8
  case "$v" in go1.[0-9]*) ;; *) return 0 ;; esac # go2, devel: assume new enough
  minor=${v#go1.}; minor=${minor%%[!0-9]*}
  [ "$minor" -ge 21 ]
}

# setup_go_bootstrap ROOT: a Go older than 1.21 (Debian 12's golang-go is 1.19)
# can neither read go.mod's "go 1.x.y" line nor switch toolchains. Fetch the
# toolchain go.mod asks for from the module proxy, as Go's own GOTOOLCHAIN=auto
# does, into the same place in the module cache, and put it first on PATH.
setup_go_bootstrap() {
  local want arch dir
  want=$(setup_go_wanted "$1")
  [ -n "$want" ] || setup_die "no go version in $1/go.mod"
  arch=$(cd / && go env GOARCH)
  [ "$arch" != arm ] || arch=armv6l
  dir="$(cd / && go env GOMODCACHE)/golang.org/toolchain@v0.0.1-go$want.linux-$arch"
  if [ ! -x "$dir/bin/go" ]; then
    setup_log "$(go version) is too old for go.mod; fetching go$want from the module proxy"
    (cd / && GOFLAGS='' GO111MODULE=on go mod download "golang.org/toolchain@v0.0.1-go$want.linux-$arch") >&2
    # Module zips carry no exec bits; Go restores them the same way.
    find "$dir/bin" "$dir/pkg/tool" -type f -exec chmod a+x {} +
  fi
  unset GOROOT
  export PATH="$dir/bin:$PATH"
}

setup_main() {
  local root pg_urls=() pg_eps=() url ep host port pg_local_port="" pg_down=()
  local redis_host redis_port redis_start="" need_pkgs=() p probe
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

  # --- probe, and collect what must be installed ---
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  fi
  command -v go >/dev/null 2>&1 || need_pkgs+=(golang-go)

  pg_urls=("$DATABASE_URL")
  [ -z "${TEST_DATABASE_URL:-}" ] || pg_urls+=("$TEST_DATABASE_URL")
  for url in "${pg_urls[@]}"; do
    ep=$(setup_pg_endpoint "$url")
    case " ${pg_eps[*]/ /:} " in *" ${ep/ /:} "*) continue ;; esac # seen
    pg_eps+=("$ep")
    read -r host port <<<"$ep"
    if ! setup_is_local "$host"; then
      setup_log "PostgreSQL at $host:$port is not local: left alone"
      continue
    fi
    [ -n "$pg_local_port" ] || pg_local_port=$port
    if setup_pg_ready "$host" "$port"; then
      setup_log "PostgreSQL answers on $host:$port"
    else
      pg_down+=("$ep")
    fi
  done
  if [ ${#pg_down[@]} -gt 0 ] && { ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls -A /etc/postgresql 2>/dev/null)" ]; }; then
    need_pkgs+=(postgresql)
  fi

  read -r redis_host redis_port <<<"$(setup_split_hostport "$REDIS_ADDR" 6379)"
  if ! setup_is_local "$redis_host"; then
    setup_log "Redis at $REDIS_ADDR is not local: left alone"
  elif setup_redis_ready "$redis_host" "$redis_port"; then
    setup_log "Redis answers on $redis_host:$redis_port"
  else
    redis_start=1
    command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
  fi

  for p in "${EDOBOT_PACKAGES[@]}"; do
    probe=${p#*:}
    case "$probe" in
      /*) [ -e "$probe" ] ;;
      *) command -v "$probe" >/dev/null 2>&1 ;;
    esac || need_pkgs+=("${p%%:*}")
  done

  # --- install, all at once ---
  setup_apt_install "${need_pkgs[@]}"
  setup_have_pg_isready="" # it may have just been installed
  case " ${need_pkgs[*]} " in *" postgresql "*) setup_root touch "$EDOBOT_PG_PASSWORD_PENDING" ;; esac

  # --- Go ---
  # A Go of 1.21 or later fetches the toolchain go.mod asks for through the
  # module proxy by itself with GOTOOLCHAIN=auto; an older one is bootstrapped.
  export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
  setup_go_switches || setup_go_bootstrap "$root"
  setup_log "$(cd "$root" && go version)"

  # --- PostgreSQL ---
  if [ ${#pg_down[@]} -gt 0 ]; then
    local ver name cport status
    # Debian's package may have been installed with all clusters removed.
    if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
      ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tail -n 1)
      [ -n "$ver" ] || setup_die "PostgreSQL is installed but has no server version in /usr/lib/postgresql"
      setup_log "creating PostgreSQL cluster $ver/main"
      setup_root pg_createcluster --locale C.UTF-8 "$ver" main >&2
      setup_root touch "$EDOBOT_PG_PASSWORD_PENDING"
    fi
    # Start every cluster that is down. Under systemd, pg_ctlcluster hands the
    # start to it; without systemd it starts the server itself.
    local start_opts=(--skip-systemctl-redirect)
    [ ! -d /run/systemd/system ] || start_opts=()
    while read -r ver name cport status _; do
      [ "$status" = down ] || continue
      setup_log "starting PostgreSQL $ver/$name (port $cport)"
      setup_root pg_ctlcluster "${start_opts[@]}" "$ver" "$name" start >&2 ||
        setup_root service postgresql start >&2 ||
        setup_log "could not start PostgreSQL $ver/$name"
    done < <(pg_lsclusters -h 2>/dev/null)
    for ep in "${pg_down[@]}"; do
      read -r host port <<<"$ep"
      setup_wait 30 setup_pg_ready "$host" "$port" ||
        setup_die "PostgreSQL does not answer on $host:$port; clusters: $(pg_lsclusters -h 2>/dev/null | awk '{printf "%s/%s port %s %s; ", $1, $2, $3, $4}')"
      setup_log "PostgreSQL answers on $host:$port"
    done
  fi
  if [ -n "$pg_local_port" ] && [ -e "$EDOBOT_PG_PASSWORD_PENDING" ]; then
    # The server was installed (or its cluster created) by this script: give
    # role postgres the password the default DATABASE_URL uses, since Debian
    # leaves it without one and asks for one over TCP. A server that was
    # already there keeps its own authentication.
    setup_log "setting the password of role postgres (fresh server)"
    local sql="ALTER ROLE postgres PASSWORD 'postgres'" runuser
    runuser=$(command -v runuser || echo /usr/sbin/runuser)
    if [ -x "$runuser" ]; then
      (cd / && setup_root "$runuser" -u postgres -- psql -X -q -p "$pg_local_port" -c "$sql") >&2
    else
      (cd / && setup_root su postgres -s /bin/sh -c "psql -X -q -p $pg_local_port -c \"$sql\"") >&2
    fi
    setup_root rm -f "$EDOBOT_PG_PASSWORD_PENDING"
  fi

  # --- Redis ---
  if [ -n "$redis_start" ]; then
    if setup_port_open "$redis_host" "$redis_port"; then
      setup_log "waiting for Redis on $redis_host:$redis_port" # starting, or just installed and started
    else
      # Redis runs as this user, so its directories must be writable by it.
      local dir=/var/lib/redis logdir=/var/log/redis
      { mkdir -p "$dir" 2>/dev/null && [ -w "$dir" ]; } || dir=/tmp
      { mkdir -p "$logdir" 2>/dev/null && [ -w "$logdir" ]; } || logdir=/tmp
      setup_log "starting Redis on port $redis_port (log $logdir/redis-edobot-$redis_port.log)"
      redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$redis_port" --save "" --appendonly no \
        --dir "$dir" --logfile "$logdir/redis-edobot-$redis_port.log" --pidfile "$dir/redis-edobot-$redis_port.pid" >&2
    fi
    setup_wait 15 setup_redis_ready "$redis_host" "$redis_port" ||
      setup_die "Redis does not answer on $REDIS_ADDR"
    setup_log "Redis answers on $redis_host:$redis_port"
  fi
}

setup_main
