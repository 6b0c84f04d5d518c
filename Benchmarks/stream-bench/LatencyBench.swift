// stream-bench --workload=latency: event-to-committed-output latency of a
// job over a live source (docs/pipeline.md, "Latency").
//
//   stream-bench --workload=latency --rate=R --events=N [--keys=1000]
//     [--partitions=2] [--checkpoint-ms=100] [--disorder=10] [--watermark-ms=50]
//     [--output-checkpoint-ms=N] [--wal=on|off (default: the pipeline's, off)]
//     [--seed=1]
//
// The source is live: event i is produced at t0 + i/R s of the wall clock
// (its event time is that instant in ms since t0), and until then the
// source answers `.pending` (`ReplayableSource.poll`), so the pipeline's
// time-driven paths — batch hand-off after `maxBatchDelay`, timed
// watermarks, barriers every --checkpoint-ms — run as they would for a
// real broker. The job (StreamJob, exactly-once): keyBy key → dedup by
// event id (1% of events repeat the previous id; keep first, TTL 10 s) →
// (a) a 1 s tumbling count per key, rows `counts`; (b) a pattern over the
// 2% of events that are logins: a failure followed by a success within
// 5 s, rows `logins`. Watermarks: bounded out-of-orderness --disorder ms
// (the source is in order; the bound is the window's own wait).
//
// Latency of a committed row: the wall-clock moment the committer received
// its epoch (after the epoch's rows are durable in the staged JSON lines and
// the checkpoint is complete) minus the production time of the event that
// completed it — for a window row its end (the first event after the
// window), for a pattern row its last event. Both include the watermark
// bound (--disorder), printed as the window wait. Barrier-to-commit is
// `PipelineSummary.checkpoints[].milliseconds`: the barrier leaving the
// source to the epoch committed.
//
// Final line: `LATENCY: rate R, p99 event-to-commit X ms (window wait W ms),
// p99 barrier-to-commit Y ms`.
import Foundation
import Strata
import StrataStreams
import ToolCommands

/// One event of the latency job.
struct LiveEvent: Codable, Sendable {
    var key: Int64
    var id: Int64
    var ts: Int64
    /// 0: a click; 1: a failed login; 2: a successful login.
    var kind: UInt8
}

