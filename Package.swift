// swift-tools-version: 6.2
//
// Strata: an embedded LSM-tree storage engine whose files are RocksDB 7.8.3
// files. System C libraries (libsnappy, libxxhash) come in through pkg-config
// system-library targets; everything else is Swift.
import PackageDescription

let package = Package(
    name: "Strata",
    products: [
        .library(name: "Strata", targets: ["Strata"]),
        .executable(name: "sst-dump", targets: ["sst-dump"]),
        .executable(name: "strata", targets: ["strata"]),
        .executable(name: "strata-stress", targets: ["strata-stress"]),
        .executable(name: "table-bench", targets: ["table-bench"]),
        .executable(name: "strata-bench", targets: ["strata-bench"]),
        .executable(name: "checkpoint-bench", targets: ["checkpoint-bench"]),
    ],
    dependencies: [
        // Latency percentiles in strata-bench (HDR histogram).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // The engine publishes its counters and gauges through swift-metrics
        // (MetricsReporter), so any backend (Prometheus, a log) can show them.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSnappy", path: "Sources/CSnappy", pkgConfig: "snappy",
            providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(
            name: "CXXHash", path: "Sources/CXXHash", pkgConfig: "libxxhash",
            providers: [.apt(["libxxhash-dev"])]),
        .target(
            name: "Strata",
            dependencies: ["CSnappy", "CXXHash", .product(name: "Metrics", package: "swift-metrics")],
            path: "Sources/Strata"),
        .target(name: "ToolSupport", dependencies: ["Strata"], path: "tools/ToolSupport"),
        .executableTarget(
            name: "sst-dump", dependencies: ["Strata", "ToolSupport"], path: "tools/sst-dump"),
        .executableTarget(
            name: "strata", dependencies: ["Strata", "ToolSupport"], path: "tools/strata"),
        // Stress test with an expected-state oracle and the SIGKILL crash test.
        .executableTarget(
            name: "strata-stress", dependencies: ["Strata", "ToolSupport"], path: "tools/strata-stress"),
        .executableTarget(
            name: "table-bench", dependencies: ["Strata"], path: "Benchmarks/table-bench"),
        .executableTarget(
            name: "strata-bench",
            dependencies: ["Strata", "ToolSupport", .product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "Benchmarks/strata-bench"),
        .executableTarget(
            name: "checkpoint-bench", dependencies: ["Strata"], path: "Benchmarks/checkpoint-bench"),
        .testTarget(
            name: "StrataTests",
            dependencies: ["Strata", .product(name: "MetricsTestKit", package: "swift-metrics")],
            path: "Tests/StrataTests"),
        .testTarget(name: "InteropTests", dependencies: ["Strata"], path: "Tests/InteropTests"),
    ],
    swiftLanguageModes: [.v6]
)
