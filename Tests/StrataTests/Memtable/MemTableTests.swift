import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Strata

/// The memtable (arena skiplist of internal keys): `get` returns a user
/// key's entries visible at a snapshot, newest first, deletions included as
/// their type; the iterator walks internal-key order (user key bytewise
/// ascending — prefixes, the empty key and 0xFF keys included — then
/// sequence descending) and agrees with a sorted model in every direction
/// and seek; range deletions live apart in `rangeTombstones()`; the size
/// accessors grow; readers iterating concurrently with the single writer
/// always see a sorted list.
@Suite("MemTable")
struct MemTableTests {
    struct Entry {
        var key: [UInt8]  // internal key
        var value: [UInt8]
    }

    /// A model entry with its parts split out.
    struct ModelEntry {
        var user: [UInt8]
        var sequence: UInt64
        var key: [UInt8]  // internal key
        var value: [UInt8]
    }

    static func ikey(_ user: [UInt8], _ sequence: UInt64, _ type: ValueType) -> [UInt8] {
        InternalKey.make(user, sequence: sequence, type: type.rawValue)
    }

    /// Every entry the iterator visits from the first, forwards.
    static func scan(_ table: MemTable) -> [Entry] {
        let it = table.makeIterator()
        var out: [Entry] = []
        it.seekToFirst()
        while it.isValid {
            out.append(Entry(key: Array(it.key), value: Array(it.value)))
            it.next()
        }
        return out
    }

    /// (sequence, type, value) of every entry `get` visits for `user` at `sequence`.
    static func get(_ table: MemTable, _ user: [UInt8], _ sequence: UInt64 = maxSequenceNumber)
        -> [(UInt64, ValueType?, [UInt8])]
    {
        var out: [(UInt64, ValueType?, [UInt8])] = []
        user.withUnsafeBytes { u in
            table.get(userKey: u, sequence: sequence) { key, value in
                #expect(Bytewise.compare(key.userKey, u) == 0)
                out.append((key.sequence, key.type, Array(value)))
                return true
            }
        }
        return out
    }

