import Foundation
import Synchronization
import Strata
import Testing
@testable import StrataStreams

/// The job API's dedup by an id within the key, global tables with
/// `lookup`, and the operators' counters.
@Suite struct JobTableAndCounterTests {
    struct Request: Codable, Sendable, Equatable {
        var user: Int64
        var id: Int64
        var ts: Int64
    }

    private func options(_ dir: String) -> PipelineOptions {
        var options = PipelineOptions(directory: dir)
        options.partitions = 2
        options.watermarkEveryRecords = 10
        options.checkpointInterval = .records(300)
        options.backend = .testing(cacheEntries: 256)
        options.metricsPrefix = nil
        return options
    }

    @Test(arguments: [DedupMode.exact, .exactWithBloomFrontEnd(expectedKeysPerTTL: 1_000, bitsPerKey: 10)])
    func dedupByAnIdKeepsTheFirstOfEachKeyAndId(mode: DedupMode) throws {
        let seed: UInt64 = 77
        print("seed \(seed)")
        var random = StateTestRandom(seed: seed)
        // Ids repeat within a user (retries) and across users (the same id
        // under two users is two things).
        let requests = (0..<1_200).map { i in
            Request(user: Int64.random(in: 0..<6, using: &random), id: Int64.random(in: 0..<40, using: &random),
                    ts: Int64(i) * 5)
        }
        let dir = StateTestDirectory("job-dedup-by")
        defer { dir.remove() }
        let job = StreamJob()
        job.source(GeneratorSource<Request> { $0 < requests.count ? requests[Int($0)] : nil },
                   watermarks: .monotonousTimestamps, timestamp: \.ts)
            .keyBy(Int64Codec()) { $0.user }
            .dedup(by: Int64Codec(), { $0.id }, ttl: .seconds(3_600), mode: mode, name: "requests")
            .events()
            .map(\.payload)
            .sink("unique") { "\($0.user)|\($0.id)" }
        let summary = try job.run(options(dir.path))

        var seen: Set<[Int64]> = []
        let expected = requests.filter { seen.insert([$0.user, $0.id]).inserted }
        let got = try StreamJob.committedOutput(directory: dir.path).joined()
            .map { try JSONDecoder().decode(Request.self, from: Data($0.value.utf8)) }
        #expect(expected.count > 150 && expected.count <= 240)
        #expect(got.sorted { $0.ts < $1.ts } == expected)
        #expect(summary.counters["requests.duplicates"] == requests.count - expected.count)
        if mode == .exact {
            #expect(summary.counters["requests.lookupsSkipped"] == nil)
        } else {
            // Most first sightings skip the engine lookup.
            #expect((summary.counters["requests.lookupsSkipped"] ?? 0) > expected.count / 2)
        }
    }

    struct Enriched: Codable, Sendable, Equatable, Hashable {
        var value: Int64
        var label: String?
    }

    @Test func lookupEnrichesFromATableLoadedOncePerPartition() throws {
        let dir = StateTestDirectory("job-table")
        defer { dir.remove() }
        final class Loads: Sendable { let count = Atomic<Int>(0) }
        let loads = Loads()
        func build() -> StreamJob {
            let job = StreamJob()
            let labels = job.table("labels", keyCodec: Int64Codec(), valueCodec: StringCodec()) {
                loads.count.add(1, ordering: .relaxed)
                return (Int64(0)..<5).map { ($0, "label-\($0)") }
            }
            job.source(GeneratorSource<Int64> { $0 < 200 ? Int64($0) : nil },
                       watermarks: .monotonousTimestamps, timestamp: { $0 * 10 })
                .filter { $0 % 10 != 0 }
                .keyBy(Int64Codec()) { $0 % 4 }
                .events()
                .lookup(labels, key: { $0.payload % 7 }) { event, label in Enriched(value: event.payload, label: label) }
                .sink("enriched") { "\($0.value)" }
            return job
        }
        let summary = try build().run(options(dir.path))
        #expect(loads.count.load(ordering: .relaxed) == 2)                    // one copy per partition
        #expect(summary.counters["source.filtered"] == 20)
        let expected = Set((Int64(0)..<200).filter { $0 % 10 != 0 }.map {
            Enriched(value: $0, label: $0 % 7 < 5 ? "label-\($0 % 7)" : nil)
        })
        let read = {
            try StreamJob.committedOutput(directory: dir.path).joined()
                .map { try JSONDecoder().decode(Enriched.self, from: Data($0.value.utf8)) }
        }
        let first = try read()
        #expect(Set(first) == expected)
        #expect(first.count == expected.count)

        // A restart restores the tables from the checkpoint: no new load.
        let again = try build().run(options(dir.path))
        #expect(again.recoveredFromEpoch != nil)
        #expect(loads.count.load(ordering: .relaxed) == 2)
        #expect(try read() == first)
    }

    @Test func operatorCountersReachTheSummary() throws {
        let dir = StateTestDirectory("job-counters")
        defer { dir.remove() }
        // 0, 10, 20, … per key 0/1; record 150 is 5 s behind: late for the
        // window, the pattern and the join.
        var records: [(key: Int64, ts: Int64)] = []
        for i in Int64(0)..<300 {
            let ts: Int64 = i == 150 ? i * 10 - 5_000 : i * 10
            records.append((key: i % 2, ts: ts))
        }
        let job = StreamJob()
        let keyed = job.source(GeneratorSource<Int64> { $0 < records.count ? Int64($0) : nil },
                               watermarks: .monotonousTimestamps, timestamp: { records[Int($0)].ts })
            .keyBy(Int64Codec()) { records[Int($0)].key }
        keyed.window(.tumbling(.milliseconds(500)), name: "w")
            .aggregate(CountAggregate<Int64>())
            .sink("counts")
        let twoInARow = Pattern<Int64>.begin("a") { _ in true }.followedBy("b") { _ in true }
        keyed.pattern(twoInARow, payloadCodec: Int64Codec(), afterMatch: .skipPastLastEvent, name: "p")
            .map { $0.events.map(\.event.timestamp) }
            .sink("pairs") { "\($0)" }
        keyed.intervalJoin(keyed, between: .zero, and: .zero, leftCodec: Int64Codec(), rightCodec: Int64Codec(), name: "j")
            .map { _ in 1 }
            .sink("joined") { _ in "x" }
        let summary = try job.run(options(dir.path))
        let rows = try StreamJob.committedOutput(directory: dir.path).joined()
        #expect(summary.counters["w.fired"] == rows.filter { $0.stream == "counts" }.count)
        #expect(summary.counters["p.matches"] == rows.filter { $0.stream == "pairs" }.count)
        #expect(summary.counters["p.matches"] == 74 + 75)              // on time: 149 events of key 0, 150 of key 1
        #expect(summary.counters["w.late"] == 1)
        #expect(summary.counters["p.late"] == 1)
        #expect(summary.counters["j.late"] == 2)                       // the late record on both sides
        #expect(summary.counters["late events"] == 4)
    }
}
