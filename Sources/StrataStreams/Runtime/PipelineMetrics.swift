import Metrics
import Strata

/// What a pipeline publishes through swift-metrics (all labels start with
/// `PipelineOptions.metricsPrefix`, default `strata_pipeline`):
///
/// | metric | kind | meaning |
/// |---|---|---|
/// | `_events_in` | counter | records read from the source |
/// | `_rows_committed` | counter | output rows made visible (committed epochs) |
/// | `_checkpoints` | counter | completed checkpoints |
/// | `_checkpoint_duration` | timer | barrier sent → checkpoint committed |
/// | `_checkpoint_bytes` | gauge | bytes of new table files in the last checkpoint |
/// | `_watermark_lag_ms` | gauge | largest event timestamp read − current watermark |
/// | `_state_bytes` | gauge | tables + memtables of every partition, at the last checkpoint |
/// | `_<counter>` | gauge | each `PartitionLogic.counters` entry summed over partitions (e.g. late events), at the last checkpoint |
///
/// Each partition's engine is reported too, at every checkpoint, by a
/// `MetricsReporter` with prefix `<prefix>_engine` and dimension
/// `partition=P`: W-Amp, levels, memory, write-stall state (a stream runtime's
/// backpressure signal).
///
/// Thread safety: used by the source thread only; the engine reporters are thread-safe.
final class PipelineMetrics {
    let prefix: String
    let factory: any MetricsFactory
    private let eventsIn: Counter
    private let rowsCommitted: Counter
    private let checkpoints: Counter
    private let checkpointDuration: Metrics.Timer
    private let checkpointBytes: Gauge
    private let watermarkLag: Gauge
    private let stateBytes: Gauge
    private var logicGauges: [String: Gauge] = [:]

    init(prefix: String, factory: (any MetricsFactory)?) {
        self.prefix = prefix
        self.factory = factory ?? MetricsSystem.factory
        eventsIn = Counter(label: prefix + "_events_in", factory: self.factory)
        rowsCommitted = Counter(label: prefix + "_rows_committed", factory: self.factory)
        checkpoints = Counter(label: prefix + "_checkpoints", factory: self.factory)
        checkpointDuration = Metrics.Timer(label: prefix + "_checkpoint_duration", factory: self.factory)
        checkpointBytes = Gauge(label: prefix + "_checkpoint_bytes", factory: self.factory)
        watermarkLag = Gauge(label: prefix + "_watermark_lag_ms", factory: self.factory)
        stateBytes = Gauge(label: prefix + "_state_bytes", factory: self.factory)
    }

    func engineReporter(_ database: Database, partition: Int) -> MetricsReporter {
        database.makeMetricsReporter(prefix: prefix + "_engine", dimensions: [("partition", String(partition))],
                                     factory: factory)
    }

    func read(_ records: Int) { if records > 0 { eventsIn.increment(by: Int64(records)) } }

    func watermark(_ watermark: Int64, maxTimestamp: Int64?) {
        if let maxTimestamp { watermarkLag.record(Double(maxTimestamp &- watermark)) }
    }

    func checkpointCompleted(milliseconds: Double, newBytes: UInt64, rows: Int, state: UInt64, counters: [String: Int]) {
        checkpoints.increment()
        checkpointDuration.recordNanoseconds(Int64(milliseconds * 1e6))
        checkpointBytes.record(Double(newBytes))
        if rows > 0 { rowsCommitted.increment(by: Int64(rows)) }
        stateBytes.record(Double(state))
        for (name, value) in counters {
            let label = prefix + "_" + name.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            if logicGauges[label] == nil { logicGauges[label] = Gauge(label: label, factory: factory) }
            logicGauges[label]!.record(Double(value))
        }
    }
}
