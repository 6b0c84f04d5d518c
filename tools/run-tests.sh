#!/usr/bin/env bash
# Runs every test: unit, format, model, crash, corruption, concurrency and
# RocksDB interop tests (Swift Testing), the SIGKILL crash test (smoke run),
# then the concurrency tests under ThreadSanitizer, after installing what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
swift build --build-tests
swift test --skip-build
# Process-level crash test: SIGKILL at seeded random moments, bounded smoke run.
tools/strata-crash-test --cycles=20 --seed=1 --max_seconds=50
# Exactly-once test of record, smoke run: the demo pipeline killed 3 times
# must commit exactly what a failure-free run commits.
tools/exactly-once-check.sh --kills=3 --events=60000 --seed=1 --debug
# The concurrency tests again under ThreadSanitizer (its own build folder).
tools/run-tsan.sh
