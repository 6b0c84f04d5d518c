// stream-bench --workload=spike: what a traffic spike does to a running
// job's memory, backpressure and latency (docs/operations.md, "Traffic
// spikes").
//
//   stream-bench --workload=spike [--spike-seconds=10] [--spike-factor=10]
//     [--base-rate=N] [--keys=1000] [--partitions=2] [--seed=1]
//
// The job: the exactly-once Pipeline over a wall-clock-paced generator,
// keyed by an Int64 key (uniform over --keys), a 1 s tumbling count per
// key in a WindowOperator whose state lives in each partition's
// StateBackend (the pipeline default: WAL off), checkpoints every second, rows to the
// pipeline's staged JSON lines. Event time is the event's scheduled
// arrival time (ms since the start), so events are in order and the
// watermark bound is 0.
//
// The base rate ("sustainable") is --base-rate, or 1.25/F of the
// throughput an unpaced calibration run of the same job measures (so the
// spike asks 1.25 times what the job can do, and the base rate leaves the
// job room to drain the backlog afterwards). The schedule: S s at the base
// rate, S s at F times it, 2S s at the base rate (S = --spike-seconds,
// F = --spike-factor); if the p99 has not recovered by then, the base rate
// goes on until it has (for 2 s), at most 30 s more. Event i is due at its scheduled time; the source
// sleeps until then when it is ahead, and is simply late when it is
// behind: a blocked source does not generate, so the backlog lives where
// a real one would (upstream, in the log the source reads), never in the
// job's memory, and the events keep their scheduled time, so latency
// counts the time they waited upstream.
//
// Latency of a result (key, window [s, e)): the moment the partition
// emitted it minus the moment it was due, the scheduled time of event
// time e, when the event that closes the window arrives. Per second of
// the run: events generated, events counted by the emitted windows, the
// p99 of the latencies of the results emitted in that second (exact: every
// latency is kept, sorted per second), and the resident memory (VmRSS).
// Recovery: from the end of the spike to the start of the first second
// from which on the p99 stays under 100 ms for at least 2 s. Backpressure:
// the longest stretch the source waited on full partition queues
// (PipelineSummary.longestBackpressureSeconds). Lost: events generated
// minus the counts of the committed rows (must be 0; exit 1 otherwise).
//
// Final line: `SPIKE: peak RSS M MB, backpressure B s, recovery R s, N lost`
// (peak RSS: VmHWM, the whole process's high-water mark, calibration
// included).
import Foundation
import Strata
import StrataStreams
import Synchronization
import ToolCommands

/// One generated event: its key and its scheduled arrival in ms since the start.
struct SpikeEvent {
    var key: Int64
    var time: Int64
}

/// When event i is due: S s at `base` events/s, S s at `factor` times
/// that, 2S s at `base`.
struct SpikeSchedule {
    let base: Int64
    let factor: Int64
    let seconds: Int64

    var before: Int64 { base * seconds }
    var spike: Int64 { base * factor * seconds }
    var after: Int64 { base * 2 * seconds }
    var total: Int64 { before + spike + after }
    var spikeEndSeconds: Int64 { 2 * seconds }
    var endSeconds: Int64 { 4 * seconds }

    /// Nanoseconds from the start at which event `i` is due.
    func nanoseconds(of i: Int64) -> Int64 {
        let second: Int64 = 1_000_000_000
        if i < before { return i * second / base }
        if i < before + spike { return seconds * second + (i - before) * second / (base * factor) }
        return 2 * seconds * second + (i - before - spike) * second / base
    }
}

func spikeNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// Sleeps `ns` nanoseconds (nothing if not positive), resuming after signals.
func spikeSleep(nanoseconds ns: Int64) {
    guard ns > 0 else { return }
    var request = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 { request = remaining }
}

/// `VmRSS` and `VmHWM` of this process in MB (0 when /proc is unreadable).
func spikeMemoryMB() -> (rss: Double, peak: Double) {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func field(_ name: String) -> Double {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
        let kB = line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0
        return kB / 1024
    }
    return (field("VmRSS"), field("VmHWM"))
}

