#!/usr/bin/env bash
# Checks that strata-bench does db_bench's work: the same flags must touch the
# same keys in the same order, so every "(N of M found)" and message line of a
# small single-threaded run must equal RocksDB 7.8.3 db_bench's (Debian's
# rocksdb-tools).
#
# Usage: tools/bench-check.sh [STRATA_BENCH]   (default: .build/debug/strata-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${1:-.build/debug/strata-bench}
[ -x "$bench" ] || swift build --product strata-bench >/dev/null
command -v db_bench >/dev/null || { echo "bench-check: db_bench not installed (tools/install-deps.sh)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
list=fillrandom,readrandom,seekrandom,overwrite,readrandom,deleterandom,readrandom,readmissing
list+=,mergerandom,readrandom,fillseq,readrandom,seekrandom,fillsync,readrandom
flags=(--benchmarks=$list --merge_operator=stringappend --num=5000 --reads=3000 --seed=11
       --key_size=16 --value_size=100 --threads=1 --compression_type=snappy)
# "name : ... (message)" → "name (message)", one line per benchmark.
summary() { grep -E '^[a-z]+ +:.*ops/sec' "$1" | sed -E 's/^([a-z]+) +:.*operations;[^(]*(\(.*\))?.*$/\1 \2/; s/ +$//'; }
db_bench "${flags[@]}" --db="$dir/rocksdb" >"$dir/rocksdb.log" 2>&1
"$bench" "${flags[@]}" --db="$dir/strata" >"$dir/strata.log" 2>&1
summary "$dir/rocksdb.log" >"$dir/rocksdb.sum"
summary "$dir/strata.log" >"$dir/strata.sum"
if ! diff "$dir/rocksdb.sum" "$dir/strata.sum" >"$dir/diff"; then
  echo "bench-check: FAIL — strata-bench's results differ from db_bench's for the same flags (< db_bench, > strata-bench):" >&2
  cat "$dir/diff" >&2
  exit 1
fi
echo "bench-check: PASS — $(wc -l <"$dir/strata.sum") benchmarks, found counts and messages equal to db_bench's"
