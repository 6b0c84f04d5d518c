import Metrics
import Strata

/// What a pipeline publishes through swift-metrics (all labels start with
/// `PipelineOptions.metricsPrefix`, default `strata_pipeline`; Prometheus'
/// conventions: base units last, counters end in `_total`):
///
/// | metric | kind | labels | meaning |
/// |---|---|---|---|
/// | `_events_in_total` | counter | partition | records the source routed to the partition |
/// | `_events_out_total` | counter | partition | output rows the partition emitted (staged) |
/// | `_rows_committed_total` | counter | | output rows made visible (committed epochs) |
/// | `_checkpoints_total` | counter | | completed checkpoints |
/// | `_barrier_to_commit_seconds` | timer | | barrier sent → checkpoint committed (sinks included) |
/// | `_checkpoint_duration_seconds` | timer | partition | the partition's part: flush, engine checkpoint, staged output synced |
/// | `_checkpoint_size_bytes` | gauge | | bytes of new table files in the last checkpoint |
/// | `_backpressure_seconds_total` | counter (seconds) | partition | time the source waited on the partition's full queue |
/// | `_watermark_lag_seconds` | gauge | | largest event timestamp read − current watermark |
/// | `_state_bytes` | gauge | | tables + memtables of every partition, at the last checkpoint |
/// | `_logic_<counter>_total` | counter | partition | each `PartitionLogic.counters` entry (e.g. `late events` → `_logic_late_events_total`), at each checkpoint |
///
/// Each partition's engine is reported too, at every checkpoint, by a
/// `MetricsReporter` with prefix `<prefix>_engine` and dimension
/// `partition=P`: W-Amp, levels, memory, write-stall state (a stream runtime's
/// backpressure signal).
///
/// Thread safety: used by the source thread only, except the
/// `PartitionMetrics` it hands to each partition thread; swift-metrics
/// handles and the engine reporters are thread-safe.
final class PipelineMetrics {
    let prefix: String
    let factory: any MetricsFactory
    private let eventsIn: [Counter]
    private let backpressure: [FloatingPointCounter]
    private let rowsCommitted: Counter
    private let checkpoints: Counter
    private let barrierToCommit: Metrics.Timer
    private let checkpointSize: Gauge
    private let watermarkLag: Gauge
    private let stateBytes: Gauge
    private var logicCounters: [String: Counter] = [:]
    /// The last value of each logic counter per partition (they are published as deltas).
    private var logicLast: [String: Int] = [:]

    init(prefix: String, factory: (any MetricsFactory)?, partitions: Int) {
        self.prefix = prefix
        let factory = factory ?? MetricsSystem.factory
        self.factory = factory
        eventsIn = (0..<partitions).map {
            Counter(label: prefix + "_events_in_total", dimensions: [("partition", String($0))], factory: factory)
        }
        backpressure = (0..<partitions).map {
            FloatingPointCounter(label: prefix + "_backpressure_seconds_total", dimensions: [("partition", String($0))],
                                 factory: factory)
        }
        rowsCommitted = Counter(label: prefix + "_rows_committed_total", factory: factory)
        checkpoints = Counter(label: prefix + "_checkpoints_total", factory: factory)
        barrierToCommit = Metrics.Timer(label: prefix + "_barrier_to_commit_seconds", factory: factory)
        checkpointSize = Gauge(label: prefix + "_checkpoint_size_bytes", factory: factory)
        watermarkLag = Gauge(label: prefix + "_watermark_lag_seconds", factory: factory)
        stateBytes = Gauge(label: prefix + "_state_bytes", factory: factory)
    }

    func engineReporter(_ database: Database, partition: Int) -> MetricsReporter {
        database.makeMetricsReporter(prefix: prefix + "_engine", dimensions: [("partition", String(partition))],
                                     factory: factory)
    }

    /// The handles partition `p`'s thread publishes through.
    func partition(_ p: Int) -> PartitionMetrics {
        let dimensions = [("partition", String(p))]
        return PartitionMetrics(
            eventsOut: Counter(label: prefix + "_events_out_total", dimensions: dimensions, factory: factory),
            checkpointDuration: Metrics.Timer(label: prefix + "_checkpoint_duration_seconds", dimensions: dimensions,
                                              factory: factory))
    }

    /// `records` were handed to partition `p`'s queue, after waiting
    /// `waitedNanoseconds` for room in it.
    func routed(partition p: Int, records: Int, waitedNanoseconds: UInt64) {
        if records > 0 { eventsIn[p].increment(by: Int64(records)) }
        if waitedNanoseconds > 0 { backpressure[p].increment(by: Double(waitedNanoseconds) / 1e9) }
    }

    func watermark(_ watermark: Int64, maxTimestamp: Int64?) {
        if let maxTimestamp { watermarkLag.record(Double(maxTimestamp &- watermark) / 1000) }
    }

    /// A checkpoint completed; `counters` are each partition's logic counters.
    func checkpointCompleted(milliseconds: Double, newBytes: UInt64, rows: Int, state: UInt64,
                             counters: [Int: [String: Int]]) {
        checkpoints.increment()
        barrierToCommit.recordNanoseconds(Int64(milliseconds * 1e6))
        checkpointSize.record(Double(newBytes))
        if rows > 0 { rowsCommitted.increment(by: Int64(rows)) }
        stateBytes.record(Double(state))
        for (p, values) in counters {
            for (name, value) in values {
                let sanitized = name.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
                let key = "\(p)|" + sanitized
                let counter = logicCounters[key] ?? {
                    let c = Counter(label: prefix + "_logic_" + sanitized + "_total", dimensions: [("partition", String(p))],
                                    factory: factory)
                    logicCounters[key] = c
                    return c
                }()
                // Counters only grow; a logic value that went down is not published.
                let delta = value - logicLast[key, default: 0]
                logicLast[key] = value
                if delta > 0 { counter.increment(by: Int64(delta)) }
            }
        }
    }
}

/// The swift-metrics handles one partition thread publishes through.
struct PartitionMetrics {
    let eventsOut: Counter
    let checkpointDuration: Metrics.Timer
}
