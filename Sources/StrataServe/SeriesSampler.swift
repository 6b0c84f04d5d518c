import Foundation
import Prometheus
import Synchronization

/// The dashboard's history: once per interval a thread of its own (not the
/// Swift concurrency pool) reads the registry's Prometheus text, derives
/// the charted values (rates from counters, sums over partitions) and
/// appends them to a ring buffer of `capacity` samples; `/api/series`
/// serves the buffer as JSON.
///
/// Cost: one text rendering of the registry and a parse of it per
/// interval, on the sampler's thread; nothing on the job's threads.
///
/// Thread safety: `Sendable`; the buffer is behind a mutex.
final class SeriesSampler: Sendable {
    /// One chart of the dashboard: its series are the sample keys `id|name`.
    struct Chart {
        var id: String
        var title: String
        var unit: String
    }

    /// The charts, in page order.
    static let charts = [
        Chart(id: "throughput", title: "Throughput", unit: "events/s"),
        Chart(id: "lag", title: "Watermark lag", unit: "s"),
        Chart(id: "checkpoint", title: "Checkpoint time", unit: "s"),
        Chart(id: "checkpoint_size", title: "Checkpoint size (new table bytes)", unit: "bytes"),
        Chart(id: "levels", title: "State size per level", unit: "bytes"),
        Chart(id: "wamp", title: "Write amplification", unit: "×"),
        Chart(id: "backpressure", title: "Backpressure and write stalls", unit: "s/s"),
        Chart(id: "memory", title: "Memory and compaction debt", unit: "bytes"),
    ]

    struct Sample {
        /// Unix time in milliseconds.
        var time: Int64
        var values: [String: Double]
    }

    private struct State {
        var ring: [Sample] = []
        /// Index of the oldest sample once the ring is full.
        var next = 0
        var previous: (time: Double, counters: [String: Double])?
        /// The last barrier-to-commit and per-partition checkpoint times seen (held between checkpoints).
        var lastCheckpoint: [String: Double] = [:]
        var stopRequested = false
        var samples = 0
    }

    let registry: PrometheusCollectorRegistry
    let prefix: String
    let capacity: Int
    let intervalNanoseconds: UInt64
    private let state = Mutex(State())
    private let wake = NSCondition()
    private let stopped = DispatchSemaphore(value: 0)

    init(registry: PrometheusCollectorRegistry, prefix: String, capacity: Int, interval: Duration) {
        self.registry = registry
        self.prefix = prefix
        self.capacity = max(2, capacity)
        let (s, a) = interval.components
        self.intervalNanoseconds = UInt64(max(10_000_000, s * 1_000_000_000 + a / 1_000_000_000))
    }

    /// Starts the sampling thread (takes the first sample at once).
    func start() {
        let thread = Thread { [self] in
            while true {
                sampleNow()
                wake.lock()
                let deadline = Date(timeIntervalSinceNow: Double(intervalNanoseconds) / 1e9)
                while !state.withLock({ $0.stopRequested }) && Date() < deadline { _ = wake.wait(until: deadline) }
                wake.unlock()
                if state.withLock({ $0.stopRequested }) { break }
            }
            stopped.signal()
        }
        thread.name = "strata-serve-sampler"
        thread.start()
    }

    /// Stops the thread and waits for it. Call once.
    func stop() {
        wake.lock()
        state.withLock { $0.stopRequested = true }
        wake.broadcast()
        wake.unlock()
        stopped.wait()
    }

    /// Samples taken so far.
    var sampleCount: Int { state.withLock { $0.samples } }

    /// Reads the registry and appends one sample taken at `time` (Unix
    /// seconds; default now — tests pass their own).
    func sampleNow(at time: Double? = nil) {
        let now = time ?? Date().timeIntervalSince1970
        let samples = (try? PrometheusText.parse(registry.emitToString())) ?? []
        state.withLock { s in
            let values = derive(samples, time: now, state: &s)
            let sample = Sample(time: Int64(now * 1000), values: values)
            if s.ring.count < capacity {
                s.ring.append(sample)
            } else {
                s.ring[s.next] = sample
                s.next = (s.next + 1) % capacity
            }
            s.samples += 1
        }
    }

