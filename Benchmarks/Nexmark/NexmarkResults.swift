import Foundation
import StrataStreams
import ToolSupport

/// Where a query's result rows go.
public enum NexmarkOutputMode: String, Sendable, CaseIterable {
    /// Rows are counted and folded into a checksum, never formatted: the
    /// Flink Nexmark suite's `blackhole` sink. The default for
    /// benchmarks, where formatting a row per bid would dominate q0-q2 and q18.
    case count
    /// Rows are formatted as JSON and go to the pipeline's staged,
    /// exactly-once JSON-lines output (`outputs/part-P/epoch-E.jsonl`).
    case jsonl
}

/// `CLOCK_MONOTONIC` in nanoseconds (latency stamps).
public func nexmarkMonotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// One partition's results of a Nexmark query: row count, a checksum,
/// late events and a latency histogram. Kept in memory for the run's
/// summary (not in state: a restarted run counts only its own rows).
///
/// Latency, per row, in ns: for rows a watermark fires (q8, q11), from
/// the watermark's arrival at the partition to the rows being emitted (the
/// window workloads' definition; q5, q7: to the partition's partial rows
/// being handed to the combine stage); for rows a record produces
/// (q0, q1, q2, q18), from the source producing a sampled record to its
/// row being emitted (queueing and batching included).
///
/// Thread safety: written by its partition's thread only; read after
/// `Pipeline.run()` returned (the run joins its partitions first).
public final class NexmarkResults {
    /// Count or JSON lines.
    public let mode: NexmarkOutputMode
    /// Rows emitted.
    public private(set) var rows = 0
    /// Wrapping sum of a number per row (each query says which): equal
    /// across output modes and partition counts for the same stream.
    public private(set) var checksum: UInt64 = 0
    /// Events the operators handed to their late output (0 when the
    /// watermark's bound covers the stream's disorder).
    public internal(set) var lateEvents = 0
    /// Row latencies in ns (see the type's doc).
    public private(set) var latency = LatencyHistogram()

    /// Empty results for a partition writing rows in `mode`.
    public init(mode: NexmarkOutputMode) { self.mode = mode }

    /// Emits one row: counted always; formatted (the autoclosures run)
    /// and handed to `output` only in `.jsonl` mode.
    @inline(__always)
    func emit(_ output: OutputCollector, stream: String, key: @autoclosure () -> String,
              value: @autoclosure () -> String, checksum number: Int64) {
        rows += 1
        checksum &+= UInt64(bitPattern: number)
        if mode == .jsonl { output.emit(stream: stream, key: key(), value: value()) }
    }

    /// Emits one row into `rows`: counted always, appended only in `.jsonl` mode.
    func emit(into rows: inout [SinkRecord], stream: String, key: String, value: String, checksum number: Int64) {
        self.rows += 1
        checksum &+= UInt64(bitPattern: number)
        if mode == .jsonl { rows.append(SinkRecord(stream: stream, key: key, value: value)) }
    }

    /// Records `count` rows whose clock started at `start` (ns).
    func recordLatency(since start: UInt64, count: Int = 1) {
        guard start != 0, count > 0 else { return }
        let now = nexmarkMonotonicNanos()
        latency.record(now > start ? now - start : 0, count: UInt64(count))
    }

    /// Adds another partition's results (for a run's summary).
    public func add(_ other: NexmarkResults) {
        rows += other.rows
        checksum &+= other.checksum
        lateEvents += other.lateEvents
        latency.add(other.latency)
    }
}

/// The results objects of a run's partitions, filled as the pipeline
/// builds them.
///
/// Thread safety: appended to on the thread that calls `Pipeline.run()`
/// (it builds the partitions' logic); read after the run.
public final class NexmarkRunResults {
    /// One per partition, in the order they were built.
    public private(set) var partitions: [NexmarkResults] = []
    /// The combine stage's (q5, q7: the final rows), if the job has one.
    public internal(set) var combined: NexmarkResults?

    /// No partitions yet.
    public init() {}

    func append(_ results: NexmarkResults) { partitions.append(results) }

    /// Every partition's results added up.
    public func total(mode: NexmarkOutputMode) -> NexmarkResults {
        let sum = NexmarkResults(mode: mode)
        for p in partitions { sum.add(p) }
        if let combined { sum.add(combined) }
        return sum
    }
}

/// Formats `milli` thousandths as a decimal with three places ("-1.050").
func decimal3(_ milli: Int64) -> String {
    let sign = milli < 0 ? "-" : ""
    let magnitude = milli.magnitude
    let fraction = String(magnitude % 1000)
    return "\(sign)\(magnitude / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}
