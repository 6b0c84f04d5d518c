import Testing
@testable import Strata

/// `ReadOptions.fillCache` (RocksDB `fill_cache`) for lookups and iterators,
/// and compactions, which read their inputs without filling the cache.
@Suite("Fill cache")
struct FillCacheTests {
    static func cacheUsage(_ db: Database) -> Int { Int(db.property("strata.block-cache-usage") ?? "0") ?? 0 }

    @Test("a lookup or scan with fillCache false reads from the file every time and leaves the cache as it was")
    func readsWithoutFilling() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try ReadStatisticsTests.twoLevels(dir)
        let last = ReadStatisticsTests.lastLevel(db)
        let usage0 = Self.cacheUsage(db)
        let noFill = ReadOptions(fillCache: false)
        let keys = (0..<100).map { Array("a\($0 * 29)".utf8) }
        for _ in 0..<2 {
            let s0 = db.statistics()
            for k in keys { #expect(try db.get(k, options: noFill) != nil) }
            let d = db.statistics().since(s0).levelReads[last]
            #expect(d.blocksFromDisk == 100 && d.blocksFromCache == 0)
        }
        let it = try db.makeIterator(options: noFill)
        var count = 0
        it.seekToFirst()
        while it.isValid { count += 1; it.next() }
        try it.status()
        #expect(count == 6000)
        #expect(Self.cacheUsage(db) == usage0, "nothing inserted")
        // The default fills: the second pass hits.
        for k in keys { _ = try db.get(k) }
        let s1 = db.statistics()
        for k in keys { _ = try db.get(k) }
        #expect(db.statistics().since(s1).levelReads[last].blocksFromDisk == 0)
        #expect(Self.cacheUsage(db) > usage0)
        try db.close()
    }

    @Test("a compaction reads its inputs without putting their blocks into the block cache")
    func compactionDoesNotFill() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try ReadStatisticsTests.twoLevels(dir)
        let usage0 = Self.cacheUsage(db)
        let s0 = db.statistics()
        try db.compactRange()
        let d = db.statistics().since(s0)
        #expect(d.iteratorBlocksFromDisk > 10, "the compaction read its inputs")
        #expect(Self.cacheUsage(db) == usage0)
        try db.close()
    }
}
