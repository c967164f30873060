#!/usr/bin/env bash
# PostgreSQL for irsa's tests and for trying `irsa up --store`.
#
#   scripts/postgres.sh deps            # install Debian's postgresql when missing; print its bin folder
#   scripts/postgres.sh start DIR [PORT] # a private server in DIR on 127.0.0.1:PORT (default 15432); prints the DSN
#   scripts/postgres.sh stop DIR        # stop the server of DIR
#
# The Go tests of internal/store/sqlstore start their own server with the
# binaries `deps` installs; `start` is for people. Servers run as the
# postgres user when this runs as root (PostgreSQL refuses root), trust
# local connections, listen on loopback only and keep their socket in DIR.
set -euo pipefail

bindir() {
  if [ -n "${IRSA_POSTGRES_BIN:-}" ]; then echo "$IRSA_POSTGRES_BIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  return 1
}

# as runs a command as the postgres user when we are root.
as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
deps)
  if ! bindir >/dev/null; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      echo "installing postgresql (Debian)" >&2
      apt-get update -qq >&2 && apt-get install -y -qq postgresql >/dev/null
    else
      echo "postgres.sh: PostgreSQL's server binaries are missing; install Debian's postgresql (or set IRSA_POSTGRES_BIN)" >&2
      exit 1
    fi
  fi
  bindir
  ;;
start)
  dir="${2:?usage: postgres.sh start DIR [PORT]}"
  port="${3:-15432}"
  bin="$(bindir)" || { echo "postgres.sh: run scripts/postgres.sh deps first" >&2; exit 1; }
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
  fi
  if ! as "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
  fi
  "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname = 'irsa'" | grep -q 1 ||
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres irsa
  echo "postgres://postgres@127.0.0.1:$port/irsa?sslmode=disable"
  ;;
stop)
  dir="${2:?usage: postgres.sh stop DIR}"
  bin="$(bindir)"
  as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  ;;
*)
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
