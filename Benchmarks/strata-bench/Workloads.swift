import Foundation
import Strata
import ToolSupport

/// Monotonic nanoseconds (clock_gettime through the vDSO: ~20 ns a call).
@inline(__always)
func nanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// What one benchmark did: db_bench's result line plus the latency histogram.
struct BenchResult {
    var name: String
    var operations = 0
    var bytes = 0
    var nanoseconds: UInt64 = 0
    var message = ""
    var latency = LatencyHistogram()
    /// The database's counters when the benchmark started (after a fresh
    /// database was made, if it makes one).
    var baseline: DatabaseStatistics?
    /// Operations completed in each second of the run (all threads).
    var timeline: [Int] = []
    /// Threads that ran it (db_bench `--threads`; 1 for single-thread workloads).
    var threads = 1
}

/// Runs db_bench-style workloads against one database directory.
final class Workloads {
    let flags: BenchFlags
    private(set) var db: Database?
    /// `--seed` (db_bench's `seed_base`).
    private let seedBase: UInt64
    /// Benchmark threads started so far in this run (db_bench's
    /// `total_thread_count_`): thread i of a benchmark draws from
    /// `Mersenne64(seed: seedBase + threadsStarted)` after its increment.
    private var threadsStarted: UInt64 = 0
    /// The seeds of the running benchmark's threads, in db_bench's order.
    private var seeds: [UInt64] = []
    /// Which keys in [0, num) are live, when this run created the database
    /// (S-Amp needs the live bytes); nil for an existing database.
    private(set) var live: LiveKeys?

    init(flags: BenchFlags, seed: UInt64) throws {
        self.flags = flags
        seedBase = seed
        if !flags.useExistingDB {
            try destroy()
            live = LiveKeys(count: flags.num)
        }
        db = try Database.open(at: flags.db, options: flags.options)
    }

    /// Removes the database files of `--db` (db_bench's DestroyDB before a
    /// fresh fill), never other files; a non-empty directory that holds no
    /// database is refused unless `--destroy_db`.
    func destroy() throws {
        if let db { try db.close() }
        db = nil
        try FreshDirectory.clearDatabase(at: flags.db, force: flags.destroyDB, forceFlag: "--destroy_db")
    }

    func freshDatabase() throws {
        try destroy()
        db = try Database.open(at: flags.db, options: flags.options)
        live = LiveKeys(count: flags.num)
    }

    func close() throws {
        try db?.close()
        db = nil
    }

    /// Runs one benchmark by db_bench name; nil for an unknown name.
    func run(_ name: String) throws -> BenchResult? {
        let benchmark: () throws -> BenchResult
        switch name {
        case "fillseq":
            benchmark = {
                try self.freshDatabase()
                return try self.write(name, count: self.flags.num, sequential: true, sync: self.flags.sync)
            }
        case "fillrandom":
            benchmark = {
                try self.freshDatabase()
                return try self.write(name, count: self.flags.num, sequential: false, sync: self.flags.sync)
            }
        case "fillsync":
            // RocksDB 7.8.3's db_bench divides num by 1000 for fillsync but
            // still writes `num` entries (its `writes`), with keys drawn
            // from [0, num / 1000), and says so in its message.
            benchmark = {
                try self.freshDatabase()
                let range = max(1, self.flags.num / 1000)
                var result = try self.write(name, count: self.flags.num, keyRange: range, sequential: false, sync: true)
                result.message = "(\(range) ops)"
                return result
            }
        case "overwrite": benchmark = { try self.write(name, count: self.flags.num, sequential: false, sync: self.flags.sync) }
        case "deleterandom": benchmark = { try self.delete(name, count: self.flags.num) }
        case "readrandom": benchmark = { try self.readRandom(name, missing: false) }
        case "readmissing": benchmark = { try self.readRandom(name, missing: true) }
        case "readseq": benchmark = { try self.readSequential(name, reverse: false) }
        case "readreverse": benchmark = { try self.readSequential(name, reverse: true) }
        case "seekrandom": benchmark = { try self.seekRandom(name) }
        case "mergerandom": benchmark = { try self.mergeRandom(name) }
        case "readwhilewriting": benchmark = { try self.readWhileWriting(name) }
        default: return nil
        }
        // db_bench starts --threads threads for each benchmark (one more, the
        // writer, first, for readwhilewriting) and seeds them in turn.
        seeds = threadSeeds(name == "readwhilewriting" ? flags.threads + 1 : flags.threads)
        return try benchmark()
    }

    // MARK: writes

