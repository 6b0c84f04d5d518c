import Foundation
import Prometheus
import Strata
import StrataStreams
import Testing
@testable import StrataServe

/// `StreamJob.run(_:committers:serving:)`: the job runs behind a metrics
/// server, publishing its operators' counters; bad settings fail first.
@Suite(.serialized) struct StreamJobServeTests {
    private static func job(seed: UInt64, events: UInt64) -> StreamJob {
        let job = StreamJob()
        job.source(GeneratorSource(testEvents(seed: seed, count: events)),
                   watermarks: .boundedOutOfOrderness(.milliseconds(200)), timestamp: \.ts)
            .keyBy(Int64Codec()) { Int64($0.key % 50) }
            .window(.tumbling(.seconds(1)), name: "per-second")
            .aggregate(CountAggregate<TestEvent>())
            .sink("counts")
        return job
    }

    @Test("a job served: it runs, and its counters reach the served registry")
    func servedJobPublishesItsCounters() async throws {
        let seed: UInt64 = 11
        print("StreamJobServeTests seed \(seed)")
        let dir = NSTemporaryDirectory() + "strata-serve-job-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let registry = PrometheusCollectorRegistry()
        var options = PipelineOptions(directory: dir)
        options.partitions = 2
        options.checkpointInterval = .records(1_000)
        options.watermarkEveryRecords = 100
        options.metricsFactory = PrometheusMetricsFactory(registry: registry)
        let run = options
        // Off the concurrency pool: `run` blocks its thread.
        let summary = try await offPool { try Self.job(seed: seed, events: 3_000).run(run, serving: "127.0.0.1:0") }
        #expect(summary.records == 3_000)
        let late = summary.counters["late events"] ?? 0
        #expect(late > 0 && late == summary.counters["per-second.late"])
        let text = registry.emitToString()
        #expect(text.contains("strata_pipeline_logic_late_events_total"))
        #expect(text.contains("strata_pipeline_logic_per_second_fired_total"))
    }

    @Test("a bad address or settings that cannot be served fail before any record is read")
    func badSettingsFailFirst() async throws {
        let dir = NSTemporaryDirectory() + "strata-serve-job-bad-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = PipelineOptions(directory: dir)
        options.metricsFactory = PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())
        for (options, address) in [(options, "127.0.0.1"), ({ var o = options; o.metricsPrefix = nil; return o }(), "127.0.0.1:0")] {
            let failed = try await offPool { () -> Bool in
                do {
                    try Self.job(seed: 1, events: 100).run(options, serving: address)
                    return false
                } catch let error as StrataError {
                    return error.kind == .invalidArgument
                }
            }
            #expect(failed, "\(address), metrics prefix \(options.metricsPrefix ?? "nil")")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/checkpoints"))
    }
}
