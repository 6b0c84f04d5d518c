import Foundation
import Strata
import Synchronization

/// The metadata of a complete pipeline checkpoint,
/// `checkpoints/epoch-E.json`; its existence is what makes epoch E complete.
struct PipelineCheckpoint: Codable {
    var epoch: UInt64
    var position: SourcePosition
    /// The watermark generator's state: the largest timestamp read.
    var maxTimestamp: Int64?
    /// The watermark the partitions had when they took their checkpoints.
    var watermark: Int64
    /// Per partition, the id of its state checkpoint in `checkpoints/part-P`.
    var partitionCheckpoints: [String]
    var partitions: Int
    var maxParallelism: Int
}

/// What flows from the source thread to a partition.
enum PartitionItem<Record> {
    case records([(Record, Int64)])
    case watermark(Int64)
    case barrier(UInt64)
    case stop
}

/// What partitions report back at barriers, behind a lock (shared by the
/// source thread and the partition threads).
final class AckBoard: @unchecked Sendable {
    // @unchecked: `state` is only touched with `lock` held. An NSLock (a
    // pthread mutex) rather than Synchronization.Mutex, so ThreadSanitizer
    // sees the synchronization (tools/run-tsan.sh runs the pipeline tests).
    private let lock = NSLock()
    private var state = BarrierAcks()
    /// Set by a partition that staged output rows; cleared by the source
    /// thread when it sends a barrier (`PipelineOptions.outputCheckpointDelay`).
    let outputStaged = Atomic<Bool>(false)
    func withLock<R>(_ body: (inout BarrierAcks) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&state)
    }
}

struct BarrierAcks {
    var checkpointIDs: [UInt64: [Int: String]] = [:]
    var newBytes: [UInt64: UInt64] = [:]
    var failure: String?
    var counters: [Int: [String: Int]] = [:]
    var rows: [Int: UInt64] = [:]
    var engine: [Int: String] = [:]
    /// Per epoch, rows staged by all partitions.
    var epochRowCounts: [UInt64: Int] = [:]
    /// Per partition, table and memtable bytes at its last checkpoint.
    var stateBytes: [Int: UInt64] = [:]
    /// Per epoch and partition, the rows staged (kept only when there are
    /// committers, so they need not be read back from the staged files).
    var epochRows: [UInt64: [Int: [SinkRecord]]] = [:]
}

/// A keyed streaming job with exactly-once output (operators.md
/// "Exactly-once"): one source thread reads a replayable source, assigns
/// watermarks and routes records by key group to N partition threads
/// (each owns a contiguous key-group range and its own `StateBackend`;
/// per-key order is kept); partitions run their `PartitionLogic` and stage
/// output per epoch. Checkpoints are aligned barriers: the source sends
/// barrier E to every partition; each flushes its caches, takes an
/// incremental state checkpoint (`CheckpointStore`, hard links) and fsyncs
/// its staged output; when all have, the source writes
/// `checkpoints/epoch-E.json` (source position and watermark state) — the
/// commit point — then commits the sinks (JSON lines by rename, then each
/// `EpochCommitter`). A restart opens the latest complete checkpoint,
/// restores every partition's state, finishes or discards staged output,
/// seeks the source and replays: the committed output equals a
/// failure-free run's. An optional combine stage (`PartialResultCombiner`)
/// turns the partitions' partial results of each watermark into global
/// rows (docs/pipeline.md, "Combine stage").
///
/// Thread safety: `run` blocks its caller (the source thread) and starts
/// one thread per partition; one run at a time per directory.
public final class Pipeline<Source: ReplayableSource> {
    public typealias Record = Source.Record
    public let options: PipelineOptions
    private let source: Source
    private let routingKey: (Record) -> [UInt8]
    private let timestamp: (Record) -> Int64
    private let makeLogic: (PartitionContext) throws -> any PartitionLogic<Record>
    private let committers: [any EpochCommitter]
    private let combiner: (any PartialResultCombiner)?

