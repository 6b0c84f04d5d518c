import Foundation
import Strata
import Testing
@testable import StrataStreams
import MetricsTestKit

/// User-defined counters of keyed process functions
/// (`ProcessContext.counter(_:)`): exact totals over several partitions,
/// published like the operators' counters, restarted at 0 by a restart,
/// and clear errors for bad names.
@Suite struct JobUserCounterTests {
    struct Purchase: Codable, Sendable, Equatable {
        var user: Int64
        var amount: Int64
        var ts: Int64
    }

    struct Total: Codable, Sendable {
        var user: Int64
        var events: Int64
    }

    private func options(_ dir: String, metrics: TestMetrics? = nil) -> PipelineOptions {
        var options = PipelineOptions(directory: dir)
        options.partitions = 4
        options.watermarkEveryRecords = 10
        options.checkpointInterval = .records(250)
        options.backend = .testing(cacheEntries: 256)
        options.metricsFactory = metrics
        options.metricsPrefix = metrics == nil ? nil : "strata_pipeline"
        return options
    }

    private func purchases(seed: UInt64, count: Int) -> [Purchase] {
        print("seed \(seed)")
        var random = StateTestRandom(seed: seed)
        return (0..<count).map { i in
            Purchase(user: Int64.random(in: 0..<23, using: &random), amount: Int64.random(in: 0..<100, using: &random),
                     ts: Int64(i) * 10)
        }
    }

    /// A job whose process function `tally` counts its events (`events`),
    /// adds up their amounts (`amount`) and counts the one timer per key
    /// (`keys`). Records with an amount divisible by 17 are dropped by a
    /// source-side filter first.
    private func tallyJob(_ input: [Purchase]) -> StreamJob {
        let job = StreamJob()
        job.source(GeneratorSource<Purchase> { $0 < input.count ? input[Int($0)] : nil },
                   watermarks: .monotonousTimestamps, timestamp: \.ts)
            .filter { $0.amount % 17 != 0 }
            .keyBy(Int64Codec()) { $0.user }
            .process(name: "tally", stateCodec: Int64Codec(), emitting: Total.self, onEvent: { event, events, context in
                try context.counter("events").increment()
                try context.counter("amount").increment(by: Int(event.payload.amount))
                if events == nil { try context.registerEventTimeTimer(at: event.timestamp + 1_000_000) }
                events = (events ?? 0) + 1
            }, onTimer: { timer, events, context in
                try context.counter("keys").increment()
                context.emit(Total(user: timer.key, events: events ?? 0))
            })
            .sink("totals") { "\($0.user)" }
        return job
    }

