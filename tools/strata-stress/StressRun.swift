import Glibc
import Strata
import ToolSupport

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
    /// Write each update of a multi-family batch as its own synced write:
    /// a negative control for the atomicity check — a kill between them
    /// leaves the batch torn, and the crash test must report it.
    var splitBatches = false
    /// Column families written: "default", then "cf1", "cf2", …; batches
    /// span several. Each key of each family has its own expected state.
    var families = 2
    /// Whether to issue merges (8% of operations, and some batch updates).
    var merges = true
    /// Whether threads take checkpoints now and then and check their keys in them.
    var checkpoints = true
    /// Close and reopen the database (verifying it against the expected
    /// state) every this many seconds; 0 = never.
    var reopenSeconds: Double = 0
    /// Compaction style of every family (`--compaction_style=0` leveled, `1` universal, as db_bench/db_stress).
    var universal = false
    /// `--enable_compaction_filter=1`: every family gets a `StressCompactionFilter`.
    var compactionFilter = false
    /// What the filters share (one per process).
    let filterContext = FilterContext()

    /// The family names.
    var familyNames: [String] { (0..<families).map { $0 == 0 ? "default" : "cf\($0)" } }

    /// Small buffers and files, so a run of seconds flushes and compacts.
    var options: Options {
        var o = Options()
        o.writeBufferSize = 256 << 10
        o.targetFileSizeBase = 256 << 10
        o.maxBytesForLevelBase = 1 << 20
        o.level0FileNumCompactionTrigger = 4
        o.blockCacheCapacity = 1 << 20
        if universal { o.compactionStyle = .universal }
        // Every family (they inherit the default family's settings).
        o.mergeOperator = ReplaceOperator()
        if compactionFilter {
            // One filter per family: it needs the family's expected-state slots.
            for (f, name) in familyNames.enumerated() {
                var family = ColumnFamilyOptions(o)
                family.compactionFilter = StressCompactionFilter(family: f, keys: keys, context: filterContext)
                o.columnFamilyOptions[name] = family
            }
        }
        return o
    }

    /// Options for opening a checkpoint copy: the filter there must not
    /// consult the live expected state (the copy is older).
    var checkpointOptions: Options {
        var o = options
        o.createIfMissing = false
        if compactionFilter {
            for (f, name) in familyNames.enumerated() {
                o.columnFamilyOptions[name]!.compactionFilter = StressCompactionFilter(family: f, keys: keys, context: FilterContext())
            }
        }
        return o
    }

    /// Opens the database, creating the families it lacks (a kill may have
    /// come between two creations); the handles are in `familyNames` order.
    func open() throws -> (Database, [ColumnFamily]) {
        let db = try Database.open(at: db, options: options)
        var handles: [ColumnFamily] = []
        for name in familyNames {
            if let family = db.columnFamily(named: name) {
                handles.append(family)
            } else {
                handles.append(try db.createColumnFamily(named: name))
            }
        }
        return (db, handles)
    }
}

/// The merge operator of the stress runs: the newest operand replaces the
/// value (RocksDB db_stress's `PutOperator`), so a merge sets a key to a
/// state the expected-state oracle can hold, while reads, flushes and
/// compactions still go through the merge paths.
struct ReplaceOperator: MergeOperator {
    var name: String { "StrataStressReplaceOperator" }

    func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) -> [UInt8]? {
        operands.last ?? existing
    }

    func partialMerge(key: [UInt8], left: [UInt8], right: [UInt8]) -> [UInt8]? { right }
}

/// Result of checking a database against the expected state.
struct Verification: CustomStringConvertible {
    var keys = 0
    var lost = 0
    var wrong = 0
    var pendingResolved = 0
    /// Writes in flight at the kill that span several column families and
    /// whose outcome the database shows (each key's old and new state
    /// differ): all of them must have landed, or none.
    var batchesChecked = 0
    /// Of those, the ones that landed in part (counted in `wrong` too).
    var tornBatches = 0
    var examples: [String] = []

