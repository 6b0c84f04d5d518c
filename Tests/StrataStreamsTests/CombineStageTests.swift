import Foundation
import Strata
import Testing
@testable import StrataStreams
import StrataStreamsSQLite

/// Per partition: clicks counted per user in tumbling 1 s windows; each
/// fired window's partition total goes to the combine stage as a partial.
final class WindowTotalLogic: PartitionLogic {
    let counts: WindowOperator<Int64Codec, Click, Int64>
    let partialInProcess: Bool

    init(_ context: PartitionContext, partialInProcess: Bool = false) throws {
        counts = try WindowOperator(name: "counts", backend: context.backend, keyCodec: Int64Codec(),
                                    assigner: try .tumbling(size: 1_000), aggregate: CountAggregate<Click>())
        self.partialInProcess = partialInProcess
    }

    func process(_ record: Click, timestamp: Int64, output: OutputCollector) throws {
        try counts.processElement(key: record.user, timestamp: timestamp, value: record)
        if partialInProcess { output.emitPartial(stream: "totals", group: "x", value: "1") }
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        try counts.processWatermark(watermark)
        var totals: [TimeWindow: Int64] = [:]
        var order: [TimeWindow] = []
        for case .result(let r) in counts.takeOutput() {
            if totals[r.window] == nil { order.append(r.window) }
            totals[r.window, default: 0] += r.value
        }
        for w in order {
            output.emitPartial(stream: "totals", group: String(format: "%020lld", w.start), value: "\(totals[w]!)")
        }
    }
}

/// Sums the partitions' totals of a window: the global click count.
final class SumCombiner: PartialResultCombiner {
    var calls = 0
    func combine(stream: String, group: String, partials: [PartialRow]) throws -> [SinkRecord] {
        calls += 1
        #expect(partials.map(\.partition) == partials.map(\.partition).sorted())
        let sum = partials.reduce(Int64(0)) { $0 + Int64($1.value)! }
        return [SinkRecord(stream: stream, key: String(Int64(group)!), value: "{\"clicks\":\(sum)}")]
    }
}

@Suite struct CombineStageTests {
    private func run(_ dir: String, partitions: Int, count: UInt64, crashAfter: UInt64? = nil,
                     partialInProcess: Bool = false) throws -> PipelineSummary {
        var options = PipelineOptions(directory: dir)
        options.partitions = partitions
        options.checkpointInterval = .records(300)
        options.maxOutOfOrderness = 400
        options.watermarkEveryRecords = 50
        options.batchSize = 64
        options.backend = .testing(cacheEntries: 256)
        options.metricsPrefix = nil
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let pipeline = try Pipeline(options: options, source: GeneratorSource(clickGenerator(seed: 11, count: count)),
                                    key: { Int64Codec().encoded($0.user) }, timestamp: \.ts,
                                    committers: [try SQLiteEpochCommitter(path: dir + "/results.sqlite")],
                                    combiner: SumCombiner()) { context in
            try WindowTotalLogic(context, partialInProcess: partialInProcess)
        }
        return try pipeline.run(testHooks: PipelineTestHooks(crashAfterRecords: crashAfter))
    }

    @Test func globalTotalsAreTheSameForAnyPartitionCountAndAcrossCrashes() throws {
        let count: UInt64 = 5_000
        let one = StateTestDirectory("combine-1"), three = StateTestDirectory("combine-3")
        let crashed = StateTestDirectory("combine-3-crashed")
        defer { one.remove(); three.remove(); crashed.remove() }
        let s1 = try run(one.path, partitions: 1, count: count)
        _ = try run(three.path, partitions: 3, count: count)
        let single = try Pipeline<GeneratorSource<Click>>.committedOutput(directory: one.path)
        let split = try Pipeline<GeneratorSource<Click>>.committedOutput(directory: three.path)
        #expect(single.count == 2 && split.count == 4)
        #expect(split.last! == single.last!)
        // One row per 1 s window: every click counted once.
        let rows = single.last!
        #expect(rows.count == 51 && s1.outputs == 51)
        #expect(rows.map(\.key) == rows.map(\.key).sorted { Int64($0)! < Int64($1)! })
        let total = rows.reduce(0) { $0 + Int($1.value.dropFirst(10).dropLast())! }
        #expect(total == Int(count))
        var random = StateTestRandom(seed: 11)
        for _ in 0..<3 {
            _ = try run(crashed.path, partitions: 3, count: count, crashAfter: UInt64.random(in: 500...2_000, using: &random))
        }
        _ = try run(crashed.path, partitions: 3, count: count)
        #expect(try Pipeline<GeneratorSource<Click>>.committedOutput(directory: crashed.path) == split)
        // The committer got the combined rows too (in memory or read back after a crash).
        #expect(try SQLiteEpochCommitter(path: crashed.path + "/results.sqlite").rows().count == rows.count)
        #expect(try SQLiteEpochCommitter(path: one.path + "/results.sqlite").rows().count == rows.count)
    }

    @Test func partialsOutsideAWatermarkFailTheRun() throws {
        let dir = StateTestDirectory("combine-bad")
        defer { dir.remove() }
        #expect(throws: StrataError.self) { try run(dir.path, partitions: 2, count: 500, partialInProcess: true) }
    }
}
