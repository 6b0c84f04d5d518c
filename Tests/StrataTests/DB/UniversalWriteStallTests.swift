import Testing
@testable import Strata

/// Under universal compaction the L0 write-stall triggers count sorted runs
/// (L0 files plus every non-empty level ≥ 1), as RocksDB's
/// `l0_delay_trigger_count` does; under leveled compaction only L0 files.
/// Same layout in both: one run in the last level (from compactRange) and
/// then L0 files from flushes; compactions are kept from starting by a high
/// compaction trigger.
@Suite("Universal write stalls")
struct UniversalWriteStallTests {
    static func fill(_ db: Database, _ round: Int) throws {
        for i in 0..<40 { try db.put(Array("r\(round)-k\(i)".utf8), Array(repeating: UInt8(round), count: 16)) }
        try db.flush()
    }

    static func open(_ dir: TestDirectory, style: CompactionStyle) throws -> Database {
        var options = Options()
        options.compactionStyle = style
        options.level0FileNumCompactionTrigger = 100  // nothing compacts by itself
        options.level0SlowdownWritesTrigger = 3
        options.level0StopWritesTrigger = 4
        return try Database.open(at: dir.path, options: options)
    }

    @Test("universal: a run below L0 counts toward the slowdown and stop triggers")
    func universalCountsSortedRuns() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Self.open(dir, style: .universal)
        try Self.fill(db, 1)
        try db.compactRange()  // one sorted run in the last level, L0 empty
        #expect(db.property("strata.num-files-at-level0") == "0")
        try Self.fill(db, 2)
        try Self.fill(db, 3)
        // 2 L0 files + 1 run below = 3 sorted runs: delayed.
        #expect(db.property("strata.num-files-at-level0") == "2")
        #expect(db.property("strata.write-stall-cause") == "delayed: 3 sorted runs in column family default (level0_slowdown_writes_trigger)")
        #expect(throws: StrataError.self) { try db.put([1], [1], options: WriteOptions(noSlowdown: true)) }
        try Self.fill(db, 4)
        #expect(db.property("strata.is-write-stopped") == "1")
        #expect(db.property("strata.write-stall-cause")?.hasPrefix("stopped: 4 sorted runs") == true)
        // Merging everything into one run clears it.
        try db.compactRange()
        #expect(db.property("strata.is-write-stopped") == "0")
        #expect(db.property("strata.write-stall-cause") == "")
        try db.put([1], [1], options: WriteOptions(noSlowdown: true))
        for round in 1...4 { #expect(try db.get(Array("r\(round)-k7".utf8)) == Array(repeating: UInt8(round), count: 16)) }
        try db.close()
    }

    @Test("leveled: only L0 files count")
    func leveledCountsL0Files() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Self.open(dir, style: .leveled)
        try Self.fill(db, 1)
        try db.compactRange()
        try Self.fill(db, 2)
        try Self.fill(db, 3)
        #expect(db.property("strata.num-files-at-level0") == "2")
        #expect(db.property("strata.write-stall-cause") == "")
        try db.put([1], [1], options: WriteOptions(noSlowdown: true))
        try Self.fill(db, 4)
        #expect(db.property("strata.write-stall-cause")?.hasPrefix("delayed: 3 L0 files") == true)
        try db.close()
    }
}
