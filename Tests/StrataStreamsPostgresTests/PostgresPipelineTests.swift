import Foundation
import Strata
import StrataStreams
import StreamsTestSupport
@testable import StrataStreamsPostgres
import Testing

@Suite(.serialized) struct PostgresPipelineTests {
    private func tables(_ prefix: String) -> [PostgresTableSchema] {
        [PostgresTableSchema(stream: "totals", table: "\(prefix)_totals",
                             columns: [PostgresColumn("visits", .bigint), PostgresColumn("last_ts", .bigint, field: "last")]),
         PostgresTableSchema(stream: "counts", table: "\(prefix)_counts")]
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
        let summary = try runVisitJob(work + "/clean", seed: seed, count: count, sink: clean)
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
        let crashed = try runVisitJobThroughCrashes(
            work + "/crashed", seed: seed, count: count,
            makeSink: { try PostgresEpochCommitter(options: server.options(tables("crashed"), sinkName: "crashed")) },
            restartServer: {
                server.kill()
                try server.start()
            })
        print("recovered from epochs \(crashed.recoveries); PostgreSQL restarted \(crashed.serverRestarts) times")
        #expect(crashed.recoveries.dropFirst().allSatisfy { $0 != nil })
        #expect(crashed.serverRestarts >= 1)
        #expect(try contents(crashed.sink, "crashed") == expected)
        #expect(try crashed.sink.lastCommittedEpoch() == clean.lastCommittedEpoch())
    }
}
