import Glibc
import Strata

/// What one stress process does: open, verify against the expected state,
/// then run random operations on several threads until the duration ends
/// (or the process is killed).
struct StressConfig {
    var db: String
    var expectedPath: String
    var seed: UInt64 = 1
    var threads = 4
    var keys = 10_000
    var duration: Double = 60
    /// Percentage of writes with `sync: true`.
    var syncPercent = 5
    /// Whether to issue range deletions (3% of operations).
    var rangeDeletes = true
    /// Write without the WAL: a negative control — a kill then loses
    /// acknowledged writes, and the crash test must say so.
    var disableWAL = false

    /// Small buffers and files, so a run of seconds flushes and compacts.
    var options: Options {
        var o = Options()
        o.writeBufferSize = 256 << 10
        o.targetFileSizeBase = 256 << 10
        o.maxBytesForLevelBase = 1 << 20
        o.level0FileNumCompactionTrigger = 4
        o.blockCacheCapacity = 1 << 20
        return o
    }
}

/// Result of checking a database against the expected state.
struct Verification: CustomStringConvertible {
    var keys = 0
    var lost = 0
    var wrong = 0
    var pendingResolved = 0
    var examples: [String] = []

    var description: String {
        "verified \(keys) keys: \(lost) lost acknowledged writes, \(wrong) wrong reads, \(pendingResolved) writes in flight resolved"
            + (examples.isEmpty ? "" : "; " + examples.joined(separator: "; "))
    }
}

enum Verifier {
    /// Reads every key (by `get`, and by one full scan that must agree),
    /// compares it with the expected state, and records what the database
    /// holds as the new committed state (resolving writes in flight).
    static func verify(_ db: Database, _ state: ExpectedState) throws -> Verification {
        var result = Verification()
        var scanned: [Int: [UInt8]] = [:]
        let it = try db.makeIterator()
        it.seekToFirst()
        while it.isValid {
            let text = String(decoding: it.key, as: UTF8.self)
            if text.hasPrefix("key"), let k = Int(text.dropFirst(3)), k < state.keys {
                scanned[k] = it.value
            } else {
                result.wrong += 1
                result.examples.append("unexpected key \(text)")
            }
            it.next()
        }
        try it.status()
        for k in 0..<state.keys {
            result.keys += 1
            let value = try db.get(ExpectedState.keyBytes(k))
            if value != scanned[k] {
                result.wrong += 1
                if result.examples.count < 5 { result.examples.append("key \(k): get and scan disagree") }
            }
            let (committed, pending) = state.load(k)
            guard let actual = ExpectedState.decode(k, value) else {
                result.wrong += 1
                if result.examples.count < 5 { result.examples.append("key \(k): value not written by this tool") }
                continue
            }
            if let pending {
                if ExpectedState.matches(actual, pending) || ExpectedState.matches(actual, committed) {
                    result.pendingResolved += 1
                } else {
                    result.wrong += 1
                    if result.examples.count < 5 { result.examples.append("key \(k): \(actual) is neither \(committed) nor \(pending)") }
                }
            } else if !ExpectedState.matches(actual, committed) {
                let older = actual.exists ? actual.generation < committed.generation : committed.exists
                if older { result.lost += 1 } else { result.wrong += 1 }
                if result.examples.count < 5 {
                    result.examples.append("key \(k): expected \(committed), found \(actual)" + (older ? " (lost)" : ""))
                }
            }
            // Keep generations growing past anything ever written.
            let top = max(committed.generation, pending?.generation ?? 0, actual.generation)
            state.commit(k, ExpectedState.Entry(generation: actual.exists ? actual.generation : top, exists: actual.exists))
        }
        return result
    }
}

/// The worker threads of a stress run.
final class StressWorkers: @unchecked Sendable {
    // @unchecked: `failure` is behind `lock`; the rest is immutable or
    // partitioned by thread (each thread owns a range of keys).
    let db: Database
    let state: ExpectedState
    let config: StressConfig
    private let lock = ToolLock<String?>(nil)

    init(db: Database, state: ExpectedState, config: StressConfig) {
        self.db = db
        self.state = state
        self.config = config
    }

    var failure: String? { lock.withLock { $0 } }

    private func fail(_ message: String) {
        lock.withLock { if $0 == nil { $0 = message } }
    }

    /// Runs the threads until `deadline` (monotonic seconds) or a failure.
    func run(until deadline: Double) {
        let done = ToolLock(0)
        for t in 0..<config.threads {
            startThread(name: "stress-\(t)") { [self] in
                worker(t, deadline: deadline)
                done.withLock { $0 += 1 }
            }
        }
        while done.withLock({ $0 }) < config.threads {
            usleep(20_000)
        }
    }

    private func worker(_ t: Int, deadline: Double) {
        let lo = t * config.keys / config.threads
        let hi = (t + 1) * config.keys / config.threads
        var rng = Xoshiro256(seed: config.seed &* 0x9E37_79B9 &+ UInt64(t))
        var ops = 0
        while failure == nil {
            ops += 1
            if ops % 64 == 0 && now() >= deadline { break }
            do {
                try step(t, lo..<hi, &rng)
            } catch {
                fail("thread \(t): \(error)")
            }
        }
    }

