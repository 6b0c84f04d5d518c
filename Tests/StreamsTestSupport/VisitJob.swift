import Foundation
import Strata
import StrataStreams

/// A page visit: the user who visited and the visit's event time (ms).
/// The record of the visit job that the sink tests (Redis, PostgreSQL) and
/// tools/redis-sink-job run.
package struct Visit: Sendable {
    /// The visiting user; the pipeline's key.
    package var user: Int64
    /// Event time in milliseconds (may run backwards by a bounded amount).
    package var ts: Int64

    /// A visit by `user` at event time `ts`.
    package init(user: Int64, ts: Int64) {
        self.user = user
        self.ts = ts
    }
}

/// Seeded visits for a `GeneratorSource`: visit `i` (0-based) is decided by
/// `seed` and `i` alone, so the source is seekable and a replay yields the
/// same visits. `nil` from `count` on. Users are 0..<30; visit `i` happens
/// at `i * 10` ms minus up to 200 ms of jitter (out of order by at most
/// 200 ms). Changing the mix changes the numbers the tests expect.
package func visitGenerator(seed: UInt64, count: UInt64) -> (UInt64) -> Visit? {
    { i in
        guard i < count else { return nil }
        var r = SplitMix64(seed: seed &* 1_000_003 &+ i)
        return Visit(user: Int64.random(in: 0..<30, using: &r), ts: Int64(i) * 10 - Int64.random(in: 0...200, using: &r))
    }
}

/// The visit job's per-partition logic. Two output streams:
/// - `"totals"`: per record, the user's running visit count, key the user,
///   value `{"visits":N,"last":TS}` (a value per key that changes with every
///   record: a cache or keyed table keeps the latest);
/// - `"counts"`: tumbling 1 s visit counts per user, key `"user|window start"`,
///   value the count, emitted as the watermark closes each window.
///
/// State: value state `"totals"` and the window operator `"counts"` in the
/// partition's backend (restored from the checkpoint on a restart). Used by
/// one partition thread at a time, as every `PartitionLogic`.
package final class VisitLogic: PartitionLogic {
    let backend: StateBackend
    let totals: ValueState<Int64Codec>
    let counts: WindowOperator<Int64Codec, Visit, Int64>

    /// Opens (or restores) the partition's state in `context.backend`.
    package init(_ context: PartitionContext) throws {
        backend = context.backend
        totals = try backend.valueState(StateDescriptor("totals"), valueCodec: Int64Codec())
        counts = try WindowOperator(name: "counts", backend: backend, keyCodec: Int64Codec(),
                                    assigner: try .tumbling(size: 1_000), aggregate: CountAggregate<Visit>())
    }

    /// Counts the visit: emits the user's new total and any window results due.
    package func process(_ record: Visit, timestamp: Int64, output: OutputCollector) throws {
        let key = backend.stateKey(record.user, codec: Int64Codec())
        let n = (try totals.value(for: key) ?? 0) + 1
        try totals.update(n, for: key)
        output.emit(stream: "totals", key: "\(record.user)", value: "{\"visits\":\(n),\"last\":\(timestamp)}")
        try counts.processElement(key: record.user, timestamp: timestamp, value: record)
        drain(output)
    }

    /// Advances event time to `watermark` and emits the counts of the windows it closes.
    package func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        try counts.processWatermark(watermark)
        drain(output)
    }

    private func drain(_ output: OutputCollector) {
        for case .result(let r) in counts.takeOutput() {
            output.emit(stream: "counts", key: "\(r.key)|\(r.window.start)", value: "\(r.value)")
        }
    }
}