/// What the source, the partitions and the sampler share.
final class SpikeProbe: Sendable {
    /// Monotonic nanoseconds of the start of the schedule.
    let start: Int64
    /// Tells the sampler to stop.
    let stop = Atomic<Bool>(false)
    /// Set by the sampler once the p99 has been under 100 ms for 2 s after the spike.
    let recovered = Atomic<Bool>(false)
    let generated = Atomic<Int>(0)
    /// Events counted by the windows emitted so far.
    let counted = Atomic<Int>(0)
    /// Per second of the run, the latencies (µs) of the results emitted in it.
    let latencies = Locked<[Int: [UInt32]]>([:])

    init(start: Int64) { self.start = start }

    func record(_ results: [(end: Int64, count: Int64)]) {
        guard !results.isEmpty else { return }
        let now = spikeNanos()
        let second = Int((now - start) / 1_000_000_000)
        var batch: [UInt32] = []
        batch.reserveCapacity(results.count)
        var events: Int64 = 0
        for r in results {
            let due = start + r.end * 1_000_000
            batch.append(UInt32(clamping: max(0, now - due) / 1_000))
            events += r.count
        }
        counted.add(Int(events), ordering: .relaxed)
        latencies.withLock { $0[second, default: []] += batch }
    }
}

/// A partition of the spike job: a 1 s tumbling count per key.
final class SpikeLogic: PartitionLogic {
    typealias Record = SpikeEvent
    let window: WindowOperator<Int64Codec, Int64, Int64>
    let probe: SpikeProbe?

    init(_ context: PartitionContext, probe: SpikeProbe?) throws {
        window = try WindowOperator(name: "spike", backend: context.backend, keyCodec: Int64Codec(),
                                    assigner: try .tumbling(size: 1_000), aggregate: CountAggregate<Int64>())
        self.probe = probe
    }

    func process(_ record: SpikeEvent, timestamp: Int64, output: OutputCollector) throws {
        try window.processElement(key: record.key, timestamp: timestamp, value: 1)
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        try window.processWatermark(watermark)
        let results = window.takeOutput().compactMap(\.result)
        guard !results.isEmpty else { return }
        probe?.record(results.map { ($0.window.end, $0.value) })
        for r in results {
            output.emit(stream: "spike", key: "\(r.key)@\(r.window.start)", value: "{\"count\":\(r.value)}")
        }
    }
}

/// A pipeline of the spike job in `directory` over `make`.
func spikePipeline(directory: String, partitions: Int, watermarkEvery: Int, probe: SpikeProbe?,
                   make: @escaping (UInt64) -> SpikeEvent?) throws -> Pipeline<GeneratorSource<SpikeEvent>> {
    var options = PipelineOptions(directory: directory)
    options.partitions = partitions
    options.maxOutOfOrderness = 0
    options.watermarkEveryRecords = watermarkEvery
    options.checkpointInterval = .every(milliseconds: 1_000)
    return try Pipeline(options: options, source: GeneratorSource(make), key: { $0.key }, keyCodec: Int64Codec(),
                        timestamp: { $0.time }, logic: { try SpikeLogic($0, probe: probe) })
}

