import Foundation
import Metrics
import Strata

/// One output row for the sinks: a stream (table) name, the row's key
/// within it (sinks upsert by (stream, key)), and its value as a JSON
/// object text. Results must be deterministic functions of the input for
/// exactly-once output to be comparable across replays.
public struct SinkRecord: Codable, Sendable, Hashable {
    public var stream: String
    public var key: String
    public var value: String

    public init(stream: String, key: String, value: String) {
        self.stream = stream
        self.key = key
        self.value = value
    }
}

/// Collects what a partition emits while it processes records and watermarks.
public final class OutputCollector {
    var records: [SinkRecord] = []
    var partials: [SinkRecord] = []
    /// Emits a partial result for the pipeline's combine stage
    /// (`PartialResultCombiner`): combined with the other partitions'
    /// partials of the same `stream` and `group` once every partition has
    /// processed the current watermark. Only while processing a watermark
    /// (`PartitionLogic.processWatermark`), and only in a pipeline with a
    /// combiner: anything else fails the run with `.invalidArgument`.
    public func emitPartial(stream: String, group: String, value: String) {
        partials.append(SinkRecord(stream: stream, key: group, value: value))
    }
    /// Emits one row.
    public func emit(stream: String, key: String, value: String) {
        records.append(SinkRecord(stream: stream, key: key, value: value))
    }
    /// Emits one row.
    public func emit(_ record: SinkRecord) { records.append(record) }
}

/// What a pipeline partition runs: the operator chain for its key-group
/// range, over its own `StateBackend`. Built by the pipeline after every
/// (re)start from the restored backend; everything it keeps must live in
/// that backend (or be derivable from it) for exactly-once to hold.
///
/// Thread safety: called on the partition's own thread only.
public protocol PartitionLogic<Record>: AnyObject {
    associatedtype Record
    /// Processes one record (event time `timestamp`).
    func process(_ record: Record, timestamp: Int64, output: OutputCollector) throws
    /// Event time advanced to `watermark` (also called once right after a
    /// restart with the checkpoint's watermark).
    func processWatermark(_ watermark: Int64, output: OutputCollector) throws
    /// Counters for the pipeline's summary and metrics (name → value).
    var counters: [String: Int] { get }
}

extension PartitionLogic {
    public var counters: [String: Int] { [:] }
}

/// What a partition's logic is built from.
public struct PartitionContext {
    /// 0-based partition index.
    public let index: Int
    /// Number of partitions.
    public let partitions: Int
    /// Key groups this partition owns (Flink's contiguous ranges).
    public let keyGroups: ClosedRange<Int>
    /// The partition's state, restored from the last checkpoint.
    public let backend: StateBackend
}

/// When checkpoints are taken.
public enum CheckpointInterval: Sendable, Hashable {
    /// Every so many milliseconds of processing time.
    case every(milliseconds: Int64)
    /// Every so many input records (deterministic; tests).
    case records(Int)
    /// Young's rule as the seed gives it: C = √(2S / (W · λ · c)), with S
    /// the last checkpoint's size (bytes of new files), W the measured
    /// checkpoint bandwidth (S / its duration), λ the configured failure
    /// rate per second and c the cost of a second of lost work; clamped to
    /// `minimum...maximum` ms. Starts at `minimum`.
    case auto(failuresPerHour: Double, costPerSecond: Double, minimum: Int64, maximum: Int64)
}