    /// The seeds db_bench gives the next `count` threads it starts.
    private func threadSeeds(_ count: Int) -> [UInt64] {
        (0..<count).map { _ in
            threadsStarted += 1
            return seedBase &+ threadsStarted
        }
    }

    private func write(_ name: String, count: Int, keyRange: Int? = nil, sequential: Bool,
                       sync: Bool) throws -> BenchResult {
        let db = try requireDB()
        var result = BenchResult(name: name)
        result.baseline = db.statistics()
        let options = WriteOptions(sync: sync, disableWAL: flags.disableWAL)
        let flags = self.flags
        let seeds = self.seeds
        let range = keyRange ?? flags.num
        let trackLive = live != nil
        let deadline = flags.duration > 0 ? nanoseconds() + UInt64(flags.duration) * 1_000_000_000 : UInt64.max
        let start = nanoseconds()
        let tally = try runThreads(flags.threads) { thread in
            var tally = ThreadTally()
            if trackLive { tally.live = LiveKeys(count: flags.num) }
            var random = Mersenne64(seed: seeds[thread])
            var values = ValueGenerator(compressionRatio: flags.compressionRatio, valueSize: flags.valueSize)
            var key: [UInt8] = []
            key.reserveCapacity(flags.keySize + 1)
            var value: [UInt8] = []
            value.reserveCapacity(flags.valueSize)
            var timer = OperationTimer(start: start, progressTotal: thread == 0 ? count : 0)
            for i in 0..<count {
                // db_bench draws one number to pick the database (one here),
                // then the key.
                _ = random.next()
                let n = sequential ? i : random.below(range)
                makeKey(n, keySize: flags.keySize, into: &key)
                values.next(flags.valueSize, into: &value)
                try db.put(key, value, options: options)
                tally.live?.insert(n)
                tally.bytes += key.count + value.count
                if timer.lap(&tally) > deadline { break }
            }
            timer.finish()
            return tally
        }
        result.nanoseconds = nanoseconds() - start
        result.take(tally, threads: flags.threads)
        if let written = tally.live { live?.formUnion(written) }
        return result
    }

    /// db_bench `deleterandom`: each of `--threads` threads deletes `count`
    /// random keys (present or not).
    private func delete(_ name: String, count: Int) throws -> BenchResult {
        let db = try requireDB()
        var result = BenchResult(name: name)
        result.baseline = db.statistics()
        let options = WriteOptions(sync: flags.sync, disableWAL: flags.disableWAL)
        let flags = self.flags
        let seeds = self.seeds
        let trackLive = live != nil
        let start = nanoseconds()
        let tally = try runThreads(flags.threads) { thread in
            var tally = ThreadTally()
            if trackLive { tally.removed = LiveKeys(count: flags.num) }
            var random = Mersenne64(seed: seeds[thread])
            var key: [UInt8] = []
            var timer = OperationTimer(start: start, progressTotal: thread == 0 ? count : 0)
            for _ in 0..<count {
                _ = random.next()  // db_bench's database choice
                let n = random.below(flags.num)
                makeKey(n, keySize: flags.keySize, into: &key)
                try db.delete(key, options: options)
                tally.removed?.insert(n)
                timer.lap(&tally)
            }
            timer.finish()
            return tally
        }
        result.nanoseconds = nanoseconds() - start
        result.take(tally, threads: flags.threads)
        if let removed = tally.removed { live?.subtract(removed) }
        return result
    }

    // MARK: reads

    /// `readerSeeds`: where the readers' seeds start in `seeds` (1 under
    /// readwhilewriting, whose writer is db_bench's thread 0).
    func readRandom(_ name: String, missing: Bool, readerSeeds: Int = 0) throws -> BenchResult {
        let db = try requireDB()
        var result = BenchResult(name: name)
        result.baseline = db.statistics()
        let count = flags.readCount
        let flags = self.flags
        let seeds = Array(self.seeds[readerSeeds...])
        let start = nanoseconds()
        let tally = try runThreads(flags.threads) { thread in
            var tally = ThreadTally()
            var random = Mersenne64(seed: seeds[thread])
            var key: [UInt8] = []
            var timer = OperationTimer(start: start, progressTotal: thread == 0 ? count : 0)
            for _ in 0..<count {
                _ = random.next()  // db_bench's database choice
                makeKey(random.below(flags.num), keySize: flags.keySize, missing: missing, into: &key)
                if let value = try db.get(key) {
                    tally.found += 1
                    tally.bytes += key.count + value.count
                }
                timer.lap(&tally)
            }
            timer.finish()
            return tally
        }
        result.nanoseconds = nanoseconds() - start
        result.take(tally, threads: flags.threads)
        result.message = "(\(tally.found) of \(tally.operations) found)"
        return result
    }