/// The key of event `i`: a SplitMix64 finalizer of seed and index, uniform over `keys`.
func spikeKey(_ i: UInt64, seed: UInt64, keys: Int64) -> Int64 {
    var z = (i &+ seed &* 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return Int64((z ^ (z >> 31)) % UInt64(keys))
}

/// The p99 of `values` (sorted in place), nil when empty.
func spikeP99(_ values: inout [UInt32]) -> UInt32? {
    guard !values.isEmpty else { return nil }
    values.sort()
    return values[min(values.count - 1, (values.count * 99 + 99) / 100 - 1)]
}

/// Recovery in seconds from the end of the spike: the first second `s` at
/// or after `spikeEnd` from which on every second up to the last has a
/// p99 under `limit` (and at least `hold` seconds do); nil if none.
/// `p99` has one entry per second of the run (nil: no result emitted).
func spikeRecovery(p99: [UInt32?], spikeEnd: Int, limit: UInt32, hold: Int) -> Int? {
    guard spikeEnd < p99.count else { return nil }
    var candidate: Int? = nil
    for s in spikeEnd..<p99.count {
        if let v = p99[s], v < limit {
            if candidate == nil { candidate = s }
        } else {
            candidate = nil
        }
    }
    guard let c = candidate, p99.count - c >= hold else { return nil }
    return c - spikeEnd
}

/// Runs `--workload=spike` (main.swift hands it over); exit 1 if anything was lost.
func runSpike(_ command: StreamBenchCommand) throws {
    let seconds = command.spikeSeconds?.value ?? 10
    let factor = command.spikeFactor?.value ?? 10
    let keys = command.keys?.value ?? 1_000
    let partitions = Int(command.partitions?.value ?? 2)
    let seed = UInt64(command.seed?.value ?? 1)
    let root = NSTemporaryDirectory() + "stream-bench-spike-\(getpid())"
    try? FileManager.default.removeItem(atPath: root)
    defer { try? FileManager.default.removeItem(atPath: root) }

    // Calibration: the same job, unpaced, for a few seconds.
    let base: Int64
    if let given = command.baseRate?.value {
        base = given
        print("stream-bench: workload spike, base rate \(base) events/s (--base-rate)")
    } else {
        // Event time is wall time, as in the run, so windows fire as often.
        let calibration = Double(min(3, max(1, seconds / 2)))
        let clock = SpikeProbe(start: spikeNanos())
        let deadline = clock.start + Int64(calibration * 1e9)
        let pipeline = try spikePipeline(directory: root + "/calibration", partitions: partitions, watermarkEvery: 1_000,
                                         probe: nil) { i in
            let now = spikeNanos()
            guard now < deadline else { return nil }
            return SpikeEvent(key: spikeKey(i, seed: seed, keys: keys), time: (now - clock.start) / 1_000_000)
        }
        let summary = try pipeline.run()
        let measured = Double(summary.records) / calibration
        base = max(1, Int64(measured * 1.25 / Double(factor)))
        print(String(format: "stream-bench: workload spike, calibration: %llu events unpaced in %.1f s, %.0f events/s;"
                     + " base rate 1.25/%lld of that: %lld events/s", summary.records, calibration, measured, factor, base))
        try? FileManager.default.removeItem(atPath: root + "/calibration")
    }
    let extraSeconds: Int64 = 30
    let schedule = SpikeSchedule(base: base, factor: factor, seconds: seconds)
    guard base <= Int64(1) << 40 / max(1, factor * (seconds + extraSeconds) * 4) else {
        throw StrataError.invalidArgument("stream-bench: --base-rate=\(base) x --spike-factor=\(factor) x --spike-seconds=\(seconds): too many events")
    }
    print("stream-bench: \(seconds) s at \(base) events/s, \(seconds) s at \(base * factor) events/s (x\(factor)),"
          + " \(2 * seconds) s at \(base) events/s (more, up to \(extraSeconds) s, until the p99 is back): \(schedule.total) events or more, \(keys) keys, \(partitions) partition(s),"
          + " 1 s tumbling count per key, checkpoints every 1 s, WAL off")

    // The run, with a sampler once a second.
    let probe = SpikeProbe(start: spikeNanos())
    let endNanos = schedule.endSeconds * 1_000_000_000
    let capNanos = (schedule.endSeconds + extraSeconds) * 1_000_000_000
    let pipeline = try spikePipeline(directory: root + "/run", partitions: partitions,
                                     watermarkEvery: Int(max(1, base / 200)), probe: probe) { i in
        let offset = schedule.nanoseconds(of: Int64(i))
        if offset >= endNanos && (offset >= capNanos || probe.recovered.load(ordering: .relaxed)) { return nil }
        let ahead = probe.start + offset - spikeNanos()
        // Sleep only when more than 1 ms ahead: events go out in bursts of at most 1 ms.
        if ahead > 1_000_000 { spikeSleep(nanoseconds: ahead) }
        probe.generated.add(1, ordering: .relaxed)
        return SpikeEvent(key: spikeKey(i, seed: seed, keys: keys), time: offset / 1_000_000)
    }
    struct Sample { var generated: Int; var counted: Int; var rss: Double }
    let samples = Locked<[Sample]>([])
    let samplerDone = DispatchSemaphore(value: 0)
    let spikeEnd = Int(schedule.spikeEndSeconds)
    let sampler = Thread {
        var next = probe.start + 1_000_000_000
        var second = 0
        var goodSince: Int? = nil
        while !probe.stop.load(ordering: .relaxed) {
            let wait = next - spikeNanos()
            if wait > 0 { usleep(UInt32(min(wait / 1_000, 100_000))); continue }
            let sample = Sample(generated: probe.generated.load(ordering: .relaxed),
                                counted: probe.counted.load(ordering: .relaxed), rss: spikeMemoryMB().rss)
            samples.withLock { $0.append(sample) }
            if second >= spikeEnd {
                // Live recovery check (the final figure is computed again from every latency at the end).
                var values = probe.latencies.withLock { $0[second] ?? [] }
                if let p99 = spikeP99(&values), p99 < 100_000 {
                    let since = goodSince ?? second
                    goodSince = since
                    if second - since + 1 >= 2 { probe.recovered.store(true, ordering: .relaxed) }
                } else {
                    goodSince = nil
                }
            }
            second += 1
            next += 1_000_000_000
        }
        samplerDone.signal()
    }
    sampler.start()
    let summary = try pipeline.run()
    probe.stop.store(true, ordering: .relaxed)
    samplerDone.wait()
    let runSeconds = Double(spikeNanos() - probe.start) / 1e9

    // The committed rows' counts against the events generated.
    var committed: Int64 = 0
    var rows = 0
    for partition in try Pipeline<GeneratorSource<SpikeEvent>>.committedOutput(directory: root + "/run") {
        for row in partition {
            rows += 1
            committed += Int64(row.value.dropFirst(9).dropLast()) ?? 0
        }
    }
    let generated = Int64(summary.records)
    let lost = generated - committed

    // The per-second table.
    let taken = samples.withLock { $0 }
    var latencies = probe.latencies.withLock { $0 }
    let seconds99: [UInt32?] = (0..<taken.count).map { s in
        var values = latencies[s] ?? []
        latencies[s] = nil
        return spikeP99(&values)
    }
    print("second  phase   events in/s  events out/s  p99 ms   RSS MB")
    var previous = Sample(generated: 0, counted: 0, rss: 0)
    for (s, sample) in taken.enumerated() {
        let phase = s < seconds ? "base" : s < 2 * seconds ? "SPIKE" : s < 4 * seconds ? "base" : "base+"
        let p99 = seconds99[s].map { String(format: "%.1f", Double($0) / 1000) } ?? "-"
        let pad = { (text: String, width: Int) in String(repeating: " ", count: max(0, width - text.count)) + text }
        print(String(format: "%6d  ", s) + phase.padding(toLength: 6, withPad: " ", startingAt: 0)
              + String(format: " %12d  %12d  ", sample.generated - previous.generated, sample.counted - previous.counted)
              + pad(p99, 6) + String(format: "  %7.1f", sample.rss))
        previous = sample
    }
    let memory = spikeMemoryMB()
    let recovery = spikeRecovery(p99: seconds99, spikeEnd: Int(schedule.spikeEndSeconds), limit: 100_000, hold: 2)
    print(String(format: "run: %lld events generated in %.1f s, %d rows committed counting %lld events; backpressure %.2f s in all,"
                 + " longest stretch %.2f s; %d checkpoints", generated, runSeconds, rows, committed,
                 summary.backpressureSeconds, summary.longestBackpressureSeconds, summary.checkpoints.count))
    for (p, line) in summary.engineStats.enumerated() { print("engine part-\(p): \(line)") }
    let recoveryText = recovery.map { "\($0)" } ?? ">\(max(0, taken.count - Int(schedule.spikeEndSeconds))) (p99 not back under 100 ms)"
    print(String(format: "SPIKE: peak RSS %.0f MB, backpressure %.1f s, recovery %@ s, %lld lost",
                 memory.peak, summary.longestBackpressureSeconds, recoveryText, lost))
    if lost != 0 {
        FileHandle.standardError.write("stream-bench: \(lost) events lost (generated \(generated), counted \(committed))\n".data(using: .utf8)!)
        try? FileManager.default.removeItem(atPath: root)
        exit(1)
    }
}
