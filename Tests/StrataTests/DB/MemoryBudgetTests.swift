import Testing
@testable import Strata

/// One memory budget: the sizes it derives, memtables and index/filter
/// blocks charged to its cache (accounted in one place), iterator pins,
/// the early memtable switch when databases sharing it write at once, and
/// the memory properties.
@Suite("Memory budget")
struct MemoryBudgetTests {
    @Test("memoryBudget derives the write buffers and the cache from one number")
    func derivedSizes() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.memoryBudget = 8 << 20
        options.blockCacheCapacity = 1 << 20  // replaced by the budget's cache
        let db = try Database.open(at: dir.path, options: options)
        let budget = try #require(db.memoryBudget)
        #expect(budget.capacity == 8 << 20)
        #expect(budget.writeBufferLimit == 4 << 20)
        #expect(db.defaultFamily.writeBufferSize == 2 << 20, "4 MiB of memtables / maxWriteBufferNumber 2")
        #expect(db.property("strata.block-cache-capacity") == String(8 << 20))
        let cf = try db.createColumnFamily(named: "other")
        #expect(db.columnFamily(named: "other")?.data.writeBufferSize == 2 << 20)
        try cf.put([1], [1])
        try db.close()

        // Without a budget nothing changes.
        let plain = try Database.open(at: dir.path, options: Options())
        #expect(plain.memoryBudget == nil)
        #expect(plain.defaultFamily.writeBufferSize == 64 << 20)
        #expect(plain.property("rocksdb.block-cache-capacity") == String(32 << 20))
        try plain.close()
    }

    @Test("a memtable charges its arena blocks, active until made immutable, and gives them back when freed")
    func memtableCharge() {
        let all = MemoryCharge()
        let active = MemoryCharge()
        do {
            let mem = MemTable(arenaBlockSize: 4096, charge: all, activeCharge: active)
            for i in 0..<500 { mem.add(sequence: UInt64(i + 1), type: .value, key: Array("key\(i)".utf8), value: [UInt8](repeating: 7, count: 30)) }
            #expect(all.current == mem.arenaMemoryUsage)
            #expect(active.current == mem.arenaMemoryUsage)
            #expect(mem.arenaMemoryUsage >= mem.approximateMemoryUsage)
            mem.markImmutable()
            mem.markImmutable()
            #expect(active.current == 0)
            #expect(all.current == mem.arenaMemoryUsage)
        }
        #expect(all.current == 0)
        #expect(active.current == 0)
    }

    @Test("two databases share one budget: one cache, usage accounted in one place and bounded")
    func sharedBudget() throws {
        let seed: UInt64 = 99
        print("MemoryBudgetTests seed \(seed)")
        let dirA = TestDirectory()
        let dirB = TestDirectory()
        defer {
            dirA.remove()
            dirB.remove()
        }
        let budget = MemoryBudget(capacity: 4 << 20)
        var options = Options()
        options.sharedMemoryBudget = budget
        options.bloomBitsPerKey = 10
        options.level0FileNumCompactionTrigger = 100
        do {
            let a = try Database.open(at: dirA.path, options: options)
            let b = try Database.open(at: dirB.path, options: options)
            #expect(a.blockCache === b.blockCache)
            #expect(a.blockCache === budget.cache)
            var rng = TestRandom(seed: seed)
            let limit = budget.writeBufferLimit
            // Both write, alternately: each alone may grow to limit / 2 (its
            // write buffer), but together their active memtables stay within
            // 7/8 of the limit plus the arena block (1/8 of a write buffer)
            // one write may have just taken.
            let arenaBlock = a.defaultFamily.writeBufferSize / 8
            let bound = limit / 8 * 7 + arenaBlock
            var peak = 0
            for i in 0..<30_000 {
                let db = i % 2 == 0 ? a : b
                try db.put(Array("k\(rng.int(0..<1_000_000))".utf8), rng.bytes(100))
                let active = budget.usage.activeMemtables
                peak = max(peak, active)
                #expect(active <= bound, "step \(i): active \(active)")
                if active > bound { break }
            }
            print("MemoryBudgetTests: active memtables peaked at \(peak) of bound \(bound), flushes \(a.statistics().flushes) + \(b.statistics().flushes)")
            try a.waitForBackgroundWork()
            try b.waitForBackgroundWork()
            #expect(a.statistics().flushes > 0)
            #expect(b.statistics().flushes > 0)
            // Read back some keys to fill the cache with data blocks.
            for _ in 0..<2000 { _ = try a.get(Array("k\(rng.int(0..<1_000_000))".utf8)) }

            let ua = a.memoryUsage()
            let ub = b.memoryUsage()
            let total = budget.usage
            // One place: the budget's figures are the two databases' sums,
            // and the cache's reservation is exactly what they charged.
            #expect(total.memtables == ua.memtables + ub.memtables)
            #expect(total.activeMemtables == ua.activeMemtables + ub.activeMemtables)
            #expect(total.tableReaders == ua.tableReaders + ub.tableReaders)
            #expect(ua.tableReaders > 0)
            #expect(budget.cache.reservedUsage == total.memtables + total.tableReaders)
            #expect(budget.cache.usage == budget.cache.entryUsage + budget.cache.reservedUsage)
            #expect(ua.blockCacheUsage == total.blockCacheUsage, "the same cache seen from both")
            // Bounded: memtables within the write-buffer share (plus one
            // arena block per memtable), everything within the capacity.
            #expect(total.memtables <= limit + 4 * (256 << 10))
            #expect(budget.cache.usage <= budget.capacity, "usage \(budget.cache.usage)")
            #expect(total.total <= budget.capacity)
            // The table readers figure is the open tables' index and filter blocks.
            var expected = 0
            for file in try #require(a.versions.current()).allFiles {
                expected += try a.tableCache.table(file.number).indexAndFilterBytes
            }
            #expect(ua.tableReaders == expected)
            #expect(a.property("strata.estimate-table-readers-mem") == String(expected))
            #expect(a.property("rocksdb.size-all-mem-tables") == String(ua.memtables))
            let text = try #require(a.property("strata.memory-usage"))
            #expect(text.contains("budget (every database sharing it):"))
            print(text, terminator: "")

            // An iterator pins its current block in the shared cache.
            #expect(budget.cache.pinnedUsage == 0)
            do {
                let it = try a.makeIterator()
                it.seekToFirst()
                #expect(it.isValid)
                #expect(budget.cache.pinnedUsage > 0)
                #expect(a.property("strata.block-cache-pinned-usage") == String(budget.cache.pinnedUsage))
            }
            #expect(budget.cache.pinnedUsage == 0, "released with the iterator")
            try a.close()
            try b.close()
        }
        // The databases are gone: every charge is given back.
        #expect(budget.usage.memtables == 0)
        #expect(budget.usage.tableReaders == 0)
        #expect(budget.cache.reservedUsage == 0)
    }
}
