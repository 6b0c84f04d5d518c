import Foundation
import Strata
import Testing
@testable import StrataStreams
import StrataStreamsSQLite
import MetricsTestKit

/// A click: user, timestamp, click id (ids repeat: duplicates to remove).
struct Click: Codable, Sendable, Equatable {
    var user: Int64
    var ts: Int64
    var id: Int64
}

/// Clicks from a seed: record i alone decides click i (seekable).
func clickGenerator(seed: UInt64, count: UInt64) -> (UInt64) -> Click? {
    { i in
        guard i < count else { return nil }
        var r = StateTestRandom(seed: seed &* 1_000_003 &+ i)
        let ts = Int64(i) * 10 - Int64.random(in: 0...400, using: &r)
        return Click(user: Int64.random(in: 0..<40, using: &r), ts: ts, id: Int64.random(in: 0..<Int64(count / 3), using: &r))
    }
}

/// Per partition: tumbling 1 s click counts per user and dedup of click ids.
final class ClickLogic: PartitionLogic {
    let counts: WindowOperator<Int64Codec, Click, Int64>
    let dedup: DedupOperator<Int64Codec, Click>
    var late = 0

    init(_ context: PartitionContext) throws {
        counts = try WindowOperator(name: "counts", backend: context.backend, keyCodec: Int64Codec(),
                                    assigner: try .tumbling(size: 1_000), aggregate: CountAggregate<Click>())
        dedup = try DedupOperator(backend: context.backend, name: "clicks", keyCodec: Int64Codec(),
                                  options: DedupOptions(ttl: 5_000))
    }

    func process(_ record: Click, timestamp: Int64, output: OutputCollector) throws {
        try counts.processElement(key: record.user, timestamp: timestamp, value: record)
        try dedup.processElement(Event(key: record.id, timestamp: timestamp, payload: record))
        drain(output)
    }

    func processWatermark(_ watermark: Int64, output: OutputCollector) throws {
        try counts.processWatermark(watermark)
        try dedup.processWatermark(watermark)
        drain(output)
    }

    private func drain(_ output: OutputCollector) {
        let outputs = counts.takeOutput()
        for case .result(let r) in outputs {
            output.emit(stream: "counts", key: "\(r.key)|\(r.window.start)", value: "{\"count\":\(r.value)}")
        }
        late += outputs.filter { $0.lateEvent != nil }.count
        for d in dedup.takeOutput() {
            output.emit(stream: "unique_clicks", key: "\(d.event.key)", value: "{\"user\":\(d.event.payload.user),\"ts\":\(d.event.timestamp)}")
        }
    }

    var counters: [String: Int] { ["late": late] }
}

@Suite struct PipelineTests {
    private func run(_ dir: String, seed: UInt64, count: UInt64, crashAfter: UInt64? = nil,
                     interval: CheckpointInterval = .records(300), sqlite: Bool = false,
                     metrics: TestMetrics? = nil) throws -> PipelineSummary {
        var options = PipelineOptions(directory: dir)
        options.partitions = 3
        options.checkpointInterval = interval
        options.maxOutOfOrderness = 300
        options.watermarkEveryRecords = 50
        options.batchSize = 64
        options.backend = .testing(cacheEntries: 256)
        options.metricsFactory = metrics
        let source = GeneratorSource(clickGenerator(seed: seed, count: count))
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let committers: [any EpochCommitter] = sqlite ? [try SQLiteEpochCommitter(path: dir + "/results.sqlite")] : []
        let pipeline = try Pipeline(options: options, source: source, key: { click in
            Int64Codec().encoded(click.user)
        }, timestamp: \.ts, committers: committers) { context in try ClickLogic(context) }
        return try pipeline.run(testHooks: PipelineTestHooks(crashAfterRecords: crashAfter))
    }

