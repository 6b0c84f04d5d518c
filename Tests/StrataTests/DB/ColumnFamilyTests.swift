import Testing
@testable import Strata

/// Column families: named, independent LSMs sharing one WAL and one
/// MANIFEST (create, drop, reopen, atomic batches, WAL recovery and the
/// per-family WAL horizon, per-family options).
@Suite("Column families")
struct ColumnFamilyTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Appends operands with a "," between them (a test-local operator).
    struct Append: MergeOperator {
        var name: String { "TestAppend" }
        func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) -> [UInt8]? {
            var parts = existing.map { [$0] } ?? []
            parts += operands
            return Array(parts.joined(separator: [UInt8(ascii: ",")]))
        }
    }

    static func files(_ dir: TestDirectory, _ suffix: String) throws -> [String] {
        try PosixFileSystem.shared.listDirectory(dir.path).filter { $0.hasSuffix(suffix) }.sorted()
    }

    static func scan(_ family: ColumnFamily) throws -> [[UInt8]: [UInt8]] {
        try family.makeIterator().contents()
    }

    @Test("families are independent key spaces; names, lookup and errors")
    func createAndIsolate() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.path)
        #expect(db.columnFamilyNames == ["default"])
        let a = try db.createColumnFamily(named: "a")
        let c = try db.createColumnFamily(named: "c", options: ColumnFamilyOptions())
        #expect(db.columnFamilyNames == ["default", "a", "c"])
        #expect(a.id == 1 && c.id == 2 && db.defaultColumnFamily.id == 0)
        #expect(db.columnFamily(named: "nope") == nil)
        #expect(db.columnFamily(named: "a")?.id == 1)

        try db.put(Self.b("k"), Self.b("default"))
        try a.put(Self.b("k"), Self.b("in a"))
        try c.put(Self.b("other"), Self.b("in c"))
        #expect(try db.get(Self.b("k")) == Self.b("default"))
        #expect(try a.get(Self.b("k")) == Self.b("in a"))
        #expect(try c.get(Self.b("k")) == nil)
        #expect(try Self.scan(c) == [Self.b("other"): Self.b("in c")])
        try a.delete(Self.b("k"))
        #expect(try a.get(Self.b("k")) == nil)
        #expect(try db.get(Self.b("k")) == Self.b("default"))
        try a.deleteRange(from: Self.b("a"), to: Self.b("z"))
        try a.put(Self.b("x"), Self.b("1"))
        try a.flush()
        #expect(try a.get(Self.b("x")) == Self.b("1"))
        #expect(a.property("strata.num-files-at-level0") == "1")
        #expect(db.property("strata.num-files-at-level0") == "0")

        #expect(throws: StrataError.self) { try db.createColumnFamily(named: "a") }
        #expect(throws: StrataError.self) { try db.createColumnFamily(named: "") }
        #expect(throws: StrataError.self) { try db.dropColumnFamily(named: "default") }
        #expect(throws: StrataError.self) { try db.dropColumnFamily(named: "nope") }
        do {
            try db.createColumnFamily(named: "a")
        } catch let error as StrataError {
            #expect(error.kind == .invalidArgument)
            #expect(error.description.contains("already exists"))
        }
        try db.close()
        #expect(throws: StrataError.self) { try a.put(Self.b("k"), Self.b("v")) }
    }

    @Test("a batch across families is one WAL record with consecutive sequence numbers")
    func atomicBatch() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var db = try Database.open(at: dir.path)
        let one = try db.createColumnFamily(named: "one")
        let two = try db.createColumnFamily(named: "two")
        var batch = WriteBatch()
        batch.put(Self.b("k0"), Self.b("v0"))
        batch.put(Self.b("k1"), Self.b("v1"), in: one)
        batch.delete(Self.b("k0"), in: two)
        batch.put(Self.b("k2"), Self.b("v2"), in: two)
        try db.write(batch)
        try db.close()

        // The newest WAL holds exactly one record: the whole batch.
        let wals = try Self.files(dir, ".log")
        let file = try PosixFileSystem.shared.openRandomAccess(dir.file(wals.last!))
        let reader = LogReader(file: file)
        var records: [[UInt8]] = []
        while let r = try reader.next() { records.append(r) }
        file.close()
        #expect(records.count == 1)
        let decoded = try WriteBatch(encoded: records[0])
        #expect(decoded.count == 4)
        #expect(decoded.usesColumnFamilies)
        var families: [UInt32] = []
        try decoded.forEach { families.append($0.columnFamily) }
        #expect(families == [0, 1, 2, 2])

        db = try Database.open(at: dir.path)
        #expect(try db.get(Self.b("k0")) == Self.b("v0"))
        #expect(try db.columnFamily(named: "one")!.get(Self.b("k1")) == Self.b("v1"))
        #expect(try db.columnFamily(named: "two")!.get(Self.b("k2")) == Self.b("v2"))
        #expect(try db.columnFamily(named: "two")!.get(Self.b("k0")) == nil)
        _ = (one, two)
        try db.close()
    }

    @Test("WAL recovery replays every family, honouring each family's log number")
    func recoveryWithSeveralFamilies() throws {
        let seed: UInt64 = 7
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory()
        defer { dir.remove() }
        let names = ["default", "a", "b"]
        var models: [[[UInt8]: [UInt8]]] = [[:], [:], [:]]
        var db = try Database.open(at: dir.path)
        try db.createColumnFamily(named: "a")
        try db.createColumnFamily(named: "b")
        for round in 0..<4 {
            for _ in 0..<300 {
                let f = rng.int(0..<3)
                let family = db.columnFamily(named: names[f])!
                let key = Self.b("k\(rng.int(0..<100))")
                if rng.int(0..<4) == 0 {
                    try family.delete(key)
                    models[f][key] = nil
                } else {
                    let value = rng.bytes(rng.int(0..<30))
                    try family.put(key, value)
                    models[f][key] = value
                }
            }
            // Flush one family now and then: its log number moves ahead of
            // the others', so its older updates in the WAL must not be
            // replayed over its tables (deletes after the flush stay deletes).
            if round % 2 == 0 { try db.columnFamily(named: names[round % 3])!.flush() }
            try db.close()
            db = try Database.open(at: dir.path)
            #expect(db.columnFamilyNames == names)
            for (f, name) in names.enumerated() {
                #expect(try Self.scan(db.columnFamily(named: name)!) == models[f], "round \(round), family \(name)")
            }
        }
        try db.close()
    }

    @Test("a flush of one family keeps the WAL alive for the others; empty families never do")
    func walHorizon() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var db = try Database.open(at: dir.path)
        let a = try db.createColumnFamily(named: "a")
        let b = try db.createColumnFamily(named: "b")
        try db.createColumnFamily(named: "empty")
        let firstWAL = try Self.files(dir, ".log")
        #expect(firstWAL.count == 1)
        try a.put(Self.b("ka"), Self.b("va"))
        try b.put(Self.b("kb"), Self.b("vb"))
        try a.flush()
        try db.close()
        // b's update lives only in the first WAL: it must still be there.
        #expect(try Self.files(dir, ".log").contains(firstWAL[0]))

        db = try Database.open(at: dir.path)
        #expect(try db.columnFamily(named: "b")!.get(Self.b("kb")) == Self.b("vb"))
        #expect(try db.columnFamily(named: "a")!.get(Self.b("ka")) == Self.b("va"))
        // Recovery flushed everything: the first WAL is gone.
        #expect(!(try Self.files(dir, ".log").contains(firstWAL[0])))
        let walBefore = try Self.files(dir, ".log")
        try db.columnFamily(named: "a")!.put(Self.b("x"), Self.b("y"))
        try db.columnFamily(named: "b")!.put(Self.b("x"), Self.b("y"))
        try db.columnFamily(named: "a")!.flush()
        try db.columnFamily(named: "b")!.flush()
        try db.close()
        // Both families flushed past it and the others were empty: deleted.
        let walAfter = try Self.files(dir, ".log")
        #expect(Set(walAfter).isDisjoint(with: walBefore), "\(walBefore) -> \(walAfter)")
    }

    @Test("drop: MANIFEST record, files deleted, later writes and reads fail, reopen and re-create")
    func drop() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var db = try Database.open(at: dir.path)
        let gone = try db.createColumnFamily(named: "gone")
        let kept = try db.createColumnFamily(named: "kept")
        for i in 0..<50 { try gone.put(Self.b("g\(i)"), Self.b("v\(i)")) }
        try gone.flush()
        try kept.put(Self.b("k"), Self.b("v"))
        try kept.flush()
        let tablesBefore = try Self.files(dir, ".sst")
        #expect(tablesBefore.count == 2)
        var early = WriteBatch()
        early.put(Self.b("late"), Self.b("x"), in: gone)
        try gone.put(Self.b("unflushed"), Self.b("u"))
        let pinned = try gone.makeIterator()

        try db.dropColumnFamily(named: "gone")
        #expect(db.columnFamilyNames == ["default", "kept"])
        #expect(db.columnFamily(named: "gone") == nil)
        #expect(gone.isDropped)
        do {
            try gone.put(Self.b("k"), Self.b("v"))
            Issue.record("write to a dropped family succeeded")
        } catch let error as StrataError {
            #expect(error.kind == .invalidArgument)
        }
        #expect(throws: StrataError.self) { try db.write(early) }
        #expect(throws: StrataError.self) { try gone.get(Self.b("g1")) }
        #expect(throws: StrataError.self) { try gone.flush() }
        #expect(throws: StrataError.self) { try db.dropColumnFamily(named: "gone") }
        // An iterator made before the drop still reads what it pinned.
        pinned.seekToFirst()
        #expect(pinned.isValid && pinned.key == Self.b("g0"))
        try pinned.status()
        // Its table goes once the last reader lets go.
        _ = consume pinned
        try kept.put(Self.b("k2"), Self.b("v2"))
        try kept.flush()
        try db.close()
        let tablesAfter = try Self.files(dir, ".sst")
        #expect(!tablesAfter.contains(tablesBefore[0]), "\(tablesBefore) -> \(tablesAfter)")

        db = try Database.open(at: dir.path)
        #expect(db.columnFamilyNames == ["default", "kept"])
        #expect(try db.columnFamily(named: "kept")!.get(Self.b("k")) == Self.b("v"))
        let again = try db.createColumnFamily(named: "gone")
        #expect(again.id == 3, "ids are never reused")
        #expect(try again.get(Self.b("g1")) == nil)
        #expect(try again.get(Self.b("unflushed")) == nil)
        try db.close()
        db = try Database.open(at: dir.path)
        #expect(db.columnFamilyNames == ["default", "kept", "gone"])
        #expect(try db.columnFamily(named: "gone")!.get(Self.b("unflushed")) == nil)
        try db.close()
    }

    @Test("per-family options: merge operator, bloom bits, write buffer size; table properties name the family")
    func perFamilyOptions() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        var listOptions = ColumnFamilyOptions()
        listOptions.mergeOperator = Append()
        listOptions.bloomBitsPerKey = 0
        listOptions.compression = .none
        options.columnFamilyOptions["lists"] = listOptions
        var small = ColumnFamilyOptions()
        small.writeBufferSize = 16 << 10
        small.level0FileNumCompactionTrigger = 100
        options.columnFamilyOptions["small"] = small
        var db = try Database.open(at: dir.path, options: options)
        let lists = try db.createColumnFamily(named: "lists")
        let smallFamily = try db.createColumnFamily(named: "small")
        #expect(throws: StrataError.self) { try db.merge(Self.b("k"), Self.b("x")) }
        try lists.merge(Self.b("k"), Self.b("a"))
        try lists.merge(Self.b("k"), Self.b("b"))
        #expect(try lists.get(Self.b("k")) == Self.b("a,b"))
        var mixed = WriteBatch()
        mixed.merge(Self.b("k"), Self.b("c"), in: lists)
        mixed.merge(Self.b("k"), Self.b("c"))
        #expect(throws: StrataError.self) { try db.write(mixed) }
        #expect(try lists.get(Self.b("k")) == Self.b("a,b"), "a refused batch writes nothing")

        // Only the small family's memtable fills and flushes.
        for i in 0..<2000 { try smallFamily.put(Self.b("key\(i)"), [UInt8](repeating: 7, count: 32)) }
        try db.waitForBackgroundWork()
        #expect(Int(smallFamily.property("strata.num-files-at-level0")!)! > 1)
        #expect(db.property("strata.num-files-at-level0") == "0")
        try lists.flush()
        try db.close()

        for name in try Self.files(dir, ".sst") {
            let table = try TableReader.open(path: dir.file(name))
            let p = table.properties
            if p.columnFamilyName == "lists" {
                #expect(p.columnFamilyID == 1)
                #expect(p.mergeOperatorName == "TestAppend")
                #expect(p.filterPolicyName == nil)
            } else {
                #expect(p.columnFamilyName == "small")
                #expect(p.columnFamilyID == 2)
                #expect(p.filterPolicyName == "bloomfilter")
            }
        }
        // Reopen with the same options: the merge operator is back.
        db = try Database.open(at: dir.path, options: options)
        #expect(try db.columnFamily(named: "lists")!.get(Self.b("k")) == Self.b("a,b"))
        try db.columnFamily(named: "lists")!.merge(Self.b("k"), Self.b("d"))
        #expect(try db.columnFamily(named: "lists")!.get(Self.b("k")) == Self.b("a,b,d"))
        try db.close()
    }

    @Test("compaction per family: each family compacts its own levels")
    func compactionPerFamily() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 16 << 10
        options.level0FileNumCompactionTrigger = 2
        options.maxBytesForLevelBase = 64 << 10
        options.targetFileSizeBase = 16 << 10
        let db = try Database.open(at: dir.path, options: options)
        let a = try db.createColumnFamily(named: "a")
        let b = try db.createColumnFamily(named: "b")
        var models: [[[UInt8]: [UInt8]]] = [[:], [:]]
        var rng = TestRandom(seed: 11)
        print("seed 11")
        for i in 0..<6000 {
            let f = i % 2
            let key = Self.b("k\(rng.int(0..<800))")
            let value = rng.bytes(rng.int(10..<60))
            try [a, b][f].put(key, value)
            models[f][key] = value
        }
        try a.compactRange()
        try db.waitForBackgroundWork()
        #expect(a.property("strata.num-files-at-level0") == "0")
        #expect(try Self.scan(a) == models[0])
        #expect(try Self.scan(b) == models[1])
        #expect(a.property("strata.stats")?.contains("[a]") == true)
        try db.close()
    }
}

