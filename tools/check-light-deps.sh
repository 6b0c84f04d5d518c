#!/usr/bin/env bash
# Issue 20, item 4: an application that depends only on the engine (and the
# stream runtime) resolves only the engine's light dependencies. Makes a
# throwaway package that depends on this checkout with `traits: []` and on
# the Strata and StrataStreams products, resolves it, and fails if SwiftPM
# fetched anything but swift-metrics and swift-argument-parser (the
# integrations' SwiftNIO, Hummingbird, postgres-nio and their trees must be
# pruned; GRDB and hdrhistogram are no longer dependencies at all).
# Prints "light-deps: PASS (N packages: ...)" or what was resolved (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/strata-client/Sources/client"
cat > "$work/strata-client/Package.swift" <<MANIFEST
// swift-tools-version: 6.2
import PackageDescription
let package = Package(
    name: "strata-client",
    dependencies: [.package(path: "$repo", traits: [])],
    targets: [.executableTarget(name: "client", dependencies: [
        .product(name: "Strata", package: "$(basename "$repo")"),
        .product(name: "StrataStreams", package: "$(basename "$repo")"),
    ])]
)
MANIFEST
echo 'import Strata' > "$work/strata-client/Sources/client/main.swift"
(cd "$work/strata-client" && swift package resolve >"$work/resolve.log" 2>&1) || {
  echo "light-deps: FAIL — resolution failed:"; tail -20 "$work/resolve.log"; exit 1; }
resolved=$(ls "$work/strata-client/.build/checkouts" | sort | tr '\n' ' ')
allowed="swift-argument-parser swift-metrics "
if [ "$resolved" != "$allowed" ]; then
  echo "light-deps: FAIL — an engine-only package resolved: $resolved(expected: $allowed)"; exit 1
fi
echo "light-deps: PASS (2 packages: ${resolved% })"
