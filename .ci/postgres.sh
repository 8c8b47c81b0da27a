#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store's tests (crates/goodhart-store, GOODHART_TEST_PG_URL).
#
#   .ci/postgres.sh start   initdb's a cluster in a temporary directory, starts it on 127.0.0.1 at a free
#                           port, creates the database `goodhart_test` and prints its URL
#   .ci/postgres.sh stop    stops the server started by `start` and deletes its directory
#
# The server also accepts TLS (ssl=on) with a certificate for 127.0.0.1 and localhost signed by a CA made
# for this run; the CA's PEM file is $STATE/tls/ca.pem (`start` names it on stderr), for the store's
# sslmode=verify-full tests (GOODHART_TEST_PG_CA). Plain connections are still accepted.
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
  # A throwaway CA and a server certificate naming 127.0.0.1 and localhost, so clients can test every
  # sslmode including verify-full.
  tls="$state/tls"
  mkdir -p "$tls"
  (
    cd "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=goodhart test CA" \
      -keyout ca.key -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >ext.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile ext.cnf -out server.crt
  ) >"$state/tls.log" 2>&1 || {
    echo "making the test certificates failed (is openssl installed?); log: $state/tls.log" >&2
    tail -n 20 "$state/tls.log" >&2
    exit 2
  }
  chmod 600 "$tls/server.key"
  [ "$(id -u)" -eq 0 ] && chown -R postgres "$tls"
  chmod 644 "$tls/ca.pem"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Unix sockets go in the state directory (the default /var/run/postgresql may not exist or be ours).
  as_owner "$bin/pg_ctl" -D "$data" -l "$state/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $state -c max_connections=200 -c fsync=on -c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key" start >/dev/null || {
    echo "the PostgreSQL server did not start; its log ($state/server.log):" >&2
    tail -n 20 "$state/server.log" >&2
    exit 2
  }
  echo "$port" >"$state/port"
  head -n 1 "$data/postmaster.pid" >"$state/pid"
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c 'CREATE DATABASE goodhart_test' >/dev/null
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data and log in $state; TLS CA $tls/ca.pem)" >&2
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
