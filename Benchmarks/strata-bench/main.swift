// strata-bench: db_bench's flags and result lines over Strata, with an
// amplification report after every benchmark (see `strata-bench --help` and
// ../shared/design/benchmarks.md). Release build:
//
//   swift build -c release --product strata-bench
//   .build/release/strata-bench --benchmarks=fillrandom,readrandom,stats --num=1000000 --bloom_bits=10
import Foundation
import Strata
import ToolCommands
import ToolSupport

// A usage error prints the error and the usage and exits 1 (docs/tools.md).
let command = ToolMain.parseOrExit(StrataBenchCommand.self, Array(CommandLine.arguments.dropFirst()), usageStatus: 1)
let flags: BenchFlags
do {
    guard let parsed = command as? StrataBenchCommand else { exit(1) }
    flags = try BenchFlags(command: parsed)
} catch {
    printError("\(error)")
    exit(1)
}
#if DEBUG
let buildKind = "debug build: figures are not representative"
#else
let buildKind = "release build"
#endif
let seed = flags.seed != 0 ? flags.seed : UInt64(nanoseconds() % 1_000_000_007)
let compressedValue = Int(Double(flags.valueSize) * flags.compressionRatio + 0.5)
print("Strata:     strata-bench (db_bench flags), \(buildKind)")
print("Defaults:   \(flags.defaults == "strata" ? "Strata's Options()" : "db_bench 7.8.3's"), \(flags.waitForBackground ? "waiting for background work after each benchmark" : "no wait between benchmarks (as db_bench)")")
print("Machine:    \(machineDescription())")
print("Keys:       \(flags.keySize) bytes each")
print("Values:     \(flags.valueSize) bytes each (\(compressedValue) bytes after compression)")
print("Entries:    \(flags.num)")
print("RawSize:    \(String(format: "%.1f", Double(flags.num * (flags.keySize + flags.valueSize)) / 1_048_576)) MB (estimated)")
print("Compression: \(flags.compression == .snappy ? "Snappy" : "NoCompression")")
print("Bloom bits: \(flags.bloomBits < 0 ? "none" : String(format: "%g", flags.bloomBits))")
print("Seed:       \(seed)")
print(String(repeating: "-", count: 48))
flushOutput()

do {
    let workloads = try Workloads(flags: flags, seed: seed)
    var report = BenchReport(command: CommandLine.arguments.joined(separator: " "), machine: machineDescription(), seed: seed)
    for name in flags.benchmarks {
        if name == "ampsweep" {
            try runAmpSweep(flags: flags, seed: seed)
            continue
        }
        if name == "stats" {
            if let db = workloads.db { print(db.property("strata.stats") ?? "", terminator: "") }
            flushOutput()
            continue
        }
        guard var result = try workloads.run(name) else {
            printError("unknown benchmark '\(name)'")
            exit(1)
        }
        guard let db = workloads.db else { continue }
        print(resultLine(result))
        flushOutput()
        if flags.histogram && result.latency.totalCount > 0 {
            // db_bench's --histogram=1 block (peer-bench.sh reads its P99).
            let h = result.latency
            let us = { (p: Double) in String(format: "%.2f", Double(h.valueAtPercentile(p)) / 1000) }
            print("Microseconds per \(name.hasPrefix("read") || name.hasPrefix("seek") ? "read" : "write"):")
            print("Count: \(h.totalCount) Average: \(String(format: "%.4f", h.mean / 1000))  StdDev: \(String(format: "%.2f", h.stdDeviation / 1000))")
            print("Min: \(String(format: "%.2f", Double(h.min) / 1000))  Median: \(us(50))  Max: \(String(format: "%.2f", Double(h.max) / 1000))")
            print("Percentiles: P50: \(us(50)) P75: \(us(75)) P99: \(us(99)) P99.9: \(us(99.9)) P99.99: \(us(99.99))")
            print(String(repeating: "-", count: 54))
        }
        // With --wait_for_background=1 amplification is measured once the
        // background work the benchmark caused has finished (its flushes
        // and compactions count); by default, as db_bench, the next
        // benchmark starts at once and the work still pending is reported.
        if flags.waitForBackground { try db.waitForBackgroundWork() }
        let now = db.statistics()
        let delta = result.baseline.map { now.since($0) } ?? now
        let liveBytes = workloads.live.map { UInt64($0.count * (flags.keySize + flags.valueSize)) }
        let sstBytes = UInt64(db.property("strata.total-sst-files-size") ?? "") ?? 0
        let liveDataEstimate = UInt64(db.property("strata.estimate-live-data-size") ?? "") ?? 0
        for line in amplificationReport(result: result, delta: delta, now: now, flags: flags,
                                        liveBytes: liveBytes, diskBytes: directoryBytes(flags.db),
                                        sstBytes: sstBytes, liveDataEstimate: liveDataEstimate) {
            print("  " + line)
        }
        if !flags.waitForBackground {
            let pending = UInt64(db.property("strata.estimate-pending-compaction-bytes") ?? "") ?? 0
            print("  Background: \(String(format: "%.3f", Double(pending) / 1e9)) GB of compaction pending at the end "
                + "(not waited for: paid by the next benchmark, as in db_bench)")
        }
        report.benchmarks.append(BenchReport.figures(result, delta: delta, now: now, sstBytes: sstBytes,
                                                     liveDataEstimate: liveDataEstimate))
        result.latency.reset()
        flushOutput()
    }
    try workloads.close()
    if flags.report == "json" {
        try report.write(to: flags.reportFile)
        print("Report:     \(flags.reportFile) and its .svg chart")
    }
} catch {
    print("Failed: \(error)")
    exit(1)
}

/// Writes out everything printed so far. Progress text goes straight to
/// stderr while a benchmark runs; flushing stdout before each benchmark and
/// after each result keeps whole lines apart when both share one file (as
/// db_bench flushes after each result line).
func flushOutput() {
    fflush(nil)
}
