import Foundation
import Strata
import StrataStreams
import StreamsTestSupport
@testable import StrataStreamsRedis
import Testing

@Suite(.serialized) struct RedisPipelineTests {
    @Test func killedAndRestartedRunsLeaveWhatAFailureFreeRunLeaves() throws {
        let seed: UInt64 = 11
        print("seed \(seed)")
        let count: UInt64 = 5_000
        let server = try RedisTestServer("pipeline")
        let work = NSTemporaryDirectory() + "strata-redis-pipeline-\(UUID().uuidString)"
        defer {
            server.remove()
            try? FileManager.default.removeItem(atPath: work)
        }

        // The failure-free run, under prefix "clean".
        let clean = try RedisEpochCommitter(options: sinkOptions(server, prefix: "clean"))
        let summary = try runVisitJob(work + "/clean", seed: seed, count: count, sink: clean)
        #expect(summary.records == count)
        #expect(summary.checkpoints.count >= 8)
        let expected = try clean.contents()
        #expect(expected.contains { $0.stream == "totals" })
        #expect(expected.contains { $0.stream == "counts" })
        // The cache holds each key's last committed row.
        var last: [String: String] = [:]
        for r in try Pipeline<GeneratorSource<Visit>>.committedOutput(directory: work + "/clean").joined() {
            last["\(r.stream)\u{0}\(r.key)"] = r.value
        }
        #expect(expected.count == last.count)
        #expect(expected.allSatisfy { last["\($0.stream)\u{0}\($0.key)"] == $0.value })

        // The same job under prefix "crashed": stopped as if killed after a
        // random number of records four times (no final checkpoint, staged
        // output left behind), each restart replaying from its last
        // checkpoint — with Redis itself killed and restarted before some of
        // the epochs the runs commit — then run to the end.
        let crashed = try runVisitJobThroughCrashes(
            work + "/crashed", seed: seed, count: count,
            makeSink: { try RedisEpochCommitter(options: sinkOptions(server, prefix: "crashed")) },
            restartServer: {
                server.kill()
                try server.start()
            })
        print("recovered from epochs \(crashed.recoveries); Redis restarted \(crashed.serverRestarts) times")
        #expect(crashed.recoveries.dropFirst().allSatisfy { $0 != nil })
        #expect(crashed.serverRestarts >= 1)
        #expect(try crashed.sink.contents() == expected)
    }
}
