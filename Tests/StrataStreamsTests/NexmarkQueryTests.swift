import Foundation
import NexmarkSupport
import Strata
import StrataStreams
import Testing

/// Each Nexmark query through the exactly-once pipeline (state in Strata,
/// checkpoints every few thousand records, JSON-lines output) against
/// `NexmarkReference` on a small stream: 40,000 events at 2,000 per
/// event-time second (20 s: several tumbling, sliding and session windows
/// fire while the stream runs), with up to 400 ms of disorder and a
/// watermark bound that covers it.
@Suite struct NexmarkQueryTests {
    static let seed: UInt64 = 20_260_101
    static let config = NexmarkConfig(seed: seed, events: 40_000, eventsPerSecond: 2_000, maxDisorder: 400)
    static let watermarkEvery = 500

    static func options(_ dir: String, partitions: Int) -> PipelineOptions {
        var options = PipelineOptions(directory: dir)
        options.partitions = partitions
        options.checkpointInterval = .records(7_000)
        options.maxOutOfOrderness = config.maxDisorder
        options.watermarkEveryRecords = watermarkEvery
        options.batchSize = 128
        options.backend = .testing(cacheEntries: 4_096)
        return options
    }

    /// Runs `query` and returns every committed row per partition and the run's results.
    static func run(_ query: NexmarkQuery, partitions: Int, mode: NexmarkOutputMode = .jsonl,
                    crashAfter: UInt64? = nil, dir: String) throws -> ([[SinkRecord]], NexmarkResults) {
        let options = options(dir, partitions: partitions)
        let results = NexmarkRunResults()
        let pipeline = try NexmarkJob.pipeline(query: query, generator: try NexmarkGenerator(config), options: options,
                                               mode: mode, results: results)
        _ = try pipeline.run(testHooks: PipelineTestHooks(crashAfterRecords: crashAfter))
        return (try Pipeline<GeneratorSource<NexmarkRecord>>.committedOutput(directory: dir), results.total(mode: mode))
    }

    static let reference: NexmarkReference = {
        let g = try! NexmarkGenerator(config)
        return NexmarkReference(events: (0..<config.events).map { g.event($0)! }, bound: config.maxDisorder,
                                watermarkEvery: watermarkEvery)
    }()

    static func sorted(_ rows: [SinkRecord]) -> [SinkRecord] {
        rows.sorted { ($0.key, $0.value) < ($1.key, $1.value) }
    }

    @Test("each query's committed rows equal the in-memory reference", arguments: NexmarkQuery.allCases)
    func matchesReference(query: NexmarkQuery) throws {
        print("nexmark query test seed \(Self.seed), \(query.rawValue)")
        // q5 and q7 take a maximum over all auctions: one partition. The others are per key: two.
        let partitions = [.q5, .q7].contains(query) ? 1 : 2
        let dir = StateTestDirectory("nexmark-\(query.rawValue)")
        defer { dir.remove() }
        let (committed, results) = try Self.run(query, partitions: partitions, dir: dir.path)
        let expected = Self.reference.rows(query)
        let all = committed.flatMap { $0 }
        print("nexmark \(query.rawValue): \(all.count) rows committed, \(expected.count) expected")
        #expect(results.lateEvents == 0)
        #expect(results.rows == all.count)
        #expect(!expected.isEmpty)
        switch query {
        case .q0, .q1, .q2, .q18:
            // Row order is arrival order per key: compare each partition's
            // rows with the reference rows of its keys, in order.
            let expectedKeys = Set(expected.map(\.key))
            #expect(Set(all.map(\.key)) == expectedKeys)
            for rows in committed {
                let keys = Set(rows.map(\.key))
                #expect(rows == expected.filter { keys.contains($0.key) })
            }
        default:
            #expect(Self.sorted(all) == Self.sorted(expected))
        }
    }

    @Test("counting and JSON-lines output agree on rows and checksum; partitioning does not change per-key queries")
    func countMode() throws {
        for (query, partitions) in [(NexmarkQuery.q7, 1), (.q11, 3), (.q18, 1)] {
            let a = StateTestDirectory("nexmark-count-a"), b = StateTestDirectory("nexmark-count-b")
            defer { a.remove(); b.remove() }
            let (_, counted) = try Self.run(query, partitions: partitions, mode: .count, dir: a.path)
            let (rows, written) = try Self.run(query, partitions: 2 - partitions % 2, mode: .jsonl, dir: b.path)
            #expect(counted.rows == written.rows && counted.checksum == written.checksum, "\(query)")
            #expect(rows.flatMap { $0 }.count == written.rows)
        }
    }

    @Test("a query killed mid-run and restarted commits the same rows as a run without failure")
    func exactlyOnce() throws {
        var random = StateTestRandom(seed: Self.seed)
        for query in [NexmarkQuery.q5, .q11, .q18] {
            let crashAt = UInt64.random(in: 5_000..<35_000, using: &random)
            print("nexmark exactly-once \(query.rawValue): crash after \(crashAt) records (seed \(Self.seed))")
            let clean = StateTestDirectory("nexmark-clean"), crashed = StateTestDirectory("nexmark-crash")
            defer { clean.remove(); crashed.remove() }
            let partitions = query == .q5 ? 1 : 2
            let (expected, _) = try Self.run(query, partitions: partitions, dir: clean.path)
            _ = try Self.run(query, partitions: partitions, crashAfter: crashAt, dir: crashed.path)
            let (recovered, _) = try Self.run(query, partitions: partitions, dir: crashed.path)
            #expect(recovered == expected, "\(query)")
        }
    }

    @Test("q5 and q7 give the same rows with one and three partitions (combine stage), also across a crash")
    func globalMaximumAcrossPartitions() throws {
        var random = StateTestRandom(seed: Self.seed ^ 0x5A)
        for query in [NexmarkQuery.q5, .q7] {
            let one = StateTestDirectory("nexmark-p1"), three = StateTestDirectory("nexmark-p3")
            let crashed = StateTestDirectory("nexmark-p3-crash")
            defer { one.remove(); three.remove(); crashed.remove() }
            let (single, singleResults) = try Self.run(query, partitions: 1, dir: one.path)
            let (split, splitResults) = try Self.run(query, partitions: 3, dir: three.path)
            // Partitions commit no rows of their own; the combine stage's rows come last.
            #expect(single.count == 2 && split.count == 4)
            #expect(single.dropLast().allSatisfy(\.isEmpty) && split.dropLast().allSatisfy(\.isEmpty))
            #expect(!single.last!.isEmpty)
            #expect(split.last! == single.last!, "\(query)")
            #expect(Self.sorted(single.last!) == Self.sorted(Self.reference.rows(query)), "\(query)")
            #expect(splitResults.rows == singleResults.rows && splitResults.checksum == singleResults.checksum)
            for _ in 0..<2 {
                let crashAt = UInt64.random(in: 5_000..<35_000, using: &random)
                print("nexmark \(query.rawValue), 3 partitions: crash after \(crashAt) records (seed \(Self.seed))")
                _ = try Self.run(query, partitions: 3, crashAfter: crashAt, dir: crashed.path)
            }
            let (recovered, _) = try Self.run(query, partitions: 3, dir: crashed.path)
            #expect(recovered == split, "\(query)")
        }
    }
}