/// Checkpoints of a database with column families: every family is in the
/// checkpoint (flushed, or through the WALs it still needs), and a database
/// opened on the checkpoint has the same families with the same data.
@Suite("Column families in checkpoints")
struct ColumnFamilyCheckpointTests {
    @Test("flush and WAL checkpoints hold every family", arguments: [true, false])
    func checkpointHoldsFamilies(flushMemtable: Bool) throws {
        let seed: UInt64 = flushMemtable ? 31 : 32
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 16 << 10
        let db = try Database.open(at: dir.file("db"), options: options)
        let names = ["default", "a", "b"]
        for name in names.dropFirst() { try db.createColumnFamily(named: name) }
        try db.createColumnFamily(named: "dropped")
        try db.dropColumnFamily(named: "dropped")
        var models = [[[UInt8]: [UInt8]]](repeating: [:], count: 3)
        for i in 0..<1500 {
            let f = rng.int(0..<3)
            let key = Array("k\(rng.int(0..<300))".utf8)
            let value = rng.bytes(rng.int(1..<50))
            try db.columnFamily(named: names[f])!.put(key, value)
            models[f][key] = value
            if i == 700 { try db.columnFamily(named: "a")!.flush() }
        }
        var checkpointOptions = CheckpointOptions()
        checkpointOptions.flushMemtable = flushMemtable
        _ = try db.checkpoint(to: dir.file("cp"), options: checkpointOptions)
        // Writes after the checkpoint are not in it.
        try db.columnFamily(named: "b")!.put(Array("after".utf8), Array("x".utf8))
        try db.close()

        let copy = try Database.open(at: dir.file("cp"), options: options)
        #expect(copy.columnFamilyNames == names)
        for (f, name) in names.enumerated() {
            #expect(try ColumnFamilyTests.scan(copy.columnFamily(named: name)!) == models[f], "family \(name)")
        }
        let again = try copy.createColumnFamily(named: "new")
        #expect(again.id == 4, "the dropped family's id is not reused")
        try copy.close()
    }
}