    /// The charted values of one reading.
    private func derive(_ samples: [PrometheusSample], time: Double, state s: inout State) -> [String: Double] {
        let p = prefix
        let engine = prefix + "_engine"
        var values: [String: Double] = [:]
        var counters: [String: Double] = [:]
        func add(_ key: String, _ v: Double) { values[key, default: 0] += v }
        for m in samples {
            let part = m.labels["partition"].map { "p" + $0 } ?? ""
            switch m.name {
            case p + "_events_in_total":
                counters["in", default: 0] += m.value
                counters["in " + part, default: 0] += m.value
            case p + "_events_out_total": counters["out", default: 0] += m.value
            case p + "_backpressure_seconds_total": counters["source waits", default: 0] += m.value
            case engine + "_write_stall_seconds_total": counters["write stalls", default: 0] += m.value
            case p + "_barrier_to_commit_seconds_sum": counters["b2c sum", default: 0] += m.value
            case p + "_barrier_to_commit_seconds_count": counters["b2c count", default: 0] += m.value
            case p + "_checkpoint_duration_seconds_sum": counters["cp sum " + part, default: 0] += m.value
            case p + "_checkpoint_duration_seconds_count": counters["cp count " + part, default: 0] += m.value
            case p + "_watermark_lag_seconds": values["lag|lag"] = m.value
            case p + "_checkpoint_size_bytes": values["checkpoint_size|new bytes"] = m.value
            case engine + "_level_bytes":
                if let level = m.labels["level"] { add("levels|L" + level, m.value) }
            case engine + "_memtable_bytes":
                add("levels|memtables", m.value)
                add("memory|memtables", m.value)
            case engine + "_block_cache_usage_bytes": add("memory|block cache", m.value)
            case engine + "_pending_compaction_bytes": add("memory|pending compaction", m.value)
            case engine + "_write_amplification": values["wamp|" + (part.isEmpty ? "all" : part)] = m.value
            default: break
            }
        }
        // Levels that hold nothing are left out of the chart.
        for (key, v) in values where key.hasPrefix("levels|L") && v == 0 { values[key] = nil }
        if let previous = s.previous, time > previous.time {
            let dt = time - previous.time
            func rate(_ key: String) -> Double? {
                guard let now = counters[key], let before = previous.counters[key], now >= before else { return nil }
                return (now - before) / dt
            }
            for key in counters.keys where key == "in" || key == "out" || key.hasPrefix("in p") {
                if let r = rate(key) { values["throughput|" + key] = r }
            }
            for key in ["source waits", "write stalls"] { if let r = rate(key) { values["backpressure|" + key] = r } }
            // Checkpoint times: the mean of those completed since the last
            // sample, held until the next one completes.
            func mean(_ sum: String, _ count: String) -> Double? {
                guard let n = counters[count], let n0 = previous.counters[count], n > n0,
                      let t = counters[sum], let t0 = previous.counters[sum] else { return nil }
                return (t - t0) / (n - n0)
            }
            if let m = mean("b2c sum", "b2c count") { s.lastCheckpoint["barrier to commit"] = m }
            for key in counters.keys where key.hasPrefix("cp count ") {
                let part = String(key.dropFirst("cp count ".count))
                if let m = mean("cp sum " + part, key) { s.lastCheckpoint["partition " + part] = m }
            }
        }
        for (name, v) in s.lastCheckpoint { values["checkpoint|" + name] = v }
        s.previous = (time, counters)
        return values
    }

    /// The buffer as the dashboard's JSON: `{"interval_seconds", "samples",
    /// "t": [unix ms…], "charts": [{"id", "title", "unit", "series":
    /// [{"name", "values": [number|null…]}]}]}`, oldest sample first.
    func json() -> String {
        let (ordered, total) = state.withLock { s -> ([Sample], Int) in
            (s.ring.count < capacity ? s.ring : Array(s.ring[s.next...] + s.ring[..<s.next]), s.samples)
        }
        var out = "{\"interval_seconds\":\(Double(intervalNanoseconds) / 1e9),\"samples\":\(total),\"t\":["
        out += ordered.map { String($0.time) }.joined(separator: ",")
        out += "],\"charts\":["
        var keys = Set<String>()
        for sample in ordered { keys.formUnion(sample.values.keys) }
        out += Self.charts.map { chart in
            let names = keys.filter { $0.hasPrefix(chart.id + "|") }.map { String($0.dropFirst(chart.id.count + 1)) }
                .sorted(by: Self.seriesOrder)
            let series = names.map { name in
                let key = chart.id + "|" + name
                let values = ordered.map { sample in sample.values[key].map(Self.number) ?? "null" }
                return "{\"name\":\(Self.quoted(name)),\"values\":[\(values.joined(separator: ","))]}"
            }
            return "{\"id\":\(Self.quoted(chart.id)),\"title\":\(Self.quoted(chart.title)),\"unit\":\(Self.quoted(chart.unit)),"
                + "\"series\":[\(series.joined(separator: ","))]}"
        }.joined(separator: ",")
        out += "]}"
        return out
    }

    /// Levels in numeric order (L10 after L9), totals before per-partition series.
    static func seriesOrder(_ a: String, _ b: String) -> Bool {
        a.compare(b, options: .numeric) == .orderedAscending
    }

    static func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
