import Testing
@testable import Strata

/// Range deletions through compaction: covered entries are dropped, the
/// tombstone is dropped at the bottom only when no older snapshot still
/// needs it, and nothing deleted ever comes back (a bottommost compaction
/// once dropped the tombstone but kept the keys it covered).
@Suite("Range deletion in compaction")
struct RangeDeletionCompactionTests {
    static func key(_ i: Int) -> [UInt8] { Array("k\(String(1000 + i))".utf8) }

    static func scan(_ db: Database, snapshot: Snapshot? = nil) throws -> [[UInt8]] {
        let it = try db.makeIterator(options: ReadOptions(snapshot: snapshot))
        var keys: [[UInt8]] = []
        it.seekToFirst()
        while it.isValid {
            keys.append(it.key)
            it.next()
        }
        try it.status()
        return keys
    }

    @Test func deletedRangeStaysDeletedAfterFullCompaction() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 32 << 10
        let db = try Database.open(at: dir.path, options: options)
        for i in 0..<2000 { try db.put(Self.key(i), Array(repeating: UInt8(i & 0xFF), count: 40)) }
        try db.flush()
        try db.deleteRange(from: Self.key(500), to: Self.key(1500))
        try db.compactRange()
        #expect(try db.get(Self.key(499)) != nil)
        #expect(try db.get(Self.key(500)) == nil)
        #expect(try db.get(Self.key(1499)) == nil)
        #expect(try db.get(Self.key(1500)) != nil)
        #expect(try Self.scan(db).count == 1000)
        try db.close()
        // And after reopening (tables only).
        let again = try Database.open(at: dir.path, options: options)
        #expect(try Self.scan(again).count == 1000)
        #expect(try again.get(Self.key(800)) == nil)
        try again.close()
    }

    @Test func olderSnapshotKeepsCoveredEntriesThroughCompaction() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 32 << 10
        let db = try Database.open(at: dir.path, options: options)
        for i in 0..<1000 { try db.put(Self.key(i), [UInt8(i & 0xFF)]) }
        let before = db.snapshot()
        try db.deleteRange(from: Self.key(100), to: Self.key(900))
        try db.put(Self.key(200), [7])  // newer than the tombstone: visible
        try db.compactRange()
        #expect(try Self.scan(db, snapshot: before).count == 1000)
        #expect(try db.get(Self.key(150), options: ReadOptions(snapshot: before)) == [150])
        #expect(try Self.scan(db).count == 201)
        #expect(try db.get(Self.key(200)) == [7])
        before.release()
        try db.compactRange()
        #expect(try Self.scan(db).count == 201)
        #expect(try db.get(Self.key(150)) == nil)
        #expect(db.property("strata.estimate-num-keys") == "201")
        try db.close()
    }
}
