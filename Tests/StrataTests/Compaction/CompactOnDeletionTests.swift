import Foundation
import Testing
@testable import Strata

/// Deleted data leaving the disk: tables dense with deletions marked for
/// compaction as they are written (`CompactOnDeletionOptions`, RocksDB's
/// `CompactOnDeletionCollector`), the pickers compacting marked and old
/// files, and compaction inputs wholly deleted by a newer range tombstone
/// skipped.
@Suite("Compaction on deletion density")
struct CompactOnDeletionTests {
    static let deletion = ValueType.deletion.rawValue
    static let value = ValueType.value.rawValue

    // MARK: marking

    @Test("a window of consecutive entries reaching the trigger marks the table; spread-out deletions do not")
    func windowTrigger() {
        var tracker = DeletionDensityTracker(options: CompactOnDeletionOptions(slidingWindowSize: 10, deletionTrigger: 5))
        // One deletion in every three entries: at most 4 in any 10.
        for i in 0..<300 { tracker.add(type: i % 3 == 0 ? Self.deletion : Self.value) }
        #expect(!tracker.shouldMark)
        // Five deletions within a window of ten (with values between them).
        for i in 0..<9 { tracker.add(type: i % 2 == 0 ? Self.deletion : Self.value) }
        #expect(tracker.shouldMark)
        tracker.reset()
        #expect(!tracker.shouldMark)
        // SingleDelete counts as a deletion.
        for _ in 0..<5 { tracker.add(type: ValueType.singleDeletion.rawValue) }
        #expect(tracker.shouldMark)
    }

    @Test("the ratio over the whole table marks it; 0 turns the ratio off")
    func ratio() {
        let options = CompactOnDeletionOptions(slidingWindowSize: 100, deletionTrigger: 100, deletionRatio: 0.3,
                                               rangeDeletionTrigger: 0)
        var tracker = DeletionDensityTracker(options: options)
        // 1 in 4 = 25 %: below the ratio, and never 100 in a window.
        for i in 0..<1000 { tracker.add(type: i % 4 == 0 ? Self.deletion : Self.value) }
        #expect(!tracker.shouldMark)
        for _ in 0..<100 { tracker.add(type: Self.deletion) }  // 350 / 1100 > 0.3 (and a full window)
        #expect(tracker.shouldMark)
        var off = DeletionDensityTracker(options: CompactOnDeletionOptions(slidingWindowSize: 100, deletionTrigger: 100,
                                                                           rangeDeletionTrigger: 0))
        for i in 0..<1000 { off.add(type: i % 2 == 0 ? Self.deletion : Self.value) }
        #expect(!off.shouldMark)
    }

    @Test("range tombstones mark a table at rangeDeletionTrigger; 0 ignores them")
    func rangeTrigger() {
        var tracker = DeletionDensityTracker(options: CompactOnDeletionOptions(slidingWindowSize: 10, deletionTrigger: 10,
                                                                               rangeDeletionTrigger: 2))
        tracker.addRangeDeletion()
        #expect(!tracker.shouldMark)
        tracker.addRangeDeletion()
        #expect(tracker.shouldMark)
        var off = DeletionDensityTracker(options: CompactOnDeletionOptions(slidingWindowSize: 10, deletionTrigger: 10,
                                                                           rangeDeletionTrigger: 0))
        for _ in 0..<5 { off.addRangeDeletion() }
        #expect(!off.shouldMark)
    }

    @Test("out-of-range settings fail validation naming the setting")
    func validation() {
        var o = Options()
        o.compactOnDeletion = CompactOnDeletionOptions(slidingWindowSize: 10, deletionTrigger: 11)
        #expect(throws: StrataError.self) { try o.validate() }
        o.compactOnDeletion = CompactOnDeletionOptions(slidingWindowSize: 0, deletionTrigger: 1)
        #expect(throws: StrataError.self) { try o.validate() }
        o.compactOnDeletion = CompactOnDeletionOptions(slidingWindowSize: 10, deletionTrigger: 5, deletionRatio: 1.5)
        #expect(throws: StrataError.self) { try o.validate() }
        o.compactOnDeletion = CompactOnDeletionOptions(slidingWindowSize: 10, deletionTrigger: 5, deletionRatio: 0.5)
        #expect(throws: Never.self) { try o.validate() }
    }

