import Foundation
import Strata
import Testing
@testable import StrataStreams

/// A processing-time clock the test moves: `ContinuousClock.now` at
/// creation plus what the test added.
final class PipelineTestClock: Sendable {
    private let base = ContinuousClock.now
    private let offset = Locked(Duration.zero)
    var now: ContinuousClock.Instant { base + offset.withLock { $0 } }
    func advance(by d: Duration) { offset.withLock { $0 += d } }
    var hook: @Sendable () -> ContinuousClock.Instant { { [self] in self.now } }
}

/// A live source: `records` timestamps (one key each: `key`), then, once
/// they are read, `.pending` on every poll — each advancing `clock` by
/// `step` — until `quietUntil()` holds or `maxQuietPolls` polls have
/// passed; then the input ends. Positions are record indexes.
final class ScriptedLiveSource: ReplayableSource {
    typealias Record = (key: Int64, ts: Int64)
    let records: [Record]
    let clock: PipelineTestClock
    let step: Duration
    let maxQuietPolls: Int
    let quietUntil: () -> Bool
    private(set) var position = SourcePosition.start
    private(set) var quietPolls = 0
    /// Records handed out and whether the input has ended (read by the committer).
    let progress = Locked((delivered: 0, ended: false))

    init(records: [Record], clock: PipelineTestClock, step: Duration, maxQuietPolls: Int, quietUntil: @escaping () -> Bool) {
        self.records = records
        self.clock = clock
        self.step = step
        self.maxQuietPolls = maxQuietPolls
        self.quietUntil = quietUntil
    }

    func seek(to position: SourcePosition) throws { self.position = position }

    func next() throws -> Record? {
        guard Int(position.record) < records.count else { return nil }
        let r = records[Int(position.record)]
        position = SourcePosition(offset: position.record + 1, record: position.record + 1)
        progress.withLock { $0.delivered = Int(position.record) }
        return r
    }

    func poll(timeout: Duration) throws -> SourcePoll<Record> {
        if let r = try next() { return .record(r) }
        if quietPolls < maxQuietPolls && !quietUntil() {
            quietPolls += 1
            clock.advance(by: step)
            return .pending
        }
        progress.withLock { $0.ended = true }
        return .end
    }
}

/// Tumbling 1 s counts per key; each fired window is one row `key|start`.
final class CountLogic: PartitionLogic {
    let counts: WindowOperator<Int64Codec, Int64, Int64>

    init(_ context: PartitionContext) throws {
        counts = try WindowOperator(name: "counts", backend: context.backend, keyCodec: Int64Codec(),
                                    assigner: try .tumbling(size: 1_000), aggregate: CountAggregate<Int64>())
    }

    func process(_ record: (key: Int64, ts: Int64), timestamp: Int64, output: OutputCollector) throws {
        try counts.processElement(key: record.key, timestamp: timestamp, value: record.key)
        drain(output)
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        try counts.processWatermark(watermark)
        drain(output)
    }

    private func drain(_ output: OutputCollector) {
        for case .result(let r) in counts.takeOutput() {
            output.emit(stream: "counts", key: "\(r.key)|\(r.window.start)", value: "{\"count\":\(r.value)}")
        }
    }
}

/// Records, per commit, the rows and how far the source was.
final class ProgressCommitter: EpochCommitter {
    struct Commit { var epoch: UInt64; var rows: [SinkRecord]; var delivered: Int; var ended: Bool }
    let commits = Locked([Commit]())
    let source: () -> (delivered: Int, ended: Bool)
    init(source: @escaping () -> (delivered: Int, ended: Bool)) { self.source = source }
    func lastCommittedEpoch() throws -> UInt64 { commits.withLock { $0.last?.epoch ?? 0 } }
    func commit(epoch: UInt64, records: [SinkRecord]) throws {
        let (delivered, ended) = source()
        commits.withLock { $0.append(Commit(epoch: epoch, rows: records, delivered: delivered, ended: ended)) }
    }
    var rowsCommitted: [SinkRecord] { commits.withLock { $0.flatMap(\.rows) } }
}

