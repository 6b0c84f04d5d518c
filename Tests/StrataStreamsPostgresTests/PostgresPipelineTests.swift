import Foundation
import Strata
import StrataStreams
@testable import StrataStreamsPostgres
import Testing

/// A page visit: user, event time.
struct Visit: Sendable {
    var user: Int64
    var ts: Int64
}

/// Visits from a seed: record i alone decides visit i (seekable).
func visitGenerator(seed: UInt64, count: UInt64) -> (UInt64) -> Visit? {
    { i in
        guard i < count else { return nil }
        var r = SplitMix64(seed: seed &* 1_000_003 &+ i)
        return Visit(user: Int64.random(in: 0..<30, using: &r), ts: Int64(i) * 10 - Int64.random(in: 0...200, using: &r))
    }
}

/// Per partition: each user's running visit count (keyed: the table keeps
/// the latest) and tumbling 1 s visit counts per user (appended).
final class VisitLogic: PartitionLogic {
    let backend: StateBackend
    let totals: ValueState<Int64Codec>
    let counts: WindowOperator<Int64Codec, Visit, Int64>

    init(_ context: PartitionContext) throws {
        backend = context.backend
        totals = try backend.valueState(StateDescriptor("totals"), valueCodec: Int64Codec())
        counts = try WindowOperator(name: "counts", backend: backend, keyCodec: Int64Codec(),
                                    assigner: try .tumbling(size: 1_000), aggregate: CountAggregate<Visit>())
    }

    func process(_ record: Visit, timestamp: Int64, output: OutputCollector) throws {
        let key = backend.stateKey(record.user, codec: Int64Codec())
        let n = (try totals.value(for: key) ?? 0) + 1
        try totals.update(n, for: key)
        output.emit(stream: "totals", key: "\(record.user)", value: "{\"visits\":\(n),\"last\":\(timestamp)}")
        try counts.processElement(key: record.user, timestamp: timestamp, value: record)
        drain(output)
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        try counts.processWatermark(watermark)
        drain(output)
    }

    private func drain(_ output: OutputCollector) {
        for case .result(let r) in counts.takeOutput() {
            output.emit(stream: "counts", key: "\(r.key)|\(r.window.start)", value: "\(r.value)")
        }
    }
}

/// Passes epochs to a PostgreSQL committer, crashing and restarting the
/// server just before committing the chosen epochs.
final class RestartingCommitter: EpochCommitter {
    let inner: PostgresEpochCommitter
    let server: PostgresTestServer
    var restartBefore: Set<UInt64>
    var restarts = 0

    init(_ inner: PostgresEpochCommitter, server: PostgresTestServer, restartBefore: Set<UInt64>) {
        self.inner = inner
        self.server = server
        self.restartBefore = restartBefore
    }

    func lastCommittedEpoch() throws -> UInt64 { try inner.lastCommittedEpoch() }

    func commit(epoch: UInt64, records: [SinkRecord]) throws {
        if restartBefore.remove(epoch) != nil {
            server.kill()
            try server.start()
            restarts += 1
        }
        try inner.commit(epoch: epoch, records: records)
    }
}

@Suite(.serialized) struct PostgresPipelineTests {
    private func tables(_ prefix: String) -> [PostgresTableSchema] {
        [PostgresTableSchema(stream: "totals", table: "\(prefix)_totals",
                             columns: [PostgresColumn("visits", .bigint), PostgresColumn("last_ts", .bigint, field: "last")]),
         PostgresTableSchema(stream: "counts", table: "\(prefix)_counts")]
    }

    private func run(_ dir: String, seed: UInt64, count: UInt64, sink: any EpochCommitter,
                     crashAfter: UInt64? = nil) throws -> PipelineSummary {
        var options = PipelineOptions(directory: dir)
        options.partitions = 3
        options.checkpointInterval = .records(300)
        options.maxOutOfOrderness = 300
        options.watermarkEveryRecords = 50
        options.batchSize = 64
        options.backend.engine.writeBufferSize = 1 << 20
        options.backend.writeBackCacheEntries = 256
        options.metricsPrefix = nil
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let pipeline = try Pipeline(options: options, source: GeneratorSource(visitGenerator(seed: seed, count: count)),
                                    key: { Int64Codec().encoded($0.user) }, timestamp: \.ts,
                                    committers: [sink]) { context in try VisitLogic(context) }
        return try pipeline.run(testHooks: PipelineTestHooks(crashAfterRecords: crashAfter))
    }

    private func contents(_ sink: PostgresEpochCommitter, _ prefix: String) throws -> [[String?]] {
        try sink.query("SELECT 'totals', key, value::text, visits::text, last_ts::text FROM \(prefix)_totals ORDER BY key")
            + sink.query("SELECT 'counts', key, value::text, NULL, NULL FROM \(prefix)_counts ORDER BY key, value::text")
    }

    @Test func killedAndRestartedRunsLeaveWhatAFailureFreeRunLeaves() throws {
        let seed: UInt64 = 17
        print("seed \(seed)")
        let count: UInt64 = 5_000
        let server = try PostgresTestServer("pipeline")
        let work = NSTemporaryDirectory() + "strata-pg-pipeline-\(UUID().uuidString)"
        defer {
            server.remove()
            try? FileManager.default.removeItem(atPath: work)
        }

        // The failure-free run, into clean_* tables.
        let clean = try PostgresEpochCommitter(options: server.options(tables("clean"), sinkName: "clean"))
        let summary = try run(work + "/clean", seed: seed, count: count, sink: clean)
        #expect(summary.records == count)
        #expect(summary.checkpoints.count >= 8)
        let expected = try contents(clean, "clean")
        #expect(expected.contains { $0[0] == "totals" })
        #expect(expected.contains { $0[0] == "counts" })
        // The keyed table holds each key's last committed row.
        var last: [String: String] = [:]
        for r in try Pipeline<GeneratorSource<Visit>>.committedOutput(directory: work + "/clean").joined() where r.stream == "totals" {
            last[r.key] = r.value
        }
        #expect(try clean.query("SELECT count(*)::text FROM clean_totals") == [[String(last.count)]])

        // The same job into crashed_* tables: stopped as if killed after a
        // random number of records four times, each restart replaying from
        // its last checkpoint — with PostgreSQL crashed and restarted before
        // some of the epochs the runs commit — then run to the end.
        var random = SplitMix64(seed: seed)
        var recoveries: [UInt64?] = []
        var restarts = 0
        for crash in 0..<4 {
            let postgres = try PostgresEpochCommitter(options: server.options(tables("crashed"), sinkName: "crashed"))
            let first = try postgres.lastCommittedEpoch() + 1
            let sink = RestartingCommitter(postgres, server: server, restartBefore: crash % 2 == 0 ? [first, first + 1] : [])
            let r = try run(work + "/crashed", seed: seed, count: count, sink: sink,
                            crashAfter: UInt64.random(in: 700...2_000, using: &random))
            recoveries.append(r.recoveredFromEpoch)
            restarts += sink.restarts
        }
        let postgres = try PostgresEpochCommitter(options: server.options(tables("crashed"), sinkName: "crashed"))
        let final = try run(work + "/crashed", seed: seed, count: count, sink: postgres)
        recoveries.append(final.recoveredFromEpoch)
        print("recovered from epochs \(recoveries); PostgreSQL restarted \(restarts) times")
        #expect(recoveries.dropFirst().allSatisfy { $0 != nil })
        #expect(restarts >= 1)
        #expect(try contents(postgres, "crashed") == expected)
        #expect(try postgres.lastCommittedEpoch() == clean.lastCommittedEpoch())
    }
}
