import Testing
@testable import Strata

/// Backpressure: L0 at its slowdown trigger delays writes (noSlowdown
/// writes fail fast with `.busy`), at its stop trigger stops them, and the
/// state is visible through properties; compaction clears it.
@Suite("Backpressure")
struct BackpressureTests {
    static func fill(_ db: Database, _ round: Int) throws {
        for i in 0..<50 { try db.put(Array("r\(round)-k\(i)".utf8), Array(repeating: 1, count: 20)) }
        try db.flush()
    }

    @Test func slowdownAndStopAreVisibleAndFailFastWithNoSlowdown() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.level0FileNumCompactionTrigger = 100  // L0 only drains by compactRange
        options.level0SlowdownWritesTrigger = 2
        options.level0StopWritesTrigger = 3
        let db = try Database.open(at: dir.path, options: options)
        #expect(db.property("strata.is-write-stopped") == "0")
        #expect(db.property("strata.actual-delayed-write-rate") == "0")
        #expect(db.property("strata.write-stall-cause") == "")

        try Self.fill(db, 1)
        try Self.fill(db, 2)
        #expect(db.property("strata.num-files-at-level0") == "2")
        #expect(db.property("rocksdb.actual-delayed-write-rate") == String(16 << 20))
        #expect(db.property("strata.is-write-stopped") == "0")
        #expect(db.property("strata.write-stall-cause")?.contains("level0_slowdown_writes_trigger") == true)
        do {
            try db.put([1], [1], options: WriteOptions(noSlowdown: true))
            Issue.record("a noSlowdown write went through while writes are delayed")
        } catch let error as StrataError {
            #expect(error.kind == .busy)
        }
        // A normal write is only delayed (a few bytes at 16 MiB/s).
        try db.put([2], [2])
        #expect(try db.get([2]) == [2])
        #expect(try db.get([1]) == nil)

        try Self.fill(db, 3)
        #expect(db.property("strata.is-write-stopped") == "1")
        #expect(db.property("strata.write-stall-cause")?.hasPrefix("stopped: 3 L0 files") == true)
        #expect(throws: StrataError.self) { try db.put([3], [3], options: WriteOptions(noSlowdown: true)) }

        try db.compactRange()
        #expect(db.property("strata.num-files-at-level0") == "0")
        #expect(db.property("strata.is-write-stopped") == "0")
        #expect(db.property("strata.actual-delayed-write-rate") == "0")
        try db.put([3], [3], options: WriteOptions(noSlowdown: true))
        try db.close()
    }

    @Test func controllerSlowsWhileDebtGrowsAndRecovers() {
        var c = WriteController(delayedWriteRate: 1 << 20)
        c.update(.delayed("x"), debt: 10)
        #expect(c.rate == 1 << 20)
        c.update(.delayed("x"), debt: 20)
        #expect(c.rate == (1 << 20) * 4 / 5)
        c.update(.delayed("x"), debt: 15)
        #expect(c.rate == (1 << 20) * 4 / 5 * 5 / 4)  // back up, integer-rounded
        // ~1 MiB/s: 1024 bytes cost ~977 µs; back-to-back groups queue up.
        let cost = UInt64(1024) * 1_000_000_000 / c.rate
        let first = c.delay(bytes: 1024, now: 1_000_000)
        let second = c.delay(bytes: 1024, now: 1_000_000)
        #expect(first == cost)
        #expect(second == 2 * cost)
        c.update(.normal, debt: 0)
        #expect(c.actualDelayedWriteRate == 0)
    }
}