    @Test func outputAfterSimulatedCrashesEqualsAFailureFreeRun() throws {
        let seed: UInt64 = 5
        print("seed \(seed)")
        let count: UInt64 = 6_000
        let clean = StateTestDirectory("pipeline-clean")
        let crashed = StateTestDirectory("pipeline-crashed")
        defer { clean.remove(); crashed.remove() }
        let summary = try run(clean.path, seed: seed, count: count, sqlite: true)
        #expect(summary.records == count)
        #expect(summary.checkpoints.count >= 8)
        let expected = try Pipeline<GeneratorSource<Click>>.committedOutput(directory: clean.path)
        #expect(expected.joined().contains { $0.stream == "counts" })
        #expect(expected.joined().contains { $0.stream == "unique_clicks" })

        var random = StateTestRandom(seed: seed)
        var recoveries: [UInt64?] = []
        for _ in 0..<4 {
            let r = try run(crashed.path, seed: seed, count: count, crashAfter: UInt64.random(in: 900...2_500, using: &random),
                            sqlite: true)
            recoveries.append(r.recoveredFromEpoch)
        }
        let final = try run(crashed.path, seed: seed, count: count, sqlite: true)
        recoveries.append(final.recoveredFromEpoch)
        print("recovered from epochs \(recoveries)")
        // Every restart after the first crash resumes from a checkpoint, and they move forward.
        #expect(recoveries.dropFirst().allSatisfy { $0 != nil })
        #expect(Set(recoveries.compactMap { $0 }).count >= 2)
        let got = try Pipeline<GeneratorSource<Click>>.committedOutput(directory: crashed.path)
        #expect(got == expected)
        // The SQLite sink: one row per (stream, key), the last update, in both runs.
        let sqliteClean = try SQLiteEpochCommitter(path: clean.path + "/results.sqlite").rows()
        let sqliteCrashed = try SQLiteEpochCommitter(path: crashed.path + "/results.sqlite").rows()
        #expect(sqliteClean.count > 100)
        #expect(sqliteCrashed == sqliteClean)
        var lastValue: [String: String] = [:]
        for row in expected.joined() { lastValue["\(row.stream)/\(row.key)"] = row.value }
        #expect(sqliteClean.count == lastValue.count)
    }

    @Test func sinkRecordJSONLinesRoundTripThroughFoundationsDecoder() throws {
        let tricky = SinkRecord(stream: "s/\"q\"", key: "a\\b\n\t\r\u{01}é", value: #"{"x":"\u00e9 / \\"}"#)
        var line: [UInt8] = []
        SinkRecord.appendJSONLine(tricky, into: &line)
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(try JSONDecoder().decode(SinkRecord.self, from: Data(line.dropLast())) == tricky)
    }

    @Test func publishesPipelineAndEngineMetrics() throws {
        let dir = StateTestDirectory("pipeline-metrics")
        defer { dir.remove() }
        let metrics = TestMetrics()
        let summary = try run(dir.path, seed: 3, count: 2_000, metrics: metrics)
        #expect(metrics.counterTotal(label: "strata_pipeline_events_in_total") == 2_000)
        #expect(metrics.counters(label: "strata_pipeline_events_in_total").count == 3, "one per partition")
        #expect(try metrics.expectCounter("strata_pipeline_checkpoints_total").totalValue == Int64(summary.checkpoints.count))
        let committed = try Pipeline<GeneratorSource<Click>>.committedOutput(directory: dir.path).joined().count
        #expect(try metrics.expectCounter("strata_pipeline_rows_committed_total").totalValue == Int64(committed))
        // Every row a partition emitted was committed (the run ended with a checkpoint).
        #expect(metrics.counterTotal(label: "strata_pipeline_events_out_total") == Int64(committed))
        #expect(try metrics.expectGauge("strata_pipeline_state_bytes").lastValue ?? 0 > 0)
        #expect(metrics.counterTotal(label: "strata_pipeline_logic_late_total") == Int64(summary.counters["late"] ?? -1))
        #expect(try metrics.expectGauge("strata_pipeline_watermark_lag_seconds").lastValue == 0.301)   // δ + 1 ms
        #expect(try metrics.expectTimer("strata_pipeline_barrier_to_commit_seconds").values.count == summary.checkpoints.count)
        #expect(try metrics.expectTimer("strata_pipeline_checkpoint_duration_seconds", [("partition", "2")]).values.count
                == summary.checkpoints.count)
        _ = try metrics.expectCounter("strata_pipeline_backpressure_seconds_total", [("partition", "1")])
        #expect(try metrics.expectGauge("strata_pipeline_engine_write_stopped", [("partition", "0")]).lastValue == 0)
    }

    @Test func autoIntervalAndTimeIntervalsCheckpoint() throws {
        let dir = StateTestDirectory("pipeline-auto")
        defer { dir.remove() }
        let summary = try run(dir.path, seed: 9, count: 3_000,
                              interval: .auto(failuresPerHour: 3_600, costPerSecond: 1, minimum: 1, maximum: 50))
        #expect(summary.records == 3_000)
        // Epochs 1, 2, … in order, each with a measured duration.
        #expect(summary.checkpoints.count >= 1)
        #expect(summary.checkpoints.map(\.epoch) == (0..<summary.checkpoints.count).map { UInt64($0) + 1 })
        #expect(summary.checkpoints.allSatisfy { $0.milliseconds > 0 })
    }
}