    @Test func countsAreExactOverPartitionsAndPublishedAsMetrics() throws {
        let input = purchases(seed: 2_026, count: 3_000)
        let kept = input.filter { $0.amount % 17 != 0 }
        let dir = StateTestDirectory("job-user-counters")
        defer { dir.remove() }
        let metrics = TestMetrics()
        let summary = try tallyJob(input).run(options(dir.path, metrics: metrics))

        #expect(summary.counters["source.filtered"] == input.count - kept.count)
        #expect(summary.counters["tally.events"] == kept.count)
        #expect(summary.counters["tally.amount"] == Int(kept.map(\.amount).reduce(0, +)))
        #expect(summary.counters["tally.keys"] == Set(kept.map(\.user)).count)
        let totals = try StreamJob.committedOutput(directory: dir.path).joined()
            .map { try JSONDecoder().decode(Total.self, from: Data($0.value.utf8)) }
        #expect(Int(totals.map(\.events).reduce(0, +)) == kept.count)

        // The same plumbing as the operators' counters: one metric per
        // partition, `<prefix>_logic_<operator>_<name>_total`.
        #expect(metrics.counterTotal(label: "strata_pipeline_logic_tally_events_total") == Int64(kept.count))
        #expect(metrics.counterTotal(label: "strata_pipeline_logic_tally_amount_total")
                == kept.map(\.amount).reduce(0, +))
        #expect(metrics.counterTotal(label: "strata_pipeline_logic_tally_keys_total") == Int64(Set(kept.map(\.user)).count))
        #expect(metrics.counters(label: "strata_pipeline_logic_tally_events_total").count == 4, "one per partition")
    }

    @Test func aRestartCountsFromZeroAsFlinkDoes() throws {
        let input = purchases(seed: 31, count: 2_000)
        let dir = StateTestDirectory("job-user-counters-restart")
        defer { dir.remove() }
        let crashed = try tallyJob(input).run(options(dir.path), committers: [],
                                              testHooks: PipelineTestHooks(crashAfterRecords: 1_100))
        #expect(crashed.records < UInt64(input.count))
        let again = try tallyJob(input).run(options(dir.path))
        #expect(again.recoveredFromEpoch != nil)
        #expect(again.records < UInt64(input.count))
        // This run's counts only: the records read since the checkpoint it
        // resumed from, each counted once.
        let read = input.suffix(Int(again.records))
        let kept = read.filter { $0.amount % 17 != 0 }
        #expect(again.counters["source.filtered"] == read.count - kept.count)
        #expect(again.counters["tally.events"] == kept.count)
        #expect(again.counters["tally.amount"] == Int(kept.map(\.amount).reduce(0, +)))
        // Every key's timer fires once in the run that reaches the end.
        #expect(again.counters["tally.keys"] == Set(input.filter { $0.amount % 17 != 0 }.map(\.user)).count)
    }

    @Test(arguments: ["", "a.b", "with space", "é", "late"])
    func anInvalidCounterNameFailsTheRun(name: String) throws {
        let dir = StateTestDirectory("job-user-counters-invalid")
        defer { dir.remove() }
        let job = StreamJob()
        job.source(GeneratorSource<Int64> { $0 < 50 ? Int64($0) : nil }, watermarks: .monotonousTimestamps,
                   timestamp: { $0 })
            .keyBy(Int64Codec()) { $0 % 3 }
            .process(name: "p", stateCodec: Int64Codec(), emitting: Int64.self, onEvent: { event, _, context in
                try context.counter(name).increment()
                context.emit(event.payload)
            }, onTimer: { _, _, _ in })
            .sink("out") { "\($0)" }
        let error = try #require(throws: StrataError.self) { try job.run(options(dir.path)) }
        // The pipeline reports a partition's failure as "pipeline partition
        // failed: <the partition's error>".
        #expect(error.message.contains("job: process 'p': counter name '\(name)'"))
    }

    @Test func aCounterNameTakenByAnotherOperatorsCounterFailsTheRun() throws {
        let dir = StateTestDirectory("job-user-counters-clash")
        defer { dir.remove() }
        let job = StreamJob()
        job.source(GeneratorSource<Int64> { $0 < 50 ? Int64($0) : nil }, watermarks: .monotonousTimestamps,
                   timestamp: { $0 })
            .keyBy(Int64Codec()) { $0 % 3 }
            .process(name: "source", stateCodec: Int64Codec(), emitting: Int64.self, onEvent: { event, _, context in
                try context.counter("filtered").increment()
                context.emit(event.payload)
            }, onTimer: { _, _, _ in })
            .sink("out") { "\($0)" }
        let error = try #require(throws: StrataError.self) { try job.run(options(dir.path)) }
        #expect(error.message.contains("job: process 'source': counter 'source.filtered' clashes"))
    }

    @Test func aNegativeOrOverflowingIncrementThrowsAndKeepsTheCount() throws {
        let counter = ProcessCounter(name: "p.c")
        try counter.increment(by: 5)
        #expect(throws: StrataError.self) { try counter.increment(by: -1) }
        try counter.increment(by: Int.max - 5)
        #expect(throws: StrataError.self) { try counter.increment() }
        #expect(counter.count == Int.max)
    }
}