/// The source loop's time-driven paths (issue 19 item 2), on an injected
/// clock: barriers, commits, batch hand-offs and watermarks happen while a
/// live source has no record, not only every so many records.
@Suite struct TimeDrivenPipelineTests {
    struct Outcome {
        var commits: [ProgressCommitter.Commit]
        var summary: PipelineSummary
    }

    /// Runs `records` (keys 1...3) then a quiet stretch through CountLogic
    /// with a 1 s checkpoint interval, count-based watermarks out of reach
    /// (every 10,000 records) and batches of 512.
    private func run(records: [(key: Int64, ts: Int64)], strategy: WatermarkStrategy, step: Duration,
                     maxQuietPolls: Int, checkpointMilliseconds: Int64 = 1_000, outputCheckpointDelay: Duration? = nil,
                     until: @escaping (ProgressCommitter) -> Bool) throws -> Outcome {
        let dir = NSTemporaryDirectory() + "strata-timedriven-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var options = PipelineOptions(directory: dir)
        options.partitions = 2
        options.checkpointInterval = .every(milliseconds: checkpointMilliseconds)
        options.outputCheckpointDelay = outputCheckpointDelay
        options.watermarks = strategy
        options.watermarkEveryRecords = 10_000
        options.watermarkInterval = .milliseconds(200)
        options.batchSize = 512
        options.maxBatchDelay = .milliseconds(5)
        options.backend = .testing(cacheEntries: 64)
        options.metricsPrefix = nil
        let clock = PipelineTestClock()
        var committerRef: ProgressCommitter?
        let source = ScriptedLiveSource(records: records, clock: clock, step: step, maxQuietPolls: maxQuietPolls,
                                        quietUntil: { committerRef.map(until) ?? false })
        let committer = ProgressCommitter(source: { source.progress.withLock { ($0.delivered, $0.ended) } })
        committerRef = committer
        let pipeline = try Pipeline(options: options, source: source, key: { $0.key }, keyCodec: Int64Codec(),
                                    timestamp: { $0.ts }, committers: [committer]) { try CountLogic($0) }
        let summary = try pipeline.run(testHooks: PipelineTestHooks(clock: clock.hook))
        return Outcome(commits: committer.commits.withLock { $0 }, summary: summary)
    }

    private static func hasWindowZero(_ c: ProgressCommitter) -> Bool {
        c.rowsCommitted.contains { $0.key.hasSuffix("|0") }
    }

    @Test func checkpointCommitsWhileTheSourceIsQuiet() throws {
        // 10 records, then quiet: the old loop (blocking `next()`) could not
        // send a barrier until the next record; now the 1 s interval passes
        // on the injected clock while the source pends.
        let records = (0..<10).map { (key: Int64($0 % 3 + 1), ts: Int64($0) * 100) }
        let out = try run(records: records, strategy: .boundedOutOfOrderness(.milliseconds(100)),
                          step: .milliseconds(10), maxQuietPolls: 5_000_000,
                          until: { !$0.commits.withLock { $0.isEmpty } })
        let first = try #require(out.commits.first)
        #expect(first.delivered == 10)
        #expect(!first.ended, "the first commit came only at the end of the input")
        // Every record was handed over and counted by the end.
        let total = out.commits.flatMap(\.rows).reduce(0) { $0 + ($1.value.contains("count") ? 1 : 0) }
        #expect(total > 0)
        #expect(out.summary.records == 10)
    }

    @Test func timedWatermarkFiresAWindowOfAQuietSource() throws {
        // Timestamps up to 1,200 with δ = 100: watermark 1,099 fires the
        // window [0, 1000). Count-based watermarks are out of reach, so only
        // the timed watermark (sent while the source pends) can fire it
        // before the end of the input.
        let records = (0...12).map { (key: Int64($0 % 3 + 1), ts: Int64($0) * 100) }
        let out = try run(records: records, strategy: .boundedOutOfOrderness(.milliseconds(100)),
                          step: .milliseconds(10), maxQuietPolls: 5_000_000, until: Self.hasWindowZero)
        let commit = try #require(out.commits.first { $0.rows.contains { $0.key.hasSuffix("|0") } })
        #expect(!commit.ended, "window [0, 1000) was committed only after the final watermark")
        #expect(commit.rows.filter { $0.key.hasSuffix("|0") }.count == 3)
    }