/// Event `i`: its key, id (every 100th repeats the previous id), kind.
func liveEvent(_ i: UInt64, ts: Int64, seed: UInt64, keys: Int64) -> LiveEvent {
    var z = (i &+ seed &* 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    let key = Int64(z % UInt64(keys))
    let id = i % 100 == 99 ? Int64(i) - 1 : Int64(i)
    let roll = (z >> 32) % 100
    let kind: UInt8 = roll == 0 ? 1 : roll == 1 ? 2 : 0
    // A repeated id keeps its original's key, so the dedup sees the pair.
    if i % 100 == 99 { return liveEvent(i - 1, ts: ts, seed: seed, keys: keys) }
    return LiveEvent(key: key, id: id, ts: ts, kind: kind)
}

/// A wall-clock-paced source: event i is ready at `start + i·10⁹/rate` ns.
final class PacedLiveSource: ReplayableSource {
    let rate: Int64
    let count: UInt64
    let seed: UInt64
    let keys: Int64
    /// Monotonic ns of event 0's production.
    let start: Int64
    private(set) var position = SourcePosition.start

    init(rate: Int64, count: UInt64, seed: UInt64, keys: Int64, start: Int64) {
        self.rate = rate
        self.count = count
        self.seed = seed
        self.keys = keys
        self.start = start
    }

    func seek(to position: SourcePosition) throws { self.position = position }

    var isLive: Bool { true }

    /// ns after `start` at which event `i` is produced.
    func due(_ i: UInt64) -> Int64 { Int64(i) * 1_000_000_000 / rate }

    private func take() -> LiveEvent {
        let i = position.record
        position = SourcePosition(offset: i + 1, record: i + 1)
        return liveEvent(i, ts: due(i) / 1_000_000, seed: seed, keys: keys)
    }

    /// Blocks until the next event is produced (the pipeline uses `poll`).
    func next() throws -> LiveEvent? {
        guard position.record < count else { return nil }
        let wait = start + due(position.record) - spikeNanos()
        if wait > 0 { spikeSleep(nanoseconds: wait) }
        return take()
    }

    func poll(timeout: Duration) throws -> SourcePoll<LiveEvent> {
        guard position.record < count else { return .end }
        let wait = start + due(position.record) - spikeNanos()
        if wait <= 0 { return .record(take()) }
        let limit = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        if wait > limit {
            spikeSleep(nanoseconds: limit)
            return .pending
        }
        spikeSleep(nanoseconds: wait)
        return .record(take())
    }
}

/// A window row of the latency job.
struct LatencyCount: Encodable {
    var key: Int64
    var count: Int64
    /// Production time (ms since t0) of the event that completed the row.
    var ref: Int64
}

/// A pattern row of the latency job.
struct LatencyLogin: Encodable {
    var key: Int64
    var failure: Int64
    var ref: Int64
}

/// Takes each committed epoch's rows and notes their latency.
final class LatencyCommitter: EpochCommitter {
    let start: Int64
    /// The last event's production time (ms since t0): rows completed only
    /// by the end of the input (the final watermark) have a later `ref`
    /// and are not measured.
    let lastEventMs: Int64
    private var last: UInt64 = 0
    var latencies: [Int64] = []   // µs
    var rows = 0
    var unmeasured = 0

    init(start: Int64, lastEventMs: Int64) {
        self.start = start
        self.lastEventMs = lastEventMs
    }

    func lastCommittedEpoch() throws -> UInt64 { last }

    func commit(epoch: UInt64, records: [SinkRecord]) throws {
        let nowMicros = (spikeNanos() - start) / 1_000
        for r in records {
            guard let range = r.value.range(of: "\"ref\":") else { continue }
            let digits = r.value[range.upperBound...].prefix { $0 == "-" || $0.isNumber }
            guard let ref = Int64(digits) else { continue }
            guard ref <= lastEventMs else {
                unmeasured += 1
                continue
            }
            latencies.append(nowMicros - ref * 1_000)
            rows += 1
        }
        last = epoch
    }
}

/// The value at percentile `p` (0...100) of sorted `values`.
func percentile(_ values: [Int64], _ p: Double) -> Int64 {
    guard !values.isEmpty else { return 0 }
    let rank = Int((Double(values.count) * p / 100).rounded(.up)) - 1
    return values[min(values.count - 1, max(0, rank))]
}

/// Runs `--workload=latency` (main.swift hands it over).
func runLatency(_ command: StreamBenchCommand) throws {
    let rate = command.rate?.value ?? 1_000
    let events = UInt64(command.events?.value ?? rate * 10)
    let keys = command.keys?.value ?? 1_000
    let partitions = Int(command.partitions?.value ?? 2)
    let checkpointMs = command.checkpointMilliseconds?.value ?? 100
    let disorder = command.disorder?.value ?? 10
    let wal = command.wal.map { $0 == "on" }
    let seed = UInt64(command.seed?.value ?? 1)
    let root = NSTemporaryDirectory() + "stream-bench-latency-\(getpid())"
    try? FileManager.default.removeItem(atPath: root)
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)

    let start = spikeNanos() + 50_000_000   // the first event 50 ms after setup
    let source = PacedLiveSource(rate: rate, count: events, seed: seed, keys: keys, start: start)
    let job = StreamJob()
    let users = job.source(source, watermarks: .boundedOutOfOrderness(.milliseconds(disorder)), timestamp: \.ts)
        .keyBy(Int64Codec()) { $0.key }
        .dedup(by: Int64Codec(), { $0.id }, keep: .first, ttl: .seconds(10), name: "ids")
    users.window(.tumbling(.seconds(1)), name: "counts")
        .aggregate(CountAggregate<LiveEvent>())
        .map { LatencyCount(key: $0.key, count: $0.value, ref: $0.window.end) }
        .sink("counts") { "\($0.key)|\($0.ref)" }
    let logins = Pattern<LiveEvent>.begin("failure") { $0.kind == 1 }
        .followedBy("success") { $0.kind == 2 }
        .within(.seconds(5))
    users.filter { $0.kind != 0 }
        .pattern(logins, afterMatch: .skipPastLastEvent, name: "logins")
        .map { match in
            LatencyLogin(key: match.key, failure: match.events(of: "failure").first?.timestamp ?? 0,
                         ref: match.events.last?.event.timestamp ?? 0)
        }
        .sink("logins") { "\($0.key)|\($0.ref)" }

    var options = PipelineOptions(directory: root)
    options.partitions = partitions
    options.checkpointInterval = .every(milliseconds: checkpointMs)
    options.metricsPrefix = nil
    if let ms = command.watermarkMilliseconds?.value { options.watermarkInterval = .milliseconds(ms) }
    if let ms = command.outputCheckpointMilliseconds?.value { options.outputCheckpointDelay = .milliseconds(ms) }
    if let wal { options.backend.writeOptions.disableWAL = !wal }
    let committer = LatencyCommitter(start: start, lastEventMs: source.due(events - 1) / 1_000_000)
    print("stream-bench: workload latency, \(events) events at \(rate) events/s (\(String(format: "%.1f", Double(events) / Double(rate))) s), \(keys) keys, \(partitions) partition(s),"
          + " checkpoints every \(checkpointMs) ms, watermark bound \(disorder) ms, timed watermarks every \(options.watermarkInterval.wholeMilliseconds) ms,\(options.outputCheckpointDelay.map { " barriers \($0.wholeMilliseconds) ms after staged output," } ?? "") WAL \(options.backend.writeOptions.disableWAL ? "off" : "on");"
          + " job: dedup -> 1 s tumbling count + login pattern -> exactly-once sink")
    let summary = try job.run(options, committers: [committer])
    let elapsed = Double(spikeNanos() - start) / 1e9

    let latencies = committer.latencies.sorted()
    let checkpoints = summary.checkpoints.map { Int64($0.milliseconds * 1_000) }.sorted()
    let ms = { (v: Int64) in String(format: "%.1f", Double(v) / 1_000) }
    print(String(format: "run: %llu events in %.1f s (%.0f events/s), %d rows committed in %d checkpoints (%d more completed only by the end of the input)", summary.records,
                 elapsed, Double(summary.records) / elapsed, committer.rows, summary.checkpoints.count, committer.unmeasured))
    print("event-to-commit ms: p50 \(ms(percentile(latencies, 50))) p99 \(ms(percentile(latencies, 99)))"
          + " p99.9 \(ms(percentile(latencies, 99.9))) max \(ms(latencies.last ?? 0)) (\(latencies.count) rows; includes the \(disorder) ms watermark bound)")
    print("barrier-to-commit ms: p50 \(ms(percentile(checkpoints, 50))) p99 \(ms(percentile(checkpoints, 99)))"
          + " p99.9 \(ms(percentile(checkpoints, 99.9))) max \(ms(checkpoints.last ?? 0))")
    for (p, line) in summary.engineStats.enumerated() { print("engine part-\(p): \(line)") }
    print("LATENCY: rate \(rate), p99 event-to-commit \(ms(percentile(latencies, 99))) ms (window wait \(disorder) ms),"
          + " p99 barrier-to-commit \(ms(percentile(checkpoints, 99))) ms")
}
