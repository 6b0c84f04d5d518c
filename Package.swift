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
        .library(name: "StrataStreams", targets: ["StrataStreams"]),
        .library(name: "StrataStreamsSQLite", targets: ["StrataStreamsSQLite"]),
        .library(name: "StrataStreamsRedis", targets: ["StrataStreamsRedis"]),
        .library(name: "StrataNATS", targets: ["StrataNATS"]),
        .library(name: "StrataStreamsNATS", targets: ["StrataStreamsNATS"]),
        .library(name: "StrataServe", targets: ["StrataServe"]),
        .library(name: "StrataStreamsPostgres", targets: ["StrataStreamsPostgres"]),
        .executable(name: "sst-dump", targets: ["sst-dump"]),
        .executable(name: "strata", targets: ["strata"]),
        .executable(name: "strata-stress", targets: ["strata-stress"]),
        .executable(name: "strata-demo", targets: ["strata-demo"]),
        .executable(name: "table-bench", targets: ["table-bench"]),
        .executable(name: "strata-bench", targets: ["strata-bench"]),
        .executable(name: "checkpoint-bench", targets: ["checkpoint-bench"]),
        .executable(name: "stream-bench", targets: ["stream-bench"]),
    ],
    // Package traits (SE-0450) gate the integrations whose dependencies are
    // heavy, so an application that uses only the engine and the stream
    // runtime resolves none of them: it declares the package with
    // `traits: []` (docs/getting-started.md). All are on by default, so
    // this repository's own `swift build` and `swift test` build everything.
    traits: [
        .trait(name: "NATS", description: "StrataNATS and StrataStreamsNATS: the NATS JetStream client, source and sink (SwiftNIO)."),
        .trait(name: "Serve", description: "StrataServe: a job's /metrics endpoint and live dashboard (Hummingbird, swift-prometheus, swift-log)."),
        .trait(name: "Postgres", description: "StrataStreamsPostgres: the exactly-once PostgreSQL sink (postgres-nio)."),
        .default(enabledTraits: ["NATS", "Serve", "Postgres"]),
    ],
    dependencies: [
        // The engine publishes its counters and gauges through swift-metrics
        // (MetricsReporter), so any backend (Prometheus, a log) can show them.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // The tools' command lines (flags, --help, usage errors).
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The NATS JetStream client (StrataNATS) runs over SwiftNIO's event loops and sockets.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // A job's /metrics endpoint and live dashboard (StrataServe only):
        // swift-prometheus as the swift-metrics backend, Hummingbird as the
        // HTTP server (default traits off: no swift-configuration), swift-log
        // to keep the server's start-up line off the job's stdout.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.14.0"),
        // The pipeline's PostgreSQL sink (StrataStreamsPostgres only).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CSnappy", path: "Sources/CSnappy", pkgConfig: "snappy",
            providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(
            name: "CXXHash", path: "Sources/CXXHash", pkgConfig: "libxxhash",
            providers: [.apt(["libxxhash-dev"])]),
        // A header-only prefetch hint (Swift has no prefetch intrinsic).
        .systemLibrary(name: "CPrefetch", path: "Sources/CPrefetch"),
        // CRC-32C with the CPU's CRC32 instruction (Swift cannot emit it).
        .target(name: "CCRC32C", path: "Sources/CCRC32C"),
        .target(
            name: "Strata",
            dependencies: ["CSnappy", "CXXHash", "CPrefetch", "CCRC32C", .product(name: "Metrics", package: "swift-metrics")],
            path: "Sources/Strata"),
        // Stream operators over the engine's public API: keyed state, timers, windows.
        .target(
            name: "StrataStreams", dependencies: ["Strata", .product(name: "Metrics", package: "swift-metrics")],
            path: "Sources/StrataStreams"),
        // The transactional SQLite sink of the pipeline runtime, over the
        // system libsqlite3's C API (no package: engine users resolve nothing for it).
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "StrataStreamsSQLite", dependencies: ["StrataStreams", "Strata", "CSQLite"],
            path: "Sources/StrataStreamsSQLite"),
        // The pipeline's Redis cache sink (hiredis, through pkg-config) and its kill-test job.
        // No pkgConfig: Debian's hiredis.pc adds a flag SwiftPM refuses with
        // a warning on every build; the shim includes <hiredis/hiredis.h>.
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis"),
        .target(
            name: "StrataStreamsRedis", dependencies: ["StrataStreams", "Strata", "CHiredis"],
            path: "Sources/StrataStreamsRedis"),
        .executableTarget(
            name: "redis-sink-job", dependencies: ["StrataStreamsRedis", "StreamsTestSupport", "StrataStreams", "Strata"],
            path: "tools/redis-sink-job"),
        // A small NATS / JetStream client over SwiftNIO (core protocol, streams, pull consumers).
        .target(
            name: "StrataNATS",
            dependencies: [.product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["NATS"])),
                           .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["NATS"]))],
            path: "Sources/StrataNATS"),
        // The pipeline's NATS JetStream source and exactly-once sink.
        .target(
            name: "StrataStreamsNATS", dependencies: ["StrataStreams", "StrataNATS"],
            path: "Sources/StrataStreamsNATS"),
        // A job's metrics endpoint (/metrics, Prometheus text) and live dashboard (/), docs/operations.md.
        .target(
            name: "StrataServe",
            dependencies: ["Strata", "StrataStreams", .product(name: "Metrics", package: "swift-metrics"),
                           .product(name: "Prometheus", package: "swift-prometheus", condition: .when(traits: ["Serve"])),
                           .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Serve"])),
                           .product(name: "Logging", package: "swift-log", condition: .when(traits: ["Serve"]))],
            path: "Sources/StrataServe"),
        // The pipeline's exactly-once PostgreSQL sink (postgres-nio), docs/postgres-sink.md.
        .target(
            name: "StrataStreamsPostgres",
            dependencies: ["StrataStreams", "Strata",
                           .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Postgres"])),
                           .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Postgres"])),
                           .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["Postgres"])),
                           .product(name: "Logging", package: "swift-log", condition: .when(traits: ["Postgres"]))],
            path: "Sources/StrataStreamsPostgres"),
        .target(name: "ToolSupport", dependencies: ["Strata"], path: "tools/ToolSupport"),
        // Every tool's command line as swift-argument-parser types (parsed
        // here, run by the tool), so tests can parse command lines.
        .target(
            name: "ToolCommands",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/ToolCommands"),
        .executableTarget(
            name: "sst-dump", dependencies: ["Strata", "ToolSupport", "ToolCommands"], path: "tools/sst-dump"),
        .executableTarget(
            name: "strata", dependencies: ["Strata", "ToolSupport", "ToolCommands"], path: "tools/strata"),
        // The demo job: a clickstream pipeline with exactly-once JSON-lines and SQLite output.
        .executableTarget(
            name: "strata-demo",
            dependencies: ["Strata", "StrataStreams", "StrataStreamsSQLite", "ToolSupport", "ToolCommands", "StrataServe"],
            path: "tools/strata-demo"),
        // Stress test with an expected-state oracle and the SIGKILL crash test.
        .executableTarget(
            name: "strata-stress", dependencies: ["Strata", "ToolSupport", "ToolCommands"], path: "tools/strata-stress"),
        .executableTarget(
            name: "table-bench", dependencies: ["Strata", "ToolSupport", "ToolCommands"], path: "Benchmarks/table-bench"),
        .executableTarget(
            name: "strata-bench",
            dependencies: ["Strata", "ToolSupport", "ToolCommands"],
            path: "Benchmarks/strata-bench"),
        .executableTarget(
            name: "checkpoint-bench", dependencies: ["Strata", "ToolSupport", "ToolCommands"], path: "Benchmarks/checkpoint-bench"),
        // The Nexmark model, deterministic generator and queries (q0-q2, q5, q7, q8, q11, q18) as pipeline logic.
        .target(
            name: "NexmarkSupport",
            dependencies: ["StrataStreams", "Strata", "ToolSupport"],
            path: "Benchmarks/Nexmark"),
        // Window, tumbling/sliding/session, event-time and state benchmarks, and the Nexmark queries.
        .executableTarget(
            name: "stream-bench",
            dependencies: ["StrataStreams", "Strata", "NexmarkSupport", "ToolSupport", "ToolCommands"],
            path: "Benchmarks/stream-bench"),
        // Fuzzing (tools/run-fuzz.sh): the decoders' fuzz bodies and seed
        // corpus, and one libFuzzer executable per decoder. A plain build
        // makes them replay tools (FILE|DIR ...); built with
        // -sanitize=fuzzer -DSTRATA_FUZZ they are libFuzzer binaries.
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .target(name: "FuzzTargets", dependencies: ["Strata", "CLibFuzzer"], path: "Fuzz/FuzzTargets"),
    ] + ["block", "table", "filter", "log", "writebatch", "versionedit", "manifest", "dbtable"].map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzTargets"], path: "Fuzz/fuzz-\(name)")
    } + [
        // Test-only file systems (fault injection), kept out of the shipped library.
        .target(name: "StrataTestSupport", dependencies: ["Strata"], path: "Tests/StrataTestSupport"),
        // The visit job (Visit, VisitLogic) and the server-process runner that the Redis and
        // PostgreSQL sink tests and redis-sink-job share; light (no SwiftNIO, no postgres-nio).
        .target(name: "StreamsTestSupport", dependencies: ["StrataStreams", "Strata"], path: "Tests/StreamsTestSupport"),
        .testTarget(
            name: "StrataTests",
            dependencies: ["Strata", "ToolSupport", "ToolCommands", "StrataTestSupport",
                           .product(name: "MetricsTestKit", package: "swift-metrics"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tests/StrataTests"),
        .testTarget(
            name: "StrataStreamsTests",
            dependencies: ["StrataStreams", "StrataStreamsSQLite", "Strata", "NexmarkSupport",
                           .product(name: "MetricsTestKit", package: "swift-metrics")],
            path: "Tests/StrataStreamsTests"),
        .testTarget(
            name: "StrataStreamsRedisTests", dependencies: ["StrataStreamsRedis", "StrataTestSupport", "StreamsTestSupport", "StrataStreams", "Strata"],
            path: "Tests/StrataStreamsRedisTests"),
        .testTarget(
            name: "StrataNATSTests", dependencies: ["StrataNATS", "StrataTestSupport", "StrataStreamsNATS", "StrataStreams", "Strata"],
            path: "Tests/StrataNATSTests"),
        .testTarget(
            name: "StrataServeTests",
            dependencies: ["StrataServe", "StrataStreams", "Strata", .product(name: "Metrics", package: "swift-metrics"),
                           .product(name: "Prometheus", package: "swift-prometheus", condition: .when(traits: ["Serve"]))],
            path: "Tests/StrataServeTests"),
        .testTarget(
            name: "StrataStreamsPostgresTests", dependencies: ["StrataStreamsPostgres", "StrataTestSupport", "StreamsTestSupport", "StrataStreams", "Strata"],
            path: "Tests/StrataStreamsPostgresTests"),
        .testTarget(name: "InteropTests", dependencies: ["Strata"], path: "Tests/InteropTests"),
    ],
    swiftLanguageModes: [.v6]
)

// Sanitizer builds (tools/run-tsan.sh, tools/run-asan.sh) set
// STRATA_ENGINE_ONLY=1: the integrations over SwiftNIO, Hummingbird and
// hiredis, their tests and the demo (which serves the dashboard) are left
// out, so ThreadSanitizer and AddressSanitizer builds compile the engine,
// StrataStreams, the tools and their tests only.
let integrationTargets: Set<String> = [
    "StrataNATS", "StrataStreamsNATS", "StrataNATSTests",
    "CHiredis", "StrataStreamsRedis", "StrataStreamsRedisTests", "redis-sink-job",
    "StrataServe", "StrataServeTests", "strata-demo",
    "StrataStreamsPostgres", "StrataStreamsPostgresTests",
]
if Context.environment["STRATA_ENGINE_ONLY"] == "1" {
    package.targets.removeAll { integrationTargets.contains($0.name) }
    package.products.removeAll { integrationTargets.contains($0.name) }
}