    /// A pipeline over `source` keyed by `key` with `keyCodec`, the codec
    /// its operators' state uses for that key: records are routed by the
    /// key's stored encoding (`StateKey.storedEncoding`), the bytes its
    /// state key group is computed from, so every key's state lies in the
    /// key groups its partition owns. `timestamp` gives a record's event
    /// time; `logic` builds a partition's operator chain; `combiner`, if
    /// any, is the second stage that combines the partitions' partial
    /// results (`OutputCollector.emitPartial`) into final rows.
    public convenience init<KeyCodec: StateCodec>(
        options: PipelineOptions, source: Source, key: @escaping (Record) -> KeyCodec.Value, keyCodec: KeyCodec,
        timestamp: @escaping (Record) -> Int64, committers: [any EpochCommitter] = [],
        combiner: (any PartialResultCombiner)? = nil,
        logic: @escaping (PartitionContext) throws -> any PartitionLogic<Record>
    ) throws {
        try self.init(options: options, source: source, key: { StateKey.storedEncoding(of: key($0), codec: keyCodec) },
                      timestamp: timestamp, committers: committers, combiner: combiner, logic: logic)
    }

    /// A pipeline over `source`: `key` gives the bytes a record is
    /// partitioned by. They must be the key's stored encoding
    /// (`StateKey.storedEncoding(of:codec:)` with the codec the operators'
    /// state uses; for a fixed-width codec such as `Int64Codec` that is
    /// just the codec's bytes), or a key's state may lie in key groups its
    /// partition does not own; prefer `init(options:source:key:keyCodec:…)`.
    /// `timestamp` gives a record's event time; `logic` builds a
    /// partition's operator chain; `combiner`, if any, is the second stage
    /// that combines the partitions' partial results
    /// (`OutputCollector.emitPartial`) into final rows.
    public init(options: PipelineOptions, source: Source, key: @escaping (Record) -> [UInt8],
                timestamp: @escaping (Record) -> Int64, committers: [any EpochCommitter] = [],
                combiner: (any PartialResultCombiner)? = nil,
                logic: @escaping (PartitionContext) throws -> any PartitionLogic<Record>) throws {
        try options.validate()
        self.options = options
        self.source = source
        self.routingKey = key
        self.timestamp = timestamp
        self.committers = committers
        self.combiner = combiner
        self.makeLogic = logic
    }

    private var root: String { options.directory }
    private var checkpointsDir: String { "\(root)/checkpoints" }
    private func stateDir(_ p: Int) -> String { "\(root)/state/part-\(p)" }
    private func storeDir(_ p: Int) -> String { "\(checkpointsDir)/part-\(p)" }

    /// The key groups partition `p` owns (Flink's formula, contiguous).
    public static func keyGroups(partition p: Int, partitions: Int, maxParallelism: Int) -> ClosedRange<Int> {
        let first = (p * maxParallelism + partitions - 1) / partitions
        let end = ((p + 1) * maxParallelism + partitions - 1) / partitions
        return first...(end - 1)
    }

    /// The partition of a key group (inverse of `keyGroups`).
    static func partition(ofKeyGroup group: Int, partitions: Int, maxParallelism: Int) -> Int {
        group * partitions / maxParallelism
    }

