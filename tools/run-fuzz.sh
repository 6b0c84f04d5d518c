#!/usr/bin/env bash
# Fuzzes one decoder with libFuzzer (testing.md layer 7; Fuzz/FuzzTargets).
#
#   tools/run-fuzz.sh TARGET SECONDS [libFuzzer flags...]
#   tools/run-fuzz.sh all SECONDS          each target in turn, SECONDS each
#
# TARGET: block, table, filter, log, writebatch, versionedit, manifest,
# dbtable (a whole database around a table damaged behind valid checksums).
# Builds the fuzz executables (release, -sanitize=fuzzer,address, so an
# out-of-bounds read in the unsafe-pointer decoders is a finding too) in
# .build-fuzz, writes the seed corpus from the RocksDB 7.8.3 vectors into
# .build-fuzz/corpus/TARGET (kept between runs, so coverage accumulates),
# and runs libFuzzer for SECONDS. Findings land in .build-fuzz/findings/.
# Prints one line per target: "fuzz TARGET: N execs in S s, corpus C,
# new findings F"; exits non-zero on a finding.
#
# Replaying a finding without libFuzzer (debug build):
#   swift build --product fuzz-TARGET && .build/debug/fuzz-TARGET FILE
#
# Notes on the build: -sanitize=fuzzer and address must be one flag (with
# two, swiftc drops the coverage instrumentation); gold cannot link
# libFuzzer here, so the toolset file selects lld; dead stripping would drop
# the coverage sections.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: tools/run-fuzz.sh TARGET|all SECONDS [libFuzzer flags]}
seconds=${2:?usage: tools/run-fuzz.sh TARGET|all SECONDS [libFuzzer flags]}
shift 2
all_targets="block table filter log writebatch versionedit manifest dbtable"
if [ "$target" = all ]; then targets=$all_targets; else targets=$target; fi

vectors=../shared/vectors/rocksdb-7.8.3
[ -d "$vectors" ] || vectors=/work/shared/vectors/rocksdb-7.8.3

# Largest input libFuzzer makes, per target: whole tables and logs need room
# (a 32 KiB log block plus a record), a block or a record much less.
max_len() {
  case "$1" in
    table) echo 65536 ;;
    log) echo 40000 ;;
    *) echo 8192 ;;
  esac
}

status=0
for t in $targets; do
  mkdir -p .build-fuzz
  if ! swift build -c release --build-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DSTRATA_FUZZ \
    --toolset Fuzz/lld-toolset.json --disable-dead-strip --product "fuzz-$t" >.build-fuzz/build.log 2>&1; then
    echo "fuzz $t: BUILD FAILED"; grep -E "error" .build-fuzz/build.log | head -20; exit 1
  fi
  bin=.build-fuzz/release/fuzz-$t
  corpus=.build-fuzz/corpus/$t
  findings=.build-fuzz/findings/$t
  mkdir -p "$corpus" "$findings"
  if [ -z "$(ls -A "$corpus")" ]; then
    # The seed writer is the plain-build replay mode of the same target.
    swift build --product "fuzz-$t" >/dev/null
    ".build/debug/fuzz-$t" --make-corpus="$corpus" --vectors="$vectors" >/dev/null
  fi
  log=.build-fuzz/fuzz-$t.log
  before=$(ls "$findings" | wc -l)
  rc=0
  # Swift's backtracer would run inside ASan after a trap and add noise.
  SWIFT_BACKTRACE=enable=no "$bin" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$@" "$corpus" >"$log" 2>&1 || rc=$?
  execs=$(grep -E "^stat::number_of_executed_units" "$log" | awk '{print $2}')
  size=$(ls "$corpus" | wc -l)
  found=$(( $(ls "$findings" | wc -l) - before ))
  echo "fuzz $t: ${execs:-?} execs in ${seconds} s, corpus $size, new findings $found"
  if [ "$rc" -ne 0 ]; then
    echo "fuzz $t: FINDING (exit $rc) — see $log and $findings/"
    grep -v "^0x" "$log" | grep -E -m 20 "ERROR|Fatal|fuzz property|Crash|SUMMARY|artifact" || true
    status=1
  fi
done
exit "$status"
