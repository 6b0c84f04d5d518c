import Metrics

/// Publishes a database's counters and gauges through swift-metrics, so any
/// backend bootstrapped in `MetricsSystem` (a Prometheus exporter, a log)
/// can show them. docs/metrics.md lists every metric with its formula.
///
/// Cost: nothing on the engine's paths. The engine keeps its own atomic
/// counters (`Database.statistics()`); `report()` reads them and pushes
/// the change since the previous report into swift-metrics `Counter`s and
/// the current values into `Gauge`s. Call it when you want (after each
/// checkpoint of a stream job, say), or let `start(interval:)` call it from
/// a background thread of its own.
///
/// Names are `<prefix>_<metric>` in Prometheus' conventions: lowercase
/// with `_`, base units last (`_bytes`, `_seconds`), counters end in
/// `_total` (docs/metrics.md lists them);
/// every metric carries the reporter's `dimensions` (e.g. `[("db", "orders")]`
/// to tell databases apart), per-level ones also `("level", "N")` and
/// layout gauges `("column_family", NAME)`. Counters start from the
/// database's counters at the first report (a database's counters start at
/// zero when it opens).
///
/// Backpressure for a stream runtime: `write_stopped`, `write_delayed`,
/// `delayed_write_rate_bytes_per_second`, `pending_compaction_bytes`,
/// `immutable_memtables`, `l0_stall_runs` and the counters
/// `write_stall_seconds_total`/`write_stalls_total`.
///
/// Thread safety: `Sendable`; `report` may be called from any thread (calls
/// are serialized). The reporter keeps the database object alive, not open:
/// reports after `Database.close()` publish the final counters. The
/// background thread stops with `stop()` or when the reporter is freed.
public final class MetricsReporter: Sendable {
    /// The database reported on.
    public let database: Database
    /// Prefix of every metric name. Default "strata".
    public let prefix: String
    /// Dimensions added to every metric.
    public let dimensions: [(String, String)]
    private let factory: any MetricsFactory
    private let state = Locked(State())
    private let loop = ReporterLoop()

    private struct State {
        var last: DatabaseStatistics?
        var counters: [String: Counter] = [:]
        var secondCounters: [String: FloatingPointCounter] = [:]
        var gauges: [String: Gauge] = [:]
        var reports = 0
    }

    /// A reporter for `database` creating its metrics through `factory`
    /// (default: `MetricsSystem.factory`, whatever backend was bootstrapped).
    public init(database: Database, prefix: String = "strata", dimensions: [(String, String)] = [],
                factory: (any MetricsFactory)? = nil) {
        self.database = database
        self.prefix = prefix
        self.dimensions = dimensions
        self.factory = factory ?? MetricsSystem.factory
    }

    deinit {
        loop.requestStop()
    }

    /// Reports made so far.
    public var reportCount: Int { state.withLock { $0.reports } }

    /// Reads the database's counters and state and publishes them: counters
    /// are incremented by what happened since the previous report, gauges
    /// set to the current values. Cheap: atomics, one pass over the level
    /// layout, a few short locks; no I/O.
    public func report() {
        // Read under the reporter's lock, so two reports (the background
        // thread's and a caller's) publish in the order they read and the
        // deltas never run backwards.
        state.withLock { s in
            let now = database.statistics()
            let stall = database.writeStallState()
            let memory = database.memoryUsage()
            let layouts = database.levelLayouts()
            let d = s.last.map { now.since($0) } ?? now
            s.last = now
            s.reports += 1
            publish(d, now: now, stall: stall, memory: memory, layouts: layouts, into: &s)
        }
    }

