#!/usr/bin/env bash
# Runs every test: unit, format, property, corruption and RocksDB interop tests
# (Swift Testing), after installing what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
swift build --build-tests
swift test --skip-build
