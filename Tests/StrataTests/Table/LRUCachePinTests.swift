import Testing
@testable import Strata

/// Pins and reservations of the LRU cache: a pinned entry counts in usage
/// but is never evicted until released; an entry erased or replaced while
/// pinned gives its charge back at the last release; reservations take room
/// from the entries and evict at once.
@Suite("LRU cache pins and reservations")
struct LRUCachePinTests {
    /// A one-shard cache of capacity 100.
    static func cache() -> LRUCache<Int, String> { LRUCache<Int, String>(capacity: 100, shardCountLog2: 0) }

    @Test("a pinned entry is not evicted; released, it is the most recently used")
    func pinnedEntryStays() throws {
        let cache = Self.cache()
        for i in 0..<10 { cache.insert(i, "v\(i)", charge: 10) }
        let pinned = try #require(cache.lookupPinned(0))
        #expect(pinned.value == "v0")
        #expect(cache.pinnedUsage == 10)
        // Ten more entries: everything unpinned goes, the pinned one stays.
        for i in 10..<20 { cache.insert(i, "v\(i)", charge: 10) }
        #expect(cache.lookup(0) == "v0")
        #expect(cache.usage == 100)
        cache.release(pinned.handle)
        #expect(cache.pinnedUsage == 0)
        // Released last, so 0 is the most recent: the next insert evicts 11.
        cache.insert(20, "v20", charge: 10)
        #expect(cache.lookup(0) == "v0")
        #expect(cache.lookup(11) == nil)
    }

    @Test("pinned entries past the capacity are kept and counted; releases shrink the cache back")
    func pinsMayExceedCapacity() {
        let cache = Self.cache()
        var handles: [LRUCache<Int, String>.Handle] = []
        for i in 0..<12 {
            if let h = cache.insertPinned(i, "v\(i)", charge: 10) { handles.append(h) }
        }
        #expect(handles.count == 12)
        #expect(cache.usage == 120)
        #expect(cache.pinnedUsage == 120)
        for h in handles { cache.release(h) }
        #expect(cache.pinnedUsage == 0)
        #expect(cache.usage == 100, "releasing evicts down to the capacity")
    }

    @Test("an entry erased or replaced while pinned leaves the map at once and frees its charge at the last release")
    func detachedWhilePinned() throws {
        let cache = Self.cache()
        cache.insert(1, "old", charge: 30)
        let a = try #require(cache.lookupPinned(1))
        let b = try #require(cache.lookupPinned(1))
        cache.insert(1, "new", charge: 20)
        #expect(cache.lookup(1) == "new")
        #expect(cache.usage == 50, "the old value is still held by two pins")
        cache.release(a.handle)
        #expect(cache.usage == 50)
        cache.release(b.handle)
        #expect(cache.usage == 20)
        #expect(cache.pinnedUsage == 0)
        let c = try #require(cache.lookupPinned(1))
        cache.erase(1)
        #expect(cache.lookup(1) == nil)
        #expect(cache.usage == 20)
        cache.release(c.handle)
        #expect(cache.usage == 0)
        #expect(cache.count == 0)
    }

    @Test("a reservation takes room from the entries and evicts at once; giving it back leaves room again")
    func reservationsEvict() {
        let cache = Self.cache()
        for i in 0..<10 { cache.insert(i, "v\(i)", charge: 10) }
        cache.adjustReservation(by: 35)
        #expect(cache.reservedUsage == 35)
        #expect(cache.entryUsage == 60, "entries fit the 65 bytes left: four evicted")
        #expect(cache.usage == 95)
        for i in 0..<4 { #expect(cache.lookup(i) == nil, "key \(i)") }
        // An entry larger than the room left is not kept.
        #expect(cache.insertPinned(99, "big", charge: 70) == nil)
        cache.adjustReservation(by: -35)
        #expect(cache.reservedUsage == 0)
        for i in 10..<14 { cache.insert(i, "v\(i)", charge: 10) }
        #expect(cache.entryUsage == 100)
        // A reservation beyond the capacity leaves no unpinned entry.
        cache.adjustReservation(by: 150)
        #expect(cache.entryUsage == 0)
        #expect(cache.usage == 150)
        cache.adjustReservation(by: -150)
    }

    @Test("lookups of pinned entries hit and do not disturb the recency list")
    func lookupOfPinnedEntry() throws {
        let cache = Self.cache()
        cache.insert(1, "a", charge: 10)
        cache.insert(2, "b", charge: 10)
        let pin = try #require(cache.lookupPinned(1))
        #expect(cache.lookup(1) == "a")
        #expect(cache.hits == 2)
        #expect(cache.lookupPinned(3) == nil)
        #expect(cache.misses == 1)
        cache.release(pin.handle)
        #expect(cache.usage == 20)
        #expect(cache.count == 2)
    }
}
