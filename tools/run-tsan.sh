#!/usr/bin/env bash
# ThreadSanitizer run of the concurrency-heavy tests: writer and reader
# threads, background flush and compaction (several compaction jobs, universal),
# crash recovery, lock-free memtable readers, the stream pipeline (source and
# partition threads, compaction merging state operands).
# Builds with -DSTRATA_TSAN so locks are pthread mutexes TSan can see (the
# Synchronization library is not TSan-instrumented; see Sources/Strata/Util/Locked.swift).
# Fails if TSan reports anything, or if the filter selects no test.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every lock in the engine and the stream runtime must be `Locked` (a pthread
# mutex under -DSTRATA_TSAN); a bare Synchronization.Mutex is invisible to TSan
# and yields false race reports only when the lock is contended (flaky).
bare=$(grep -rnE "\bMutex(<|\()" Sources/Strata Sources/StrataStreams --include=*.swift | grep -v "Sources/Strata/Util/Locked.swift" || true)
if [ -n "$bare" ]; then
  echo "run-tsan: FAIL — use Locked, not Mutex, in engine code:"; echo "$bare"; exit 1
fi
filter=${1:-"Concurrency|CrashRecovery|MemTable|concurrentUniversalCompactions|severalJobs|PipelineTests"}
STRATA_ENGINE_ONLY=1 swift build --build-tests --sanitize=thread --build-path .build-tsan -Xswiftc -DSTRATA_TSAN
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
STRATA_ENGINE_ONLY=1 swift test --skip-build --sanitize=thread --build-path .build-tsan -Xswiftc -DSTRATA_TSAN --filter "$filter" >"$out" 2>&1 || status=$?
grep -E "^(✔|✘|Test run)" "$out" | tail -3 || true
if grep -q "WARNING: ThreadSanitizer" "$out"; then
  echo "run-tsan: FAIL — ThreadSanitizer reports:"
  grep -A12 "WARNING: ThreadSanitizer" "$out" | head -80
  exit 1
fi
# A filter that selects no test would "pass" having run nothing.
count=$(grep -oE "Test run with [0-9]+ tests?" "$out" | tail -1 | grep -oE "[0-9]+" || true)
if [ -z "$count" ] || [ "$count" -eq 0 ]; then
  echo "run-tsan: FAIL — the filter selects no test (filter: $filter)"; tail -5 "$out"; exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "run-tsan: FAIL — tests failed (exit $status)"; tail -30 "$out"; exit "$status"
fi
echo "run-tsan: PASS ($count tests; no ThreadSanitizer reports; filter: $filter)"