    /// The latest complete checkpoint in `directory`, if any.
    static func latestCheckpoint(in checkpointsDir: String) throws -> PipelineCheckpoint? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpointsDir)) ?? []
        let epochs = names.compactMap { name -> UInt64? in
            guard name.hasPrefix("epoch-"), name.hasSuffix(".json") else { return nil }
            return UInt64(name.dropFirst(6).dropLast(5))
        }
        guard let latest = epochs.max() else { return nil }
        let path = "\(checkpointsDir)/epoch-\(latest).json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StrataError(.ioError, "cannot read pipeline checkpoint", file: path)
        }
        do {
            return try JSONDecoder().decode(PipelineCheckpoint.self, from: data)
        } catch {
            throw StrataError(.corruption, "pipeline checkpoint is not valid JSON: \(error)", file: path)
        }
    }

    /// Every row committed to the JSON-lines sink of the pipeline in
    /// `directory`, per partition in commit order; with a combine stage,
    /// one more array last: its final rows in commit order.
    public static func committedOutput(directory: String) throws -> [[SinkRecord]] {
        try EpochOutputs.committedRecords(root: "\(directory)/outputs")
    }

    /// Runs to the end of the source (or `options.maxRecords`), starting
    /// from the latest complete checkpoint if there is one.
    public func run() throws -> PipelineSummary { try run(testHooks: PipelineTestHooks()) }

    /// `run()` with test hooks (a simulated crash; see `PipelineTestHooks`).
    package func run(testHooks: PipelineTestHooks) throws -> PipelineSummary {
        let fm = FileManager.default
        try fm.createDirectory(atPath: checkpointsDir, withIntermediateDirectories: true)
        let outputs = EpochOutputs(root: "\(root)/outputs", partitions: options.partitions, combined: combiner != nil)
        try outputs.prepare()
        var summary = PipelineSummary()
        let started = ContinuousClock.now

        // Recovery: restore every partition from the latest complete checkpoint.
        let latest = try Self.latestCheckpoint(in: checkpointsDir)
        if let latest, latest.partitions != options.partitions || latest.maxParallelism != options.maxParallelism {
            throw StrataError(.invalidArgument, "pipeline: checkpoint \(latest.epoch) has \(latest.partitions) partitions"
                              + " of \(latest.maxParallelism) key groups; this run asks for \(options.partitions)"
                              + " of \(options.maxParallelism) (rescaling is not supported)")
        }
        var stores: [CheckpointStore] = []
        for p in 0..<options.partitions {
            try? fm.removeItem(atPath: stateDir(p))
            try fm.createDirectory(atPath: "\(root)/state", withIntermediateDirectories: true)
            let store = try CheckpointStore.open(at: storeDir(p))
            if let latest {
                let keep = latest.partitionCheckpoints[p]
                try store.restore(id: keep, to: stateDir(p))
                for manifest in store.list() where manifest.id != keep { try store.delete(id: manifest.id) }
            } else {
                for manifest in store.list() { try store.delete(id: manifest.id) }
            }
            stores.append(store)
        }
        try outputs.recover(lastComplete: latest?.epoch ?? 0)
        for committer in committers {
            var next = try committer.lastCommittedEpoch() + 1
            while let latest, next <= latest.epoch {
                try committer.commit(epoch: next, records: try outputs.records(ofEpoch: next))
                next += 1
            }
        }
        summary.recoveredFromEpoch = latest?.epoch
        if let latest { try source.seek(to: latest.position) }
        var marks = try SourceWatermarks(strategy: options.watermarks, maxTimestamp: latest?.maxTimestamp)
        var watermark = latest?.watermark ?? .min
        var epoch = (latest?.epoch ?? 0) + 1
        var completedEpoch = latest?.epoch ?? 0
        var checkpointIDs: [UInt64: [String]] = [:]
        if let latest { checkpointIDs[latest.epoch] = latest.partitionCheckpoints }

        let metrics = options.metricsPrefix.map {
            PipelineMetrics(prefix: $0, factory: options.metricsFactory, partitions: options.partitions)
        }

        // Partitions, and the combine stage they report to.
        let acks = AckBoard()
        let combine = combiner.map {
            CombineStage(combiner: $0, partitions: options.partitions,
                         writer: StagedEpochWriter(outputs: outputs, partition: options.partitions), keepRows: !committers.isEmpty)
        }
        let queues = (0..<options.partitions).map { _ in BoundedQueue<Handoff<PartitionItem<Record>>>(capacity: options.queueBatches) }
        let finished = DispatchSemaphore(value: 0)
        for p in 0..<options.partitions {
            let backend = try StateBackend.open(at: stateDir(p), options: options.backend)
            let context = PartitionContext(index: p, partitions: options.partitions,
                                           keyGroups: Self.keyGroups(partition: p, partitions: options.partitions,
                                                                     maxParallelism: options.maxParallelism),
                                           backend: backend)
            let logic = try makeLogic(context)
            let worker = PartitionWorker<Record>(index: p, backend: backend, logic: logic, store: stores[p], queue: queues[p],
                                         writer: StagedEpochWriter(outputs: outputs, partition: p), acks: acks,
                                         firstEpoch: epoch, initialWatermark: watermark, finished: finished,
                                         keepRows: !committers.isEmpty, combine: combine,
                                         engineMetrics: metrics?.engineReporter(backend.database, partition: p),
                                         metrics: metrics?.partition(p))
            let box = Handoff(value: worker)
            let thread = Thread { box.value.run() }
            thread.stackSize = 4 << 20
            thread.start()
        }

        // The source loop.
        let clock = testHooks.clock ?? { ContinuousClock.now }
        var batches = [[(Record, Int64)]](repeating: [], count: options.partitions)
        /// When the oldest record in a partly filled batch was added (nil: all empty).
        var batchedSince: ContinuousClock.Instant? = nil
        var backpressure = BackpressureStretches()
        /// Hands `item` to partition `p`, waiting while its queue is full.
        func push(_ item: PartitionItem<Record>, to p: Int, records: Int) {
            let waited = queues[p].push(Handoff(value: item))
            if waited > 0 { backpressure.waited(waited, endingAt: DispatchTime.now().uptimeNanoseconds) }
            metrics?.routed(partition: p, records: records, waitedNanoseconds: waited)
        }
        func flushBatches() {
            for p in 0..<options.partitions where !batches[p].isEmpty {
                push(.records(batches[p]), to: p, records: batches[p].count)
                batches[p] = []
                batches[p].reserveCapacity(options.batchSize)
            }
            batchedSince = nil
        }
        func broadcast(_ item: PartitionItem<Record>) {
            flushBatches()
            for p in queues.indices { push(item, to: p, records: 0) }
        }
        var barrierSent: [UInt64: (ContinuousClock.Instant, SourcePosition, Int64?, Int64)] = [:]
        var checkpointDue = interval(lastSize: nil, lastDuration: nil)
        let runStart = clock()
        var lastCheckpointAt = runStart
        var recordsSinceCheckpoint = 0
        var lastProgress = runStart
        var lastTimedWatermark = runStart
        /// Processing time in ms since the run started, as of the last tick.
        var nowMs: Int64 = 0
        var recordsAtLastTick = summary.records

        func sendBarrier() {
            acks.outputStaged.store(false, ordering: .relaxed)
            barrierSent[epoch] = (clock(), source.position, marks.maxTimestamp, watermark)
            broadcast(.barrier(epoch))
            epoch += 1
            lastCheckpointAt = clock()
            recordsSinceCheckpoint = 0
        }
        func emitWatermark(_ w: Int64) {
            guard w > watermark else { return }
            watermark = w
            broadcast(.watermark(w))
            metrics?.watermark(w, maxTimestamp: marks.maxTimestamp ?? w)
        }

        /// Finishes every epoch all partitions have acknowledged, in order.
        func completeCheckpoints(wait: Bool) throws {
            while true {
                let next = completedEpoch + 1
                guard let sent = barrierSent[next] else { return }
                var ready: [Int: String]? = nil
                var bytes: UInt64 = 0
                while true {
                    let (ids, failure, b) = acks.withLock { ($0.checkpointIDs[next], $0.failure, $0.newBytes[next] ?? 0) }
                    if let failure { throw StrataError(.ioError, "pipeline partition failed: \(failure)") }
                    if let ids, ids.count == options.partitions { ready = ids; bytes = b; break }
                    if !wait { return }
                    usleep(200)
                }
                let ids = (0..<options.partitions).map { ready![$0]! }
                let meta = PipelineCheckpoint(epoch: next, position: sent.1, maxTimestamp: sent.2, watermark: sent.3,
                                              partitionCheckpoints: ids, partitions: options.partitions,
                                              maxParallelism: options.maxParallelism)
                // Every partition passed barrier `next`: the combine stage has
                // staged all final rows of the epoch; make them durable first.
                try combine?.finishEpoch(next)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                try writeFileAtomically(try encoder.encode(meta), to: "\(checkpointsDir)/epoch-\(next).json")
                // Committed: make its output visible, then drop what only older checkpoints need.
                try outputs.commit(next)
                var rows: [SinkRecord] = []
                if !committers.isEmpty {
                    let inMemory = acks.withLock { $0.epochRows.removeValue(forKey: next) } ?? [:]
                    if inMemory.count == options.partitions {
                        for p in 0..<options.partitions { rows += inMemory[p]! }
                        rows += combine?.takeRows(next) ?? []
                    } else {
                        rows = try outputs.records(ofEpoch: next)
                    }
                }
                for committer in committers where try committer.lastCommittedEpoch() < next {
                    try committer.commit(epoch: next, records: rows)
                }
                if let previous = checkpointIDs[completedEpoch] {
                    for (p, id) in previous.enumerated() { try stores[p].delete(id: id) }
                    try? fm.removeItem(atPath: "\(checkpointsDir)/epoch-\(completedEpoch).json")
                }
                checkpointIDs[completedEpoch] = nil
                checkpointIDs[next] = ids
                completedEpoch = next
                let duration = clock() - sent.0
                let ms = Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
                summary.checkpoints.append(PipelineCheckpointStats(epoch: next, milliseconds: ms, newBytes: bytes))
                let (state, counters, rowCount) = acks.withLock { board -> (UInt64, [Int: [String: Int]], Int) in
                    (board.stateBytes.values.reduce(0, +), board.counters, board.epochRowCounts.removeValue(forKey: next) ?? 0)
                }
                metrics?.checkpointCompleted(milliseconds: ms, newBytes: bytes, rows: rowCount, state: state,
                                             counters: counters)
                barrierSent[next] = nil
                acks.withLock {
                    $0.checkpointIDs[next] = nil
                    $0.newBytes[next] = nil
                }
                checkpointDue = interval(lastSize: bytes, lastDuration: ms)
            }
        }

        var failure: (any Error)? = nil
        do {
            if latest != nil { broadcast(.watermark(watermark)) }
            let limit = min(options.maxRecords ?? .max, testHooks.crashAfterRecords ?? .max)
            /// Time-driven work, every `tickMask + 1` records and whenever the
            /// source has no record ready (`pending`): hand over batches that
            /// waited `maxBatchDelay`, send a timed watermark (only while
            /// pending or for a live source: a file's replay never pends, so
            /// its watermarks stay at fixed record indexes), send a due
            /// barrier, finish acknowledged checkpoints, report progress.
            /// The stride adapts: from 256 records down to every record when
            /// records come more than 1 ms apart (a slow live source), back up
            /// when they come fast, so time is looked at about every 0.1–1 ms.
            let live = source.isLive
            var tickMask: UInt64 = 255
            var lastTick = clock()
            /// `fixedPoint`: the record count is a multiple of 256, the only
            /// places (besides `pending`) where a `.records(n)` interval is
            /// checked, so record-count checkpoints fall where they always did.
            func tick(pending: Bool, fixedPoint: Bool) throws {
                let now = clock()
                let sinceTick = now - lastTick
                lastTick = now
                if sinceTick > .milliseconds(1) {
                    tickMask >>= 1
                } else if sinceTick < .microseconds(100) && tickMask < 255 {
                    tickMask = tickMask << 1 | 1
                }
                nowMs = (now - runStart).wholeMilliseconds
                if summary.records != recordsAtLastTick {
                    recordsAtLastTick = summary.records
                    marks.lastRecordAt = nowMs
                }
                if let since = batchedSince, now - since >= options.maxBatchDelay { flushBatches() }
                if pending || live, now - lastTimedWatermark >= options.watermarkInterval {
                    lastTimedWatermark = now
                    if let w = marks.timedWatermark(now: nowMs) { emitWatermark(w) }
                }
                var due: Bool
                switch checkpointDue {
                case .records(let n): due = (pending || fixedPoint) && recordsSinceCheckpoint >= n
                case .milliseconds(let ms): due = now - lastCheckpointAt >= .milliseconds(ms)
                }
                if !due, let delay = options.outputCheckpointDelay, now - lastCheckpointAt >= delay,
                   acks.outputStaged.load(ordering: .relaxed) {
                    due = true
                }
                if due { sendBarrier() }
                try completeCheckpoints(wait: false)
                if let progress = options.progress, now - lastProgress >= .seconds(1) {
                    lastProgress = now
                    let elapsed = now - runStart
                    progress(PipelineProgress(records: summary.records,
                                              seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                                              watermark: watermark, lastCheckpointEpoch: completedEpoch))
                }
            }
            /// How long the source may wait for a record before the next tick.
            func pollTimeout() -> Duration {
                batchedSince == nil ? min(options.watermarkInterval, .milliseconds(10)) : min(options.maxBatchDelay, .milliseconds(10))
            }
            reading: while summary.records < limit {
                let record: Record
                switch try source.poll(timeout: pollTimeout()) {
                case .record(let r): record = r
                case .pending:
                    try tick(pending: true, fixedPoint: false)
                    continue reading
                case .end: break reading
                }
                let ts = timestamp(record)
                marks.observe(ts, now: nowMs)
                let group = Int(XXPH3.hash64(routingKey(record)) % UInt64(options.maxParallelism))
                let p = Self.partition(ofKeyGroup: group, partitions: options.partitions, maxParallelism: options.maxParallelism)
                if batchedSince == nil { batchedSince = clock() }
                batches[p].append((record, ts))
                if batches[p].count >= options.batchSize {
                    push(.records(batches[p]), to: p, records: batches[p].count)
                    batches[p] = []
                    batches[p].reserveCapacity(options.batchSize)
                }
                summary.records += 1
                recordsSinceCheckpoint += 1
                // At fixed record indexes of the source (not of this run), so a
                // replay after recovery sees the same watermarks at the same
                // places: lateness and output order are the same.
                if source.position.record % UInt64(max(1, options.watermarkEveryRecords)) == 0,
                   let w = marks.watermark(now: nowMs) {
                    emitWatermark(w)
                }
                if summary.records & tickMask == 0 { try tick(pending: false, fixedPoint: summary.records & 255 == 0) }
            }
            if let crash = testHooks.crashAfterRecords, summary.records >= crash {
                // Simulated kill: leave everything as it is — except that a
                // run whose barriers have not completed any checkpoint yet
                // first completes those already sent (`crashAfterRecords`).
                if completedEpoch == (latest?.epoch ?? 0) && !barrierSent.isEmpty {
                    try completeCheckpoints(wait: true)
                }
            } else {
                if summary.records < limit && options.finalWatermark && watermark < .max - 1 {
                    watermark = .max - 1
                    broadcast(.watermark(watermark))
                }
                sendBarrier()
                try completeCheckpoints(wait: true)
            }
        } catch {
            failure = error
        }
        broadcast(.stop)
        for _ in 0..<options.partitions { finished.wait() }
        if let failure { throw failure }
        let elapsed = ContinuousClock.now - started
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        summary.backpressureSeconds = Double(backpressure.totalNanoseconds) / 1e9
        summary.longestBackpressureSeconds = Double(backpressure.longestNanoseconds) / 1e9
        acks.withLock { state in
            for (_, counters) in state.counters {
                for (name, value) in counters { summary.counters[name, default: 0] += value }
            }
            summary.outputs = state.rows.values.reduce(0, +) + (combine?.rowsWritten ?? 0)
            summary.engineStats = (0..<options.partitions).map { state.engine[$0] ?? "" }
        }
        for store in stores { store.close() }
        return summary
    }

    private enum Due { case records(Int), milliseconds(Int64) }

    /// The next checkpoint interval.
    private func interval(lastSize: UInt64?, lastDuration: Double?) -> Due {
        switch options.checkpointInterval {
        case .records(let n): return .records(max(1, n))
        case .every(let ms): return .milliseconds(max(1, ms))
        case .auto(let failuresPerHour, let cost, let minimum, let maximum):
            guard let size = lastSize, let ms = lastDuration, ms > 0, size > 0, failuresPerHour > 0, cost > 0 else {
                return .milliseconds(minimum)
            }
            let bandwidth = Double(size) / (ms / 1000)                 // W, bytes/s
            let lambda = failuresPerHour / 3600                         // failures per second
            let seconds = (2 * Double(size) / (bandwidth * lambda * cost)).squareRoot()
            return .milliseconds(min(maximum, max(minimum, Int64(seconds * 1000))))
        }
    }
}