    /// Starts a background thread (not the Swift concurrency pool) calling
    /// `report()` every `interval` (at least 1 ms) until `stop()`. A second
    /// call while running changes nothing.
    public func start(interval: Duration) {
        let (seconds, attoseconds) = interval.components
        let nanoseconds = max(1_000_000, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        guard loop.begin() else { return }
        let weakSelf = WeakReporter(self)
        let loop = self.loop
        startThread(name: "strata-metrics") {
            while loop.sleep(nanoseconds: nanoseconds) {
                guard let reporter = weakSelf.reporter else { break }
                reporter.report()
                loop.reported()
            }
            loop.finished()
        }
    }

    /// Waits until the background thread has made `count` reports in all
    /// (or has stopped). For tests and shutdown sequences.
    func waitForBackgroundReports(_ count: Int) {
        loop.wait { self.reportCount >= count }
    }

    /// Stops the background thread and waits until it has finished its
    /// current report. Idempotent; `start` may be called again afterwards.
    public func stop() {
        loop.requestStop()
        loop.waitUntilFinished()
    }

    // MARK: Publishing

    private func publish(_ d: DatabaseStatistics, now: DatabaseStatistics, stall: WriteStallState, memory: MemoryUsage,
                         layouts: [LevelLayout], into s: inout State) {
        // Counters are named `<name>_total`; time counters are in seconds.
        func count(_ name: String, _ value: UInt64, _ extra: [(String, String)] = []) {
            guard value > 0 else {
                // Create it anyway, so a backend shows the series from the start.
                _ = counter(name + "_total", extra, &s)
                return
            }
            counter(name + "_total", extra, &s).increment(by: Int64(clamping: value))
        }
        func countSeconds(_ name: String, _ seconds: Double, _ extra: [(String, String)] = []) {
            let key = metricKey(name, extra)
            let c = s.secondCounters[key] ?? {
                let c = FloatingPointCounter(label: prefix + "_" + name + "_total", dimensions: dimensions + extra,
                                             factory: factory)
                s.secondCounters[key] = c
                return c
            }()
            if seconds > 0 { c.increment(by: seconds) }
        }
        func gauge(_ name: String, _ value: Double, _ extra: [(String, String)] = []) {
            let key = metricKey(name, extra)
            let g = s.gauges[key] ?? {
                let g = Gauge(label: prefix + "_" + name, dimensions: dimensions + extra, factory: factory)
                s.gauges[key] = g
                return g
            }()
            g.record(value)
        }

        // Writes and W-Amp.
        count("user_written_bytes", d.userBytes)
        count("user_keys_written", d.userWrites)
        count("write_calls", d.writeCalls)
        count("commit_groups", d.commitGroups)
        count("wal_written_bytes", d.walBytes)
        count("wal_syncs", d.walSyncs)
        count("flush_written_bytes", d.flushBytes)
        count("flushes", d.flushes)
        count("trivial_moves", d.trivialMoves)
        for level in d.compactionBytesWritten.indices {
            let l = [("level", String(level))]
            count("compaction_written_bytes", d.compactionBytesWritten[level], l)
            count("compaction_read_bytes", d.compactionBytesRead[level], l)
            count("compactions", d.compactions[level], l)
            if level < d.compactionSeconds.count {
                countSeconds("compaction_seconds", max(0, d.compactionSeconds[level]), l)
            }
        }
        gauge("write_amplification", now.writeAmplification)

        // Reads and R-Amp.
        count("gets", d.gets)
        for (files, n) in d.getsByFilesProbed.enumerated() {
            let label = files == d.getsByFilesProbed.count - 1 ? "\(files)+" : String(files)
            count("gets_by_files_probed", n, [("files", label)])
        }
        for (level, r) in d.levelReads.enumerated() {
            let l = [("level", String(level))]
            count("get_files_probed", r.probes, l)
            count("bloom_useful", r.bloomUseful, l)
            count("bloom_positive", r.bloomPositives, l)
            count("bloom_true_positive", r.bloomTruePositives, l)
            count("get_blocks_from_cache", r.blocksFromCache, l)
            count("get_blocks_from_disk", r.blocksFromDisk, l)
            count("get_disk_read_bytes", r.bytesFromDisk, l)
        }
        count("iterator_blocks_from_cache", d.iteratorBlocksFromCache)
        count("iterator_blocks_from_disk", d.iteratorBlocksFromDisk)
        count("iterator_disk_read_bytes", d.iteratorBytesFromDisk)
        count("block_cache_hits", d.blockCacheHits)
        count("block_cache_misses", d.blockCacheMisses)
        gauge("files_probed_per_get", now.gets > 0 ? Double(now.filesProbed) / Double(now.gets) : 0)
        gauge("bloom_false_positive_ratio", now.bloomFalsePositiveRate ?? 0)

        // Backpressure.
        countSeconds("write_stall_seconds", Double(d.stallNanoseconds) / 1e9)
        count("write_stalls", d.stalls)
        gauge("write_stopped", stall.stopped ? 1 : 0)
        gauge("write_delayed", stall.delayed ? 1 : 0)
        gauge("delayed_write_rate_bytes_per_second", Double(stall.delayedWriteRate))
        gauge("pending_compaction_bytes", Double(stall.pendingCompactionBytes))
        gauge("immutable_memtables", Double(stall.immutableMemtables))
        gauge("l0_stall_runs", Double(stall.l0StallCount))
        gauge("background_error", stall.backgroundError ? 1 : 0)

        // Layout and S-Amp.
        for layout in layouts {
            let cf = ("column_family", layout.family)
            for level in layout.files.indices {
                let l = [cf, ("level", String(level))]
                gauge("level_files", Double(layout.files[level]), l)
                gauge("level_bytes", Double(layout.bytes[level]), l)
                gauge("level_score", layout.scores[level], l)
            }
            gauge("total_sst_bytes", Double(layout.totalBytes), [cf])
            gauge("live_data_bytes", Double(layout.liveBytes), [cf])
            gauge("space_amplification", layout.liveBytes > 0 ? Double(layout.totalBytes) / Double(layout.liveBytes) : 0, [cf])
        }

        // Memory.
        gauge("memtable_bytes", Double(memory.memtables))
        gauge("active_memtable_bytes", Double(memory.activeMemtables))
        gauge("table_readers_bytes", Double(memory.tableReaders))
        gauge("block_cache_entries_bytes", Double(memory.blockCacheEntries))
        gauge("block_cache_pinned_bytes", Double(memory.blockCachePinned))
        gauge("block_cache_usage_bytes", Double(memory.blockCacheUsage))
        gauge("block_cache_capacity_bytes", Double(memory.blockCacheCapacity))
    }

    private func counter(_ name: String, _ extra: [(String, String)], _ s: inout State) -> Counter {
        let key = metricKey(name, extra)
        if let c = s.counters[key] { return c }
        let c = Counter(label: prefix + "_" + name, dimensions: dimensions + extra, factory: factory)
        s.counters[key] = c
        return c
    }

    private func metricKey(_ name: String, _ extra: [(String, String)]) -> String {
        extra.reduce(name) { $0 + "|" + $1.0 + "=" + $1.1 }
    }
}

extension Database {
    /// A `MetricsReporter` for this database (see there); call `report()` on
    /// it, or `start(interval:)`.
    public func makeMetricsReporter(prefix: String = "strata", dimensions: [(String, String)] = [],
                                    factory: (any MetricsFactory)? = nil) -> MetricsReporter {
        MetricsReporter(database: self, prefix: prefix, dimensions: dimensions, factory: factory)
    }

