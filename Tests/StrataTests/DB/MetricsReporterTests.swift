import Metrics
import MetricsTestKit
import Testing
@testable import Strata

/// Publishing through swift-metrics: counters carry the engine's counters
/// (incremented by the change between reports), gauges the current state,
/// including write backpressure; the background reporter reports until
/// stopped.
@Suite("Metrics reporter")
struct MetricsReporterTests {
    static let dims = [("db", "test")]

    static func counter(_ m: TestMetrics, _ name: String, _ extra: [(String, String)] = []) throws -> Int64 {
        try m.expectCounter("strata_" + name, dims + extra).totalValue
    }

    static func gauge(_ m: TestMetrics, _ name: String, _ extra: [(String, String)] = []) throws -> Double? {
        try m.expectGauge("strata_" + name, dims + extra).lastValue
    }

    @Test("counters equal the engine's counters across reports; gauges show layout, W-Amp and memory")
    func countersAndGauges() throws {
        let seed: UInt64 = 5
        print("MetricsReporterTests seed \(seed)")
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 64 << 10
        let db = try Database.open(at: dir.path, options: options)
        let metrics = TestMetrics()
        let reporter = db.makeMetricsReporter(dimensions: Self.dims, factory: metrics)
        var rng = TestRandom(seed: seed)
        for _ in 0..<3000 { try db.put(Array("k\(rng.int(0..<2000))".utf8), rng.bytes(60)) }
        reporter.report()
        for _ in 0..<3000 { try db.put(Array("k\(rng.int(0..<2000))".utf8), rng.bytes(60)) }
        try db.flush()
        try db.compactRange()
        for i in 0..<500 { _ = try db.get(Array("k\(i)".utf8)) }
        reporter.report()
        #expect(reporter.reportCount == 2)
        let s = db.statistics()
        #expect(try Self.counter(metrics, "user_written_bytes_total") == Int64(s.userBytes))
        #expect(try Self.counter(metrics, "wal_written_bytes_total") == Int64(s.walBytes))
        #expect(try Self.counter(metrics, "flush_written_bytes_total") == Int64(s.flushBytes))
        #expect(try Self.counter(metrics, "flushes_total") == Int64(s.flushes))
        #expect(try Self.counter(metrics, "gets_total") == 500)
        var compacted: Int64 = 0
        var probed: Int64 = 0
        for level in 0..<Version.levelCount {
            let l = [("level", String(level))]
            compacted += try Self.counter(metrics, "compaction_written_bytes_total", l)
            probed += try Self.counter(metrics, "get_files_probed_total", l)
            #expect(try Self.counter(metrics, "bloom_true_positive_total", l) == Int64(s.levelReads[level].bloomTruePositives))
        }
        #expect(compacted == Int64(s.totalCompactionBytesWritten))
        #expect(compacted > 0)
        #expect(probed == Int64(s.filesProbed))
        #expect(try Self.gauge(metrics, "write_amplification") == s.writeAmplification)
        let cf = ("column_family", "default")
        var files = 0.0
        for level in 0..<Version.levelCount {
            files += try Self.gauge(metrics, "level_files", [cf, ("level", String(level))]) ?? -1
        }
        #expect(files == Double(s.filesPerLevel.reduce(0, +)))
        #expect(try Self.gauge(metrics, "total_sst_bytes", [cf]) == Double(s.tableBytes))
        #expect(try Self.gauge(metrics, "memtable_bytes") == Double(db.memoryUsage().memtables))
        #expect(try Self.gauge(metrics, "block_cache_capacity_bytes") == Double(32 << 20))
        #expect(try Self.gauge(metrics, "write_stopped") == 0)
        try db.close()
    }

    @Test("write backpressure shows in the gauges: delayed with its rate, then stopped")
    func backpressureGauges() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.level0FileNumCompactionTrigger = 100
        options.level0SlowdownWritesTrigger = 1
        options.level0StopWritesTrigger = 2
        options.delayedWriteRate = 8 << 20
        let db = try Database.open(at: dir.path, options: options)
        let metrics = TestMetrics()
        let reporter = db.makeMetricsReporter(dimensions: Self.dims, factory: metrics)
        reporter.report()
        #expect(try Self.gauge(metrics, "write_delayed") == 0)
        #expect(try Self.gauge(metrics, "l0_stall_runs") == 0)
        try db.put([1], [1])
        try db.flush()
        reporter.report()
        #expect(try Self.gauge(metrics, "write_delayed") == 1)
        #expect(try Self.gauge(metrics, "delayed_write_rate_bytes_per_second") == Double(8 << 20))
        #expect(try Self.gauge(metrics, "l0_stall_runs") == 1)
        try db.put([2], [2])
        try db.flush()
        reporter.report()
        #expect(try Self.gauge(metrics, "write_stopped") == 1)
        #expect(try Self.gauge(metrics, "write_delayed") == 0)
        #expect(try Self.gauge(metrics, "delayed_write_rate_bytes_per_second") == 0)
        #expect(db.property("strata.is-write-stopped") == "1")
        try db.compactRange()
        reporter.report()
        #expect(try Self.gauge(metrics, "write_stopped") == 0)
        // The delayed put above waited: the stall counters moved.
        #expect(try Self.counter(metrics, "write_stalls_total") == Int64(db.statistics().stalls))
        // Seconds, a floating-point counter (TestMetrics rounds it to an integer counter).
        _ = try metrics.expectCounter("strata_write_stall_seconds_total", Self.dims)
        try db.close()
    }

    @Test("the background reporter reports until stopped, and stops when the reporter is freed")
    func backgroundReporter() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.path, options: Options())
        let metrics = TestMetrics()
        let reporter = db.makeMetricsReporter(dimensions: Self.dims, factory: metrics)
        reporter.start(interval: .milliseconds(1))
        reporter.start(interval: .milliseconds(1))  // already running: no second thread
        try db.put([1], [2])
        reporter.waitForBackgroundReports(3)
        reporter.stop()
        let count = reporter.reportCount
        #expect(count >= 3)
        reporter.stop()
        #expect(reporter.reportCount == count, "no report after stop")
        #expect(try Self.counter(metrics, "user_written_bytes_total") == 2)
        // A reporter dropped without `stop()`: its thread sees it gone and
        // ends (it holds the reporter weakly), the database closes normally.
        do {
            let second = db.makeMetricsReporter(dimensions: [("db", "second")], factory: metrics)
            second.start(interval: .milliseconds(1))
            second.waitForBackgroundReports(1)
        }
        try db.close()
    }
}
