import Testing
@testable import Strata

/// A seeded, single-threaded workload for crash and error sweeps: writes
/// (puts, deletes, batches, range deletions; some with `sync: true`),
/// flushes, manual compactions and reopens. Every step that starts
/// background work waits for it (`waitForBackgroundWork`), so the sequence
/// of file-system operations is the same on every run: "crash at the k-th
/// operation" names the same moment each time.
struct CrashWorkload {
    enum Mutation: Equatable {
        case put([UInt8], [UInt8])
        case delete([UInt8])
        case deleteRange([UInt8], [UInt8])
    }

    enum Step {
        /// One atomic write (a batch of one or more mutations).
        case write([Mutation], sync: Bool)
        case flush
        case compact
        case reopen
    }

    /// Whether writes include range deletions (they do; the switch is
    /// for bisecting a failure).
    static let rangeDeletions = true

    let seed: UInt64
    let steps: [Step]
    /// The writes, in order (the `write` steps).
    let writes: [(mutations: [Mutation], sync: Bool)]
    static let keySpace = 48

    static func key(_ i: Int) -> [UInt8] {
        let s = String(i)
        return Array(("key" + String(repeating: "0", count: 3 - s.count) + s).utf8)
    }

    /// `count` steps drawn from `seed`: mostly writes, a flush about every
    /// 25 steps, a compaction about every 60, a reopen about every 80.
    init(seed: UInt64, count: Int) {
        self.seed = seed
        var rng = TestRandom(seed: seed)
        var steps: [Step] = []
        for _ in 0..<count {
            let r = rng.int(0..<1000)
            if r < 40 {
                steps.append(.flush)
            } else if r < 57 {
                steps.append(.compact)
            } else if r < 70 {
                steps.append(.reopen)
            } else {
                let sync = rng.int(0..<8) == 0
                var mutations: [Mutation] = []
                for _ in 0..<(rng.int(0..<6) == 0 ? rng.int(2..<6) : 1) {
                    let k = rng.int(0..<Self.keySpace)
                    switch rng.int(0..<20) {
                    case 0..<3: mutations.append(.delete(Self.key(k)))
                    case 3:
                        let end = Self.key(min(Self.keySpace, k + rng.int(1..<6)))
                        mutations.append(Self.rangeDeletions ? .deleteRange(Self.key(k), end) : .delete(Self.key(k)))
                    default:
                        var value = Array("v\(seed)-\(steps.count)-".utf8)
                        value += rng.bytes(rng.int(0..<120))
                        mutations.append(.put(Self.key(k), value))
                    }
                }
                steps.append(.write(mutations, sync: sync))
            }
        }
        self.steps = steps
        writes = steps.compactMap { if case .write(let m, let s) = $0 { return (m, s) } else { return nil } }
    }

    /// Options that keep every background job inside a step: no automatic
    /// memtable switch (1 MiB buffer) and no automatic compaction.
    /// `concurrentOptions` lets them run on their own instead.
    static func options(_ fs: any FileSystem) -> Options {
        var options = Options()
        options.fileSystem = fs
        options.writeBufferSize = 1 << 20
        options.level0FileNumCompactionTrigger = 1000
        options.level0SlowdownWritesTrigger = 1000
        options.level0StopWritesTrigger = 1000
        options.maxBytesForLevelBase = 1 << 30
        options.targetFileSizeBase = 2 << 10  // compactions write several tables
        options.blockSize = 512
        options.blockCacheCapacity = 64 << 10
        return options
    }

    /// Options under which flushes and compactions start on their own,
    /// concurrently with the writes (4 KiB memtables, compaction at 2 L0
    /// files): the order of file operations then depends on scheduling.
    static func concurrentOptions(_ fs: any FileSystem) -> Options {
        var options = Self.options(fs)
        options.writeBufferSize = 4 << 10
        options.level0FileNumCompactionTrigger = 2
        options.level0SlowdownWritesTrigger = 8
        options.level0StopWritesTrigger = 12
        options.maxBytesForLevelBase = 16 << 10
        return options
    }

    static func apply(_ mutations: [Mutation], to model: inout [[UInt8]: [UInt8]]) {
        for m in mutations {
            switch m {
            case .put(let k, let v): model[k] = v
            case .delete(let k): model[k] = nil
            case .deleteRange(let b, let e):
                for k in model.keys where Bytewise.compare(k, b) >= 0 && Bytewise.compare(k, e) < 0 { model[k] = nil }
            }
        }
    }

    /// The model after the first `count` writes.
    func model(after count: Int) -> [[UInt8]: [UInt8]] {
        var model: [[UInt8]: [UInt8]] = [:]
        for w in writes.prefix(count) { Self.apply(w.mutations, to: &model) }
        return model
    }

    /// The ways `state` can be explained by the writes: prefixes of length
    /// p in `range` where each write in `optional` (writes that failed, whose
    /// fate is unknown) may or may not have been applied, and each write in
    /// `excluded` (failed writes known not to be applied) was not. Returns
    /// the choices for `optional` that match (empty: `state` is impossible).
    /// At most 2^10 choices are tried.
    func explanations(_ state: [[UInt8]: [UInt8]], in range: ClosedRange<Int>, optional: [Int],
                      excluded: Set<Int> = []) -> [Set<Int>] {
        let optional = Array(optional.filter { $0 < range.upperBound }.suffix(10))
        var out: [Set<Int>] = []
        for mask in 0..<(1 << optional.count) {
            var applied = Set<Int>()
            for (bit, i) in optional.enumerated() where mask & (1 << bit) != 0 { applied.insert(i) }
            var model: [[UInt8]: [UInt8]] = [:]
            for p in 0...min(range.upperBound, writes.count) {
                if p >= range.lowerBound && model == state {
                    out.append(applied)
                    break
                }
                if p < writes.count && !excluded.contains(p) && (!optional.contains(p) || applied.contains(p)) {
                    Self.apply(writes[p].mutations, to: &model)
                }
            }
        }
        return out
    }

