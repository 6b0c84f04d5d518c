// stream-bench --workload=nexmark-qN: a Nexmark query run through the
// exactly-once Pipeline with state in Strata and checkpoints on.
//
//   stream-bench --workload=nexmark-q0|q1|q2|q5|q7|q8|q11|q18 --events=N
//     [--rate=10000000] [--disorder=0] [--bound=DISORDER] [--watermark-every=1000]
//     [--partitions=1] [--checkpoint-ms=10000] [--output=count|jsonl]
//     [--sample-every=16] [--seed=1] [--dir=DIR [--fresh]] [--cache-entries=262144]
//
// --dir=DIR (or --db=DIR) keeps the run there (default: a temporary
// directory removed at the end). A DIR holding a previous run's state/,
// checkpoints/ and outputs/ has those replaced; a non-empty DIR without
// them is refused unless --fresh, and nothing else in DIR is removed.
//
// The Nexmark generator (NexmarkSupport; persons, auctions, bids 1:3:46,
// hot auctions, bidders and sellers as the reference generator) is a
// replayable GeneratorSource; event time advances at --rate events per
// event-time second (default: the Flink suite's 10M/s) with a uniform lag
// in [0, --disorder] ms; the pipeline's watermark is bounded
// out-of-orderness with δ = --bound (default: the disorder, so no event is
// late), sent every --watermark-every records, and a final watermark fires
// every window at the end. Each partition keeps its state in its own
// StateBackend (the pipeline default: WAL off) and takes an incremental checkpoint every
// --checkpoint-ms of processing time, plus one at the end. Rows go to a
// counting sink (--output=count, Flink's blackhole) or to the pipeline's
// staged exactly-once JSON lines (--output=jsonl).
//
// Prints the rows and their checksum, checkpoints, the latency percentiles
// (per row; see NexmarkResults), CPU time of the whole process (source and
// partition threads, engine background work) with events per CPU-second,
// and a final line `NEXMARK-QN: N events in S s, X events/s`.
import Foundation
import NexmarkSupport
import Strata
import StrataStreams
import ToolCommands
import ToolSupport

struct NexmarkFlags {
    var query = NexmarkQuery.q0
    var config = NexmarkConfig()
    var bound: Int64?
    var watermarkEvery = 1_000
    var partitions = 1
    var checkpointMilliseconds: Int64 = 10_000
    var output = NexmarkOutputMode.count
    var sampleEvery: UInt64 = 16
    var directory: String?
    var cacheEntries = 1 << 18
    var fresh = false

