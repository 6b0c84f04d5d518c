import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Strata

/// The memtable's whole-key bloom (`ColumnFamilyOptions.memtableBloomSizeRatio`):
/// never a false negative — every key added, of any length, is found by
/// `get` and by a database lookup, with and without the bloom — a measured
/// false-positive rate near the cache-local model, no effect on when a
/// memtable counts as full, and readers concurrent with the writer never
/// miss an entry whose sequence was published.
@Suite("MemTableBloom")
struct MemTableBloomTests {
    /// A bloom over its own memory, for the filter-only tests.
    final class OwnedBloom {
        let memory: UnsafeMutableRawPointer
        let bloom: MemTableBloom
        init(bytes: Int) {
            memory = .allocate(byteCount: MemTableBloom.footprint(bytes), alignment: 64)
            bloom = MemTableBloom(memory: memory, bytes: bytes)
        }
        deinit { memory.deallocate() }
    }

    static func key(_ i: UInt64, seed: UInt64) -> [UInt8] {
        var x = i &* 0x9E37_79B9_7F4A_7C15 ^ seed
        return (0..<16).map { _ in
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: x >> 56)
        }
    }

    @Test("no false negatives; false positives near the model at 16 bits per key")
    func falsePositiveRate() {
        let seed: UInt64 = 20_261_130
        print("MemTableBloomTests seed \(seed)")
        let n = 50_000
        let owned = OwnedBloom(bytes: n * 2)  // 16 bits per key
        for i in 0..<n { Self.key(UInt64(i), seed: seed).withUnsafeBytes { owned.bloom.add(MemTableBloom.hash($0)) } }
        for i in 0..<n {
            let found = Self.key(UInt64(i), seed: seed).withUnsafeBytes { owned.bloom.mayContain(MemTableBloom.hash($0)) }
            #expect(found, "key \(i) added but not found")
        }
        var positives = 0
        let probes = 200_000
        for i in 0..<probes {
            let key = Self.key(UInt64(n + i), seed: seed)
            if key.withUnsafeBytes({ owned.bloom.mayContain(MemTableBloom.hash($0)) }) { positives += 1 }
        }
        let rate = Double(positives) / Double(probes)
        print("MemTableBloom false-positive rate at 16 bits/key: \(rate)")
        // Six probes in one 512-bit line at 16 bits per key: 0.094% for an
        // ideal Bloom filter, 0.122% for one whose keys fall Poisson(32)
        // per line (the cache-local model). Half to twice that: a filter
        // that stopped setting or testing some bits leaves the band (and
        // 200,000 probes put ~240 positives in it, far from the edges).
        #expect(rate > 0.0006 && rate < 0.0025, "false-positive rate \(rate), expected about 0.0012")
    }

    @Test("a memtable with a bloom answers get exactly as one without; absent keys find nothing")
    func memtableGetUnchanged() {
        let seed: UInt64 = 7
        print("MemTableBloomTests seed \(seed)")
        let plain = MemTable()
        let filtered = MemTable(bloomBytes: 4096)
        var keys: [[UInt8]] = [[], [0], [0xFF, 0xFF], Array("k".utf8)]
        for i in 0..<2000 { keys.append(Array(Self.key(UInt64(i), seed: seed).prefix(1 + i % 16))) }
        var sequence: UInt64 = 1
        for (i, k) in keys.enumerated() {
            for table in [plain, filtered] {
                table.add(sequence: sequence, type: i % 7 == 0 ? .deletion : .value, key: k, value: [UInt8(i & 0xFF)])
            }
            sequence += 1
        }
        for k in keys {
            #expect(MemTableTests.get(filtered, k).map(\.0) == MemTableTests.get(plain, k).map(\.0))
            #expect(!MemTableTests.get(filtered, k).isEmpty, "key \(k) lost")
        }
        for i in 0..<2000 {
            let absent = Self.key(UInt64(1_000_000 + i), seed: seed) + [1]
            #expect(MemTableTests.get(filtered, absent).isEmpty)
        }
        #expect(filtered.approximateMemoryUsage == plain.approximateMemoryUsage,
                "the bloom must not bring the flush closer")
        #expect(filtered.arenaMemoryUsage >= plain.arenaMemoryUsage + 4096, "the bloom's memory is accounted")
    }

    @Test("database lookups with the bloom on and off agree, across flushes")
    func databaseLookups() throws {
        let seed: UInt64 = 11
        print("MemTableBloomTests seed \(seed)")
        for ratio in [0.0, 0.02, 0.25] {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-mtbloom-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var options = Options()
            options.createIfMissing = true
            options.writeBufferSize = 256 << 10
            options.memtableBloomSizeRatio = ratio
            let db = try Database.open(at: dir, options: options)
            var model: [[UInt8]: [UInt8]] = [:]
            for i in 0..<6000 {
                let k = Self.key(UInt64(i % 4000), seed: seed)
                if i % 9 == 0 {
                    try db.delete(k)
                    model[k] = nil
                } else {
                    let v = Array("v\(i)".utf8)
                    try db.put(k, v)
                    model[k] = v
                }
            }
            for i in 0..<4000 {
                let k = Self.key(UInt64(i), seed: seed)
                #expect(try db.get(k) == model[k], "ratio \(ratio) key \(i)")
            }
            for i in 0..<1000 { #expect(try db.get(Self.key(UInt64(10_000 + i), seed: seed)) == nil) }
            try db.close()
        }
    }

    @Test("readers concurrent with the writer find every key whose sequence they saw published")
    func concurrentReaders() {
        let table = MemTable(bloomBytes: 1 << 12)
        let published = Published()
        let keys = (0..<20_000).map { Self.key(UInt64($0), seed: 3) }
        let misses = Atomic<Int>(0)
        // Iteration 0 writes, the others read; readers never wait for the
        // writer (a key is checked only once its sequence is published), so
        // any scheduling order terminates.
        DispatchQueue.concurrentPerform(iterations: 3) { worker in
            if worker == 0 {
                for (i, k) in keys.enumerated() {
                    table.add(sequence: UInt64(i + 1), type: .value, key: k, value: [1])
                    published.set(i + 1)
                }
                return
            }
            for check in 0..<20_000 {
                let upTo = published.get()
                guard upTo > 0 else { continue }
                let i = (check &* 7919 &+ worker) % upTo
                if MemTableTests.get(table, keys[i], UInt64(upTo)).isEmpty { misses.add(1, ordering: .relaxed) }
            }
        }
        #expect(misses.load(ordering: .relaxed) == 0)
    }

    /// The writer's published sequence (release/acquire), as the database's last sequence.
    final class Published: Sendable {
        private let value = Atomic<Int>(0)
        func set(_ v: Int) { value.store(v, ordering: .releasing) }
        func get() -> Int { value.load(ordering: .acquiring) }
    }
}
