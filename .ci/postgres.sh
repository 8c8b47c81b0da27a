#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store's tests (crates/goodhart-store, GOODHART_TEST_PG_URL).
#
#   .ci/postgres.sh start   initdb's a cluster in a temporary directory, starts it on 127.0.0.1 at a free
#                           port, creates the database `goodhart_test` and prints its URL
#   .ci/postgres.sh stop    stops the server started by `start` and deletes its directory
#
# Uses Debian's `postgresql` package (the newest /usr/lib/postgresql/*/bin, or $PG_BIN). PostgreSQL
# refuses to run as root, so as root the cluster belongs to the `postgres` user (created when missing).
# The server only listens on 127.0.0.1 and trusts local connections: it holds test data only.
set -euo pipefail
state="${GOODHART_PG_STATE:-${TMPDIR:-/tmp}/goodhart-ci-postgres}"

pg_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "no PostgreSQL server found under /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2
    exit 2
  fi
  echo "$bin"
}

# Runs a command as the cluster's owner: this user, or `postgres` when this is root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "${1:-}" in
start)
  bin=$(pg_bin)
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
  fi
  if [ -f "$state/pid" ]; then
    if kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      echo "a server from an earlier start is still running from $state; run '$0 stop' first" >&2
      exit 2
    fi
    rm -rf "$state" # left by a run that was killed before it could stop its server
  fi
  mkdir -p "$state"
  data="$state/data"
  [ "$(id -u)" -eq 0 ] && chown postgres "$state"
  as_owner "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >"$state/initdb.log" 2>&1 || {
    echo "initdb failed; its log ($state/initdb.log):" >&2
    tail -n 20 "$state/initdb.log" >&2
    exit 2
  }
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Unix sockets go in the state directory (the default /var/run/postgresql may not exist or be ours).
  as_owner "$bin/pg_ctl" -D "$data" -l "$state/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $state -c max_connections=200 -c fsync=on" start >/dev/null || {
    echo "the PostgreSQL server did not start; its log ($state/server.log):" >&2
    tail -n 20 "$state/server.log" >&2
    exit 2
  }
  echo "$port" >"$state/port"
  head -n 1 "$data/postmaster.pid" >"$state/pid"
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c 'CREATE DATABASE goodhart_test' >/dev/null
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data and log in $state)" >&2
  echo "postgres://postgres@127.0.0.1:$port/goodhart_test"
  ;;
stop)
  if [ -f "$state/pid" ]; then
    bin=$(pg_bin)
    as_owner "$bin/pg_ctl" -D "$state/data" -m fast -w -t 30 stop >/dev/null 2>&1 || {
      pid=$(cat "$state/pid")
      kill -9 "$pid" 2>/dev/null || true
    }
  fi
  rm -rf "$state"
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
