#!/usr/bin/env bash
# Runs every test: unit, format, model, crash, corruption, concurrency and
# RocksDB interop tests (Swift Testing), then the concurrency tests under
# ThreadSanitizer, after installing what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
swift build --build-tests
swift test --skip-build
# The concurrency tests again under ThreadSanitizer (its own build folder).
tools/run-tsan.sh
