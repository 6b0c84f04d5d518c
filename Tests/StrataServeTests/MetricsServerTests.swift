import Foundation
import Metrics
import Prometheus
import Strata
import StrataStreams
import Testing
@testable import StrataServe

/// The metrics endpoint and dashboard server: a real HTTP server on a
/// loopback port the system picks, read over a plain socket. Each test has
/// its own registry (swift-metrics' process-wide bootstrap is left alone).
@Suite(.serialized) struct MetricsServerTests {
    /// Every metric docs/operations.md promises, with the labels it must carry.
    static let required: [(String, [String])] = [
        ("strata_pipeline_events_in_total", ["partition"]),
        ("strata_pipeline_events_out_total", ["partition"]),
        ("strata_pipeline_rows_committed_total", []),
        ("strata_pipeline_checkpoints_total", []),
        ("strata_pipeline_watermark_lag_seconds", []),
        ("strata_pipeline_logic_late_events_total", ["partition"]),
        ("strata_pipeline_checkpoint_duration_seconds_count", ["partition"]),
        ("strata_pipeline_checkpoint_duration_seconds_sum", ["partition"]),
        ("strata_pipeline_checkpoint_size_bytes", []),
        ("strata_pipeline_barrier_to_commit_seconds_count", []),
        ("strata_pipeline_barrier_to_commit_seconds_bucket", ["le"]),
        ("strata_pipeline_backpressure_seconds_total", ["partition"]),
        ("strata_pipeline_state_bytes", []),
        ("strata_pipeline_engine_level_bytes", ["partition", "column_family", "level"]),
        ("strata_pipeline_engine_write_amplification", ["partition"]),
        ("strata_pipeline_engine_pending_compaction_bytes", ["partition"]),
        ("strata_pipeline_engine_write_stall_seconds_total", ["partition"]),
        ("strata_pipeline_engine_block_cache_hits_total", ["partition"]),
        ("strata_pipeline_engine_block_cache_misses_total", ["partition"]),
        ("strata_pipeline_engine_memtable_bytes", ["partition"]),
        ("strata_pipeline_engine_block_cache_usage_bytes", ["partition"]),
    ]