    /// The prefix lengths p in `range` whose model equals `state`.
    func matchingPrefixes(_ state: [[UInt8]: [UInt8]], in range: ClosedRange<Int>) -> [Int] {
        var model = self.model(after: range.lowerBound)
        var out: [Int] = []
        var p = range.lowerBound
        while true {
            if model == state { out.append(p) }
            if p >= range.upperBound || p >= writes.count { break }
            Self.apply(writes[p].mutations, to: &model)
            p += 1
        }
        return out
    }
}

/// Progress of a workload run, shared with a file-system hook on any thread.
final class WorkloadProgress: Sendable {
    struct Counts: Sendable, Equatable {
        /// Writes started (the last one may be in flight).
        var attempted = 0
        /// The prefix of writes ending at the last acknowledged write (the
        /// writes in it that failed are in `failed`).
        var acknowledged = 0
        /// The prefix of writes ending at the last acknowledged `sync: true` write.
        var syncedPrefix = 0
        /// The step being run (-1: the first open).
        var step = -1
        /// Writes that failed (their fate is unknown until observed).
        var failed: [Int] = []
        /// Writes never applied: skipped because the database could not be
        /// opened, or refused because it had stopped after an earlier error.
        var skipped: [Int] = []
        /// `attempted` at the last successful open.
        var openedAt = 0
    }

    let counts = Locked(Counts())
    var snapshot: Counts { counts.withLock { $0 } }
}

/// Runs a workload on a database over `fs`, tolerating errors (the error
/// sweeps inject them). Returns the errors seen, in order.
struct WorkloadRunner {
    let workload: CrashWorkload
    let fs: any FileSystem
    let directory = "/db"
    let progress = WorkloadProgress()
    /// Called after each step with the open database (if any); may check reads.
    var afterStep: ((Database, Int) throws -> Void)? = nil
    /// The options every open uses.
    var options: (any FileSystem) -> Options = CrashWorkload.options

    /// Runs every step. A failed write is not acknowledged; the run goes on
    /// (later writes fail too if the database stopped writes). A failed
    /// reopen leaves no database; later steps reopen first.
    @discardableResult
    func run() throws -> [StrataError] {
        var errors: [StrataError] = []
        var db: Database? = nil
        func attempt(_ body: () throws -> Void) throws {
            do {
                try body()
            } catch let error as StrataError {
                errors.append(error)
            }
        }
        func open() throws {
            try attempt {
                db = try Database.open(at: directory, options: options(fs))
                progress.counts.withLock { $0.openedAt = $0.attempted }
            }
        }
        try open()
        var writeIndex = 0
        for (stepIndex, step) in workload.steps.enumerated() {
            progress.counts.withLock { $0.step = stepIndex }
            if db == nil { try open() }
            switch step {
            case .write(let mutations, let sync):
                let index = writeIndex
                writeIndex += 1
                guard let db else {
                    progress.counts.withLock { c in
                        c.attempted = index + 1
                        c.skipped.append(index)
                    }
                    continue
                }
                var batch = WriteBatch()
                for m in mutations {
                    switch m {
                    case .put(let k, let v): batch.put(k, v)
                    case .delete(let k): batch.delete(k)
                    case .deleteRange(let b, let e): batch.deleteRange(from: b, to: e)
                    }
                }
                progress.counts.withLock { $0.attempted = index + 1 }
                // A database stopped by an earlier error must refuse the
                // write before it reaches the WAL.
                let stopped = !(db.property("strata.background-error") ?? "").isEmpty
                do {
                    try db.write(batch, options: WriteOptions(sync: sync))
                    progress.counts.withLock { c in
                        c.acknowledged = index + 1
                        if sync { c.syncedPrefix = index + 1 }
                    }
                    #expect(!stopped, "write \(index) succeeded on a database stopped by a background error")
                } catch let error as StrataError {
                    errors.append(error)
                    progress.counts.withLock { c in
                        if stopped { c.skipped.append(index) } else { c.failed.append(index) }
                    }
                }
            case .flush:
                try attempt {
                    try db?.flush()
                    try db?.waitForBackgroundWork()
                }
            case .compact:
                try attempt {
                    try db?.flush()
                    try db?.waitForBackgroundWork()
                    try db?.compactRange()
                    try db?.waitForBackgroundWork()
                }
            case .reopen:
                try attempt { try db?.close() }
                db = nil
                try open()
            }
            if let db, let afterStep { try afterStep(db, stepIndex) }
        }
        try attempt { try db?.close() }
        return errors
    }
}

/// Reading a whole database back, for the checks.
enum StateReader {
    /// Every key and value, by iterator; also checks `get` agrees on every
    /// key of the workload's key space.
    static func read(_ db: Database) throws -> [[UInt8]: [UInt8]] {
        var out: [[UInt8]: [UInt8]] = [:]
        let it = try db.makeIterator()
        it.seekToFirst()
        while it.isValid {
            out[it.key] = it.value
            it.next()
        }
        try it.status()
        for i in 0..<CrashWorkload.keySpace {
            let k = CrashWorkload.key(i)
            let got = try db.get(k)
            #expect(got == out[k], "get(\(String(decoding: k, as: UTF8.self))) disagrees with the iterator")
        }
        return out
    }
}