    /// Index of the first model entry ≥ `target` (model sorted in internal-key order).
    static func lowerBound(_ model: [ModelEntry], _ target: [UInt8]) -> Int {
        var lo = 0, hi = model.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if InternalKey.compare(model[mid].key, target) < 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    @Test("get returns the entries at or below the snapshot, newest first; deletions show as their type")
    func getSnapshots() throws {
        let table = MemTable()
        let k = Array("k".utf8)
        table.add(sequence: 10, type: .value, key: k, value: Array("v10".utf8))
        table.add(sequence: 30, type: .deletion, key: k, value: [])
        table.add(sequence: 20, type: .merge, key: k, value: Array("m20".utf8))
        table.add(sequence: 40, type: .value, key: k, value: Array("v40".utf8))
        table.add(sequence: 50, type: .singleDeletion, key: k, value: [])
        table.add(sequence: 25, type: .value, key: Array("j".utf8), value: Array("other".utf8))
        table.add(sequence: 26, type: .value, key: Array("kk".utf8), value: Array("longer".utf8))

        func seqs(_ at: UInt64) -> [UInt64] { Self.get(table, k, at).map { $0.0 } }
        #expect(seqs(maxSequenceNumber) == [50, 40, 30, 20, 10])
        #expect(seqs(45) == [40, 30, 20, 10])
        #expect(seqs(40) == [40, 30, 20, 10])
        #expect(seqs(39) == [30, 20, 10])
        #expect(seqs(10) == [10])
        #expect(seqs(9) == [])
        #expect(seqs(0) == [])

        let all = Self.get(table, k)
        #expect(all.map { $0.1 } == [.singleDeletion, .value, .deletion, .merge, .value])
        #expect(all.map { $0.2 } == [[], Array("v40".utf8), [], Array("m20".utf8), Array("v10".utf8)])
        #expect(Self.get(table, Array("absent".utf8)).isEmpty)
        #expect(Self.get(table, Array("kk".utf8)).map { $0.0 } == [26])

        // The body stops the walk by returning false.
        var visited = 0
        k.withUnsafeBytes { u in
            table.get(userKey: u, sequence: 35) { key, _ in
                visited += 1
                #expect(key.sequence == 30 && key.type == .deletion)
                return false
            }
        }
        #expect(visited == 1)
    }

    @Test("prefix keys, the empty key and 0xFF keys order bytewise, and get never mixes them")
    func edgeKeys() throws {
        let keys: [[UInt8]] = [
            [], [0x00], [0x00, 0x00], [0x61], [0x61, 0x00], [0x61, 0x61], [0x61, 0xFF], [0x62],
            [0x7F], [0x80], [0xFF], [0xFF, 0x00], [0xFF, 0xFF], [0xFF, 0xFF, 0xFF],
        ]
        var rng = TestRandom(seed: 21)
        print("seed 21")
        let table = MemTable()
        var sequence: UInt64 = 1
        for key in keys.shuffled(using: &rng) {
            // Two versions of each key, inserted out of sequence order.
            table.add(sequence: sequence + 100, type: .value, key: key, value: key + [1])
            table.add(sequence: sequence, type: .value, key: key, value: key + [0])
            sequence += 1
        }
        let entries = Self.scan(table)
        #expect(entries.count == 2 * keys.count)
        let users = entries.map { Array($0.key.dropLast(8)) }
        #expect(users == keys.flatMap { [$0, $0] })
        for pair in stride(from: 0, to: entries.count, by: 2) {
            #expect(entries[pair].value.last == 1 && entries[pair + 1].value.last == 0, "newest first for \(users[pair])")
        }
        for key in keys {
            let got = Self.get(table, key)
            #expect(got.count == 2, "key \(key)")
            #expect(got.map { $0.2 } == [key + [1], key + [0]], "key \(key)")
        }
    }

    @Test("the iterator agrees with a sorted model of 5,000 random entries: scans, seeks, next and prev")
    func modelComparison() throws {
        let seed: UInt64 = 0x5EED_0005
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        // Keys over a tiny alphabet, so prefixes and repeats are common.
        let alphabet: [UInt8] = [0x00, 0x01, 0x61, 0x62, 0xFF]
        func userKey() -> [UInt8] { (0..<rng.int(0..<5)).map { _ in alphabet[rng.int(0..<alphabet.count)] } }
        let types: [ValueType] = [.value, .value, .deletion, .merge, .singleDeletion]
        let table = MemTable(arenaBlockSize: 4096)
        var model: [ModelEntry] = []
        var used = Set<UInt64>()
        while model.count < 5000 {
            let sequence = UInt64(rng.int(0..<(rng.int(0..<2) == 0 ? 20_000 : Int(maxSequenceNumber))))
            guard used.insert(sequence).inserted else { continue }
            let key = userKey()
            let type = types[rng.int(0..<types.count)]
            let value = type == .value || type == .merge ? rng.bytes(rng.int(0..<(rng.int(0..<50) == 0 ? 3000 : 24))) : []
            table.add(sequence: sequence, type: type, key: key, value: value)
            model.append(ModelEntry(user: key, sequence: sequence, key: Self.ikey(key, sequence, type), value: value))
        }
        model.sort { InternalKey.compare($0.key, $1.key) < 0 }
        #expect(table.entryCount == 5000)

        // Forward and backward scans.
        let forward = Self.scan(table)
        #expect(forward.count == model.count)
        #expect(forward.map { $0.key } == model.map { $0.key })
        #expect(forward.map { $0.value } == model.map { $0.value })
        let it = table.makeIterator()
        it.seekToLast()
        var i = model.count - 1
        while it.isValid && i >= 0 {
            if Array(it.key) != model[i].key { Issue.record("backward scan differs at \(i)"); break }
            i -= 1
            it.prev()
        }
        #expect(i == -1 && !it.isValid)

        // Seeks to random internal keys (present or not), then a few steps.
        for round in 0..<1500 {
            var target: [UInt8]
            if round % 3 == 0 {
                target = model[rng.int(0..<model.count)].key
            } else {
                let seq = UInt64(rng.int(0..<20_000))
                target = InternalKey.make(userKey(), sequence: seq, type: rng.int(0..<2) == 0 ? ValueType.forSeekCode : 1)
            }
            let lower = Self.lowerBound(model, target)
            target.withUnsafeBytes { it.seek($0) }
            if lower < model.count {
                #expect(it.isValid && Array(it.key) == model[lower].key, "seek round \(round)")
                if round % 5 == 0 {
                    // Walk two steps each way from the landing point.
                    it.next()
                    if lower + 1 < model.count { #expect(it.isValid && Array(it.key) == model[lower + 1].key) } else { #expect(!it.isValid) }
                    target.withUnsafeBytes { it.seek($0) }
                    it.prev()
                    if lower > 0 { #expect(it.isValid && Array(it.key) == model[lower - 1].key) } else { #expect(!it.isValid) }
                }
            } else {
                #expect(!it.isValid, "seek round \(round)")
            }
            // seekForPrev: the last entry ≤ target.
            let upper = lower < model.count && InternalKey.compare(model[lower].key, target) == 0 ? lower : lower - 1
            target.withUnsafeBytes { it.seekForPrev($0) }
            if upper >= 0 {
                #expect(it.isValid && Array(it.key) == model[upper].key, "seekForPrev round \(round)")
            } else {
                #expect(!it.isValid, "seekForPrev round \(round)")
            }
        }

        // Past both ends.
        InternalKey.make([0xFF, 0xFF, 0xFF, 0xFF, 0xFF], sequence: 0, type: 0).withUnsafeBytes { it.seek($0) }
        #expect(!it.isValid)
        InternalKey.make([], sequence: maxSequenceNumber, type: ValueType.forSeekCode).withUnsafeBytes { it.seekForPrev($0) }
        #expect(!it.isValid)

        // get at random snapshots agrees with the model.
        for round in 0..<400 {
            let user = userKey()
            let snapshot = UInt64(rng.int(0..<25_000))
            let expected = model.filter { $0.user == user && $0.sequence <= snapshot }
            let got = Self.get(table, user, snapshot)
            #expect(got.map { Self.ikey(user, $0.0, $0.1!) } == expected.map { $0.key }, "get round \(round)")
            #expect(got.map { $0.2 } == expected.map { $0.value }, "get round \(round)")
        }
    }

    @Test("runs of ascending, descending and repeated keys (the insert splice's fast path and its misses) stay sorted")
    func ascendingRuns() {
        let seed: UInt64 = 0x5EED_0A5C
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        let table = MemTable(arenaBlockSize: 4096)
        var model: [[UInt8]] = []
        var sequence: UInt64 = 1
        func add(_ n: Int) {
            var key = [UInt8]()
            withUnsafeBytes(of: UInt32(n).bigEndian) { key.append(contentsOf: $0) }
            table.add(sequence: sequence, type: .value, key: key, value: [UInt8(n & 0xFF)])
            model.append(Self.ikey(key, sequence, .value))
            sequence += 1
        }
        for _ in 0..<60 {
            let start = rng.int(0..<100_000)
            let length = rng.int(1..<200)
            switch rng.int(0..<4) {
            case 0: for n in start..<(start + length) { add(n) }             // ascending run
            case 1: for n in (start..<(start + length)).reversed() { add(n) } // descending run
            case 2: for _ in 0..<length { add(start) }                       // one key, newer each time
            default: for _ in 0..<length { add(rng.int(0..<100_000)) }       // random
            }
        }
        model.sort { InternalKey.compare($0, $1) < 0 }
        #expect(Self.scan(table).map { $0.key } == model)
    }

    @Test("range deletions go to rangeTombstones(), not to the iterator or get")
    func rangeTombstones() throws {
        let table = MemTable()
        table.add(sequence: 5, type: .rangeDeletion, key: Array("b".utf8), value: Array("d".utf8))
        #expect(!table.isEmpty)
        #expect(table.entryCount == 0 && table.rangeTombstoneCount == 1)
        #expect(Self.scan(table).isEmpty)
        #expect(Self.get(table, Array("b".utf8)).isEmpty)
        table.add(sequence: 6, type: .value, key: Array("c".utf8), value: Array("v".utf8))
        table.add(sequence: 7, type: .rangeDeletion, key: [], value: [0xFF])
        let tombstones = table.rangeTombstones()
        #expect(tombstones.count == 2)
        #expect(tombstones.map { $0.begin } == [Self.ikey(Array("b".utf8), 5, .rangeDeletion), Self.ikey([], 7, .rangeDeletion)])
        #expect(tombstones.map { $0.end } == [Array("d".utf8), [0xFF]])
        #expect(Self.scan(table).map { $0.key } == [Self.ikey(Array("c".utf8), 6, .value)])
        #expect(table.entryCount == 1 && table.rangeTombstoneCount == 2)
    }

    @Test("isEmpty, entryCount and approximateMemoryUsage grow with every add")
    func sizes() throws {
        var rng = TestRandom(seed: 23)
        print("seed 23")
        let table = MemTable(arenaBlockSize: 4096)
        #expect(table.isEmpty && table.entryCount == 0 && table.rangeTombstoneCount == 0)
        var usage = table.approximateMemoryUsage
        for i in 0..<2000 {
            let key = rng.bytes(rng.int(0..<40))
            // Some values larger than an arena block.
            let value = rng.bytes(i % 250 == 0 ? rng.int(5000..<20000) : rng.int(0..<100))
            table.add(sequence: UInt64(i + 1), type: .value, key: key, value: value)
            let now = table.approximateMemoryUsage
            #expect(now >= usage + key.count + 8 + value.count, "add \(i)")
            usage = now
            #expect(!table.isEmpty && table.entryCount == i + 1)
        }
        table.add(sequence: 5000, type: .rangeDeletion, key: [1], value: [2])
        #expect(table.approximateMemoryUsage > usage)
        // Large values are stored intact.
        #expect(Self.scan(table).count == 2000)
    }

    @Test("an empty memtable's iterator is invalid after every positioning")
    func emptyIterator() throws {
        let table = MemTable()
        let it = table.makeIterator()
        #expect(!it.isValid && it.error == nil)
        it.seekToFirst()
        #expect(!it.isValid)
        it.seekToLast()
        #expect(!it.isValid)
        Self.ikey([0x61], 1, .value).withUnsafeBytes { it.seek($0) }
        #expect(!it.isValid)
        Self.ikey([0x61], 1, .value).withUnsafeBytes { it.seekForPrev($0) }
        #expect(!it.isValid)
        it.next()
        it.prev()
        #expect(!it.isValid)
        #expect(Self.get(table, []).isEmpty)
    }

    /// Counters shared between the writer and reader threads.
    final class Shared: Sendable {
        let writerDone = Atomic<Bool>(false)
        let iterations = Atomic<Int>(0)
        let overlapping = Atomic<Int>(0)
        let unsorted = Atomic<Int>(0)
        let missing = Atomic<Int>(0)
        let finalCounts = Locked<[Int]>([])
    }

    @Test("3 readers iterating while one writer adds 20,000 entries always see sorted entries")
    func concurrentReaders() throws {
        let seed: UInt64 = 0xC0_FFEE
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        let entries: [([UInt8], [UInt8])] = (0..<20_000).map { _ in
            (Array("key\(rng.int(0..<4000))".utf8), rng.bytes(rng.int(0..<16)))
        }
        let table = MemTable(arenaBlockSize: 64 << 10)
        let shared = Shared()
        // Dedicated threads (not a thread pool): the readers spin until the
        // writer is done, so the writer must not wait for a pool slot.
        let group = DispatchGroup()
        // Readers start once the writer is under way (not spinning on an
        // empty table while the writer waits for a core).
        let started = DispatchSemaphore(value: 0)
        for reader in 0..<3 {
            group.enter()
            Thread {
                defer { group.leave() }
                started.wait()
                var round = 0
                while true {
                    let finished = shared.writerDone.load(ordering: .acquiring)
                    // Entries published before the walk starts must all be seen.
                    let atLeast = table.entryCount
                    let it = table.makeIterator()
                    var previous: [UInt8]? = nil
                    var seen = 0
                    let backward = (round + reader) % 2 == 1
                    if backward { it.seekToLast() } else { it.seekToFirst() }
                    while it.isValid {
                        let key = Array(it.key)
                        if let previous {
                            let order = InternalKey.compare(previous, key)
                            if backward ? order <= 0 : order >= 0 { shared.unsorted.add(1, ordering: .relaxed) }
                        }
                        previous = key
                        seen += 1
                        if backward { it.prev() } else { it.next() }
                    }
                    if seen < atLeast { shared.missing.add(1, ordering: .relaxed) }
                    shared.iterations.add(1, ordering: .relaxed)
                    if !finished && seen > 0 && seen < entries.count { shared.overlapping.add(1, ordering: .relaxed) }
                    round += 1
                    if finished {
                        shared.finalCounts.withLock { $0.append(seen) }
                        return
                    }
                }
            }.start()
        }
        group.enter()
        Thread {
            defer { group.leave() }
            for (i, (key, value)) in entries.enumerated() {
                table.add(sequence: UInt64(i + 1), type: .value, key: key, value: value)
                if i == 1000 { for _ in 0..<3 { started.signal() } }
            }
            shared.writerDone.store(true, ordering: .releasing)
        }.start()
        group.wait()
        print("iterations \(shared.iterations.load(ordering: .relaxed)), during writes \(shared.overlapping.load(ordering: .relaxed))")
        #expect(shared.unsorted.load(ordering: .relaxed) == 0)
        #expect(shared.missing.load(ordering: .relaxed) == 0)
        #expect(shared.finalCounts.withLock { $0 } == [20_000, 20_000, 20_000])
        #expect(table.entryCount == 20_000)
        #expect(Self.scan(table).count == 20_000)
    }
}