/// Options of a pipeline run.
public struct PipelineOptions: Sendable {
    /// Root directory: `state/`, `checkpoints/`, `outputs/` live here.
    public var directory: String
    /// Parallel partitions (threads), each with its own state (default 2).
    public var partitions: Int = 2
    /// Key groups (Flink `maxParallelism`, default 128); fixed for the life of the job.
    public var maxParallelism: Int = 128
    /// Checkpoint cadence (default every second).
    public var checkpointInterval: CheckpointInterval = .every(milliseconds: 1_000)
    /// How watermarks are generated (default: bounded out-of-orderness of
    /// 1 s). A `StreamJob` sets it from its `source(_:watermarks:timestamp:)`.
    public var watermarks: WatermarkStrategy = .boundedOutOfOrderness(.seconds(1))
    /// When set, a barrier is also sent as soon as some partition has
    /// staged output rows and this long has passed since the previous
    /// barrier, so output waits about this long for its commit instead of
    /// up to a whole `checkpointInterval` (default nil: checkpoints only at
    /// the interval). More checkpoints while rows flow, each a memtable
    /// flush per partition; quiet stretches keep the interval. No RocksDB or
    /// Flink option: Flink commits transactional sinks only at its interval.
    public var outputCheckpointDelay: Duration? = nil
    /// Bounded out-of-orderness δ of the watermark in ms: w = max timestamp
    /// − δ − 1. Reading gives `watermarks.maxOutOfOrderness`; setting makes
    /// `watermarks` a bounded strategy with this δ (idleness kept).
    public var maxOutOfOrderness: Int64 {
        get { watermarks.maxOutOfOrderness }
        set {
            var strategy = WatermarkStrategy(kind: .bounded(newValue))
            if let idle = watermarks.idleTimeoutMilliseconds { strategy = strategy.withIdleness(.milliseconds(idle)) }
            watermarks = strategy
        }
    }
    /// A watermark is sent after every this many records of the source
    /// (at record indexes divisible by it: the same places on every replay).
    public var watermarkEveryRecords: Int = 1_000
    /// While the source has no record ready (`SourcePoll.pending`), and
    /// always for a live source (`ReplayableSource.isLive`), a watermark is
    /// sent this often (default 50 ms; Flink's
    /// `pipeline.auto-watermark-interval`, whose default is 200 ms — lower
    /// here because it adds to every window's latency); see `WatermarkStrategy`.
    public var watermarkInterval: Duration = .milliseconds(50)
    /// Records per queue batch (amortizes the hand-off between threads).
    public var batchSize: Int = 512
    /// The longest a record waits in a partly filled batch before the batch
    /// is handed to its partition (default 5 ms; Flink's
    /// `execution.buffer-timeout`, whose default is 100 ms). Checked every
    /// 256 records and whenever the source has no record ready.
    public var maxBatchDelay: Duration = .milliseconds(5)
    /// Batches a partition's queue holds before the source waits
    /// (backpressure: a stalled engine slows the source, queues stay bounded).
    public var queueBatches: Int = 16
    /// Send the watermark `Int64.max − 1` at the end of the input, so every
    /// window fires (Flink's end-of-input MAX_WATERMARK). Default true.
    public var finalWatermark: Bool = true
    /// Options of each partition's state backend. Default:
    /// `StateBackendOptions()` with the engine's write-ahead log off
    /// (`writeOptions.disableWAL`), as Flink and Kafka Streams run RocksDB:
    /// a partition's state is always restored from a checkpoint
    /// (`state/part-p` is scratch), and checkpoints flush the memtables
    /// into tables, so a WAL would never be read. Measured with
    /// `stream-bench --workload=latency --rate=100000 --events=1000000`
    /// (docs/pipeline.md, "Latency"): the WAL was 1.09 of the engine's
    /// write amplification of about 6.8, for the same throughput.
    public var backend: StateBackendOptions = {
        var options = StateBackendOptions()
        options.writeOptions.disableWAL = true
        return options
    }()
    /// Stop after this many records of this run (then the run ends with a
    /// final checkpoint, without the final watermark).
    public var maxRecords: UInt64? = nil
    /// Called on the source thread about once a second.
    public var progress: (@Sendable (PipelineProgress) -> Void)? = nil
    /// Label prefix of the pipeline's swift-metrics (see `PipelineMetrics`
    /// in Runtime/PipelineMetrics.swift for the list); nil publishes nothing.
    public var metricsPrefix: String? = "strata_pipeline"
    /// The swift-metrics backend (default: `MetricsSystem.factory`, whatever
    /// the process bootstrapped).
    public var metricsFactory: (any MetricsFactory)? = nil

    public init(directory: String) { self.directory = directory }
}

/// Hooks for tests of the runtime, kept out of `PipelineOptions` so
/// production settings hold no test switches. Passed to
/// `Pipeline.run(testHooks:)` (package access: tests and tools only).
package struct PipelineTestHooks: Sendable {
    /// After this many records of this run, stop as a killed process
    /// would — no final checkpoint, staged output left uncommitted,
    /// partitions abandoned mid-epoch. The next run recovers. nil: never.
    /// Checkpoints complete asynchronously (a partition's finisher thread),
    /// so a run that has sent barriers but completed none of them first
    /// completes those: every kill after the first barrier has a checkpoint
    /// of its run behind it, as the crash tests assume; barriers sent later
    /// stay in flight.
    package var crashAfterRecords: UInt64?
    /// The source loop's processing-time clock (nil: `ContinuousClock.now`).
    /// Tests inject a clock they advance, so time-driven barriers,
    /// batch hand-offs and watermarks are tested without sleeping.
    package var clock: (@Sendable () -> ContinuousClock.Instant)?

    /// Hooks that do nothing.
    package init(crashAfterRecords: UInt64? = nil, clock: (@Sendable () -> ContinuousClock.Instant)? = nil) {
        self.crashAfterRecords = crashAfterRecords
        self.clock = clock
    }
}

/// A progress report.
public struct PipelineProgress: Sendable {
    public var records: UInt64
    public var seconds: Double
    public var watermark: Int64
    public var lastCheckpointEpoch: UInt64
}

/// One completed checkpoint.
public struct PipelineCheckpointStats: Sendable, Codable, Hashable {
    public var epoch: UInt64
    /// From the barrier leaving the source to the checkpoint being complete.
    public var milliseconds: Double
    /// Bytes of new table files across partitions (what an upload would move).
    public var newBytes: UInt64
}

/// What a run did.
public struct PipelineSummary: Sendable {
    /// Records read in this run (after any recovery).
    public var records: UInt64 = 0
    /// Rows committed to the sinks in this run.
    public var outputs: UInt64 = 0
    public var seconds: Double = 0
    /// The checkpoint the run started from (nil: fresh start).
    public var recoveredFromEpoch: UInt64?
    public var checkpoints: [PipelineCheckpointStats] = []
    /// Partition counters added up (see `PartitionLogic.counters`).
    public var counters: [String: Int] = [:]
    /// Per-partition engine statistics at the end.
    public var engineStats: [String] = []
    /// Seconds the source waited, in all, for room in full partition
    /// queues: the pipeline's backpressure (slow partitions, engine write
    /// stalls), which holds the source back instead of buffering.
    public var backpressureSeconds: Double = 0
    /// The longest stretch of backpressure in seconds: waits less than
    /// 20 ms of running apart count as one stretch.
    public var longestBackpressureSeconds: Double = 0
}
