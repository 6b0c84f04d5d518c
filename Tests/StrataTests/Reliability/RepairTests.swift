import Testing
@testable import Strata

/// `Database.repair` (RocksDB's RepairDB) and `Database.verify`
/// (docs/durability.md, "Repair"); the byte-flip sweep is
/// `CorruptionSweepTests`.
@Suite("Repair")
struct RepairTests {
    static func options(_ fs: MemoryFileSystem) -> Options {
        var options = CrashWorkload.options(fs)
        options.mergeOperator = Int64AddOperator()
        return options
    }

    static func key(_ i: Int) -> [UInt8] { Array("key\(1000 + i)".utf8) }

    static func remove(_ fs: MemoryFileSystem, where predicate: (String) -> Bool) throws {
        for name in try fs.listDirectory("/db") where predicate(name) { try fs.removeFile(Path.join("/db", name)) }
    }

    /// Two families with tables, merges, a range deletion, and WAL-only writes.
    static func populated() throws -> MemoryFileSystem {
        let fs = MemoryFileSystem()
        let db = try Database.open(at: "/db", options: options(fs))
        let second = try db.createColumnFamily(named: "second")
        for i in 0..<200 { try db.put(key(i), Array("v\(i)".utf8)) }
        try db.merge(Array("counter".utf8), Int64AddOperator.encode(5))
        try db.flush()
        try db.deleteRange(from: key(10), to: key(20))
        for i in 0..<100 { try second.put(key(i), Array("s\(i)".utf8)) }
        try second.flush()
        try db.compactRange()
        try db.merge(Array("counter".utf8), Int64AddOperator.encode(2))
        for i in 200..<220 { try db.put(key(i), Array("v\(i)".utf8)) }
        try second.put(Array("walonly".utf8), Array("yes".utf8))
        try db.close()
        return fs
    }

