import Testing
@testable import Strata

/// The leveled picker on hand-built versions: trivial moves of several
/// adjacent files into an empty range below (RocksDB's
/// `TryExtendNonL0TrivialMove`), and where such an extension must stop.
@Suite("Leveled compaction picker")
struct LeveledPickerTests {
    static func file(_ number: UInt64, size: UInt64, lo: String, hi: String) -> TableFile {
        UniversalPickerTests.file(number, size: size, sequence: 10, lo: lo, hi: hi)
    }

    /// L1 holds `l1` (lo, hi) files of 30 MiB each (over a 64 MiB target),
    /// L2 holds `l2`.
    static func version(l1: [(String, String)], l2: [(String, String)]) -> Version {
        var lv = [[TableFile]](repeating: [], count: Version.levelCount)
        var number: UInt64 = 100
        for (lo, hi) in l1 { lv[1].append(file(number, size: 30 << 20, lo: lo, hi: hi)); number += 1 }
        for (lo, hi) in l2 { lv[2].append(file(number, size: 30 << 20, lo: lo, hi: hi)); number += 1 }
        return Version(levels: lv)
    }

    static var options: Options {
        var o = Options()
        o.levelCompactionDynamicLevelBytes = false
        o.maxBytesForLevelBase = 64 << 20
        o.targetFileSizeBase = 64 << 20
        return o
    }

    @Test("files over an empty range below move together, at most four, as one trivial move")
    func multiFileMove() throws {
        let v = Self.version(l1: [("a", "b"), ("c", "d"), ("e", "f"), ("g", "h"), ("i", "j")], l2: [])
        let plan = try #require(CompactionPicker(options: Self.options).pick(version: v, busy: []))
        #expect(plan.isTrivialMove)
        #expect(plan.outputLevel == 2)
        #expect(plan.inputs.map(\.number) == [100, 101, 102, 103])
    }

    @Test("the extension stops before a file whose range would overlap the level below, and at a busy file")
    func stopsAtOverlapAndBusy() throws {
        let v = Self.version(l1: [("a", "b"), ("c", "d"), ("e", "f"), ("g", "h")], l2: [("e1", "e5")])
        let plan = try #require(CompactionPicker(options: Self.options).pick(version: v, busy: []))
        #expect(plan.isTrivialMove)
        #expect(plan.inputs.map(\.number) == [100, 101])
        let busy = try #require(CompactionPicker(options: Self.options).pick(version: v, busy: [101]))
        #expect(busy.inputs.map(\.number) == [100])
    }

    @Test("files sharing a user key across their boundary are not split by a move")
    func sharedBoundary() throws {
        let v = Self.version(l1: [("a", "b"), ("c", "d"), ("d", "f"), ("g", "h")], l2: [])
        let plan = try #require(CompactionPicker(options: Self.options).pick(version: v, busy: []))
        #expect(plan.inputs.map(\.number) == [100])
    }

    /// A version with L0 files (lo, hi) listed oldest first and L1 files (lo, hi).
    static func version(l0: [(String, String)], l1: [(String, String)]) -> Version {
        var lv = [[TableFile]](repeating: [], count: Version.levelCount)
        var number: UInt64 = 200
        for (i, (lo, hi)) in l0.enumerated() {
            // Newest first in the version: later entries get higher sequences.
            lv[0].insert(UniversalPickerTests.file(number, size: 1 << 20, sequence: UInt64(100 + i), lo: lo, hi: hi), at: 0)
            number += 1
        }
        for (lo, hi) in l1 { lv[1].append(file(number, size: 1 << 20, lo: lo, hi: hi)); number += 1 }
        return Version(levels: lv)
    }

    static var l0Options: Options {
        var o = options
        o.level0FileNumCompactionTrigger = 2
        return o
    }

    @Test("the oldest L0 files that are disjoint from each other and from L1 move to L1 without a rewrite")
    func level0Move() throws {
        // Oldest first: [c, d], [e, f], then [d1, e1] overlapping both: the first two move.
        let v = Self.version(l0: [("c", "d"), ("e", "f"), ("d1", "e1")], l1: [("a", "b")])
        let plan = try #require(CompactionPicker(options: Self.l0Options).pick(version: v, busy: []))
        #expect(plan.level == 0 && plan.outputLevel == 1)
        #expect(plan.isTrivialMove)
        #expect(plan.inputs.map(\.number) == [200, 201])
    }

    @Test("an L0 file overlapping L1 is merged, not moved; into an empty L1 only if every L0 file is disjoint")
    func level0NoMove() throws {
        let overlapping = Self.version(l0: [("a", "c"), ("e", "f")], l1: [("b", "b5")])
        let merge = try #require(CompactionPicker(options: Self.l0Options).pick(version: overlapping, busy: []))
        #expect(!merge.isTrivialMove)
        let partial = Self.version(l0: [("a", "c"), ("b", "d")], l1: [])
        #expect(try !#require(CompactionPicker(options: Self.l0Options).pick(version: partial, busy: [])).isTrivialMove)
        let disjoint = Self.version(l0: [("a", "c"), ("d", "e")], l1: [])
        let move = try #require(CompactionPicker(options: Self.l0Options).pick(version: disjoint, busy: []))
        #expect(move.isTrivialMove)
        #expect(move.inputs.count == 2)
    }

    @Test("a database moves a whole level into an empty range and reads back every key")
    func databaseMove() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.levelCompactionDynamicLevelBytes = false
        options.writeBufferSize = 64 << 10
        options.targetFileSizeBase = 64 << 10
        options.maxBytesForLevelBase = 256 << 10
        options.level0FileNumCompactionTrigger = 2
        let db = try Database.open(at: dir.path, options: options)
        var expected: [String: [UInt8]] = [:]
        var rng = SplitMix64(seed: 7)  // incompressible values: the tables need real size
        for i in 0..<6000 {
            let k = String(format: "k%06d", i)  // ascending: L1 files over an empty L2
            let v = (0..<100).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            try db.put(Array(k.utf8), v)
            expected[k] = v
        }
        try db.waitForBackgroundWork()
        #expect(db.statistics().trivialMoves > 0)
        // Ascending keys: every L0 file is disjoint, so nothing is rewritten.
        #expect(db.statistics().totalCompactionBytesWritten == 0)
        for (k, v) in expected { #expect(try db.get(Array(k.utf8)) == v) }
        try db.close()
        let reopened = try Database.open(at: dir.path, options: options)
        for (k, v) in expected { #expect(try reopened.get(Array(k.utf8)) == v) }
        try reopened.close()
    }
}
