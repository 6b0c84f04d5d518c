import Testing
@testable import Strata

/// The point-lookup counters per level: probes, filter verdicts, true
/// positives (the key was in the table), blocks from the cache and from
/// disk, and the files-probed histogram, checked against what the test
/// knows about where each key lives.
@Suite("Read statistics")
struct ReadStatisticsTests {
    /// A database whose keys "a…" are in the last level and "b…" in one L0
    /// table, with an empty memtable: every key lives in exactly one table.
    static func twoLevels(_ dir: TestDirectory, cache: Int = 8 << 20) throws -> Database {
        var options = Options()
        options.bloomBitsPerKey = 10
        options.blockCacheCapacity = cache
        options.level0FileNumCompactionTrigger = 100  // L0 stays until compactRange
        let db = try Database.open(at: dir.path, options: options)
        for i in 0..<3000 { try db.put(Array("a\(i)".utf8), Array(repeating: UInt8(i & 0xFF), count: 40)) }
        try db.compactRange()
        for i in 0..<3000 { try db.put(Array("b\(i)".utf8), Array(repeating: UInt8(i & 0xFF), count: 40)) }
        try db.flush()
        return db
    }

    static func lastLevel(_ db: Database) -> Int {
        let s = db.statistics()
        return s.filesPerLevel.lastIndex { $0 > 0 } ?? 0
    }