    @Test("a flush dense with deletions is marked, and the mark survives in the MANIFEST across reopen")
    func markPersists() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.compactOnDeletion = CompactOnDeletionOptions(slidingWindowSize: 16, deletionTrigger: 8)
        let db = try Database.open(at: dir.path, options: options)
        // Hold background compactions back (as a pending manual compaction
        // does), so the marked table stays where the flush put it.
        db.monitor.withLock { db.defaultFamily.manualCompactionPending += 1 }
        for i in 0..<100 { try db.put(Array("p\(1000 + i)".utf8), Array(repeating: 1, count: 20)) }
        try db.flush()
        for i in 0..<100 { try db.delete(Array("p\(1000 + i)".utf8)) }
        try db.flush()
        let version = try #require(db.versions.current())
        #expect(version.levels[0].count == 2)
        // levels[0] is newest first: the deletions' table is marked, the values' is not.
        #expect(version.levels[0].map(\.meta.markedForCompaction) == [true, false])
        let marked = version.levels[0][0].number
        try db.close()

        let replayed = try VersionSet.replayOnly(directory: dir.path, fileSystem: PosixFileSystem.shared)
        let files = try #require(replayed.current()).levels[0]
        #expect(files.first { $0.number == marked }?.meta.markedForCompaction == true)
        #expect(files.filter(\.meta.markedForCompaction).count == 1)

