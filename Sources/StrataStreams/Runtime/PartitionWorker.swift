import Foundation
import Strata
import Synchronization

/// One partition's thread: runs the logic over its queue, stages output,
/// takes its state checkpoint at each barrier.
final class PartitionWorker<Record> {
    let index: Int
    let backend: StateBackend
    let logic: any PartitionLogic<Record>
    let store: CheckpointStore
    let queue: BoundedQueue<Handoff<PartitionItem<Record>>>
    let writer: StagedEpochWriter
    let acks: AckBoard
    var epoch: UInt64
    var watermark: Int64
    let finished: DispatchSemaphore
    let output = OutputCollector()
    /// Hand each epoch's rows to the committers in memory.
    let keepRows: Bool
    var epochRows: [SinkRecord] = []
    /// Publishes the engine's figures at every checkpoint (nil: metrics off).
    let engineMetrics: MetricsReporter?
    /// Rows out and checkpoint durations (nil: metrics off).
    let metrics: PartitionMetrics?
    var rowsAtLastBarrier: UInt64 = 0
    /// The second stage this partition reports its partials to (nil: none).
    let combine: CombineStage?
    /// Begun checkpoints, in barrier order, for the finisher thread.
    let finisher = BoundedQueue<Handoff<FinisherItem>>(capacity: 4)
    let finisherDone = DispatchSemaphore(value: 0)

    init(index: Int, backend: StateBackend, logic: any PartitionLogic<Record>, store: CheckpointStore,
         queue: BoundedQueue<Handoff<PartitionItem<Record>>>, writer: StagedEpochWriter, acks: AckBoard,
         firstEpoch: UInt64, initialWatermark: Int64, finished: DispatchSemaphore, keepRows: Bool,
         combine: CombineStage?, engineMetrics: MetricsReporter?, metrics: PartitionMetrics?) {
        self.metrics = metrics
        self.keepRows = keepRows
        self.combine = combine
        self.engineMetrics = engineMetrics
        self.index = index
        self.backend = backend
        self.logic = logic
        self.store = store
        self.queue = queue
        self.writer = writer
        self.acks = acks
        self.epoch = firstEpoch
        self.watermark = initialWatermark
        self.finished = finished
    }

    func run() {
        let box = Handoff(value: self)
        let thread = Thread { box.value.runFinisher() }
        thread.stackSize = 1 << 20
        thread.start()
        var failed = false
        loop: while true {
            let item = queue.pop().value
            if failed {
                if case .stop = item { break loop }
                continue
            }
            do {
                switch item {
                case .records(let records):
                    for (record, ts) in records { try logic.process(record, timestamp: ts, output: output) }
                    guard output.partials.isEmpty else {
                        throw StrataError(.invalidArgument, "pipeline: partial results emitted while processing records;"
                                          + " emit them while processing a watermark")
                    }
                    try drainOutput()
                case .watermark(let w):
                    watermark = w
                    try logic.processWatermark(w, output: output)
                    try drainOutput()
                    if let combine {
                        try combine.report(partition: index, watermark: w, epoch: epoch, partials: output.partials)
                        output.partials.removeAll(keepingCapacity: true)
                    } else if !output.partials.isEmpty {
                        throw StrataError(.invalidArgument, "pipeline: partial results emitted, but the pipeline has no combiner")
                    }
                case .barrier(let e):
                    let barrierAt = ContinuousClock.now
                    try writer.close()
                    try backend.flush()
                    // The cut is fixed here; its memtables flush in the
                    // background and the finisher thread stores and
                    // acknowledges it, while this thread goes on.
                    let pending = try store.beginCreate(from: backend.database)
                    let rows = writer.rowsWritten
                    let epochRowCount = Int(rows - rowsAtLastBarrier)
                    rowsAtLastBarrier = rows
                    engineMetrics?.report()
                    let database = backend.database
                    let stateBytes = (UInt64(database.property("strata.total-sst-files-size") ?? "") ?? 0)
                        + (UInt64(database.property("strata.cur-size-all-mem-tables") ?? "") ?? 0)
                    finisher.push(Handoff(value: .checkpoint(BarrierSnapshot(
                        epoch: e, pending: pending, barrierAt: barrierAt, counters: logic.counters, rows: rows,
                        epochRowCount: epochRowCount, stateBytes: stateBytes, staged: epochRows))))
                    epochRows = []
                    epoch = e + 1
                case .stop:
                    break loop
                }
            } catch {
                failed = true
                acks.withLock { $0.failure = "partition \(index): \(error)" }
            }
        }
        finisher.push(Handoff(value: .stop))
        finisherDone.wait()
        acks.withLock { $0.engine[index] = Self.engineLine(backend.database) }
        try? backend.close()
        finished.signal()
    }

