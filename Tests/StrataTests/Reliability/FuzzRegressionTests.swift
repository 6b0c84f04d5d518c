import Testing
@testable import Strata

/// One test per finding of the libFuzzer targets (Fuzz/, tools/run-fuzz.sh;
/// docs/durability.md, "Bugs these tests found"): the minimized input that
/// failed, now rejected with a `.corruption` that says what is wrong.
@Suite("Fuzz findings")
struct FuzzRegressionTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    /// fuzz-writebatch: a batch at sequence 0xFFFF_FF00_FF00_0000 with 4
    /// updates decoded, and WAL recovery would have given its updates
    /// sequence numbers past 2^56 − 1 (packing wrong internal keys) or
    /// overflowed `sequence += 1`.
    @Test("a write batch whose sequence numbers pass 2^56 − 1 is corruption")
    func batchSequenceOverflow() throws {
        let input = Self.bytes("000000ff00ffffff04000000030000000502016b01760402016b0e0301610162")
        #expect(throws: StrataError.self) { _ = try WriteBatch(encoded: input) }
        do {
            _ = try WriteBatch(encoded: input)
        } catch {
            #expect(error.kind == .corruption)
            #expect(error.message.contains("largest sequence number"), "\(error)")
        }
        // The last valid sequence still decodes: one update at 2^56 − 1.
        var last = WriteBatch()
        last.put([1], [2])
        last.sequence = maxSequenceNumber
        #expect(try WriteBatch(encoded: last.rep).sequence == maxSequenceNumber)
        var two = last
        two.put([3], [4])
        #expect(throws: StrataError.self) { _ = try WriteBatch(encoded: two.rep) }
    }

    /// The same batch reaching recovery in a WAL with a valid checksum: the
    /// replay stops before it (point-in-time recovery), keeps what came
    /// before, and the database takes new writes.
    @Test("recovery stops at a WAL batch whose sequence numbers overflow")
    func recoveryStopsAtOverflowingBatch() throws {
        let fs = MemoryFileSystem()
        var options = Options()
        options.fileSystem = fs
        options.createIfMissing = true
        try Database.open(at: "/db", options: options).close()
        let wal = try fs.listDirectory("/db").filter { $0.hasSuffix(".log") }.max()!
        let writer = LogWriter(file: try fs.openAppendable(Path.join("/db", wal)))
        var good = WriteBatch()
        good.put(Array("kept".utf8), Array("yes".utf8))
        good.sequence = 1
        try writer.addRecord(good.rep)
        try writer.addRecord(Self.bytes("000000ff00ffffff04000000030000000502016b01760402016b0e0301610162"))
        var after = WriteBatch()
        after.put(Array("after".utf8), Array("no".utf8))
        after.sequence = 10
        try writer.addRecord(after.rep)
        try writer.close()

        let db = try Database.open(at: "/db", options: options)
        defer { try? db.close() }
        #expect(try db.get(Array("kept".utf8)) == Array("yes".utf8))
        #expect(try db.get(Array("after".utf8)) == nil)
        try db.put(Array("new".utf8), Array("write".utf8))
        #expect(try db.get(Array("new".utf8)) == Array("write".utf8))
        #expect(db.versions.lastSequence <= maxSequenceNumber)
    }

    /// fuzz-versionedit: a kNewFile3 record with path id 16383 decoded, and
    /// re-encoding (RocksDB stores a path id in one byte, and only 0…3 fit
    /// beside the file number) changed the edit.
    @Test("a VersionEdit path id above 3 is corruption")
    func pathIDAboveThree() {
        let input = Self.bytes("e6000000ffff00160a1004ffffff0b0000000009a9000000ffffac01acff020203ffecffff45")
        do {
            _ = try VersionEdit.decode(input)
            Issue.record("decoded an edit with path id 16383")
        } catch {
            #expect(error.kind == .corruption)
            #expect(error.message.contains("path id"), "\(error)")
        }
    }

    /// Found while fixing the path id: file numbers above RocksDB's 2^62 − 1
    /// (its `kFileNumberMask`) decoded, and a MANIFEST replay would overflow
    /// the file counter (`number + 1`).
    @Test("VersionEdit file and sequence numbers beyond RocksDB's limits are corruption")
    func numbersBeyondLimits() {
        var edit = VersionEdit()
        edit.nextFileNumber = VersionEdit.maxFileNumber
        edit.lastSequence = maxSequenceNumber
        #expect((try? VersionEdit.decode(edit.encode())) == edit)
        for change in 0..<4 {
            var bad = VersionEdit()
            switch change {
            case 0: bad.nextFileNumber = VersionEdit.maxFileNumber + 1
            case 1: bad.logNumber = .max
            case 2: bad.deletedFiles = [(1, .max)]
            default: bad.lastSequence = maxSequenceNumber + 1
            }
            do {
                _ = try VersionEdit.decode(bad.encode())
                Issue.record("case \(change) decoded")
            } catch {
                #expect(error.kind == .corruption, "case \(change)")
                #expect(error.message.contains("above the largest"), "case \(change): \(error)")
            }
        }
    }

    /// fuzz-writebatch: a WAL batch may hold an inverted range deletion
    /// (begin ≥ end; `WriteBatch.deleteRange` never records one, RocksDB
    /// or a damaged WAL may). Recovery put it in the memtable, and its
    /// flushed table would have had a smallest key after its largest.
    /// Now the memtable drops it: it deletes nothing, and the database
    /// reopens with every other update.
    @Test("recovery drops an inverted range deletion from the WAL")
    func invertedRangeDeletionInWAL() throws {
        let fs = MemoryFileSystem()
        var options = Options()
        options.fileSystem = fs
        options.createIfMissing = true
        try Database.open(at: "/db", options: options).close()
        let wal = try fs.listDirectory("/db").filter { $0.hasSuffix(".log") }.max()!
        let writer = LogWriter(file: try fs.openAppendable(Path.join("/db", wal)))
        // put "b" = 1, deleteRange ["z", "a"), put "c" = 2 (hand-encoded).
        var rep = WriteBatch().rep
        rep[0] = 1  // sequence 1
        rep[8] = 3  // count
        rep += [0x01, 0x01, 0x62, 0x01, 0x31]
        rep += [0x0F, 0x01, 0x7A, 0x01, 0x61]
        rep += [0x01, 0x01, 0x63, 0x01, 0x32]
        try writer.addRecord(rep)
        try writer.close()
        for round in 0..<2 {
            let db = try Database.open(at: "/db", options: options)
            #expect(try db.get(Array("b".utf8)) == Array("1".utf8), "open \(round)")
            #expect(try db.get(Array("c".utf8)) == Array("2".utf8), "open \(round)")
            try db.close()
        }
        let memtable = MemTable()
        memtable.add(sequence: 1, type: .rangeDeletion, key: Array("z".utf8), value: Array("a".utf8))
        memtable.add(sequence: 2, type: .rangeDeletion, key: Array("m".utf8), value: Array("m".utf8))
        #expect(memtable.isEmpty)
    }

    /// A MANIFEST written by hand: the counters and `files` in L6 of the
    /// default family, with table files of the recorded sizes.
    static func manifestDirectory(_ files: [FileMetaData]) throws -> MemoryFileSystem {
        let fs = MemoryFileSystem()
        try fs.createDirectory("/db")
        var edit = VersionEdit()
        edit.comparator = Bytewise.name
        edit.logNumber = 0
        edit.nextFileNumber = 20
        edit.lastSequence = 100
        edit.newFiles = files.map { (6, $0) }
        let manifest = try fs.createWritable("/db/MANIFEST-000001")
        let writer = LogWriter(file: manifest)
        try writer.addRecord(edit.encode())
        try writer.close()
        let current = try fs.createWritable("/db/CURRENT")
        try current.append(Array("MANIFEST-000001\n".utf8))
        try current.close()
        for file in files {
            let table = try fs.createWritable(Path.join("/db", DBFileName.table(file.number)))
            try table.append([UInt8](repeating: 0, count: Int(file.fileSize)))
            try table.close()
        }
        return fs
    }

    static func file(_ number: UInt64, _ smallest: String, _ largest: String) -> FileMetaData {
        FileMetaData(number: number, fileSize: 100, smallest: InternalKey.make(Array(smallest.utf8), sequence: 1, type: 1),
                     largest: InternalKey.make(Array(largest.utf8), sequence: 1, type: 1),
                     smallestSequence: 1, largestSequence: 1)
    }

    /// fuzz-manifest: an L6 file whose largest key ("ek9y") was before its
    /// smallest ("key0"), beside a file with the same smallest key. Whether
    /// the MANIFEST replayed depended on the order the two files came out
    /// of a hash table (a tie in the level's sort), so a database could
    /// open once and fail the next time. Now such a file is corruption and
    /// ties are broken by largest key and number.
    @Test("a table whose smallest key is after its largest is corruption, whatever the listing order")
    func smallestAfterLargest() throws {
        for files in [[Self.file(15, "key0", "ek9y"), Self.file(16, "key0", "key9")],
                      [Self.file(16, "key0", "key9"), Self.file(15, "key0", "ek9y")]] {
            for _ in 0..<5 {
                let fs = try Self.manifestDirectory(files)
                do {
                    _ = try VersionSet.recover(directory: "/db", fileSystem: fs)
                    Issue.record("replayed a MANIFEST with a file whose smallest key is after its largest")
                } catch let error as StrataError {
                    #expect(error.kind == .corruption)
                    #expect(error.message.contains("file 15: smallest key is after its largest key"), "\(error)")
                    #expect(error.file == "/db/MANIFEST-000001")
                }
            }
        }
        // Two files with the same smallest key overlap in either order.
        for files in [[Self.file(15, "key0", "key5"), Self.file(16, "key0", "key9")],
                      [Self.file(16, "key0", "key9"), Self.file(15, "key0", "key5")]] {
            let fs = try Self.manifestDirectory(files)
            #expect(throws: StrataError.self) { _ = try VersionSet.recover(directory: "/db", fileSystem: fs) }
        }
    }

    /// fuzz-manifest (11.5 M executions in): a MANIFEST that dropped the
    /// default column family replayed to a state with no family at all, and
    /// the MANIFEST written back from it lacked a log number, so the next
    /// open failed. RocksDB never drops the default family.
    @Test("a MANIFEST that drops the default column family is corruption")
    func defaultFamilyDropped() throws {
        let fs = try Self.manifestDirectory([])
        let writer = LogWriter(file: try fs.openAppendable("/db/MANIFEST-000001"))
        var drop = VersionEdit()
        drop.columnFamily = 0
        drop.columnFamilyDrop = true
        try writer.addRecord(drop.encode())
        try writer.close()
        do {
            _ = try VersionSet.recover(directory: "/db", fileSystem: fs)
            Issue.record("replayed a MANIFEST that drops the default column family")
        } catch let error as StrataError {
            #expect(error.kind == .corruption)
            #expect(error.message.contains("drops the default column family"), "\(error)")
            #expect(error.file == "/db/MANIFEST-000001" && error.offset != nil, "\(error)")
        }
    }
}
