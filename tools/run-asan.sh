#!/usr/bin/env bash
# AddressSanitizer run of the tests that exercise Strata's unsafe-pointer
# code: block and table decoding (raw loads from block memory), the log
# reader and writer, the memtable (arena, skiplist), write batches, version
# edits, and the corruption, repair and fuzz-finding tests that feed them
# damaged bytes. Its own build folder (.build-asan).
# Fails if ASan reports anything (leaks included; the XCTest harness's own
# allocations are suppressed in tools/lsan-suppressions.txt), or if the
# filter selects no test.
#
#   tools/run-asan.sh [FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-"^StrataTests\\..*(Table|Block|Filter|Log|MemTable|CRC|Hash|WriteBatch|VersionEdit|Corruption|FuzzRegression|Repair|Checksum|Footer)"}
STRATA_ENGINE_ONLY=1 swift build --build-tests --sanitize=address --build-path .build-asan
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
LSAN_OPTIONS="suppressions=$PWD/tools/lsan-suppressions.txt" \
  STRATA_ENGINE_ONLY=1 swift test --skip-build --sanitize=address --build-path .build-asan --filter "$filter" >"$out" 2>&1 || status=$?
grep -E "^(✔|✘) Test run" "$out" | tail -1 || true
if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer" "$out"; then
  echo "run-asan: FAIL — AddressSanitizer reports:"
  grep -v "^0x" "$out" | grep -A30 "ERROR: AddressSanitizer\|ERROR: LeakSanitizer" | head -80
  exit 1
fi
# A filter that selects no test would "pass" having run nothing.
count=$(grep -oE "Test run with [0-9]+ tests?" "$out" | tail -1 | grep -oE "[0-9]+" || true)
if [ -z "$count" ] || [ "$count" -eq 0 ]; then
  echo "run-asan: FAIL — the filter selects no test (filter: $filter)"; tail -5 "$out"; exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "run-asan: FAIL — tests failed (exit $status)"; tail -30 "$out"; exit "$status"
fi
echo "run-asan: PASS ($count tests; no AddressSanitizer reports; filter: $filter)"