    /// The write-stall state a reporter publishes (as the properties
    /// `strata.is-write-stopped`, `strata.actual-delayed-write-rate`…).
    func writeStallState() -> WriteStallState {
        monitor.withLock {
            let (condition, _) = writeCondition()
            var state = WriteStallState()
            switch condition {
            case .normal: break
            case .delayed:
                state.delayed = true
                state.delayedWriteRate = writeController.rate
            case .stopped: state.stopped = true
            }
            for family in familyList where !family.dropped {
                state.pendingCompactionBytes += family.pendingCompactionBytes
                state.immutableMemtables += family.imm.count
                state.l0StallCount = max(state.l0StallCount, family.l0StallCount)
            }
            state.backgroundError = backgroundError != nil
            return state
        }
    }

    /// The level layout of every live column family, for the reporter's gauges.
    func levelLayouts() -> [LevelLayout] {
        let families = monitor.withLock { familyList.filter { !$0.dropped } }
        return families.compactMap { family in
            guard let version = versions.current(columnFamily: family.id) else { return nil }
            let levels = version.levels.indices
            let scores = CompactionPicker(options: family.options).scores(version: version)
            return LevelLayout(
                family: family.name, files: levels.map { version.levels[$0].count }, bytes: levels.map { version.levelBytes($0) },
                scores: levels.map { $0 < scores.count ? scores[$0] : 0 },
                totalBytes: version.allFiles.reduce(0) { $0 + $1.fileSize }, liveBytes: estimateLiveDataSize(version))
        }
    }
}

/// Write backpressure right now (what `MetricsReporter` publishes).
struct WriteStallState {
    var stopped = false
    var delayed = false
    /// Bytes/s writes are held to while delayed; 0 otherwise.
    var delayedWriteRate: UInt64 = 0
    var pendingCompactionBytes: UInt64 = 0
    var immutableMemtables = 0
    /// The largest count any family's L0 stall triggers compare with.
    var l0StallCount = 0
    var backgroundError = false
}

/// One column family's levels, for gauges.
struct LevelLayout {
    var family: String
    var files: [Int]
    var bytes: [UInt64]
    var scores: [Double]
    var totalBytes: UInt64
    var liveBytes: UInt64
}

/// The reporter's background thread: sleeps between reports, stops on request.
/// Thread safety: every field is under `monitor`.
private final class ReporterLoop: @unchecked Sendable {
    // @unchecked: `running` and `stopRequested` are only touched under `monitor`.
    private let monitor = Monitor()
    private var running = false
    private var stopRequested = false

    /// Marks the thread as starting; false if one runs already.
    func begin() -> Bool {
        monitor.withLock {
            if running { return false }
            running = true
            stopRequested = false
            return true
        }
    }

    /// Waits `nanoseconds` (or until a stop request); false if stopping.
    func sleep(nanoseconds: Int64) -> Bool {
        monitor.withLock {
            if stopRequested { return false }
            let deadline = MonotonicClock.now() + UInt64(nanoseconds)
            while !stopRequested {
                let now = MonotonicClock.now()
                if now >= deadline { break }
                monitor.wait(nanoseconds: Int64(deadline - now))
            }
            return !stopRequested
        }
    }

    func requestStop() {
        monitor.withLock {
            stopRequested = true
            monitor.broadcast()
        }
    }

    func finished() {
        monitor.withLock {
            running = false
            monitor.broadcast()
        }
    }

    /// Wakes `wait(until:)` callers after a report.
    func reported() {
        monitor.withLock { monitor.broadcast() }
    }

    /// Waits until `condition` holds or the thread is not running.
    func wait(until condition: () -> Bool) {
        monitor.withLock {
            while running && !condition() { monitor.wait() }
        }
    }

    func waitUntilFinished() {
        monitor.withLock {
            while running { monitor.wait() }
        }
    }
}

/// A weak reference the background thread holds, so a forgotten reporter
/// is freed (and its thread ends) when its owner lets it go.
private final class WeakReporter: @unchecked Sendable {
    // @unchecked: `reporter` is set once in init; weak loads are thread-safe.
    weak var reporter: MetricsReporter?
    init(_ reporter: MetricsReporter) { self.reporter = reporter }
}