    /// A Nexmark workload's flags (`StreamBenchCommand.validate` checked
    /// the ranges and that no window-only flag is given).
    init(_ c: StreamBenchCommand) throws {
        guard let q = NexmarkQuery(rawValue: String(c.workload.dropFirst(8))) else {
            throw StrataError.invalidArgument("stream-bench: --workload=\(c.workload); expected nexmark-"
                                              + NexmarkQuery.allCases.map(\.rawValue).joined(separator: "|"))
        }
        query = q
        if let v = c.events { config.events = UInt64(v.value) }
        if let v = c.rate { config.eventsPerSecond = v.value }
        if let v = c.disorder { config.maxDisorder = v.value }
        bound = c.bound?.value
        watermarkEvery = c.watermarkEvery.map { Int($0.value) } ?? watermarkEvery
        partitions = c.partitions.map { Int($0.value) } ?? partitions
        checkpointMilliseconds = c.checkpointMilliseconds?.value ?? checkpointMilliseconds
        if let mode = c.output { output = NexmarkOutputMode(rawValue: mode) ?? output }
        sampleEvery = c.sampleEvery.map { UInt64($0.value) } ?? sampleEvery
        if let v = c.seed { config.seed = UInt64(v.value) }
        directory = c.dir ?? c.db
        cacheEntries = c.cacheEntries.map { Int($0.value) } ?? cacheEntries
        fresh = c.fresh.or(false)
    }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Runs one Nexmark workload (the entry point main.swift hands
/// `--workload=nexmark-*` to).
func runNexmark(_ command: StreamBenchCommand) throws {
    let flags = try NexmarkFlags(command)
    let generator = try NexmarkGenerator(flags.config)
    let directory = flags.directory ?? NSTemporaryDirectory() + "stream-bench-nexmark-\(getpid())"
    try FreshDirectory.clearPipeline(at: directory, force: flags.fresh || flags.directory == nil, forceFlag: "--fresh")
    defer { if flags.directory == nil { try? FileManager.default.removeItem(atPath: directory) } }

    var options = PipelineOptions(directory: directory)
    options.partitions = flags.partitions
    options.checkpointInterval = .every(milliseconds: flags.checkpointMilliseconds)
    options.maxOutOfOrderness = flags.bound ?? flags.config.maxDisorder
    options.watermarkEveryRecords = flags.watermarkEvery
    options.backend.writeBackCacheEntries = flags.cacheEntries
    let runResults = NexmarkRunResults()
    let pipeline = try NexmarkJob.pipeline(query: flags.query, generator: generator, options: options, mode: flags.output,
                                           sampleEvery: flags.sampleEvery, results: runResults)
    let q = flags.query
    let eventTimeSeconds = Double(flags.config.events) / Double(flags.config.eventsPerSecond)
    print("stream-bench: workload nexmark-\(q.rawValue) (\(q.summary)), \(flags.config.events) events, rate"
          + " \(flags.config.eventsPerSecond) events per event-time second (\(String(format: "%.1f", eventTimeSeconds)) s of event time),"
          + " disorder \(flags.config.maxDisorder) ms, watermark bound \(options.maxOutOfOrderness) ms every \(flags.watermarkEvery) events,"
          + " \(flags.partitions) partition(s), checkpoints every \(flags.checkpointMilliseconds) ms, output \(flags.output.rawValue),"
          + " seed \(flags.config.seed), state in \(directory)")

    let cpuBefore = cpuSeconds()
    let start = nexmarkMonotonicNanos()
    let summary = try pipeline.run()
    let seconds = Double(nexmarkMonotonicNanos() - start) / 1e9
    let cpu = cpuSeconds() - cpuBefore

    let total = runResults.total(mode: flags.output)
    let others = summary.counters.filter { $0.key != "rows" && $0.key != "late events" }
        .sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
    print("results: \(total.rows) rows (checksum \(total.checksum), the sum of each row's \(q.checksumOf)), late events \(total.lateEvents)"
          + (others.isEmpty ? "" : ", " + others.joined(separator: ", "))
          + (flags.output == .jsonl ? ", \(summary.outputs) rows committed to JSON lines" : ""))
    let times = summary.checkpoints.map(\.milliseconds).sorted()
    if !times.isEmpty {
        print(String(format: "checkpoints: %d (the last at the end of input), %.1f ms median, %.1f ms max (barrier to commit), %.1f MB of new tables in all",
                     times.count, times[times.count / 2], times.last!,
                     Double(summary.checkpoints.reduce(0) { $0 + $1.newBytes }) / 1_048_576))
    }
    for (p, line) in summary.engineStats.enumerated() { print("engine part-\(p): \(line)") }
    let fired = [.q5, .q7, .q8, .q11].contains(q)
    let what = [.q5, .q7].contains(q) ? "watermark arrival at the partition -> its partial rows handed to the combine stage"
        : fired ? "watermark arrival at the partition -> rows emitted"
        : "source produced the record (1 in \(flags.sampleEvery) sampled) -> row emitted"
    if total.latency.totalCount > 0 {
        let us = { (p: Double) in String(format: "%.1f", Double(total.latency.valueAtPercentile(p)) / 1000) }
        print("latency (\(what), per row) µs: p50 \(us(50)) p99 \(us(99)) p99.9 \(us(99.9)) max \(us(100))"
              + " (\(total.latency.totalCount) rows)")
    } else {
        print("latency: no rows measured")
    }
    // On a shared machine wall time includes waiting for a core; CPU time does not.
    print(String(format: "cpu: %.3f s user+system for the whole process (source, %d partition(s), engine), %.0f events per CPU-second"
                 + " (Flink+RocksDB: %.0f events/s per core, ratio %.1f)",
                 cpu, flags.partitions, Double(flags.config.events) / cpu, q.flinkEventsPerCore,
                 Double(flags.config.events) / cpu / q.flinkEventsPerCore))
    print(String(format: "NEXMARK-%@: %llu events in %.3f s, %.0f events/s", q.rawValue.uppercased(), flags.config.events,
                 seconds, Double(flags.config.events) / seconds))
}
