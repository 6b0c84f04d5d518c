import Foundation
import Synchronization
import Testing
@testable import Strata

/// Checks the sharded LRU block cache: least-recently-used eviction by
/// charge, recency refresh on lookup, rejection of entries larger than a
/// shard, usage accounting on replace and erase, hit/miss counters, the
/// default shard count RocksDB would choose, and consistency after
/// concurrent inserts and lookups from several threads.
@Suite("LRU cache")
struct LRUCacheTests {
    /// A one-shard cache of capacity 100 holding keys 0..<10, charge 10 each,
    /// inserted in order (0 is the least recently used).
    static func fullCache() -> LRUCache<Int, String> {
        let cache = LRUCache<Int, String>(capacity: 100, shardCountLog2: 0)
        for i in 0..<10 { cache.insert(i, "v\(i)", charge: 10) }
        return cache
    }

    @Test("inserting an 11th entry of charge 10 into capacity 100 evicts the least recently used")
    func evictsLeastRecentlyUsed() {
        let cache = Self.fullCache()
        #expect(cache.usage == 100)
        #expect(cache.count == 10)
        cache.insert(10, "v10", charge: 10)
        #expect(cache.usage == 100)
        #expect(cache.count == 10)
        #expect(cache.lookup(0) == nil)
        for i in 1...10 { #expect(cache.lookup(i) == "v\(i)", "key \(i)") }
        // Next in line is 1 (looked up first above, so least recent among 1...10).
        cache.insert(11, "v11", charge: 10)
        #expect(cache.lookup(1) == nil)
        #expect(cache.lookup(2) == "v2")
    }

    @Test("a lookup makes an entry most recently used")
    func lookupRefreshes() {
        let cache = Self.fullCache()
        #expect(cache.lookup(0) == "v0")
        cache.insert(10, "v10", charge: 10)
        #expect(cache.lookup(0) == "v0")
        #expect(cache.lookup(1) == nil)
        // A miss does not disturb the order: 2 is now the oldest.
        #expect(cache.lookup(999) == nil)
        cache.insert(11, "v11", charge: 10)
        #expect(cache.lookup(2) == nil)
        #expect(cache.lookup(3) == "v3")
    }

    @Test("one large entry evicts as many old entries as it needs")
    func largeEntryEvictsSeveral() {
        let cache = Self.fullCache()
        cache.insert(50, "big", charge: 35)
        // 35 more needs 35 freed: 0, 1, 2 and 3 go (40), usage 60 + 35.
        #expect(cache.usage == 95)
        #expect(cache.count == 7)
        for i in 0..<4 { #expect(cache.lookup(i) == nil, "key \(i)") }
        for i in 4..<10 { #expect(cache.lookup(i) == "v\(i)", "key \(i)") }
        #expect(cache.lookup(50) == "big")
        // An entry of exactly the capacity is kept, alone.
        cache.insert(60, "all", charge: 100)
        #expect(cache.count == 1)
        #expect(cache.usage == 100)
        #expect(cache.lookup(60) == "all")
    }

    @Test("an entry whose charge exceeds the capacity is not kept and evicts nothing")
    func oversizedEntryNotKept() {
        let cache = Self.fullCache()
        cache.insert(99, "huge", charge: 101)
        #expect(cache.lookup(99) == nil)
        #expect(cache.usage == 100)
        #expect(cache.count == 10)
        for i in 0..<10 { #expect(cache.lookup(i) == "v\(i)", "key \(i)") }
    }

    @Test("replacing a key updates its value and adjusts usage by the charge difference")
    func replaceAdjustsUsage() {
        let cache = LRUCache<Int, String>(capacity: 100, shardCountLog2: 0)
        cache.insert(1, "a", charge: 10)
        cache.insert(2, "b", charge: 20)
        #expect(cache.usage == 30)
        cache.insert(1, "A", charge: 40)
        #expect(cache.usage == 60)
        #expect(cache.count == 2)
        #expect(cache.lookup(1) == "A")
        cache.insert(1, "α", charge: 5)
        #expect(cache.usage == 25)
        #expect(cache.count == 2)
        #expect(cache.lookup(1) == "α")
        #expect(cache.lookup(2) == "b")
    }

    @Test("erase removes an entry and its charge; erasing an absent key does nothing")
    func eraseFreesCharge() {
        let cache = Self.fullCache()
        cache.erase(3)
        #expect(cache.usage == 90)
        #expect(cache.count == 9)
        #expect(cache.lookup(3) == nil)
        cache.erase(3)
        cache.erase(12345)
        #expect(cache.usage == 90)
        // The freed room is used before anything is evicted.
        cache.insert(20, "v20", charge: 10)
        #expect(cache.usage == 100)
        #expect(cache.lookup(0) == "v0")
        // Freed slots are reused without confusing the recency list.
        for i in 0..<10 { cache.erase(i) }
        #expect(cache.count == 1)
        #expect(cache.usage == 10)
        for i in 100..<120 { cache.insert(i, "w\(i)", charge: 10) }
        #expect(cache.count == 10)
        #expect(cache.usage == 100)
        for i in 110..<120 { #expect(cache.lookup(i) == "w\(i)", "key \(i)") }
        #expect(cache.lookup(20) == nil)
    }

    @Test("hits and misses count lookups")
    func hitAndMissCounters() {
        let cache = LRUCache<Int, String>(capacity: 100, shardCountLog2: 0)
        #expect(cache.hits == 0 && cache.misses == 0)
        cache.insert(1, "a", charge: 1)
        _ = cache.lookup(1)
        _ = cache.lookup(1)
        _ = cache.lookup(2)
        #expect(cache.hits == 2)
        #expect(cache.misses == 1)
    }

    @Test("values handed out stay valid after their entry is evicted")
    func valuesOutliveEviction() {
        final class Payload: Sendable {
            let bytes: [UInt8]
            init(_ bytes: [UInt8]) { self.bytes = bytes }
        }
        let cache = LRUCache<Int, Payload>(capacity: 10, shardCountLog2: 0)
        cache.insert(1, Payload([1, 2, 3]), charge: 10)
        let held = cache.lookup(1)
        cache.insert(2, Payload([4]), charge: 10)
        #expect(cache.lookup(1) == nil)
        #expect(held?.bytes == [1, 2, 3])
    }

    @Test("the default shard count follows RocksDB: one shard per 512 KiB, at most 64")
    func defaultShardCount() {
        #expect(LRUCache<Int, Int>(capacity: 100).shards.count == 1)
        #expect(LRUCache<Int, Int>(capacity: 1 << 20).shards.count == 2)
        #expect(LRUCache<Int, Int>(capacity: 3 << 19).shards.count == 2)
        #expect(LRUCache<Int, Int>(capacity: 8 << 20).shards.count == 16)
        #expect(LRUCache<Int, Int>(capacity: 64 << 20).shards.count == 64)
        #expect(LRUCache<Int, Int>(capacity: 1 << 30).shards.count == 64)
        #expect(LRUCache<Int, Int>(capacity: 100, shardCountLog2: 3).shards.count == 8)
        #expect(LRUCache<Int, Int>(capacity: 100).capacity == 100)
    }

    @Test("with several shards every entry lands in one shard and usage stays within capacity")
    func shardedUsage() {
        let cache = LRUCache<Int, Int>(capacity: 400, shardCountLog2: 2)
        for i in 0..<1000 { cache.insert(i, i, charge: 4) }
        #expect(cache.usage <= 400)
        #expect(cache.usage == cache.count * 4)
        var found = 0
        for i in 0..<1000 {
            if let v = cache.lookup(i) {
                #expect(v == i)
                found += 1
            }
        }
        #expect(found == cache.count)
        // The most recent insert is always present.
        #expect(cache.lookup(999) == 999)
    }

    static func charge(_ key: Int) -> Int { key % 20 + 1 }

    @Test("concurrent inserts and lookups from 4 threads keep the cache consistent and within capacity")
    func concurrentAccess() {
        let seed: UInt64 = 0x1C0C
        print("LRU concurrency seed \(seed)")
        let capacity = 1000
        let cache = LRUCache<Int, Int>(capacity: capacity, shardCountLog2: 2)
        let wrongValues = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            var rng = TestRandom(seed: seed &+ UInt64(thread))
            for _ in 0..<5000 {
                let key = rng.int(0..<600)
                if rng.int(0..<3) == 0 {
                    cache.insert(key, key * 7, charge: Self.charge(key))
                } else if let v = cache.lookup(key), v != key * 7 {
                    wrongValues.add(1, ordering: .relaxed)
                }
                if rng.int(0..<50) == 0 { cache.erase(rng.int(0..<600)) }
            }
        }
        #expect(wrongValues.load(ordering: .relaxed) == 0)
        #expect(cache.usage <= capacity)
        #expect(cache.hits + cache.misses > 0)
        // Usage is exactly the charge of the entries still present.
        var presentCharge = 0
        var present = 0
        for key in 0..<600 {
            if let v = cache.lookup(key) {
                #expect(v == key * 7)
                presentCharge += Self.charge(key)
                present += 1
            }
        }
        #expect(present == cache.count)
        #expect(presentCharge == cache.usage)
    }
}
