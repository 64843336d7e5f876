#!/usr/bin/env bash
# Fails when git tracks a build output or a large file: an executable (ELF,
# Mach-O, PE), a test binary (*.test), a profile (*.prof), anything under a
# bin/ folder, or any file over 5 MB. Paths matching a glob in
# scripts/large-files.allow (fonts, test data) may be larger; a build
# output is refused wherever it is. Run by scripts/test.sh before go vet;
# can also be run alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

limit=$((5 * 1024 * 1024))
allow=()
while IFS= read -r line; do
  line="${line%%#*}"
  line="${line%"${line##*[![:space:]]}"}"
  [ -n "$line" ] && allow+=("$line")
done <scripts/large-files.allow

large_allowed() { # large_allowed PATH: PATH matches a glob of the allow-list
  local glob
  for glob in "${allow[@]}"; do
    # shellcheck disable=SC2053 # the right side is a glob on purpose
    [[ $1 == $glob ]] && return 0
  done
  return 1
}

# kind PATH: why PATH looks like a build output, or nothing.
kind() {
  case "$1" in
    *.test) echo "a test binary"; return ;;
    *.prof) echo "a profile"; return ;;
    bin/* | */bin/*) echo "under bin/"; return ;;
  esac
  [ -f "$1" ] && [ ! -L "$1" ] || return 0
  local magic
  magic=$(od -An -tx1 -N4 -- "$1" | tr -d ' \n')
  case "$magic" in
    7f454c46) echo "an ELF executable" ;;
    feedface | feedfacf | cefaedfe | cffaedfe | cafebabe | bebafeca) echo "a Mach-O executable" ;;
    4d5a*) echo "a PE (Windows) executable" ;;
  esac
}

bad=0
while IFS= read -r -d '' path; do
  why=$(kind "$path") hint="remove it"
  if [ -z "$why" ] && [ -f "$path" ] && ! large_allowed "$path"; then
    size=$(stat -c %s -- "$path")
    [ "$size" -gt "$limit" ] && why="$size bytes, over 5 MB" hint="remove it, or list it in scripts/large-files.allow"
  fi
  if [ -n "$why" ]; then
    printf 'tracked file %s: %s (%s)\n' "$path" "$why" "$hint" >&2
    bad=1
  fi
done < <(git ls-files -z)
exit "$bad"
