#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL cluster for tests and scripts (the
# PostgreSQL sink's tests, demos): Debian's PostgreSQL 15 binaries, the
# cluster in DIR/data, listening on 127.0.0.1:PORT only (its Unix socket in
# DIR), log in DIR/postgres.log.
#
#   tools/postgres-server.sh start DIR PORT  # initdb on first use; returns once it accepts connections
#   tools/postgres-server.sh stop DIR PORT   # clean shutdown (pg_ctl -m fast), waits for the exit
#   tools/postgres-server.sh kill DIR PORT   # crash (pg_ctl -m immediate: recovery from WAL on the next start)
#
# Log in as user `postgres` with password $STRATA_PG_PASSWORD (default
# `strata`) to database `postgres`: TCP connections use scram-sha-256, so
# a wrong password is refused. initdb refuses to run as root, so as root the
# cluster belongs to the `postgres` user (DIR is chowned to it) and the
# binaries run through runuser. PostgreSQL comes from Debian's postgresql
# package (tools/install-deps.sh).
set -euo pipefail
usage() { echo "usage: $0 start|stop|kill DIR PORT" >&2; exit 2; }
[ $# -eq 3 ] || usage
action=$1 dir=$2 port=$3
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || { echo "$0: PORT must be 1-65535, not $port" >&2; exit 2; }
bin=${STRATA_PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] || {
  echo "$0: PostgreSQL binaries not found in $bin (initdb, pg_ctl): run tools/install-deps.sh" >&2; exit 1; }
password=${STRATA_PG_PASSWORD:-strata}

# Runs a PostgreSQL binary as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"

case "$action" in
  start)
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || { echo "$0: running as root needs the postgres user (Debian's postgresql package)" >&2; exit 1; }
      chown postgres: "$dir"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      pwfile=$(mktemp)
      printf '%s\n' "$password" >"$pwfile"
      chmod 644 "$pwfile"
      # --no-sync: a throwaway cluster; the server itself still fsyncs its WAL.
      if ! as_owner "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" --auth-host=scram-sha-256 \
           --auth-local=trust --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1; then
        rm -f "$pwfile"
        echo "$0: initdb failed; its output:" >&2
        tail -20 "$dir/initdb.log" >&2
        exit 1
      fi
      rm -f "$pwfile"
    fi
    if as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      echo "$0: already running in $data" >&2; exit 1
    fi
    # -w: pg_ctl returns once the server accepts connections (60 s at most).
    if ! as_owner "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
         -o "-p $port -c listen_addresses=127.0.0.1 -k $dir" start >/dev/null; then
      echo "$0: PostgreSQL on port $port did not start; its log:" >&2
      tail -20 "$dir/postgres.log" >&2 || true
      exit 1
    fi
    ;;
  stop|kill)
    [ -f "$data/postmaster.pid" ] || exit 0
    as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1 || exit 0
    if [ "$action" = stop ]; then mode=fast; else mode=immediate; fi
    as_owner "$bin/pg_ctl" -D "$data" -m "$mode" -w -t 60 stop >/dev/null
    ;;
  *) usage ;;
esac