    private func readSequential(_ name: String, reverse: Bool) throws -> BenchResult {
        let db = try requireDB()
        var result = BenchResult(name: name)
        result.baseline = db.statistics()
        let limit = flags.readCount
        let it = try db.makeIterator()
        let start = nanoseconds()
        var last = start
        if reverse { it.seekToLast() } else { it.seekToFirst() }
        while it.isValid && result.operations < limit {
            // Views, no copies: db_bench reads its iterator's key() and value() slices.
            result.bytes += it.withKeyAndValue { key, value in key.count + value.count }
            result.operations += 1
            if reverse { it.prev() } else { it.next() }
            let now = nanoseconds()
            result.latency.record(now - last)
            last = now
        }
        try it.status()
        result.nanoseconds = nanoseconds() - start
        return result
    }

    private func seekRandom(_ name: String) throws -> BenchResult {
        let db = try requireDB()
        var result = BenchResult(name: name)
        result.baseline = db.statistics()
        let count = flags.readCount
        let flags = self.flags
        let seeds = self.seeds
        let start = nanoseconds()
        let tally = try runThreads(flags.threads) { thread in
            var tally = ThreadTally()
            // No database draw here: db_bench's seekrandom draws one only
            // with several databases.
            var random = Mersenne64(seed: seeds[thread])
            var key: [UInt8] = []
            let it = try db.makeIterator()
            var timer = OperationTimer(start: start, progressTotal: thread == 0 ? count : 0)
            for _ in 0..<count {
                makeKey(random.below(flags.num), keySize: flags.keySize, into: &key)
                it.seek(key)
                // Views, as db_bench compares its iterator's key() slice.
                if it.isValid, let bytes = key.withUnsafeBytes({ wanted in
                    it.withKeyAndValue { k, v in Bytewise.equal(k, wanted) ? k.count + v.count : nil }
                }) {
                    tally.found += 1
                    tally.bytes += bytes
                }
                timer.lap(&tally)
            }
            try it.status()
            timer.finish()
            return tally
        }
        result.nanoseconds = nanoseconds() - start
        result.take(tally, threads: flags.threads)
        result.message = "(\(tally.found) of \(tally.operations) found)"
        return result
    }

    /// The running benchmark's thread seeds (for workloads in other files).
    var benchmarkSeeds: [UInt64] { seeds }

    /// Records the keys of `keys` as live (S-Amp bookkeeping).
    func markLive(_ keys: LiveKeys) { live?.formUnion(keys) }

    private func requireDB() throws -> Database {
        guard let db else { throw StrataError(.invalidArgument, "no open database") }
        return db
    }
}

/// A bitmap of the keys in [0, num) that are live, for S-Amp.
struct LiveKeys {
    private var words: [UInt64]
    private(set) var count = 0

    init(count n: Int) { words = [UInt64](repeating: 0, count: (n + 63) / 64) }

    mutating func insert(_ i: Int) {
        let bit = UInt64(1) << UInt64(i & 63)
        if words[i >> 6] & bit == 0 {
            words[i >> 6] |= bit
            count += 1
        }
    }

    /// Adds every key of `other` (same size).
    mutating func formUnion(_ other: LiveKeys) {
        count = 0
        for i in words.indices {
            words[i] |= other.words[i]
            count += words[i].nonzeroBitCount
        }
    }

    /// Removes every key of `other` (same size).
    mutating func subtract(_ other: LiveKeys) {
        count = 0
        for i in words.indices {
            words[i] &= ~other.words[i]
            count += words[i].nonzeroBitCount
        }
    }
}

/// db_bench's progress line on stderr ("... finished N ops"), at growing intervals.
struct Progress {
    let total: Int
    private var next = 100_000
    private let enabled: Bool

    init(total: Int) {
        self.total = total
        enabled = total >= 500_000
    }

    mutating func tick(_ done: Int) {
        guard enabled, done >= next else { return }
        next += next < 1_000_000 ? 100_000 : 500_000
        writeStderr("... finished \(done) ops\r")
    }

    func finish() {
        if enabled { writeStderr(String(repeating: " ", count: 40) + "\r") }
    }
}

/// Writes `text` to standard error unbuffered (no newline added).
func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { raw in _ = write(2, raw.baseAddress!, raw.count) }
}
