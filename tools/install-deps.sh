#!/usr/bin/env bash
# Installs what Strata needs on a Debian machine, if it is missing:
#   libsnappy-dev, libxxhash-dev (linked by the engine, found through pkg-config),
#   rocksdb-tools (RocksDB 7.8.3's sst_dump, ldb, db_bench: the interop tests' outside judge),
#   libsqlite3-dev (the pipeline's SQLite sink), nats-server (JetStream broker for the
#   StrataNATS tests, tools/nats-server.sh), pkg-config. Swift itself must already be installed (it is on our machines).
# Needs root (or sudo) only when something is missing.
set -euo pipefail
need=()
for pkg in libsnappy-dev libxxhash-dev rocksdb-tools libsqlite3-dev nats-server pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# The Redis sink: libhiredis-dev (its client library, through pkg-config) and
# redis-server (its tests and tools/redis-sink-check.sh start their own
# servers on loopback ports; the Debian service itself is not used).
for pkg in libhiredis-dev redis-server; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# tools/dashboard-check.sh: Debian's chromium loads the live dashboard
# headless (a real browser); curl reads /metrics and /api/series.
for pkg in chromium curl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# The PostgreSQL sink: postgresql (Debian's PostgreSQL 15 server binaries
# in /usr/lib/postgresql/15/bin; its tests start throwaway clusters on
# loopback ports with tools/postgres-server.sh, not the Debian service).
dpkg -s postgresql >/dev/null 2>&1 || need+=(postgresql)
if ((${#need[@]})); then
  echo "installing: ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH (expected /opt/swift/usr/bin)" >&2; exit 1; }
