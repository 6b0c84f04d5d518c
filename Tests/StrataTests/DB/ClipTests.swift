import Foundation
import Testing
@testable import Strata

/// `deleteFilesInRanges` and `clip(keeping:)`: the database keeps exactly
/// the keys inside the kept ranges, files wholly outside go without being
/// rewritten, every remaining file lies inside the kept ranges, the result
/// survives a reopen, snapshots keep reading the kept ranges, and bad range
/// sets are refused by name. Keys follow the stream state layout:
/// [state id: 2 BE][key group: 2 BE][user bytes].
@Suite("Clip and delete files in ranges")
struct ClipTests {
    static let keyGroups = 64
    static let states = 4

    static func be16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }

    static func stateKey(_ state: Int, _ group: Int, _ rest: [UInt8]) -> [UInt8] { be16(state) + be16(group) + rest }

    /// The kept ranges of key groups [lo, hi) in every state id.
    static func keptRanges(lo: Int, hi: Int, states: Int = ClipTests.states) -> [KeyRange] {
        (0..<states).map { KeyRange(from: be16($0) + be16(lo), to: be16($0) + be16(hi)) }
    }

    static func inside(_ key: [UInt8], _ ranges: [KeyRange]) -> Bool { ranges.contains { $0.contains(key) } }

    static func scan(_ db: Database, snapshot: Snapshot? = nil) throws -> [[UInt8]: [UInt8]] {
        try db.makeIterator(options: ReadOptions(snapshot: snapshot)).contents()
    }

    /// Every file of `family` starts and ends inside the kept ranges (an
    /// exclusive tombstone end may sit on a range's end).
    static func filesInside(_ db: Database, _ ranges: [KeyRange], family: UInt32 = 0) -> [String] {
        let version = db.versions.current(columnFamily: family) ?? .empty
        var bad: [String] = []
        for (level, files) in version.levels.enumerated() {
            for f in files {
                let lo = f.meta.smallestUserKey
                let hi = f.meta.largestUserKey
                let hiInside = ranges.contains { $0.contains(hi, includeEnd: f.meta.largestIsExclusive) }
                if !inside(lo, ranges) || !hiInside {
                    bad.append("L\(level) #\(f.number) [\(KeyRange.hex(lo)), \(KeyRange.hex(hi))]")
                }
            }
        }
        return bad
    }

    static func fileNumbers(_ db: Database, family: UInt32 = 0) -> Set<UInt64> {
        Set((db.versions.current(columnFamily: family) ?? .empty).allFiles.map(\.number))
    }

    /// Random puts, overwrites, deletes and range deletions over every
    /// state id and key group, flushed now and then; returns the model.
    static func fill(_ db: Database, _ rng: inout TestRandom, operations: Int) throws -> [[UInt8]: [UInt8]] {
        var model: [[UInt8]: [UInt8]] = [:]
        for i in 0..<operations {
            let key = stateKey(rng.int(0..<states), rng.int(0..<keyGroups), rng.bytes(rng.int(1..<6)))
            switch rng.int(0..<20) {
            case 0..<14:
                let value = rng.bytes(rng.int(8..<64))
                try db.put(key, value)
                model[key] = value
            case 14..<18:
                // Delete a key that exists, when there is one.
                if let victim = model.keys.randomElement(using: &rng) {
                    try db.delete(victim)
                    model[victim] = nil
                }
            default:
                let state = rng.int(0..<states)
                let g = rng.int(0..<keyGroups - 3)
                let begin = stateKey(state, g, [])
                let end = stateKey(state, g + rng.int(1..<3), [])
                try db.deleteRange(from: begin, to: end)
                for k in model.keys where Bytewise.compare(k, begin) >= 0 && Bytewise.compare(k, end) < 0 {
                    model[k] = nil
                }
            }
            if i % 700 == 699 { try db.flush() }
        }
        return model
    }

    static func options(universal: Bool) -> Options {
        var options = Options()
        options.writeBufferSize = 24 << 10
        options.targetFileSizeBase = 16 << 10
        options.maxBytesForLevelBase = 64 << 10
        if universal { options.compactionStyle = .universal }
        return options
    }

    @Test(arguments: [(UInt64(0xC11F_0001), false), (0xC11F_0002, false), (0xC11F_0003, true), (0xC11F_0004, true)])
    func randomClipMatchesModel(seed: UInt64, universal: Bool) throws {
        print("ClipTests.randomClipMatchesModel seed=\(seed) universal=\(universal)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory("strata-clip")
        defer { dir.remove() }
        let options = Self.options(universal: universal)
        let db = try Database.open(at: dir.path, options: options)
        let model = try Self.fill(db, &rng, operations: 6000)
        try db.waitForBackgroundWork()
        // A random set of kept ranges: random key-group slices of a random
        // subset of the state ids (some states dropped entirely).
        var kept: [KeyRange] = []
        for state in 0..<Self.states where rng.int(0..<4) != 0 {
            var cuts = Set<Int>()
            for _ in 0..<rng.int(1..<4) * 2 { cuts.insert(rng.int(0..<Self.keyGroups + 1)) }
            let sorted = cuts.sorted()
            for i in stride(from: 0, to: sorted.count - 1, by: 2) {
                kept.append(KeyRange(from: Self.stateKey(state, sorted[i], []), to: Self.stateKey(state, sorted[i + 1], [])))
            }
        }
        if rng.int(0..<2) == 0, let last = kept.last?.end {
            kept.append(KeyRange(from: last + [0x42]))  // an unbounded last range
        }
        let expected = model.filter { Self.inside($0.key, kept) }
        try db.clip(keeping: kept)
        try db.waitForBackgroundWork()
        #expect(try Self.scan(db) == expected, "seed \(seed)")
        #expect(Self.filesInside(db, kept) == [], "seed \(seed)")
        try db.close()
        // For checking a clipped directory with RocksDB's own tools by hand
        // (`/work/shared/tools/rocksdb-check.sh DIR`): STRATA_CLIP_TEST_KEEP=DIR.
        if let keep = ProcessInfo.processInfo.environment["STRATA_CLIP_TEST_KEEP"] {
            try? FileManager.default.removeItem(atPath: "\(keep)/\(seed)")
            try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: dir.path, toPath: "\(keep)/\(seed)")
        }
        let again = try Database.open(at: dir.path, options: options)
        defer { try? again.close() }
        #expect(try Self.scan(again) == expected, "seed \(seed): after reopen")
        #expect(Self.filesInside(again, kept) == [], "seed \(seed): after reopen")
        // Clipping again to the same ranges changes nothing.
        let before = Self.fileNumbers(again)
        try again.clip(keeping: kept)
        #expect(Self.fileNumbers(again) == before)
    }

    /// Tables written by SSTFileWriter, one per (state, 16 key groups),
    /// ingested into the last level; clipping to key groups [20, 40) drops
    /// the files wholly outside without a rewrite, keeps the files wholly
    /// inside under their numbers and rewrites only the boundary files.
    @Test func filesWhollyOutsideAreDroppedNotRewritten() throws {
        let seed: UInt64 = 0xC11F_0010
        print("ClipTests.filesWhollyOutsideAreDroppedNotRewritten seed=\(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory("strata-clip")
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"), options: Options())
        defer { try? db.close() }
        var model: [[UInt8]: [UInt8]] = [:]
        var chunkOf: [UInt64: (state: Int, chunk: Int)] = [:]  // file number -> what it holds
        for state in 0..<Self.states {
            for chunk in 0..<4 {
                var entries: [[UInt8]: [UInt8]] = [:]
                for group in chunk * 16..<chunk * 16 + 16 {
                    for _ in 0..<8 { entries[Self.stateKey(state, group, rng.bytes(4))] = rng.bytes(16) }
                }
                let path = dir.file("ext-\(state)-\(chunk).sst")
                let writer = SSTFileWriter()
                try writer.open(path)
                for (key, value) in entries.sorted(by: { Bytewise.compare($0.key, $1.key) < 0 }) { try writer.put(key, value) }
                _ = try writer.finish()
                let before = Self.fileNumbers(db)
                try db.ingestExternalFiles(paths: [path])
                for n in Self.fileNumbers(db).subtracting(before) { chunkOf[n] = (state, chunk) }
                model.merge(entries) { $1 }
            }
        }
        #expect(chunkOf.count == Self.states * 4)
        #expect((db.versions.current() ?? .empty).levels[Version.levelCount - 1].count == chunkOf.count)
        // Edges on file boundaries: chunks 0 and 3 are wholly outside and
        // dropped, 1 and 2 wholly inside and untouched (same numbers): no
        // table is read or written.
        let aligned = Self.keptRanges(lo: 16, hi: 48)
        try db.clip(keeping: aligned)
        let inside = Set(chunkOf.filter { $0.value.chunk == 1 || $0.value.chunk == 2 }.keys)
        #expect(Self.fileNumbers(db) == inside)
        #expect(try Self.scan(db) == model.filter { Self.inside($0.key, aligned) })

        // Edges inside files: those are rewritten (new numbers), the rest stays.
        let kept = Self.keptRanges(lo: 20, hi: 40)
        try db.clip(keeping: kept)
        #expect(Self.fileNumbers(db).isDisjoint(with: inside))
        #expect(try Self.scan(db) == model.filter { Self.inside($0.key, kept) })
        #expect(Self.filesInside(db, kept) == [])
        // Clipping to the same ranges again reads one block per table and rewrites nothing.
        let clipped = Self.fileNumbers(db)
        try db.clip(keeping: kept)
        #expect(Self.fileNumbers(db) == clipped)
        // Dropping whole state ids.
        let twoStates = Self.keptRanges(lo: 20, hi: 40, states: 2)
        try db.clip(keeping: twoStates)
        #expect(try Self.scan(db) == model.filter { Self.inside($0.key, twoStates) })
        #expect(Self.filesInside(db, twoStates) == [])
    }

    /// L0 files go only when no older file that stays overlaps them; deeper
    /// files follow RocksDB's clean-cut rule; `includeEnd` decides whether
    /// a file ending on a range's end goes.
    @Test func deleteFilesInRangesLevelZeroRule() throws {
        let dir = TestDirectory("strata-clip")
        defer { dir.remove() }
        var options = Options()
        options.level0FileNumCompactionTrigger = 10
        let db = try Database.open(at: dir.path, options: options)
        defer { try? db.close() }
        func put(_ keys: [String]) throws {
            for k in keys { try db.put(Array(k.utf8), Array("v-\(k)".utf8)) }
            try db.flush()
        }
        try put(["a", "m"])  // older, spans [a, m]
        let older = Self.fileNumbers(db)
        try put(["c", "d"])  // newer, inside [b, e), but the older [a, m] overlaps it and stays
        let inner = Self.fileNumbers(db).subtracting(older)
        try put(["x", "y"])  // newer, nothing older overlaps
        let lone = Self.fileNumbers(db).subtracting(older).subtracting(inner)
        let r: (String, String) -> KeyRange = { KeyRange(from: Array($0.utf8), to: Array($1.utf8)) }
        try db.deleteFilesInRanges([r("b", "e"), r("w", "y")])  // y is the end: [x, y] does not fit [w, y)
        #expect(Self.fileNumbers(db) == older.union(inner).union(lone))
        try db.deleteFilesInRanges([r("b", "e"), r("w", "y")], includeEnd: true)
        #expect(Self.fileNumbers(db) == older.union(inner))
        #expect(try db.get(Array("x".utf8)) == nil)
        // Dropping the older file first lets the inner one go too.
        try db.deleteFilesInRanges([KeyRange(from: [])])
        #expect(Self.fileNumbers(db).isEmpty)
    }

    /// RocksDB's clean cut in a level ≥ 1: a file at a range's edge that
    /// shares its boundary user key with a neighbour outside stays (unless
    /// one side is a tombstone's exclusive end), and `includeEnd` decides
    /// about a file ending on the range's end.
    @Test func cleanCutInSortedLevels() {
        func file(_ number: UInt64, _ lo: String, _ hi: String, exclusiveEnd: Bool = false) -> TableFile {
            let largest = exclusiveEnd
                ? InternalKey.make(Array(hi.utf8), sequence: maxSequenceNumber, type: ValueType.rangeDeletion.rawValue)
                : InternalKey.make(Array(hi.utf8), sequence: 5, type: ValueType.value.rawValue)
            let meta = FileMetaData(number: number, fileSize: 1,
                                    smallest: InternalKey.make(Array(lo.utf8), sequence: 3, type: ValueType.value.rawValue),
                                    largest: largest, smallestSequence: 3, largestSequence: 5)
            return TableFile(meta: meta, onObsolete: { _ in })
        }
        func within(_ files: [TableFile], _ begin: String, _ end: String?, includeEnd: Bool = false) -> [UInt64] {
            let range = KeyRange(from: Array(begin.utf8), to: end.map { Array($0.utf8) })
            return Database.cleanFilesWithin(range, includeEnd: includeEnd, files: files).map(\.number)
        }
        let shared = [file(1, "a", "c"), file(2, "c", "e"), file(3, "f", "g")]
        #expect(within(shared, "b", "z") == [3])  // 2 shares "c" with 1, which stays
        #expect(within(shared, "a", "d") == [])  // 1 shares "c" with 2, which stays
        #expect(within(shared, "a", "g") == [1, 2])  // 3 ends on the end
        #expect(within(shared, "a", "g", includeEnd: true) == [1, 2, 3])
        #expect(within(shared, "", nil) == [1, 2, 3])
        let tombstoneEnd = [file(1, "a", "c", exclusiveEnd: true), file(2, "c", "e"), file(3, "f", "g")]
        #expect(within(tombstoneEnd, "b", "z") == [2, 3])  // 1 holds nothing at "c"
    }

    /// Pre-existing range tombstones and a snapshot held across the clip:
    /// the latest view is exactly the kept keys, the snapshot still reads
    /// the kept ranges as they were, and after the snapshot's release a
    /// second clip leaves only files inside the kept ranges.
    @Test func snapshotsAndRangeTombstones() throws {
        let seed: UInt64 = 0xC11F_0020
        print("ClipTests.snapshotsAndRangeTombstones seed=\(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory("strata-clip")
        defer { dir.remove() }
        let options = Self.options(universal: false)
        let db = try Database.open(at: dir.path, options: options)
        defer { try? db.close() }
        var model = try Self.fill(db, &rng, operations: 3000)
        try db.waitForBackgroundWork()
        let snapshot = db.snapshot()
        let atSnapshot = try Self.scan(db, snapshot: snapshot)
        #expect(atSnapshot == model)
        // A tombstone across a kept range's edge and one inside a gap, newer than the snapshot.
        try db.deleteRange(from: Self.stateKey(1, 15, []), to: Self.stateKey(1, 25, []))
        try db.deleteRange(from: Self.stateKey(2, 50, []), to: Self.stateKey(2, 60, []))
        _ = try Self.fill(db, &rng, operations: 1500)
        try db.waitForBackgroundWork()
        model = try Self.scan(db)  // the truth after both rounds
        let kept = Self.keptRanges(lo: 20, hi: 44)
        try db.clip(keeping: kept)
        #expect(try Self.scan(db) == model.filter { Self.inside($0.key, kept) })
        let snapshotView = try Self.scan(db, snapshot: snapshot).filter { Self.inside($0.key, kept) }
        #expect(snapshotView == atSnapshot.filter { Self.inside($0.key, kept) })
        snapshot.release()
        try db.clip(keeping: kept)
        #expect(try Self.scan(db) == model.filter { Self.inside($0.key, kept) })
        #expect(Self.filesInside(db, kept) == [])
    }

    /// A column family is clipped alone; clipping to nothing empties it.
    @Test func columnFamilyClip() throws {
        let dir = TestDirectory("strata-clip")
        defer { dir.remove() }
        let db = try Database.open(at: dir.path, options: Options())
        defer { try? db.close() }
        let family = try db.createColumnFamily(named: "state")
        for g in 0..<Self.keyGroups {
            try db.put(Self.stateKey(0, g, [1]), [1])
            try family.put(Self.stateKey(0, g, [1]), [2])
        }
        try family.flush()
        let kept = Self.keptRanges(lo: 10, hi: 20, states: 1)
        try family.clip(keeping: kept)
        #expect(try family.makeIterator().contents().count == 10)
        #expect(try Self.scan(db).count == Self.keyGroups)
        #expect(Self.filesInside(db, kept, family: family.id) == [])
        try family.clip(keeping: [])
        #expect(try family.makeIterator().contents().isEmpty)
        #expect(Self.fileNumbers(db, family: family.id).isEmpty)
        try family.deleteFilesInRanges([KeyRange(from: [])])
    }

    /// Unsorted, overlapping, empty, inverted and misplaced unbounded
    /// ranges are refused with the range's index and bytes.
    @Test func badRangeSetsAreRefused() throws {
        let dir = TestDirectory("strata-clip")
        defer { dir.remove() }
        let db = try Database.open(at: dir.path, options: Options())
        defer { try? db.close() }
        try db.put([5], [5])
        let r: ([UInt8], [UInt8]?) -> KeyRange = { KeyRange(from: $0, to: $1) }
        let cases: [([KeyRange], Bool, [String])] = [
            ([r([1], [3]), r([2], [4])], false, ["kept range 1 of 2, [0x02, 0x04)", "begins before kept range 0, [0x01, 0x03)"]),
            ([r([4], [6]), r([1], [2])], false, ["kept range 1 of 2, [0x01, 0x02)", "sorted"]),
            ([r([1], [1])], false, ["kept range 0 of 1, [0x01, 0x01)", "empty or inverted"]),
            ([r([0xAB, 0x02], [0xAB, 0x01])], false, ["[0xab02, 0xab01)", "empty or inverted"]),
            ([r([], nil), r([9], [10])], false, ["kept range 0 of 2, [(empty), unbounded)", "not the last"]),
            ([r([1], [3]), r([3], [4])], true, ["range 1 of 2, [0x03, 0x04)", "inclusive"]),
        ]
        for (ranges, includeEnd, fragments) in cases {
            let error: StrataError?
            if includeEnd {
                error = #expect(throws: StrataError.self) { try db.deleteFilesInRanges(ranges, includeEnd: true) }
            } else {
                error = #expect(throws: StrataError.self) { try db.clip(keeping: ranges) }
                #expect(throws: StrataError.self) { try db.deleteFilesInRanges(ranges) }
            }
            #expect(error?.kind == .invalidArgument)
            for fragment in fragments {
                #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "no error") lacks \(fragment)")
            }
        }
        // Touching half-open ranges are fine, and nothing was changed by the refusals.
        try db.clip(keeping: [r([1], [3]), r([3], [6])])
        #expect(try db.get([5]) == [5])
        // Validation never sees an empty key set as an error.
        try db.deleteFilesInRanges([])
    }
}