    @Test func idleSourceAdvancesTheWatermarkWithProcessingTime() throws {
        // Timestamps up to 900, δ = 100: the strategy's own watermark (799)
        // never reaches 999. Idle after 500 ms, the watermark follows the
        // clock (900 + quiet − 101) and fires the window.
        let records = (0..<10).map { (key: Int64($0 % 3 + 1), ts: Int64($0) * 100) }
        let idle = try run(records: records,
                           strategy: .boundedOutOfOrderness(.milliseconds(100)).withIdleness(.milliseconds(500)),
                           step: .milliseconds(10), maxQuietPolls: 5_000_000, until: Self.hasWindowZero)
        let commit = try #require(idle.commits.first { $0.rows.contains { $0.key.hasSuffix("|0") } })
        #expect(!commit.ended)
        #expect(commit.delivered == 10)

        // Without idleness the window waits for the end of the input (the
        // final watermark), however long the source is quiet: 3 s here.
        let held = try run(records: records, strategy: .boundedOutOfOrderness(.milliseconds(100)),
                           step: .milliseconds(10), maxQuietPolls: 300, until: { _ in false })
        let late = try #require(held.commits.first { $0.rows.contains { $0.key.hasSuffix("|0") } })
        #expect(late.ended)
    }

    @Test func stagedOutputBringsTheBarrierForward() throws {
        // An hour-long checkpoint interval: without outputCheckpointDelay the
        // fired window waits for the end of the input (10 s of quiet here);
        // with it, the barrier follows the staged rows within 20 ms.
        let records = (0...12).map { (key: Int64($0 % 3 + 1), ts: Int64($0) * 100) }
        let hour: Int64 = 3_600_000
        let eager = try run(records: records, strategy: .boundedOutOfOrderness(.milliseconds(100)),
                            step: .milliseconds(10), maxQuietPolls: 5_000_000, checkpointMilliseconds: hour,
                            outputCheckpointDelay: .milliseconds(20), until: Self.hasWindowZero)
        let early = try #require(eager.commits.first { $0.rows.contains { $0.key.hasSuffix("|0") } })
        #expect(!early.ended)
        let patient = try run(records: records, strategy: .boundedOutOfOrderness(.milliseconds(100)),
                              step: .milliseconds(10), maxQuietPolls: 1_000, checkpointMilliseconds: hour,
                              until: Self.hasWindowZero)
        let late = try #require(patient.commits.first { $0.rows.contains { $0.key.hasSuffix("|0") } })
        #expect(late.ended)
    }

    @Test func strategyOptionsAndValidation() throws {
        var options = PipelineOptions(directory: "/nonexistent")
        options.watermarks = WatermarkStrategy.boundedOutOfOrderness(.seconds(2)).withIdleness(.seconds(5))
        #expect(options.maxOutOfOrderness == 2_000)
        options.maxOutOfOrderness = 300
        #expect(options.watermarks.maxOutOfOrderness == 300)
        #expect(options.watermarks.idleTimeoutMilliseconds == 5_000)
        #expect(throws: StrataError.self) { try WatermarkStrategy.percentile(1.5) }
        let p = try WatermarkStrategy.percentile(0.99, of: .maxEventTime, over: .seconds(5), minimumSamples: 10)
        #expect(p.maxOutOfOrderness == 0)
        options.watermarkInterval = .zero
        #expect(throws: StrataError.self) { try options.validate() }
    }

    @Test func percentileStrategyRunsThroughThePipeline() throws {
        // 2,000 in-order records, 1 ms apart, percentile 1.0 of disorder
        // (0): the watermark trails the largest timestamp; windows before
        // the last one fire while the source pends.
        let records = (0..<2_000).map { (key: Int64($0 % 3 + 1), ts: Int64($0)) }
        let strategy = try WatermarkStrategy.percentile(1.0, of: .maxEventTime, over: .seconds(10), minimumSamples: 1)
        let out = try run(records: records, strategy: strategy, step: .milliseconds(10), maxQuietPolls: 5_000_000,
                          until: Self.hasWindowZero)
        let commit = try #require(out.commits.first { $0.rows.contains { $0.key.hasSuffix("|0") } })
        #expect(!commit.ended)
    }
}