    /// The finisher thread: completes each begun checkpoint in order
    /// (waits for its flushes, stores it) and acknowledges it.
    private func runFinisher() {
        while true {
            guard case .checkpoint(let b) = finisher.pop().value else { break }
            do {
                let manifest = try store.finishCreate(b.pending)
                // This thread alone adds to the store, and the source thread
                // deletes the previous checkpoint only after this one is acknowledged.
                let previous = store.list().dropLast().last
                let newBytes = manifest.delta(since: previous).reduce(UInt64(0)) { $0 + $1.size }
                if let metrics {
                    let took = ContinuousClock.now - b.barrierAt
                    metrics.checkpointDuration.recordNanoseconds(
                        took.components.seconds * 1_000_000_000 + took.components.attoseconds / 1_000_000_000)
                }
                let (index, keepRows) = (self.index, self.keepRows)
                acks.withLock {
                    if keepRows { $0.epochRows[b.epoch, default: [:]][index] = b.staged }
                    $0.checkpointIDs[b.epoch, default: [:]][index] = manifest.id
                    $0.newBytes[b.epoch, default: 0] += newBytes
                    $0.counters[index] = b.counters
                    $0.rows[index] = b.rows
                    $0.stateBytes[index] = b.stateBytes
                    $0.epochRowCounts[b.epoch, default: 0] += b.epochRowCount
                }
            } catch {
                let index = self.index
                acks.withLock { if $0.failure == nil { $0.failure = "partition \(index): checkpoint of epoch \(b.epoch): \(error)" } }
            }
        }
        finisherDone.signal()
    }

    /// "W-Amp … (per level …), S-Amp …, files per level …" of a partition's engine over this run.
    static func engineLine(_ db: Database) -> String {
        let stats = db.statistics()
        let sst = Double(db.property("strata.total-sst-files-size") ?? "") ?? 0
        let live = Double(db.property("strata.estimate-live-data-size") ?? "") ?? 0
        let levels = stats.filesPerLevel.enumerated().filter { $0.element > 0 }.map { "L\($0.offset):\($0.element)" }
        let user = Double(max(stats.userBytes, 1))
        // Per level: bytes written into the level (L0: flushes and L0 outputs) / user bytes.
        var perLevel: [String] = []
        for level in 0..<stats.compactionBytesWritten.count {
            let written = stats.compactionBytesWritten[level] + (level == 0 ? stats.flushBytes : 0)
            if written > 0 { perLevel.append(String(format: "L%d %.2f", level, Double(written) / user)) }
        }
        return String(format: "W-Amp %.2f (WAL %.2f, %@; user %.1f MB), S-Amp %@, files %@",
                      stats.userBytes > 0 ? stats.writeAmplification : 0, Double(stats.walBytes) / user,
                      perLevel.isEmpty ? "no tables written" : perLevel.joined(separator: ", "),
                      Double(stats.userBytes) / 1_048_576,
                      live > 0 ? String(format: "%.2f", sst / live) : "n/a",
                      levels.isEmpty ? "none" : levels.joined(separator: " "))
    }

    private func drainOutput() throws {
        guard !output.records.isEmpty else { return }
        try writer.write(output.records, epoch: epoch)
        acks.outputStaged.store(true, ordering: .relaxed)
        metrics?.eventsOut.increment(by: Int64(output.records.count))
        if keepRows { epochRows += output.records }
        output.records.removeAll(keepingCapacity: true)
    }
}

/// What a partition hands its finisher thread at a barrier: the begun
/// checkpoint and the figures its acknowledgement carries, as of the barrier.
struct BarrierSnapshot {
    var epoch: UInt64
    var pending: PendingCheckpoint
    var barrierAt: ContinuousClock.Instant
    var counters: [String: Int]
    var rows: UInt64
    var epochRowCount: Int
    var stateBytes: UInt64
    /// The epoch's rows, for committers (empty unless `keepRows`).
    var staged: [SinkRecord]
}

enum FinisherItem {
    case checkpoint(BarrierSnapshot)
    case stop
}