/// Runs the visit job (`visitGenerator(seed:count:)` into `VisitLogic`) in
/// `directory` (created if missing; a run resumes from its last complete
/// checkpoint) with `sink` as the committer, under the sink tests' options:
/// 3 partitions, a checkpoint every 300 records, 300 ms out-of-orderness, a
/// watermark every 50 records, batches of 64, a 1 MiB write buffer, 256
/// write-back cache entries, no metrics. `crashAfter` stops the run as a
/// killed process would after that many records (`PipelineTestHooks`).
package func runVisitJob(_ directory: String, seed: UInt64, count: UInt64, sink: any EpochCommitter,
                         crashAfter: UInt64? = nil) throws -> PipelineSummary {
    var options = PipelineOptions(directory: directory)
    options.partitions = 3
    options.checkpointInterval = .records(300)
    options.maxOutOfOrderness = 300
    options.watermarkEveryRecords = 50
    options.batchSize = 64
    options.backend.engine.writeBufferSize = 1 << 20
    options.backend.writeBackCacheEntries = 256
    options.metricsPrefix = nil
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let pipeline = try Pipeline(options: options, source: GeneratorSource(visitGenerator(seed: seed, count: count)),
                                key: { Int64Codec().encoded($0.user) }, timestamp: \.ts,
                                committers: [sink]) { context in try VisitLogic(context) }
    return try pipeline.run(testHooks: PipelineTestHooks(crashAfterRecords: crashAfter))
}

/// Passes epochs to `inner`, crashing and restarting the sink's server
/// (`restart`) just before committing each epoch in `restartBefore`: a
/// server crash the committer must ride through. Called on the pipeline's
/// source thread, as every `EpochCommitter`.
package final class RestartingCommitter: EpochCommitter {
    private let inner: any EpochCommitter
    private let restart: () throws -> Void
    private var restartBefore: Set<UInt64>
    /// How many times it restarted the server so far.
    package private(set) var restarts = 0

    /// Wraps `inner`; `restart` kills and restarts its server.
    package init(_ inner: any EpochCommitter, restartBefore: Set<UInt64>, restart: @escaping () throws -> Void) {
        self.inner = inner
        self.restartBefore = restartBefore
        self.restart = restart
    }

    /// `inner`'s last committed epoch.
    package func lastCommittedEpoch() throws -> UInt64 { try inner.lastCommittedEpoch() }

    /// Restarts the server first if `epoch` is one of the chosen, then commits through `inner`.
    package func commit(epoch: UInt64, records: [SinkRecord]) throws {
        if restartBefore.remove(epoch) != nil {
            try restart()
            restarts += 1
        }
        try inner.commit(epoch: epoch, records: records)
    }
}

/// What `runVisitJobThroughCrashes` saw.
package struct VisitJobCrashRuns<Sink: EpochCommitter> {
    /// The committer of the last run (the one that ran to the end).
    package var sink: Sink
    /// Each run's `recoveredFromEpoch`, in order (the first is the first run's).
    package var recoveries: [UInt64?]
    /// How many times the sink's server was restarted.
    package var serverRestarts: Int
}

/// The sink tests' crash schedule over `runVisitJob` in `directory`: four
/// runs stopped as if killed after a random number of records (700...2,000,
/// from SplitMix64 of `seed`), each replaying from its last checkpoint;
/// before the first two epochs of the first and third run the sink's server
/// crashes and restarts (`restartServer`); then a run to the end. Every run
/// commits through a new committer from `makeSink` (as a restarted job
/// would open it).
package func runVisitJobThroughCrashes<Sink: EpochCommitter>(
    _ directory: String, seed: UInt64, count: UInt64, makeSink: () throws -> Sink,
    restartServer: @escaping () throws -> Void
) throws -> VisitJobCrashRuns<Sink> {
    var random = SplitMix64(seed: seed)
    var recoveries: [UInt64?] = []
    var restarts = 0
    for crash in 0..<4 {
        let inner = try makeSink()
        let first = try inner.lastCommittedEpoch() + 1
        let sink = RestartingCommitter(inner, restartBefore: crash % 2 == 0 ? [first, first + 1] : [], restart: restartServer)
        let r = try runVisitJob(directory, seed: seed, count: count, sink: sink,
                                crashAfter: UInt64.random(in: 700...2_000, using: &random))
        recoveries.append(r.recoveredFromEpoch)
        restarts += sink.restarts
    }
    let sink = try makeSink()
    let final = try runVisitJob(directory, seed: seed, count: count, sink: sink)
    recoveries.append(final.recoveredFromEpoch)
    return VisitJobCrashRuns(sink: sink, recoveries: recoveries, serverRestarts: restarts)
}
