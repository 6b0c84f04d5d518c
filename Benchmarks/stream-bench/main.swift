// stream-bench: window operators over engine-backed state, events/s.
//
// (--workload=spike, a traffic spike through the pipeline: SpikeBench.swift;
// --workload=latency, event-to-commit latency of a live source: LatencyBench.swift.)
//
//   stream-bench --workload=tumbling|sliding|session --events=N [--keys=100000]
//     [--rate=1000000] [--disorder=100] [--watermark-every=1000] [--seed=1]
//     [--db=DIR [--fresh]] [--cache-entries=262144]
//
// --db=DIR keeps the state there (default: a temporary directory removed at
// the end). A DIR holding a database has its database files replaced; a
// non-empty DIR without one is refused unless --fresh, and only database
// files are ever removed.
//
// One thread, one partition: a deterministic generator feeds a
// WindowOperator (count aggregate) whose state lives in a StateBackend over
// the engine, WAL on (no sync), as a job would run it. Workloads:
//   tumbling  10 s tumbling windows, count per key
//   sliding   10 s windows sliding by 2 s, count per key (2 s panes)
//   session   10 s-gap session windows, count per key
// Event time advances by 1000/rate ms per event, minus a uniform disorder
// in [0, disorder) ms; keys are uniform over --keys (tumbling, sliding) or,
// for sessions, drawn from a tenth of the keys at a time, the active tenth
// moving on every 20 s of event time (so a key is active for 20 s, then
// silent for 180 s, and its session closes). A bounded-out-of-orderness
// watermark (δ = disorder) is emitted every --watermark-every events; the
// run ends with a final watermark that fires everything, then a flush.
//
// Prints the results count, the latency percentiles from the arrival of the
// event whose watermark fired a window to the moment the result is in the
// caller's hands (the watermark call returned; HDR histogram, µs), and a
// final line `WORKLOAD: N events in S s, X events/s`.
import Foundation
import Strata
import StrataStreams
import ToolCommands
import ToolSupport

struct Flags {
    var workload = "tumbling"
    var events = 10_000_000
    var keys: Int64 = 100_000
    var rate: Int64 = 1_000_000
    var disorder: Int64 = 100
    var watermarkEvery = 1_000
    var seed: UInt64 = 1
    var db: String?
    var cacheEntries = 1 << 18
    var fresh = false

    /// The window workload's flags (`StreamBenchCommand.validate` checked
    /// the ranges and that no Nexmark-only flag is given).
    init(_ c: StreamBenchCommand) {
        workload = c.workload
        events = c.events.map { Int($0.value) } ?? events
        keys = c.keys?.value ?? keys
        rate = c.rate?.value ?? rate
        disorder = c.disorder?.value ?? disorder
        watermarkEvery = c.watermarkEvery.map { Int($0.value) } ?? watermarkEvery
        seed = c.seed.map { UInt64($0.value) } ?? seed
        db = c.db
        cacheEntries = c.cacheEntries.map { Int($0.value) } ?? cacheEntries
        fresh = c.fresh.or(false)
    }
}

