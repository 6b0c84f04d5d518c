// strata-bench: db_bench's flags and result lines over Strata, with an
// amplification report after every benchmark (see BenchFlags.usage and
// ../shared/design/benchmarks.md). Release build:
//
//   swift build -c release --product strata-bench
//   .build/release/strata-bench --benchmarks=fillrandom,readrandom,stats --num=1000000 --bloom_bits=10
import Foundation
import Strata
import ToolSupport

let flags: BenchFlags
do {
    flags = try BenchFlags(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    printError("\(error)")
    exit(1)
}
if CommandLine.arguments.contains("--help") {
    print(BenchFlags.usage)
    exit(0)
}
let seed = flags.seed != 0 ? flags.seed : UInt64(nanoseconds() % 1_000_000_007)
let compressedValue = Int(Double(flags.valueSize) * flags.compressionRatio + 0.5)
print("Strata:     strata-bench (db_bench flags), release build")
print("Machine:    \(machineDescription())")
print("Keys:       \(flags.keySize) bytes each")
print("Values:     \(flags.valueSize) bytes each (\(compressedValue) bytes after compression)")
print("Entries:    \(flags.num)")
print("RawSize:    \(String(format: "%.1f", Double(flags.num * (flags.keySize + flags.valueSize)) / 1_048_576)) MB (estimated)")
print("Compression: \(flags.compression == .snappy ? "Snappy" : "NoCompression")")
print("Bloom bits: \(flags.bloomBits < 0 ? "none" : String(format: "%g", flags.bloomBits))")
print("Seed:       \(seed)")
print(String(repeating: "-", count: 48))

do {
    let workloads = try Workloads(flags: flags, seed: seed)
    for name in flags.benchmarks {
        if name == "stats" {
            if let db = workloads.db { print(db.property("strata.stats") ?? "", terminator: "") }
            continue
        }
        guard var result = try workloads.run(name) else {
            printError("unknown benchmark '\(name)'")
            exit(1)
        }
        guard let db = workloads.db else { continue }
        print(resultLine(result))
        // Amplification is measured once the background work the benchmark
        // caused has finished (its flushes and compactions count).
        try db.waitForBackgroundWork()
        let now = db.statistics()
        let delta = result.baseline.map { now.since($0) } ?? now
        let liveBytes = workloads.live.map { UInt64($0.count * (flags.keySize + flags.valueSize)) }
        for line in amplificationReport(result: result, delta: delta, now: now, flags: flags,
                                        liveBytes: liveBytes, diskBytes: directoryBytes(flags.db)) {
            print("  " + line)
        }
        result.latency.reset()
    }
    try workloads.close()
} catch {
    print("Failed: \(error)")
    exit(1)
}
