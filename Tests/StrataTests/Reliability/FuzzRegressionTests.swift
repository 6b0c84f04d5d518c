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
}