func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func run(_ command: StreamBenchCommand) throws {
    let flags = Flags(command)
    let directory = flags.db ?? NSTemporaryDirectory() + "stream-bench-\(getpid())"
    try FreshDirectory.clearDatabase(at: directory, force: flags.fresh || flags.db == nil, forceFlag: "--fresh")
    defer { if flags.db == nil { try? FileManager.default.removeItem(atPath: directory) } }

    var options = StateBackendOptions()
    options.writeBackCacheEntries = flags.cacheEntries
    let backend = try StateBackend.open(at: directory, options: options)
    let second: Int64 = 1_000
    let assigner: WindowAssigner
    switch flags.workload {
    case "tumbling": assigner = try .tumbling(size: 10 * second)
    case "sliding": assigner = try .sliding(size: 10 * second, slide: 2 * second)
    default: assigner = try .session(gap: 10 * second)
    }
    let op = try WindowOperator(
        name: flags.workload, backend: backend, keyCodec: Int64Codec(), assigner: assigner,
        aggregate: CountAggregate<Int64>())
    var watermarks = try BoundedOutOfOrdernessWatermarks(maxOutOfOrderness: flags.disorder)
    var random = SplitMix64(seed: flags.seed)
    var latency = LatencyHistogram()
    var resultCount = 0
    var checksum: Int64 = 0
    var watermarkNanos: UInt64 = 0

    func take(arrival: UInt64) {
        let results = op.takeOutput().compactMap(\.result)
        guard !results.isEmpty else { return }
        let now = monotonicNanos()
        for r in results { checksum &+= r.value }
        resultCount += results.count
        latency.record(now - arrival, count: UInt64(results.count))
    }

    let activeKeys = max(1, flags.keys / 10)
    let phase = 20 * second
    print("stream-bench: workload \(flags.workload), \(flags.events) events, \(flags.keys) keys, rate \(flags.rate) events per event-time second, disorder \(flags.disorder) ms, watermark every \(flags.watermarkEvery) events, WAL on, state in \(directory)")
    let start = monotonicNanos()
    for i in 0..<flags.events {
        let base = Int64(i) * second / flags.rate
        let t = base - Int64(random.next() % UInt64(flags.disorder))
        let key: Int64
        if flags.workload == "session" {
            let group = (base / phase) % 10
            key = group * activeKeys + Int64(random.next() % UInt64(activeKeys))
        } else {
            key = Int64(random.next() % UInt64(flags.keys))
        }
        try op.processElement(key: key, timestamp: t, value: 1)
        watermarks.observe(eventTimestamp: t, now: 0)
        if (i + 1) % flags.watermarkEvery == 0 {
            let arrival = monotonicNanos()
            try op.processWatermark(watermarks.currentWatermark(now: 0))
            take(arrival: arrival)
            watermarkNanos += monotonicNanos() - arrival
        }
    }
    let arrival = monotonicNanos()
    try op.processWatermark(.max)
    take(arrival: arrival)
    watermarkNanos += monotonicNanos() - arrival
    try backend.flush()
    let seconds = Double(monotonicNanos() - start) / 1e9
    let stats = op.statistics
    let leftover = try op.stateNames.map { try backend.entryCount(ofStateNamed: $0) }.reduce(0, +)
    try backend.close()

    precondition(checksum == Int64(flags.events) * (flags.workload == "sliding" ? 5 : 1), "counts do not add up: \(checksum)")
    print("results: \(resultCount) windows (count total \(checksum)), timers registered \(stats.timersRegistered), fired \(stats.timersFired), late events \(stats.lateEventsDropped), session merges \(stats.sessionMerges), state entries left \(leftover)")
    print(String(format: "time: %.3f s in processWatermark (firing and cleaning %d windows, %.1f µs each), %.3f s in processElement and the generator (%.0f ns per event)",
                 Double(watermarkNanos) / 1e9, resultCount, Double(watermarkNanos) / 1e3 / Double(max(resultCount, 1)),
                 seconds - Double(watermarkNanos) / 1e9, (seconds - Double(watermarkNanos) / 1e9) * 1e9 / Double(flags.events)))
    let us = { (p: Double) in String(format: "%.1f", Double(latency.valueAtPercentile(p)) / 1000) }
    print("latency (watermark arrival -> results returned, per result) µs: p50 \(us(50)) p99 \(us(99)) p99.9 \(us(99.9)) max \(us(100))")
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    // On a shared machine wall time includes waiting for a core; CPU time does not.
    print(String(format: "cpu: %.3f s user+system for the whole process, %.0f events per CPU-second", cpu, Double(flags.events) / cpu))
    print(String(format: "%@: %d events in %.3f s, %.0f events/s", flags.workload.uppercased(), flags.events, seconds, Double(flags.events) / seconds))
}

// A usage error prints the error and the usage and exits 1 (`stream-bench --help`).
guard let command = ToolMain.parseOrExit(StreamBenchCommand.self, Array(CommandLine.arguments.dropFirst()),
                                         usageStatus: 1) as? StreamBenchCommand
else { exit(1) }
do {
    // Nexmark queries run through the pipeline: NexmarkBench.swift.
    if command.isNexmark {
        try runNexmark(command)
    } else if command.isLatency {
        try runLatency(command)  // LatencyBench.swift
    } else if command.isSpike {
        try runSpike(command)  // SpikeBench.swift
    } else {
        try run(command)
    }
} catch {
    FileHandle.standardError.write("stream-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
