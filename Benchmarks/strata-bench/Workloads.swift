import Foundation
import Histogram
import Strata

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
    var latency = Histogram<UInt64>(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
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
    private var keyRandom: KeyRandom
    private var values: ValueGenerator
    /// Which keys in [0, num) are live, when this run created the database
    /// (S-Amp needs the live bytes); nil for an existing database.
    private(set) var live: LiveKeys?

    init(flags: BenchFlags, seed: UInt64) throws {
        self.flags = flags
        keyRandom = KeyRandom(seed: seed)
        values = ValueGenerator(compressionRatio: flags.compressionRatio, valueSize: flags.valueSize)
        if !flags.useExistingDB {
            try destroy()
            live = LiveKeys(count: flags.num)
        }
        db = try Database.open(at: flags.db, options: flags.options)
    }

    /// Removes the database directory (db_bench's DestroyDB before a fresh fill).
    func destroy() throws {
        if let db { try db.close() }
        db = nil
        let fm = FileManager.default
        if fm.fileExists(atPath: flags.db) { try fm.removeItem(atPath: flags.db) }
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
        switch name {
        case "fillseq":
            try freshDatabase()
            return try write(name, count: flags.num, sequential: true, sync: flags.sync)
        case "fillrandom":
            try freshDatabase()
            return try write(name, count: flags.num, sequential: false, sync: flags.sync)
        case "fillsync":
            try freshDatabase()
            return try write(name, count: max(1, flags.num / 1000), sequential: false, sync: true)
        case "overwrite":
            return try write(name, count: flags.num, sequential: false, sync: flags.sync)
        case "deleterandom":
            return try delete(name, count: flags.num)
        case "readrandom": return try readRandom(name, missing: false)
        case "readmissing": return try readRandom(name, missing: true)
        case "readseq": return try readSequential(name, reverse: false)
        case "readreverse": return try readSequential(name, reverse: true)
        case "seekrandom": return try seekRandom(name)
        case "mergerandom": return try mergeRandom(name)
        case "readwhilewriting": return try readWhileWriting(name)
        default: return nil
        }
    }

    // MARK: writes

    private func write(_ name: String, count: Int, sequential: Bool, sync: Bool) throws -> BenchResult {
        let db = try requireDB()
        var result = BenchResult(name: name)
        result.baseline = db.statistics()
        let options = WriteOptions(sync: sync, disableWAL: flags.disableWAL)
        let flags = self.flags
        let seeds = (0..<flags.threads).map { _ in keyRandom.next() }
        let trackLive = live != nil
        let deadline = flags.duration > 0 ? nanoseconds() + UInt64(flags.duration) * 1_000_000_000 : UInt64.max
        let start = nanoseconds()
        let tally = try runThreads(flags.threads) { thread in
            var tally = ThreadTally()
            if trackLive { tally.live = LiveKeys(count: flags.num) }
            var random = KeyRandom(seed: seeds[thread])
            var values = ValueGenerator(compressionRatio: flags.compressionRatio, valueSize: flags.valueSize)
            var key: [UInt8] = []
            key.reserveCapacity(flags.keySize + 1)
            var value: [UInt8] = []
            value.reserveCapacity(flags.valueSize)
            var progress = Progress(total: thread == 0 ? count : 0)
            var last = nanoseconds()
            for i in 0..<count {
                let n = sequential ? i : random.below(flags.num)
                makeKey(n, keySize: flags.keySize, into: &key)
                values.next(flags.valueSize, into: &value)
                try db.put(key, value, options: options)
                tally.live?.insert(n)
                let now = nanoseconds()
                tally.record(now: now, last: last, start: start)
                last = now
                tally.bytes += key.count + value.count
                progress.tick(tally.operations)
                if now > deadline { break }
            }
            progress.finish()
            return tally
        }
        result.nanoseconds = nanoseconds() - start
        result.take(tally, threads: flags.threads)
        if let written = tally.live { live?.formUnion(written) }
        return result
    }

    private func delete(_ name: String, count: Int) throws -> BenchResult {
        let db = try requireDB()
        var result = BenchResult(name: name)
        result.baseline = db.statistics()
        let options = WriteOptions(sync: flags.sync, disableWAL: flags.disableWAL)
        var key: [UInt8] = []
        var progress = Progress(total: count)
        let start = nanoseconds()
        var last = start
        for _ in 0..<count {
            let n = keyRandom.below(flags.num)
            makeKey(n, keySize: flags.keySize, into: &key)
            try db.delete(key, options: options)
            live?.remove(n)
            let now = nanoseconds()
            _ = result.latency.record(now - last)
            last = now
            result.operations += 1
            progress.tick(result.operations)
        }
        result.nanoseconds = nanoseconds() - start
        progress.finish()
        return result
    }

    // MARK: reads

    func readRandom(_ name: String, missing: Bool) throws -> BenchResult {
        let db = try requireDB()
        var result = BenchResult(name: name)
        result.baseline = db.statistics()
        let count = flags.readCount
        let flags = self.flags
        let seeds = (0..<flags.threads).map { _ in keyRandom.next() }
        let start = nanoseconds()
        let tally = try runThreads(flags.threads) { thread in
            var tally = ThreadTally()
            var random = KeyRandom(seed: seeds[thread])
            var key: [UInt8] = []
            var progress = Progress(total: thread == 0 ? count : 0)
            var last = nanoseconds()
            for _ in 0..<count {
                makeKey(random.below(flags.num), keySize: flags.keySize, missing: missing, into: &key)
                if let value = try db.get(key) {
                    tally.found += 1
                    tally.bytes += key.count + value.count
                }
                let now = nanoseconds()
                tally.record(now: now, last: last, start: start)
                last = now
                progress.tick(tally.operations)
            }
            progress.finish()
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
            result.bytes += it.key.count + it.value.count
            result.operations += 1
            if reverse { it.prev() } else { it.next() }
            let now = nanoseconds()
            _ = result.latency.record(now - last)
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
        let seeds = (0..<flags.threads).map { _ in keyRandom.next() }
        let start = nanoseconds()
        let tally = try runThreads(flags.threads) { thread in
            var tally = ThreadTally()
            var random = KeyRandom(seed: seeds[thread])
            var key: [UInt8] = []
            let it = try db.makeIterator()
            var progress = Progress(total: thread == 0 ? count : 0)
            var last = nanoseconds()
            for _ in 0..<count {
                makeKey(random.below(flags.num), keySize: flags.keySize, into: &key)
                it.seek(key)
                if it.isValid && it.key == key {
                    tally.found += 1
                    tally.bytes += it.key.count + it.value.count
                }
                let now = nanoseconds()
                tally.record(now: now, last: last, start: start)
                last = now
                progress.tick(tally.operations)
            }
            try it.status()
            progress.finish()
            return tally
        }
        result.nanoseconds = nanoseconds() - start
        result.take(tally, threads: flags.threads)
        result.message = "(\(tally.found) of \(tally.operations) found)"
        return result
    }

    /// The next random key number (for workloads in other files).
    func nextRandomKey() -> Int { keyRandom.below(flags.num) }

    /// The next generated value (for workloads in other files).
    func nextValue(into value: inout [UInt8]) { values.next(flags.valueSize, into: &value) }

    /// Records key `n` as live (S-Amp bookkeeping).
    func markLive(_ n: Int) { live?.insert(n) }

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

    mutating func remove(_ i: Int) {
        let bit = UInt64(1) << UInt64(i & 63)
        if words[i >> 6] & bit != 0 {
            words[i >> 6] &= ~bit
            count -= 1
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
