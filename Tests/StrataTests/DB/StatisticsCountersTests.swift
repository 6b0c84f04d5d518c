import Testing
@testable import Strata
import StrataTestSupport

/// The write counters behind W-Amp are exact: the flush and compaction
/// bytes `statistics()` reports equal the sizes of every table the run
/// created (measured independently, through the file system: tables removed
/// by compactions are sized just before their removal, the rest at the end).
@Suite("Statistics counters")
struct StatisticsCountersTests {
    final class TableSizes: @unchecked Sendable {
        // @unchecked: only touched under `lock`.
        let lock = Locked<UInt64>(0)
    }

    @Test(arguments: [CompactionStyle.leveled, .universal])
    func flushAndCompactionBytesEqualTheTablesCreated(style: CompactionStyle) throws {
        let seed: UInt64 = 2024
        print("StatisticsCountersTests seed \(seed), \(style)")
        let memory = MemoryFileSystem()
        let fs = FaultInjectionFileSystem(base: memory)
        let removed = TableSizes()
        fs.setHook { operation in
            if operation.operationClass == .remove, operation.path.hasSuffix(".sst"),
               let size = try? memory.fileSize(operation.path) {
                removed.lock.withLock { $0 += size }
            }
        }
        var options = Options()
        options.fileSystem = fs
        options.compactionStyle = style
        options.writeBufferSize = 32 << 10
        options.targetFileSizeBase = 32 << 10
        options.maxBytesForLevelBase = 128 << 10
        options.level0FileNumCompactionTrigger = 2
        let path = "/db"
        let db = try Database.open(at: path, options: options)
        var rng = TestRandom(seed: seed)
        for _ in 0..<20_000 { try db.put(Array("k\(rng.int(0..<6000))".utf8), rng.bytes(rng.int(10..<80))) }
        try db.compactRange()
        try db.waitForBackgroundWork()
        let stats = db.statistics()
        #expect(stats.flushes > 0)
        #expect(stats.totalCompactionBytesWritten > 0)
        try db.close()
        var remaining: UInt64 = 0
        for name in try memory.listDirectory(path) where name.hasSuffix(".sst") {
            remaining += try memory.fileSize(path + "/" + name)
        }
        let created = remaining + removed.lock.withLock { $0 }
        #expect(stats.flushBytes + stats.totalCompactionBytesWritten == created,
                "counted \(stats.flushBytes) + \(stats.totalCompactionBytesWritten), tables created \(created)")
    }

    @Test func lookupCountersCountProbesAndFilterVerdicts() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.bloomBitsPerKey = 10
        let db = try Database.open(at: dir.path, options: options)
        for i in 0..<2000 { try db.put(Array("key\(i)".utf8), [UInt8(i & 0xFF)]) }
        try db.flush()  // one L0 table; the memtable is empty again
        let before = db.statistics()
        for i in 0..<500 { #expect(try db.get(Array("key\(i)".utf8)) != nil) }
        for i in 0..<500 { #expect(try db.get(Array("absent\(i)".utf8)) == nil) }
        for i in 0..<500 { #expect(try db.get(Array("key\(i)x".utf8)) == nil) }  // in range, absent
        let d = db.statistics().since(before)
        #expect(d.gets == 1500)
        #expect(d.bloomUseful >= 450, "the filter rules out nearly every absent key in range (FPR ~1%)")
        // Present keys: the one table is probed and its filter lets each through.
        #expect(d.filesProbed >= 500)
        #expect(d.bloomPositive >= 500)
        // Absent keys: outside the table's key range ("absent…" < "key…") they
        // are not even probed; in range, the filter rules nearly all out.
        #expect(d.bloomUseful + d.bloomPositive == d.filesProbed)
        #expect(d.blockCacheHits + d.blockCacheMisses >= 500)
        try db.close()
    }
}