    @Test("/metrics serves the pipeline's and the engines' metrics in Prometheus text after a run")
    func metricsAfterARun() async throws {
        let seed: UInt64 = 7
        print("MetricsServerTests.metricsAfterARun seed \(seed)")
        let dir = NSTemporaryDirectory() + "strata-serve-metrics-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let registry = PrometheusCollectorRegistry()
        let server = try await MetricsServer.start(address: "127.0.0.1:0", registry: registry)
        #expect(server.port > 0)
        let events: UInt64 = 3_000
        let summary = try await offPool { () -> PipelineSummary in
            var options = PipelineOptions(directory: dir)
            options.partitions = 2
            options.checkpointInterval = .records(1_000)
            options.maxOutOfOrderness = 200
            options.watermarkEveryRecords = 100
            options.batchSize = 64
            options.metricsFactory = PrometheusMetricsFactory(registry: registry)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let pipeline = try Pipeline(options: options, source: GeneratorSource(testEvents(seed: seed, count: events)),
                                        key: { withUnsafeBytes(of: $0.key) { Array($0) } }, timestamp: \.ts) {
                TestLogic($0)
            }
            return try pipeline.run()
        }
        let port = server.port
        let reply = try await offPool { try httpGet(port: port, path: "/metrics") }
        #expect(reply.status == 200)
        #expect(reply.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        // Every line is a comment or `name{labels} value`.
        let samples = try PrometheusText.parse(reply.body)
        for line in reply.body.split(separator: "\n") where line.hasPrefix("#") {
            #expect(line.hasPrefix("# TYPE ") || line.hasPrefix("# HELP "), "\(line)")
        }
        for (name, labels) in Self.required {
            let found = samples.filter { $0.name == name }
            #expect(!found.isEmpty, "\(name) is missing")
            for sample in found { #expect(labels.allSatisfy { sample.labels[$0] != nil }, "\(name) lacks \(labels)") }
        }
        func total(_ name: String, _ filter: [String: String] = [:]) -> Double {
            samples.filter { s in s.name == name && filter.allSatisfy { s.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
        }
        #expect(total("strata_pipeline_events_in_total") == Double(events))
        #expect(total("strata_pipeline_events_out_total") == Double(summary.outputs))
        #expect(total("strata_pipeline_rows_committed_total") == Double(summary.outputs))
        #expect(total("strata_pipeline_checkpoints_total") == Double(summary.checkpoints.count))
        #expect(total("strata_pipeline_barrier_to_commit_seconds_count") == Double(summary.checkpoints.count))
        #expect(total("strata_pipeline_logic_late_events_total") == Double(summary.counters["late events"] ?? -1))
        #expect(total("strata_pipeline_logic_late_events_total") > 0)
        #expect(total("strata_pipeline_watermark_lag_seconds") == 0.201)   // δ + 1 ms
        // The engines flushed at every checkpoint: L0 holds tables.
        #expect(total("strata_pipeline_engine_level_bytes", ["level": "0"]) > 0)
        #expect(total("strata_pipeline_engine_write_amplification", ["partition": "0"]) > 0)
        #expect(total("strata_pipeline_engine_user_written_bytes_total") >= Double(events * 200))

        // The dashboard page is self-contained, and its JSON is there.
        let page = try await offPool { try httpGet(port: port, path: "/") }
        #expect(page.status == 200)
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(page.body.contains("/api/series"))
        for external in ["src=\"http", "href=\"http", "src='http", "@import", "<link"] {
            #expect(!page.body.contains(external), "the page loads nothing from elsewhere (\(external))")
        }
        let series = try await offPool { try httpGet(port: port, path: "/api/series") }
        #expect(series.status == 200)
        let json = try JSONSerialization.jsonObject(with: Data(series.body.utf8)) as? [String: Any]
        #expect((json?["charts"] as? [[String: Any]])?.count == SeriesSampler.charts.count)
        let missing = try await offPool { try httpGet(port: port, path: "/nothing-here") }
        #expect(missing.status == 404)
        await server.stop()
        await server.stop()   // idempotent
    }

    @Test("an address in use or a malformed one fails at start with a clear error")
    func startErrors() async throws {
        let first = try await MetricsServer.start(address: "127.0.0.1:0", registry: PrometheusCollectorRegistry())
        do {
            _ = try await MetricsServer.start(address: "127.0.0.1:\(first.port)", registry: PrometheusCollectorRegistry())
            Issue.record("a second server on port \(first.port) started")
        } catch let error as StrataError {
            #expect(error.kind == .ioError)
            #expect("\(error)".contains("cannot listen on 127.0.0.1:\(first.port)"), "\(error)")
            #expect("\(error)".lowercased().contains("address already in use"), "\(error)")
        }
        // The first one still serves.
        let port = first.port
        #expect(try await offPool { try httpGet(port: port, path: "/metrics") }.status == 200)
        await first.stop()

        for bad in ["9464", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:http", ":9464", "a b:1"] {
            do {
                _ = try await MetricsServer.start(address: bad, registry: PrometheusCollectorRegistry())
                Issue.record("\(bad) was accepted")
            } catch let error as StrataError {
                #expect(error.kind == .invalidArgument)
                #expect("\(error)".contains("bad address \"\(bad)\""), "\(error)")
            }
        }
    }

    @Test("the series JSON: rates from counters, sums per level, held checkpoint times, a bounded ring")
    func seriesJSON() throws {
        let registry = PrometheusCollectorRegistry()
        let sampler = SeriesSampler(registry: registry, prefix: "strata_pipeline", capacity: 3, interval: .seconds(1))
        // Filled through swift-metrics, as the pipeline fills it.
        let factory = PrometheusMetricsFactory(registry: registry)
        let events = (0..<2).map {
            Counter(label: "strata_pipeline_events_in_total", dimensions: [("partition", String($0))], factory: factory)
        }
        let out = Counter(label: "strata_pipeline_events_out_total", dimensions: [("partition", "0")], factory: factory)
        let lag = Gauge(label: "strata_pipeline_watermark_lag_seconds", factory: factory)
        let level = (0..<2).map {
            Gauge(label: "strata_pipeline_engine_level_bytes",
                  dimensions: [("partition", String($0)), ("column_family", "default"), ("level", "1")], factory: factory)
        }
        let b2c = Metrics.Timer(label: "strata_pipeline_barrier_to_commit_seconds", factory: factory)
        lag.record(2.5)
        level[0].record(1000)
        level[1].record(500)
        sampler.sampleNow(at: 1000)
        events[0].increment(by: 300)
        events[1].increment(by: 100)
        out.increment(by: 40)
        b2c.recordMilliseconds(200)
        b2c.recordMilliseconds(400)
        sampler.sampleNow(at: 1002)
        sampler.sampleNow(at: 1003)

        let json = try #require(try JSONSerialization.jsonObject(with: Data(sampler.json().utf8)) as? [String: Any])
        #expect(json["t"] as? [Int] == [1_000_000, 1_002_000, 1_003_000])
        #expect(json["samples"] as? Int == 3)
        let charts = try #require(json["charts"] as? [[String: Any]])
        #expect(charts.map { $0["id"] as? String } == SeriesSampler.charts.map(\.id))
        func series(_ chart: String) -> [String: [Double?]] {
            let c = charts.first { $0["id"] as? String == chart }
            var result: [String: [Double?]] = [:]
            for s in (c?["series"] as? [[String: Any]]) ?? [] {
                result[s["name"] as? String ?? "?"] = (s["values"] as? [Any])?.map { $0 as? Double }
            }
            return result
        }
        let throughput = series("throughput")
        #expect(throughput["in"] == [nil, 200, 0])          // 400 events in 2 s, then none
        #expect(throughput["in p0"] == [nil, 150, 0])
        #expect(throughput["out"] == [nil, 20, 0])
        #expect(series("lag")["lag"] == [2.5, 2.5, 2.5])
        #expect(series("levels")["L1"] == [1500, 1500, 1500])
        let checkpoint = series("checkpoint")["barrier to commit"]
        #expect(checkpoint?[0] == nil)
        let mean = (checkpoint?[1] ?? nil) ?? -1
        #expect(abs(mean - 0.3) < 1e-9)                     // the mean of 0.2 and 0.4 s
        #expect(checkpoint?[2] == checkpoint?[1])           // held until the next checkpoint

        // The ring keeps the last `capacity` samples, oldest first.
        sampler.sampleNow(at: 1004)
        let later = try #require(try JSONSerialization.jsonObject(with: Data(sampler.json().utf8)) as? [String: Any])
        #expect(later["t"] as? [Int] == [1_002_000, 1_003_000, 1_004_000])
        #expect(later["samples"] as? Int == 4)
    }

    @Test("Prometheus text lines parse, escapes included; malformed lines are reported with their number")
    func textFormat() throws {
        let text = "# TYPE a_total counter\na_total{x=\"q\\\"uote\\\\ \\n\",le=\"+Inf\"} 3\nb 1.5e-3\nc NaN 1700000000000\n\n"
        let samples = try PrometheusText.parse(text)
        #expect(samples.count == 3)
        #expect(samples[0] == PrometheusSample(name: "a_total", labels: ["x": "q\"uote\\ \n", "le": "+Inf"], value: 3))
        #expect(samples[1].value == 0.0015)
        #expect(samples[2].value.isNaN)
        for bad in ["a{x=1} 2", "a 1 2 3", "a{x=\"1\"}", "{x=\"1\"} 2", "a b"] {
            #expect(throws: PrometheusTextError.self, "\(bad)") { try PrometheusText.parse("ok 1\n" + bad) }
        }
        do {
            _ = try PrometheusText.parse("ok 1\nbroken")
        } catch let error as PrometheusTextError {
            #expect(error.line == 2)
        }
    }
}