    static func expectPopulated(_ fs: MemoryFileSystem, _ label: String) throws {
        let db = try Database.open(at: "/db", options: options(fs))
        defer { try? db.close() }
        for i in 0..<220 {
            let expected: [UInt8]? = (10..<20).contains(i) ? nil : Array("v\(i)".utf8)
            #expect(try db.get(key(i)) == expected, "\(label): key \(i)")
        }
        #expect(try db.get(Array("counter".utf8)) == Int64AddOperator.encode(7), "\(label): counter")
        let second = try #require(db.columnFamily(named: "second"), "\(label): family second")
        for i in 0..<100 { #expect(try second.get(key(i)) == Array("s\(i)".utf8), "\(label): second key \(i)") }
        #expect(try second.get(Array("walonly".utf8)) == Array("yes".utf8), "\(label)")
    }

    @Test("repairing a healthy database keeps everything, twice in a row")
    func healthy() throws {
        let fs = try Self.populated()
        for round in 0..<2 {
            let report = try Database.repair(at: "/db", options: Self.options(fs))
            #expect(report.columnFamilies == ["default", "second"], "\(report)")
            #expect(report.lost.isEmpty, "\(report)")
            #expect(try Database.verify(at: "/db", options: Self.options(fs)).isHealthy)
            try Self.expectPopulated(fs, "round \(round)")
        }
        // The old MANIFEST and WALs were set aside, not deleted.
        #expect(try fs.listDirectory("/db/lost").contains { $0.hasPrefix("MANIFEST-") })
    }

    @Test("without CURRENT, or without any MANIFEST, repair recovers every write")
    func lostManifest() throws {
        for (label, lose) in [("CURRENT", { (n: String) in n == "CURRENT" }),
                              ("every MANIFEST", { (n: String) in n.hasPrefix("MANIFEST-") || n == "CURRENT" })] {
            let fs = try Self.populated()
            try Self.remove(fs, where: lose)
            // Not a new database over the old files (that deleted every table).
            do {
                try Database.open(at: "/db", options: Self.options(fs)).close()
                Issue.record("\(label): opened")
            } catch let error as StrataError {
                #expect(error.kind == .corruption && error.file == "/db/CURRENT", "\(label): \(error)")
            }
            let verdict = try Database.verify(at: "/db", options: Self.options(fs))
            #expect(!verdict.isHealthy && verdict.damaged.contains { $0.name == "CURRENT" }, "\(label):\n\(verdict)")
            let report = try Database.repair(at: "/db", options: Self.options(fs))
            // Family names come from the table properties when no MANIFEST survives.
            #expect(report.columnFamilies == ["default", "second"], "\(label): \(report)")
            try Self.expectPopulated(fs, label)
        }
    }

    @Test("a WAL a crash left behind after its flush is not replayed twice (merge operands would add up twice)")
    func staleWAL() throws {
        let fs = MemoryFileSystem()
        var db = try Database.open(at: "/db", options: Self.options(fs))
        for _ in 0..<5 { try db.merge(Array("counter".utf8), Int64AddOperator.encode(1)) }
        let wal = try fs.listDirectory("/db").first { $0.hasSuffix(".log") }!
        let copy = try fs.openRandomAccess(Path.join("/db", wal))
        let bytes = try copy.read(at: 0, count: Int(copy.size))
        try db.flush()
        try db.close()
        db = try Database.open(at: "/db", options: Self.options(fs))
        try db.close()
        #expect(!(try fs.listDirectory("/db").contains(wal)), "the flushed WAL should have been deleted")
        // As if the deletion had not happened.
        let restored = try fs.createWritable(Path.join("/db", wal))
        try restored.append(bytes)
        try restored.close()
        try Self.remove(fs) { $0 == "CURRENT" }
        let report = try Database.repair(at: "/db", options: Self.options(fs))
        #expect(report.logs.contains { $0.alreadyInTables == 5 && $0.replayed == 0 }, "\(report)")
        db = try Database.open(at: "/db", options: Self.options(fs))
        defer { try? db.close() }
        #expect(try db.get(Array("counter".utf8)) == Int64AddOperator.encode(5))
    }

    /// A table in the MemoryFileSystem with the given internal entries.
    static func writeTable(_ fs: MemoryFileSystem, number: UInt64, _ entries: [(String, UInt64, String)]) throws {
        var options = TableOptions()
        options.columnFamilyName = "default"
        let file = try fs.createWritable(Path.join("/db", DBFileName.table(number)))
        let builder = try TableBuilder(file: file, options: options, fileNumber: number)
        for (key, sequence, value) in entries {
            try builder.add(internalKey: InternalKey.make(Array(key.utf8), sequence: sequence, type: ValueType.value.rawValue),
                            value: Array(value.utf8))
        }
        _ = try builder.finish()
        try file.close()
    }

    /// Tables of two levels of the old tree: table 10 (a deeper level)
    /// holds an old "c" but reaches the highest sequence through "z"; table
    /// 11 holds the newer "c". In L0, newest table first, table 10 comes
    /// first and a get of "c" would return the old value; repair must
    /// compact.
    @Test("tables whose sequence numbers interleave over common keys are compacted, so no get returns an older value")
    func interleavingTables() throws {
        let fs = MemoryFileSystem()
        try fs.createDirectory("/db")
        try Self.writeTable(fs, number: 10, [("a", 100, "a-old"), ("c", 50, "c-old"), ("z", 300, "z")])
        try Self.writeTable(fs, number: 11, [("c", 150, "c-new")])
        let report = try Database.repair(at: "/db", options: Self.options(fs))
        #expect(report.compactedFamilies == ["default"], "\(report)")
        #expect(report.lastSequence == 300)
        let db = try Database.open(at: "/db", options: Self.options(fs))
        defer { try? db.close() }
        #expect(try db.get(Array("c".utf8)) == Array("c-new".utf8))
        #expect(try db.get(Array("a".utf8)) == Array("a-old".utf8))
        #expect(try db.get(Array("z".utf8)) == Array("z".utf8))
        // New writes get sequence numbers above every repaired one.
        try db.put(Array("c".utf8), Array("c-newest".utf8))
        #expect(try db.get(Array("c".utf8)) == Array("c-newest".utf8))
    }

    @Test("tables of a dropped column family go to lost/, not back into the database")
    func droppedFamily() throws {
        let fs = MemoryFileSystem()
        let db = try Database.open(at: "/db", options: Self.options(fs))
        let doomed = try db.createColumnFamily(named: "doomed")
        for i in 0..<50 { try doomed.put(Self.key(i), [1]) }
        try doomed.flush()
        let tables = try fs.listDirectory("/db").filter { $0.hasSuffix(".sst") }
        // Keep the dropped family's table file, as a crash before its deletion would.
        let bytes = try fs.openRandomAccess(Path.join("/db", tables[0])).read(at: 0, count: Int(try fs.fileSize(Path.join("/db", tables[0]))))
        try db.dropColumnFamily(named: "doomed")
        try db.put(Array("kept".utf8), [2])
        try db.close()
        if !(try fs.listDirectory("/db").contains(tables[0])) {
            let out = try fs.createWritable(Path.join("/db", tables[0]))
            try out.append(bytes)
            try out.close()
        }
        let report = try Database.repair(at: "/db", options: Self.options(fs))
        #expect(report.columnFamilies == ["default"], "\(report)")
        #expect(report.lost.contains { $0.name == tables[0] }, "\(report)")
        let reopened = try Database.open(at: "/db", options: Self.options(fs))
        defer { try? reopened.close() }
        #expect(reopened.columnFamily(named: "doomed") == nil)
        #expect(try reopened.get(Array("kept".utf8)) == [2])
    }

    @Test("a damaged table's intact blocks are kept, the damaged block's keys are gone, the rest reads right")
    func salvage() throws {
        let fs = MemoryFileSystem()
        var options = Self.options(fs)
        options.compression = .none
        let db = try Database.open(at: "/db", options: options)
        for i in 0..<400 { try db.put(Self.key(i), Array(repeating: UInt8(i % 251), count: 40)) }
        try db.flush()
        try db.close()
        let table = try fs.listDirectory("/db").first { $0.hasSuffix(".sst") }!
        let path = Path.join("/db", table)
        var bytes = try fs.openRandomAccess(path).read(at: 0, count: Int(try fs.fileSize(path)))
        bytes[100] ^= 0xFF  // inside the first data block
        let out = try fs.createWritable(path)
        try out.append(bytes)
        try out.close()
        let verdict = try Database.verify(at: "/db", options: options)
        #expect(verdict.damaged.map(\.name) == [table], "\(verdict)")
        let report = try Database.repair(at: "/db", options: options)
        let lost = try #require(report.lost.first)
        #expect(lost.name == table && lost.damagedBlocks == 1 && lost.intactBlocks > 10, "\(report)")
        #expect(try Database.verify(at: "/db", options: options).isHealthy)
        let reopened = try Database.open(at: "/db", options: options)
        defer { try? reopened.close() }
        var present = 0
        for i in 0..<400 {
            if let value = try reopened.get(Self.key(i)) {
                #expect(value == Array(repeating: UInt8(i % 251), count: 40))
                present += 1
            }
        }
        #expect(present > 300 && present < 400, "\(present) keys survive")
        #expect(try reopened.get(Self.key(0)) == nil)  // the first block is the damaged one
    }

    @Test("a whole-table scan reads every RocksDB 7.8.3 vector table (entry counts, bounds, column family)")
    func scanVectors() throws {
        for name in Vectors.tables {
            let scan = try TableScan.scan(path: Vectors.path(name + ".sst"), fileSystem: PosixFileSystem.shared)
            #expect(scan.entries > 0, "\(name)")
            #expect(scan.columnFamilyID == 0 && scan.columnFamilyName == "default", "\(name)")
            #expect(scan.smallest != nil && scan.largest != nil && scan.largestSequence >= scan.smallestSequence, "\(name)")
        }
        let mixed = try TableScan.scan(path: Vectors.path("mixed_types.sst"), fileSystem: PosixFileSystem.shared)
        #expect(mixed.rangeTombstones > 0)
        let report = try Database.verify(at: Vectors.path("tiny_db"))
        #expect(report.isHealthy, "\(report)")
    }
}