    var description: String {
        "verified \(keys) keys: \(lost) lost acknowledged writes, \(wrong) wrong reads, \(pendingResolved) writes in flight resolved, "
            + "\(batchesChecked) multi-family batches in flight checked atomic (\(tornBatches) torn)"
            + (examples.isEmpty ? "" : "; " + examples.joined(separator: "; "))
    }
}

enum Verifier {
    /// Reads every key of every family (by `get`, and by one full scan per
    /// family that must agree), compares it with the expected state, and
    /// records what the database holds as the new committed state
    /// (resolving writes in flight). Expected-state slot f·keys + k is key
    /// k of family f.
    ///
    /// Atomicity: each thread has at most one write in flight, over its own
    /// keys (`threads` threads; thread t owns keys t·keys/threads ..<
    /// (t+1)·keys/threads in every family), so the pending keys of one
    /// thread's range are one write batch. Each key whose old and new state
    /// read differently says whether the batch landed; a batch spanning
    /// several families with both answers is torn (a wrong read).
    static func verify(_ families: [ColumnFamily], _ state: ExpectedState, keys: Int, threads: Int) throws -> Verification {
        var result = Verification()
        var outcomes = BatchOutcomes()
        for (f, family) in families.enumerated() {
            try verify(family, f, state, keys: keys, into: &result, outcomes: &outcomes)
        }
        var byThread: [Int: [(slot: Int, landed: Bool)]] = [:]
        for (slot, landed) in outcomes.votes {
            let key = slot % keys
            // The owner t of `key`: the largest t with t·keys/threads <= key.
            var t = key * threads / keys
            while t + 1 < threads && (t + 1) * keys / threads <= key { t += 1 }
            while t > 0 && t * keys / threads > key { t -= 1 }
            byThread[t, default: []].append((slot, landed))
        }
        for (t, votes) in byThread.sorted(by: { $0.key < $1.key }) {
            let familiesTouched = Set(votes.map { $0.slot / keys })
            guard familiesTouched.count > 1 else { continue }
            result.batchesChecked += 1
            let landed = votes.filter(\.landed).map(\.slot)
            let missing = votes.filter { !$0.landed }.map(\.slot)
            if !landed.isEmpty && !missing.isEmpty {
                result.tornBatches += 1
                result.wrong += 1
                if result.examples.count < 5 {
                    result.examples.append("thread \(t)'s batch in flight is torn: slots \(landed.sorted()) hold the new state, \(missing.sorted()) the old")
                }
            }
        }
        return result
    }

    /// Per pending slot whose two possible states read differently: whether
    /// the database holds the new one.
    struct BatchOutcomes {
        var votes: [(slot: Int, landed: Bool)] = []
    }

    /// With the compaction filter on, a compaction may finish between the
    /// scan and the get: the get may then read the value the filter made of
    /// the scanned one (changed: the same write; removed by marker: absent).
    static func filterExplains(scan: [UInt8]?, get: [UInt8]?, k: Int) -> Bool {
        guard ExpectedState.compactionFilter, let scan, let entry = ExpectedState.decode(k, scan) else { return false }
        if let get { return ExpectedState.decode(k, get) == entry }
        return ExpectedState.removedByFilter(entry.generation)
    }