        // Reopened, the picker compacts the marked table although L0 is
        // below its trigger: the deletions meet their values and both go.
        let reopened = try Database.open(at: dir.path, options: Options())
        try reopened.waitForBackgroundWork()
        let after = try #require(reopened.versions.current())
        #expect(after.allFiles.allSatisfy { !$0.meta.markedForCompaction })
        #expect(after.allFiles.isEmpty)
        try reopened.close()
    }

    // MARK: pickers

    static func file(_ number: UInt64, level: Int, lo: String, hi: String, marked: Bool = false,
                     created: UInt64 = 0) -> TableFile {
        var meta = FileMetaData(number: number, fileSize: 1 << 20,
                                smallest: InternalKey.make(Array(lo.utf8), sequence: 10, type: value),
                                largest: InternalKey.make(Array(hi.utf8), sequence: 10, type: value),
                                smallestSequence: 10, largestSequence: 10)
        meta.markedForCompaction = marked
        meta.fileCreationTime = created
        return TableFile(meta: meta, onObsolete: { _ in })
    }

    static var leveled: Options {
        var o = Options()
        o.levelCompactionDynamicLevelBytes = false
        o.maxBytesForLevelBase = 64 << 20
        return o
    }

    @Test("with every score below 1, a marked file is compacted with the next level's overlapping files")
    func pickerMarkedWithNextLevel() throws {
        var lv = [[TableFile]](repeating: [], count: Version.levelCount)
        lv[1] = [Self.file(1, level: 1, lo: "a", hi: "c"), Self.file(2, level: 1, lo: "d", hi: "f", marked: true)]
        lv[2] = [Self.file(3, level: 2, lo: "a", hi: "b"), Self.file(4, level: 2, lo: "e", hi: "g")]
        let version = Version(levels: lv)
        let picker = CompactionPicker(options: Self.leveled)
        #expect(picker.scores(version: version).allSatisfy { $0 < 1 })
        let plan = try #require(picker.pick(version: version, busy: []))
        #expect(plan.level == 1 && plan.outputLevel == 2)
        #expect(plan.inputs.map(\.number) == [2])
        #expect(plan.outputLevelInputs.map(\.number) == [4])
        #expect(plan.reason == "marked for compaction")
        // Busy: nothing else is marked, so nothing is picked.
        #expect(picker.pick(version: version, busy: [2]) == nil)
        #expect(picker.pick(version: version, busy: [4]) == nil)
        // Without the mark, nothing to do.
        lv[1][1] = Self.file(2, level: 1, lo: "d", hi: "f")
        #expect(picker.pick(version: Version(levels: lv), busy: []) == nil)
    }

    @Test("a marked file of the last level is compacted in place, as bottommost")
    func pickerMarkedInPlace() throws {
        var lv = [[TableFile]](repeating: [], count: Version.levelCount)
        let last = Version.levelCount - 1
        lv[last] = [Self.file(5, level: last, lo: "a", hi: "c"), Self.file(6, level: last, lo: "d", hi: "f", marked: true)]
        let plan = try #require(CompactionPicker(options: Self.leveled).pick(version: Version(levels: lv), busy: []))
        #expect(plan.level == last && plan.outputLevel == last)
        #expect(plan.inputs.map(\.number) == [6])
        #expect(plan.outputLevelInputs.isEmpty)
        #expect(plan.bottommost)
        #expect(!plan.isTrivialMove)
    }

    @Test("size-triggered compactions come before marked files")
    func pickerScoresFirst() throws {
        var lv = [[TableFile]](repeating: [], count: Version.levelCount)
        lv[0] = (0..<4).map { Self.file(10 + UInt64($0), level: 0, lo: "m", hi: "n") }
        lv[3] = [Self.file(20, level: 3, lo: "a", hi: "b", marked: true)]
        let plan = try #require(CompactionPicker(options: Self.leveled).pick(version: Version(levels: lv), busy: []))
        #expect(plan.level == 0)
        #expect(plan.reason != "marked for compaction")
    }

    @Test("periodic compaction picks files older than periodicCompactionSeconds (injected clock)")
    func pickerPeriodic() throws {
        var options = Self.leveled
        options.periodicCompactionSeconds = 100
        var lv = [[TableFile]](repeating: [], count: Version.levelCount)
        let last = Version.levelCount - 1
        lv[last] = [Self.file(7, level: last, lo: "a", hi: "c", created: 1_000),
                    Self.file(8, level: last, lo: "d", hi: "f", created: 1_050)]
        let version = Version(levels: lv)
        var picker = CompactionPicker(options: options)
        picker.clock = { 1_099 }
        #expect(picker.pick(version: version, busy: []) == nil)
        picker.clock = { 1_100 }
        let plan = try #require(picker.pick(version: version, busy: []))
        #expect(plan.inputs.map(\.number) == [7])
        #expect(plan.reason == "periodic compaction")
        // Off by default.
        var off = CompactionPicker(options: Self.leveled)
        off.clock = { 1_000_000 }
        #expect(off.pick(version: version, busy: []) == nil)
    }

    @Test("universal: a marked run is merged with every older run into the last level, below the run trigger")
    func universalMarked() throws {
        var options = Options()
        options.compactionStyle = .universal
        var lv = [[TableFile]](repeating: [], count: Version.levelCount)
        let last = Version.levelCount - 1
        // Same sequences: the larger number is the newer L0 file (31, then 30).
        lv[0] = [Self.file(31, level: 0, lo: "a", hi: "z"), Self.file(30, level: 0, lo: "a", hi: "z", marked: true)]
        lv[last] = [Self.file(32, level: last, lo: "a", hi: "z")]
        let plan = try #require(UniversalCompactionPicker(options: options).pick(version: Version(levels: lv), busy: []))
        #expect(plan.outputLevel == last)
        #expect(plan.bottommost)
        #expect(Set(plan.allInputs.map(\.number)) == [30, 32])
        #expect(UniversalCompactionPicker(options: options).pick(version: Version(levels: lv), busy: [32]) == nil)
    }

    // MARK: files wholly covered by a range tombstone

    static func meta(_ number: UInt64, lo: String, hi: String, sequences: ClosedRange<UInt64>) -> FileMetaData {
        FileMetaData(number: number, fileSize: 100,
                     smallest: InternalKey.make(Array(lo.utf8), sequence: sequences.upperBound, type: value),
                     largest: InternalKey.make(Array(hi.utf8), sequence: sequences.lowerBound, type: value),
                     smallestSequence: sequences.lowerBound, largestSequence: sequences.upperBound)
    }

    static func tombstone(_ begin: String, _ end: String, sequence: UInt64) -> (begin: [UInt8], end: [UInt8]) {
        (InternalKey.make(Array(begin.utf8), sequence: sequence, type: ValueType.rangeDeletion.rawValue), Array(end.utf8))
    }

    @Test("an input is covered only by a newer tombstone of another input spanning its range, with no snapshot between")
    func coveredInputs() {
        let older = Self.meta(1, lo: "b", hi: "d", sequences: 5...10)
        let partly = Self.meta(2, lo: "b", hi: "x", sequences: 5...10)
        let newer = Self.meta(3, lo: "b", hi: "c", sequences: 30...40)
        let tombstoneFile = Self.meta(4, lo: "a", hi: "m", sequences: 20...20)
        let inputs = [(tombstoneFile, [Self.tombstone("a", "m", sequence: 20)]), (older, []), (partly, []), (newer, [])]
        #expect(Database.inputsCoveredByRangeTombstones(inputs, snapshots: []) == [1])
        // A snapshot at 7 sees entries 5...7 of file 1 and not the tombstone.
        #expect(Database.inputsCoveredByRangeTombstones(inputs, snapshots: [7]).isEmpty)
        // Snapshots before the file or at/after the tombstone do not matter.
        #expect(Database.inputsCoveredByRangeTombstones(inputs, snapshots: [3, 20, 50]) == [1])
        // The end is exclusive: a file ending at "m" is not covered by [a, m).
        let touching = Self.meta(5, lo: "c", hi: "m", sequences: 5...10)
        #expect(Database.inputsCoveredByRangeTombstones([(tombstoneFile, [Self.tombstone("a", "m", sequence: 20)]),
                                                         (touching, [])], snapshots: []).isEmpty)
        // A file's own tombstone never covers it.
        #expect(Database.inputsCoveredByRangeTombstones([(tombstoneFile, [Self.tombstone("a", "z", sequence: 20)])],
                                                        snapshots: []).isEmpty)
    }

    @Test("a range deletion over a whole bottom table: the marked tombstone is compacted, the table skipped unread")
    func coveredTableDropped() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.compactOnDeletion = CompactOnDeletionOptions(slidingWindowSize: 128, deletionTrigger: 64)
        let db = try Database.open(at: dir.path, options: options)
        for i in 0..<1000 { try db.put(Array("w\(10_000 + i)".utf8), Array(repeating: 7, count: 50)) }
        try db.compactRange()
        let before = try #require(db.versions.current())
        #expect(before.levels[0].isEmpty && before.allFiles.count == 1)
        try db.put(Array("a".utf8), Array("keep".utf8))
        try db.deleteRange(from: Array("w".utf8), to: Array("x".utf8))
        try db.flush()
        try db.waitForBackgroundWork()
        #expect(db.stats.coveredInputsSkipped.load(ordering: .relaxed) >= 1)
        let after = try #require(db.versions.current())
        #expect(after.allFiles.count == 1)
        #expect(after.allFiles.allSatisfy { !$0.meta.markedForCompaction })
        #expect(try db.get(Array("a".utf8)) == Array("keep".utf8))
        #expect(try db.get(Array("w10500".utf8)) == nil)
        let it = try db.makeIterator()
        it.seekToFirst()
        var count = 0
        while it.isValid { count += 1; it.next() }
        #expect(count == 1)
        try db.close()
    }

    // MARK: bounded disk for bounded live data

    /// Puts keys in ascending order and deletes each one `live` puts later,
    /// so about `live` keys are alive at any time; returns the bytes of the
    /// tables on disk at the end, after background work settles. L0's
    /// compaction trigger is out of reach, so nothing but the deletion
    /// marks can start a compaction: without them every flushed table stays.
    static func churn(compactOnDeletion: CompactOnDeletionOptions?, seed: UInt64, events: Int, live: Int) throws
        -> (tableBytes: UInt64, tables: Int, liveBytes: UInt64)
    {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 64 << 10
        options.targetFileSizeBase = 64 << 10
        options.level0FileNumCompactionTrigger = 100_000
        options.level0SlowdownWritesTrigger = 100_000
        options.level0StopWritesTrigger = 100_000
        options.compactOnDeletion = compactOnDeletion
        let db = try Database.open(at: dir.path, options: options)
        var random = SplitMix64(seed: seed)
        let valueSize = 100
        for i in 0..<events {
            // Incompressible values: the tables' sizes are the data's.
            let v = (0..<valueSize).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            try db.put(Array(String(format: "k%09d", i).utf8), v)
            if i >= live { try db.delete(Array(String(format: "k%09d", i - live).utf8)) }
        }
        try db.flush()
        try db.waitForBackgroundWork()
        let files = try #require(db.versions.current()).allFiles
        let bytes = files.reduce(UInt64(0)) { $0 + $1.fileSize }
        // Every live key reads back; the deleted ones are gone.
        #expect(try db.get(Array(String(format: "k%09d", events - 1).utf8))?.count == valueSize)
        #expect(try db.get(Array(String(format: "k%09d", events - live - 1).utf8)) == nil)
        try db.close()
        return (bytes, files.count, UInt64(live * (valueSize + 10)))
    }

    @Test("continuous inserts and deletes over bounded live data: disk stays bounded with marking, grows without")
    func boundedDisk() throws {
        let seed: UInt64 = 0x5EED_19
        print("CompactOnDeletionTests.boundedDisk seed \(seed)")
        let on = CompactOnDeletionOptions(slidingWindowSize: 256, deletionTrigger: 64)
        let live = 2_000
        let short = try Self.churn(compactOnDeletion: on, seed: seed, events: 20_000, live: live)
        let long = try Self.churn(compactOnDeletion: on, seed: seed, events: 60_000, live: live)
        let off = try Self.churn(compactOnDeletion: nil, seed: seed, events: 60_000, live: live)
        print("tables bytes/count: on 20K \(short.tableBytes)/\(short.tables), on 60K \(long.tableBytes)/\(long.tables), "
              + "off 60K \(off.tableBytes)/\(off.tables), live ~\(long.liveBytes)")
        // With marking: live data plus at most about one memtable's table,
        // whatever the number of events.
        let bound = 2 * long.liveBytes + (64 << 10)
        #expect(short.tableBytes <= bound)
        #expect(long.tableBytes <= bound)
        // Without: every flushed table stays — several times the live data,
        // and growing with the events.
        #expect(off.tableBytes > 10 * off.liveBytes)
        #expect(off.tables > 20)
    }
}