    private func randomKey(_ range: Range<Int>, _ rng: inout Xoshiro256) -> Int {
        range.lowerBound + Int(rng.uniform(UInt64(range.count)))
    }

    private func step(_ t: Int, _ range: Range<Int>, _ rng: inout Xoshiro256) throws {
        let r = rng.uniform(1000)
        let sync = rng.uniform(100) < UInt64(config.syncPercent)
        switch r {
        case 0..<450:
            let k = randomKey(range, &rng)
            try write(t, [(k, true)], sync: sync)
        case 450..<550:
            let k = randomKey(range, &rng)
            try write(t, [(k, false)], sync: sync)
        case 550..<650:
            var keys: [(Int, Bool)] = []
            var seen = Set<Int>()
            for _ in 0..<(2 + Int(rng.uniform(7))) {
                let k = randomKey(range, &rng)
                if seen.insert(k).inserted { keys.append((k, rng.uniform(4) != 0)) }
            }
            try write(t, keys, sync: sync)
        case 650..<680 where config.rangeDeletes:
            let begin = randomKey(range, &rng)
            let end = min(range.upperBound, begin + 1 + Int(rng.uniform(10)))
            try deleteRange(t, begin..<end, sync: sync)
        case 650..<880:
            try checkGet(randomKey(range, &rng))
        case 880..<950:
            try checkScan(randomKey(range, &rng)..<range.upperBound)
        case 950..<985:
            try checkSnapshot(t, randomKey(range, &rng))
        case 985..<997:
            try db.flush()
        default:
            let begin = randomKey(range, &rng)
            try db.compactRange(from: ExpectedState.keyBytes(begin),
                                to: ExpectedState.keyBytes(min(range.upperBound - 1, begin + 100)))
        }
    }

    /// Pending, write, commit: the protocol that lets a killed run be checked.
    private func write(_ t: Int, _ keys: [(key: Int, put: Bool)], sync: Bool) throws {
        var batch = WriteBatch()
        var next: [(Int, ExpectedState.Entry)] = []
        for (k, put) in keys {
            let entry = state.next(k, exists: put)
            next.append((k, entry))
            if put {
                batch.put(ExpectedState.keyBytes(k), ExpectedState.value(k, entry.generation))
            } else {
                batch.delete(ExpectedState.keyBytes(k))
            }
        }
        for (k, e) in next { state.setPending(k, e) }
        try db.write(batch, options: WriteOptions(sync: sync && !config.disableWAL, disableWAL: config.disableWAL))
        for (k, e) in next { state.commit(k, e) }
        state.countAcknowledged(thread: t, 1)
    }

    private func deleteRange(_ t: Int, _ keys: Range<Int>, sync: Bool) throws {
        var batch = WriteBatch()
        batch.deleteRange(from: ExpectedState.keyBytes(keys.lowerBound), to: ExpectedState.keyBytes(keys.upperBound))
        let next = keys.map { ($0, state.next($0, exists: false)) }
        for (k, e) in next { state.setPending(k, e) }
        try db.write(batch, options: WriteOptions(sync: sync && !config.disableWAL, disableWAL: config.disableWAL))
        for (k, e) in next { state.commit(k, e) }
        state.countAcknowledged(thread: t, 1)
    }

    private func expect(_ k: Int, _ value: [UInt8]?, _ how: String) {
        let committed = state.load(k).committed
        guard let actual = ExpectedState.decode(k, value), ExpectedState.matches(actual, committed) else {
            fail("wrong read (\(how)) of key \(k): expected \(committed), read \(value.map { String(decoding: $0, as: UTF8.self) } ?? "nothing")")
            return
        }
    }

    private func checkGet(_ k: Int) throws {
        expect(k, try db.get(ExpectedState.keyBytes(k)), "get")
    }

    /// Iterates from `range.lowerBound` over up to 20 keys of this thread.
    private func checkScan(_ range: Range<Int>) throws {
        var options = ReadOptions()
        options.upperBound = ExpectedState.keyBytes(range.upperBound)
        let it = try db.makeIterator(options: options)
        it.seek(ExpectedState.keyBytes(range.lowerBound))
        var k = range.lowerBound
        var seen = 0
        while seen < 20 && k < range.upperBound {
            let current: Int? = it.isValid ? Int(String(decoding: it.key.dropFirst(3), as: UTF8.self)) : nil
            if current == k {
                expect(k, it.value, "scan")
                it.next()
                seen += 1
            } else {
                expect(k, nil, "scan: key missing")
            }
            k += 1
        }
        try it.status()
    }

    /// A snapshot keeps seeing a key's value after the key is overwritten.
    private func checkSnapshot(_ t: Int, _ k: Int) throws {
        let snapshot = db.snapshot()
        defer { snapshot.release() }
        var options = ReadOptions()
        options.snapshot = snapshot
        let before = try db.get(ExpectedState.keyBytes(k), options: options)
        expect(k, before, "snapshot")
        try write(t, [(k, true)], sync: false)
        if try db.get(ExpectedState.keyBytes(k), options: options) != before {
            fail("snapshot read of key \(k) changed after an overwrite")
        }
    }
}

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A value behind a pthread mutex (the engine's `Locked` is internal).
final class ToolLock<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched while `mutex` is held.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