    /// Checks family number `f` (expected-state slots f·keys ..< (f+1)·keys).
    static func verify(_ family: ColumnFamily, _ f: Int, _ state: ExpectedState, keys: Int,
                       into result: inout Verification, outcomes: inout BatchOutcomes) throws {
        var scanned: [Int: [UInt8]] = [:]
        let it = try family.makeIterator()
        it.seekToFirst()
        while it.isValid {
            let text = String(decoding: it.key, as: UTF8.self)
            if text.hasPrefix("key"), let k = Int(text.dropFirst(3)), k < keys {
                scanned[k] = it.value
            } else {
                result.wrong += 1
                result.examples.append("unexpected key \(text) in \(family.name)")
            }
            it.next()
        }
        try it.status()
        for key in 0..<keys {
            let k = f * keys + key
            result.keys += 1
            let value = try family.get(ExpectedState.keyBytes(key))
            if value != scanned[key] && !filterExplains(scan: scanned[key], get: value, k: f * keys + key) {
                result.wrong += 1
                if result.examples.count < 5 { result.examples.append("key \(key) of \(family.name): get and scan disagree") }
            }
            let (committed, pending) = state.load(k)
            guard let actual = ExpectedState.decode(k, value) else {
                result.wrong += 1
                if result.examples.count < 5 { result.examples.append("key \(k): value not written by this tool") }
                continue
            }
            if let pending {
                let isNew = ExpectedState.matches(actual, pending)
                let isOld = ExpectedState.matches(actual, committed)
                if isNew != isOld { outcomes.votes.append((k, isNew)) }
                if isNew || isOld {
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
    }
}

/// The worker threads of a stress run.
final class StressWorkers: @unchecked Sendable {
    // @unchecked: `failure` is behind `lock`; the rest is immutable or
    // partitioned by thread (each thread owns a range of keys, in every family).
    let db: Database
    let families: [ColumnFamily]
    let state: ExpectedState
    let config: StressConfig
    private let lock = ToolLock<String?>(nil)
    /// Checkpoints taken and checked (all threads).
    let checkpointsTaken = ToolLock(0)

    init(db: Database, families: [ColumnFamily], state: ExpectedState, config: StressConfig) {
        self.db = db
        self.families = families
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

    /// One of the thread's keys in a random family.
    private func randomKey(_ range: Range<Int>, _ rng: inout Xoshiro256) -> Key {
        Key(family: Int(rng.uniform(UInt64(families.count))),
            key: range.lowerBound + Int(rng.uniform(UInt64(range.count))), keys: config.keys)
    }

    /// A key of one family; `slot` is its expected-state index.
    struct Key: Hashable {
        var family: Int
        var key: Int
        var keys: Int
        var slot: Int { family * keys + key }
        var bytes: [UInt8] { ExpectedState.keyBytes(key) }
    }

    enum Update { case put, delete, merge }

    private func step(_ t: Int, _ range: Range<Int>, _ rng: inout Xoshiro256) throws {
        // The split-batch negative control writes nothing but multi-family
        // batches, so a kill almost always lands inside one.
        let r = config.splitBatches ? 540 + rng.uniform(100) : rng.uniform(1000)
        let sync = rng.uniform(100) < UInt64(config.syncPercent)
        switch r {
        case 0..<380:
            try write(t, [(randomKey(range, &rng), .put)], sync: sync)
        case 380..<460:
            try write(t, [(randomKey(range, &rng), .delete)], sync: sync)
        case 460..<540:
            try write(t, [(randomKey(range, &rng), config.merges ? .merge : .put)], sync: sync)
        case 540..<640:
            // A batch over several families: atomic across them.
            var updates: [(Key, Update)] = []
            var seen = Set<Key>()
            for _ in 0..<(2 + Int(rng.uniform(7))) {
                let k = randomKey(range, &rng)
                guard seen.insert(k).inserted else { continue }
                let kind = rng.uniform(4)
                updates.append((k, kind == 0 ? .delete : kind == 1 && config.merges ? .merge : .put))
            }
            try write(t, updates, sync: sync)
        case 640..<670 where config.rangeDeletes:
            let begin = randomKey(range, &rng)
            let end = min(range.upperBound, begin.key + 1 + Int(rng.uniform(10)))
            try deleteRange(t, begin.family, begin.key..<end, sync: sync)
        case 640..<870:
            try checkGet(randomKey(range, &rng))
        case 870..<940:
            let k = randomKey(range, &rng)
            try checkScan(k.family, k.key..<range.upperBound)
        case 940..<975:
            try checkSnapshot(t, randomKey(range, &rng), &rng)
        case 975..<987:
            try families[Int(rng.uniform(UInt64(families.count)))].flush()
        case 987..<997:
            let begin = randomKey(range, &rng)
            try families[begin.family].compactRange(
                from: begin.bytes, to: ExpectedState.keyBytes(min(range.upperBound - 1, begin.key + 100)))
        default:
            // Rare: a checkpoint opens a whole database.
            if config.checkpoints && rng.uniform(8) == 0 {
                try checkCheckpoint(t, range, &rng)
            } else {
                try checkGet(randomKey(range, &rng))
            }
        }
    }

    /// Pending, write, commit: the protocol that lets a killed run be checked.
    private func write(_ t: Int, _ updates: [(key: Key, kind: Update)], sync: Bool) throws {
        var batch = WriteBatch()
        var next: [(Int, ExpectedState.Entry)] = []
        for (k, kind) in updates {
            let entry = state.next(k.slot, exists: kind != .delete)
            next.append((k.slot, entry))
            let family = families[k.family]
            switch kind {
            case .put: batch.put(k.bytes, ExpectedState.value(k.slot, entry.generation), in: family)
            case .merge: batch.merge(k.bytes, ExpectedState.value(k.slot, entry.generation), in: family)
            case .delete: batch.delete(k.bytes, in: family)
            }
        }
        for (slot, e) in next { state.setPending(slot, e) }
        if config.splitBatches && updates.count > 1 {
            // The negative control: not atomic, and each part synced so a
            // kill often lands between two parts.
            for (k, kind) in updates {
                var part = WriteBatch()
                let family = families[k.family]
                let entry = next.first { $0.0 == k.slot }!.1
                switch kind {
                case .put: part.put(k.bytes, ExpectedState.value(k.slot, entry.generation), in: family)
                case .merge: part.merge(k.bytes, ExpectedState.value(k.slot, entry.generation), in: family)
                case .delete: part.delete(k.bytes, in: family)
                }
                try db.write(part, options: WriteOptions(sync: !config.disableWAL, disableWAL: config.disableWAL))
            }
        } else {
            try db.write(batch, options: WriteOptions(sync: sync && !config.disableWAL, disableWAL: config.disableWAL))
        }
        for (slot, e) in next { state.commit(slot, e) }
        state.countAcknowledged(thread: t, 1)
    }

    private func deleteRange(_ t: Int, _ f: Int, _ keys: Range<Int>, sync: Bool) throws {
        var batch = WriteBatch()
        batch.deleteRange(from: ExpectedState.keyBytes(keys.lowerBound), to: ExpectedState.keyBytes(keys.upperBound),
                          in: families[f])
        let next = keys.map { k in (f * config.keys + k, state.next(f * config.keys + k, exists: false)) }
        for (slot, e) in next { state.setPending(slot, e) }
        try db.write(batch, options: WriteOptions(sync: sync && !config.disableWAL, disableWAL: config.disableWAL))
        for (slot, e) in next { state.commit(slot, e) }
        state.countAcknowledged(thread: t, 1)
    }

    private func expect(_ slot: Int, _ value: [UInt8]?, _ how: String) {
        let committed = state.load(slot).committed
        guard let actual = ExpectedState.decode(slot, value), ExpectedState.matches(actual, committed) else {
            fail("wrong read (\(how)) of slot \(slot): expected \(committed), read \(value.map { String(decoding: $0, as: UTF8.self) } ?? "nothing")")
            return
        }
    }

    private func checkGet(_ k: Key) throws {
        expect(k.slot, try families[k.family].get(k.bytes), "get in \(families[k.family].name)")
    }

    /// Iterates family `f` from `range.lowerBound` over up to 20 keys of this thread.
    private func checkScan(_ f: Int, _ range: Range<Int>) throws {
        var options = ReadOptions()
        options.upperBound = ExpectedState.keyBytes(range.upperBound)
        let it = try families[f].makeIterator(options: options)
        it.seek(ExpectedState.keyBytes(range.lowerBound))
        var k = range.lowerBound
        var seen = 0
        while seen < 20 && k < range.upperBound {
            let current: Int? = it.isValid ? Int(String(decoding: it.key.dropFirst(3), as: UTF8.self)) : nil
            if current == k {
                expect(f * config.keys + k, it.value, "scan")
                it.next()
                seen += 1
            } else {
                expect(f * config.keys + k, nil, "scan: key missing")
            }
            k += 1
        }
        try it.status()
    }

    /// A snapshot keeps seeing a key's value after the key is overwritten.
    ///
    /// With the compaction filter on, the key is overwritten or deleted, and
    /// the engine's promise is narrower: a compaction never filters a value
    /// that a snapshot which existed when the compaction *started* can see
    /// (docs/compaction.md; RocksDB's filter ignores snapshots altogether,
    /// and its crash test takes none with a filter on). So one check in 8 is
    /// strict: it takes the snapshot, waits until no flush or compaction
    /// that started before it is still running (`waitForBackgroundWork`),
    /// reads, writes, then flushes and compacts the key itself while the
    /// snapshot holds the old version — the read must not change at all
    /// (the state-based removal would remove the old version after a
    /// deletion, a marker would change or remove it, if the engine offered
    /// it to the filter). The other checks accept what a compaction already
    /// running when the snapshot was taken may do to the value: the
    /// filter's change or removal by marker, or its removal after the
    /// check's own deletion.
    private func checkSnapshot(_ t: Int, _ k: Key, _ rng: inout Xoshiro256) throws {
        let strict = config.compactionFilter && rng.uniform(8) == 0
        let snapshot = db.snapshot()
        defer { snapshot.release() }
        if strict { try db.waitForBackgroundWork() }
        var options = ReadOptions()
        options.snapshot = snapshot
        let family = families[k.family]
        let before = try family.get(k.bytes, options: options)
        expect(k.slot, before, "snapshot")
        let deleteIt = config.compactionFilter && rng.uniform(2) == 0
        try write(t, [(k, deleteIt ? .delete : .put)], sync: false)
        if strict {
            try family.flush()
            try family.compactRange(from: k.bytes, to: k.bytes)
        }
        let after = try family.get(k.bytes, options: options)
        if after == before { return }
        if config.compactionFilter && !strict, let before, let generation = ExpectedState.generation(of: before) {
            if after == nil && (deleteIt || ExpectedState.removedByFilter(generation)) { return }
            if ExpectedState.changedByFilter(generation) && after == ExpectedState.filtered(before) { return }
        }
        let show = { (v: [UInt8]?) in v.map { String(decoding: $0.prefix(12), as: UTF8.self) } ?? "nothing" }
        fail("snapshot read of slot \(k.slot) changed after \(deleteIt ? "a deletion" : "an overwrite")"
            + "\(strict ? " and a compaction of the key" : ""): \(show(before)) before, \(show(after)) after")
    }

    /// A checkpoint holds every write acknowledged before it: this thread's
    /// keys (only it writes them) must read exactly their committed state
    /// in it, in every family.
    private func checkCheckpoint(_ t: Int, _ range: Range<Int>, _ rng: inout Xoshiro256) throws {
        let path = config.db + ".checkpoint-\(t)"
        // Left by a killed run: removed only if it holds nothing but a
        // database (issue 24: never delete what the tool did not create).
        try FreshDirectory.removeStaleDatabase(at: path, alsoOwned: [Database.checkpointManifestName],
                                              what: "a checkpoint of an earlier strata-stress run")
        try db.checkpoint(to: path)
        defer { _ = rmTree(path) }
        let copy = try Database.open(at: path, options: config.checkpointOptions)
        defer { try? copy.close() }
        for (f, name) in config.familyNames.enumerated() {
            guard let family = copy.columnFamily(named: name) else {
                fail("checkpoint has no column family \(name)")
                return
            }
            for _ in 0..<20 {
                let k = range.lowerBound + Int(rng.uniform(UInt64(range.count)))
                expect(f * config.keys + k, try family.get(ExpectedState.keyBytes(k)), "checkpoint")
            }
        }
        checkpointsTaken.withLock { $0 += 1 }
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