    @Test("per level: probes, useful, true positives and the histogram add up to what the lookups did")
    func perLevelCountersAddUp() throws {
        let seed: UInt64 = 77
        print("ReadStatisticsTests seed \(seed)")
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Self.twoLevels(dir)
        let last = Self.lastLevel(db)
        #expect(last > 0)
        #expect(db.statistics().filesPerLevel[0] == 1)
        var rng = TestRandom(seed: seed)
        let before = db.statistics()
        // "b" keys: found in the L0 table (one probe, a true positive).
        // "a" keys: the L0 table's range ("b0"…"b999") does not hold them, so
        // only the last level is probed (a true positive there).
        // "c" keys: beyond every table's range: not probed at all.
        // "b…x" keys: in the L0 table's range but absent; the filter rules
        // nearly all out, and the last level ("a…") does not hold them.
        let n = 400
        for _ in 0..<n { #expect(try db.get(Array("b\(rng.int(0..<3000))".utf8)) != nil) }
        for _ in 0..<n { #expect(try db.get(Array("a\(rng.int(0..<3000))".utf8)) != nil) }
        for _ in 0..<n { #expect(try db.get(Array("c\(rng.int(0..<3000))".utf8)) == nil) }
        for _ in 0..<n { #expect(try db.get(Array("b\(rng.int(0..<3000))x".utf8)) == nil) }
        let d = db.statistics().since(before)
        #expect(d.gets == UInt64(4 * n))
        #expect(d.getsByFilesProbed.reduce(0, +) == d.gets)
        #expect(d.getsByFilesProbed[0] == UInt64(n), "the c… lookups probe nothing")
        #expect(d.getsByFilesProbed[1] == UInt64(3 * n))
        let l0 = d.levelReads[0]
        let ln = d.levelReads[last]
        #expect(l0.probes == UInt64(2 * n))
        #expect(l0.bloomTruePositives == UInt64(n))
        #expect(ln.probes == UInt64(n))
        #expect(ln.bloomTruePositives == UInt64(n))
        #expect(ln.bloomUseful == 0)
        // Absent keys probed in L0: the filter let few through (≈1% at 10 bits per key).
        #expect(l0.bloomUseful + l0.bloomFalsePositives == UInt64(n))
        #expect(l0.bloomFalsePositives < UInt64(n / 20), "false positives \(l0.bloomFalsePositives) of \(n)")
        #expect(d.filesProbed == l0.probes + ln.probes)
        #expect(d.bloomTruePositive == UInt64(2 * n))
        let fpr = try #require(d.bloomFalsePositiveRate)
        #expect(fpr == Double(l0.bloomFalsePositives) / Double(n))
        // Every lookup the filter let through read one data block.
        #expect(l0.blocksFromCache + l0.blocksFromDisk == l0.bloomPositives)
        #expect(ln.blocksFromCache + ln.blocksFromDisk == ln.bloomPositives)
        let stats = try #require(db.property("strata.stats"))
        #expect(stats.contains("** Point lookups"))
        #expect(stats.contains("files probed per get"))
        try db.close()
    }

    @Test("blocks come from disk the first time and from the cache after; without a cache always from disk")
    func cacheVersusDisk() throws {
        for cache in [8 << 20, 0] {
            let dir = TestDirectory()
            defer { dir.remove() }
            let db = try Self.twoLevels(dir, cache: cache)
            let last = Self.lastLevel(db)
            let keys = (0..<200).map { Array("a\($0 * 15)".utf8) }
            let s0 = db.statistics()
            for k in keys { _ = try db.get(k) }
            let s1 = db.statistics()
            for k in keys { _ = try db.get(k) }
            let first = s1.since(s0).levelReads[last]
            let second = db.statistics().since(s1).levelReads[last]
            #expect(first.blocksFromCache + first.blocksFromDisk == 200)
            #expect(second.blocksFromCache + second.blocksFromDisk == 200)
            if cache > 0 {
                #expect(first.blocksFromDisk > 0)
                #expect(second.blocksFromDisk == 0, "every block is cached after the first pass")
            } else {
                #expect(first.blocksFromCache == 0)
                #expect(second.blocksFromDisk == 200)
            }
            // The bytes read are the blocks' stored sizes plus trailers: a few KiB each at most.
            #expect(first.bytesFromDisk >= first.blocksFromDisk * 100)
            #expect(first.bytesFromDisk <= first.blocksFromDisk * 8192)
            try db.close()
        }
    }

    @Test("bytes read per lookup are exactly the data block's stored size plus its trailer (strata-bench's R-Amp bytes)")
    func exactBytes() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.blockCacheCapacity = 0  // every lookup reads its block from the file
        let db = try Database.open(at: dir.path, options: options)
        // Twenty small entries: one data block.
        for i in 0..<20 { try db.put(Array("k\(i)".utf8), Array(repeating: UInt8(i), count: 30)) }
        try db.flush()
        let level = Self.lastLevel(db)
        let s0 = db.statistics()
        for i in 0..<5 { #expect(try db.get(Array("k\(i)".utf8)) != nil) }
        let reads = db.statistics().since(s0).levelReads[level]
        try db.close()
        let names = try PosixFileSystem.shared.listDirectory(dir.path).filter { $0.hasSuffix(".sst") }
        #expect(names.count == 1)
        let table = try TableReader.open(path: dir.file(names[0]))
        // rocksdb.data.size counts each data block with its 5-byte trailer.
        #expect(table.properties.numDataBlocks == 1)
        #expect(reads.blocksFromDisk == 5)
        #expect(reads.bytesFromDisk == 5 * table.properties.dataSize)
    }

    @Test("iterators count the blocks they load; a full scan reads every data block once")
    func iteratorBlocks() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Self.twoLevels(dir, cache: 0)
        let before = db.statistics()
        let it = try db.makeIterator()
        var count = 0
        it.seekToFirst()
        while it.isValid { count += 1; it.next() }
        try it.status()
        #expect(count == 6000)
        let d = db.statistics().since(before)
        #expect(d.iteratorBlocksFromCache == 0)
        var dataBlocks: UInt64 = 0
        for file in try #require(db.versions.current()).allFiles {
            dataBlocks += try db.tableCache.table(file.number).properties.numDataBlocks
        }
        #expect(d.iteratorBlocksFromDisk == dataBlocks, "one load per data block of every table")
        #expect(d.iteratorBytesFromDisk > d.iteratorBlocksFromDisk * 100)
        #expect(d.gets == 0)
        try db.close()
    }
}
