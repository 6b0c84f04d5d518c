import Foundation
import Testing
@testable import Strata

/// External file ingestion and column-family import: level and sequence
/// number assignment as RocksDB's ingestion job does, snapshot visibility,
/// refusals that leave nothing behind, and reopening after ingestion.
@Suite("External file ingestion")
struct IngestTests {
    /// Writes an external file of `entries` (nil value = deletion) with SSTFileWriter.
    @discardableResult
    static func writeExternal(_ path: String, _ entries: [(String, String?)], columnFamilyID: UInt32? = nil,
                              rangeDeletion: (String, String)? = nil) throws -> ExternalSSTFileInfo {
        var options = TableOptions()
        if let columnFamilyID { options.columnFamilyID = columnFamilyID }
        let writer = SSTFileWriter(options: options)
        try writer.open(path)
        for (k, v) in entries.sorted(by: { $0.0 < $1.0 }) {
            if let v { try writer.put(Array(k.utf8), Array(v.utf8)) } else { try writer.delete(Array(k.utf8)) }
        }
        if let (b, e) = rangeDeletion { try writer.deleteRange(from: Array(b.utf8), to: Array(e.utf8)) }
        return try writer.finish()
    }

    static func get(_ db: Database, _ key: String, snapshot: Snapshot? = nil) throws -> String? {
        var options = ReadOptions()
        options.snapshot = snapshot
        return try db.get(Array(key.utf8), options: options).map { String(decoding: $0, as: UTF8.self) }
    }

    /// (level, smallest sequence, largest sequence) of each file holding `number`s.
    static func placement(_ db: Database, family: UInt32 = 0) -> [(level: Int, sequence: UInt64)] {
        let version = db.versions.current(columnFamily: family) ?? .empty
        var result: [(Int, UInt64)] = []
        for (level, files) in version.levels.enumerated() {
            for f in files { result.append((level, f.meta.largestSequence)) }
        }
        return result
    }

    static func tables(_ dir: String) throws -> Set<String> {
        Set(try PosixFileSystem.shared.listDirectory(dir).filter { $0.hasSuffix(".sst") })
    }

    @Test("into an empty database: the last level at sequence 0, visible to existing snapshots only without snapshot consistency")
    func emptyDatabase() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"))
        defer { try? db.close() }
        try Self.writeExternal(dir.file("a.sst"), [("a", "1"), ("b", "2")])
        let before = db.versions.lastSequence
        try db.ingestExternalFiles(paths: [dir.file("a.sst")])
        #expect(Self.placement(db).map(\.level) == [Version.levelCount - 1])
        #expect(Self.placement(db).map(\.sequence) == [0])
        #expect(db.versions.lastSequence == before)
        #expect(try Self.get(db, "a") == "1")
        #expect(FileManager.default.fileExists(atPath: dir.file("a.sst")), "copied, not moved")

        // A snapshot: with snapshot consistency the next file gets a new
        // sequence number the snapshot cannot see.
        let snapshot = db.snapshot()
        defer { snapshot.release() }
        try Self.writeExternal(dir.file("c.sst"), [("c", "3")])
        try db.ingestExternalFiles(paths: [dir.file("c.sst")])
        #expect(try Self.get(db, "c") == "3")
        #expect(try Self.get(db, "c", snapshot: snapshot) == nil)
        #expect(db.versions.lastSequence == before + 1)
        // Without it, a non-overlapping file takes sequence 0: every snapshot sees it.
        var options = IngestExternalFileOptions()
        options.snapshotConsistency = false
        try Self.writeExternal(dir.file("d.sst"), [("d", "4")])
        try db.ingestExternalFiles(paths: [dir.file("d.sst")], options: options)
        #expect(try Self.get(db, "d", snapshot: snapshot) == "4")
    }

    @Test("overlapping the memtable: flushed first, the file gets the next sequence number and wins; later writes win over it")
    func overlapMemtable() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"))
        defer { try? db.close() }
        try db.put(Array("b".utf8), Array("old".utf8))
        try db.put(Array("z".utf8), Array("keep".utf8))
        let last = db.versions.lastSequence
        try Self.writeExternal(dir.file("x.sst"), [("a", "1"), ("b", "new"), ("c", nil)])
        try db.put(Array("c".utf8), Array("deleted by the file".utf8))

        var refuse = IngestExternalFileOptions()
        refuse.allowBlockingFlush = false
        #expect(throws: StrataError.self) { try db.ingestExternalFiles(paths: [dir.file("x.sst")], options: refuse) }

        try db.ingestExternalFiles(paths: [dir.file("x.sst")])
        let ingested = Self.placement(db).filter { $0.sequence == last + 2 }
        #expect(ingested.count == 1 && ingested[0].level == 0)
        #expect(try Self.get(db, "b") == "new")
        #expect(try Self.get(db, "c") == nil)
        #expect(try Self.get(db, "z") == "keep")
        try db.put(Array("b".utf8), Array("newest".utf8))
        #expect(try Self.get(db, "b") == "newest")
        let scan = try db.makeIterator().contents()
        #expect(scan[Array("a".utf8)] == Array("1".utf8))
        #expect(scan[Array("c".utf8)] == nil)
    }

    @Test("overlapping a level: placed above it with a new sequence; a gap-free range goes below the data")
    func overlapLevels() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"))
        defer { try? db.close() }
        for k in ["d", "e", "f"] { try db.put(Array(k.utf8), Array("old".utf8)) }
        try db.compactRange()
        let dataLevel = try #require(Self.placement(db).first?.level)
        // Range [a, c] meets no key: it fits in the data's level, at sequence 0.
        try Self.writeExternal(dir.file("low.sst"), [("a", "1"), ("c", "3")])
        try db.ingestExternalFiles(paths: [dir.file("low.sst")])
        #expect(Self.placement(db).contains { $0.level == dataLevel && $0.sequence == 0 })
        // [e, e] overlaps a key of that level: above it, newer than it.
        try Self.writeExternal(dir.file("high.sst"), [("e", "new")])
        let last = db.versions.lastSequence
        try db.ingestExternalFiles(paths: [dir.file("high.sst")])
        #expect(Self.placement(db).contains { $0.level < dataLevel && $0.sequence == last + 1 })
        #expect(try Self.get(db, "e") == "new")
        #expect(try Self.get(db, "d") == "old")

        var noSeqno = IngestExternalFileOptions()
        noSeqno.allowGlobalSeqno = false
        try Self.writeExternal(dir.file("again.sst"), [("f", "x")])
        let before = try Self.tables(dir.file("db"))
        #expect(throws: StrataError.self) {
            try db.ingestExternalFiles(paths: [dir.file("again.sst")], options: noSeqno)
        }
        #expect(try Self.tables(dir.file("db")) == before, "a refused ingestion leaves no file behind")
        #expect(try Self.get(db, "f") == "old")
    }

    @Test("files overlapping each other: all to L0, each a new sequence number, later files win")
    func filesOverlapEachOther() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"))
        defer { try? db.close() }
        try Self.writeExternal(dir.file("1.sst"), [("a", "first"), ("m", "first")])
        try Self.writeExternal(dir.file("2.sst"), [("m", "second"), ("z", "second")])
        let last = db.versions.lastSequence
        try db.ingestExternalFiles(paths: [dir.file("1.sst"), dir.file("2.sst")])
        #expect(Set(Self.placement(db).map(\.level)) == [0])
        #expect(Set(Self.placement(db).map(\.sequence)) == [last + 1, last + 2])
        #expect(try Self.get(db, "m") == "second")
        #expect(try Self.get(db, "a") == "first")
    }

    @Test("reopen sees ingested files with their sequence numbers; compaction keeps the result")
    func reopen() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var db = try Database.open(at: dir.file("db"))
        try db.put(Array("k".utf8), Array("old".utf8))
        try db.flush()
        try Self.writeExternal(dir.file("x.sst"), [("k", "new")], rangeDeletion: ("p", "r"))
        try db.put(Array("q".utf8), Array("doomed".utf8))
        try db.flush()
        try db.ingestExternalFiles(paths: [dir.file("x.sst")])
        #expect(try Self.get(db, "q") == nil, "the file's range tombstone takes its global sequence number")
        try db.close()
        db = try Database.open(at: dir.file("db"))
        #expect(try Self.get(db, "k") == "new")
        #expect(try Self.get(db, "q") == nil)
        // The MANIFEST recorded a last sequence at or above the file's: new writes are newer.
        let ingested = try #require(db.versions.current()?.allFiles.map(\.meta.largestSequence).max())
        #expect(db.versions.lastSequence >= ingested)
        try db.put(Array("q".utf8), Array("back".utf8))
        #expect(try Self.get(db, "q") == "back")
        try db.compactRange()
        #expect(try Self.get(db, "k") == "new")
        #expect(try Self.get(db, "q") == "back")
        try db.close()
    }

    @Test("a failed ingestion (one damaged file, a foreign column family, an empty list) changes nothing")
    func failuresLeaveNothing() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"))
        defer { try? db.close() }
        try db.put(Array("k".utf8), Array("v".utf8))
        try Self.writeExternal(dir.file("good.sst"), [("a", "1")])
        try Self.writeExternal(dir.file("bad.sst"), [("b", "2")])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.file("bad.sst")))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: dir.file("bad.sst")))
        let before = try Self.tables(dir.file("db"))
        let last = db.versions.lastSequence
        #expect(throws: StrataError.self) {
            try db.ingestExternalFiles(paths: [dir.file("good.sst"), dir.file("bad.sst")])
        }
        #expect(throws: StrataError.self) { try db.ingestExternalFiles(paths: []) }
        let family = try db.createColumnFamily(named: "other")
        try Self.writeExternal(dir.file("cf.sst"), [("c", "3")], columnFamilyID: 0)
        #expect(throws: StrataError.self) {
            try db.ingestExternalFiles(paths: [dir.file("cf.sst")], columnFamily: family)
        }
        var behind = IngestExternalFileOptions()
        behind.ingestBehind = true
        #expect(throws: StrataError.self) { try db.ingestExternalFiles(paths: [dir.file("good.sst")], options: behind) }
        #expect(try Self.tables(dir.file("db")) == before)
        #expect(db.versions.lastSequence == last)
        #expect(try Self.get(db, "a") == nil)
        // A file written for that family (or for no family) is accepted.
        try Self.writeExternal(dir.file("cf2.sst"), [("c", "3")], columnFamilyID: family.id)
        try db.ingestExternalFiles(paths: [dir.file("cf2.sst")], columnFamily: family)
        #expect(try family.get(Array("c".utf8)) == Array("3".utf8))
    }

    @Test("moveFiles links and removes the caller's file; writeGlobalSeqno writes the property in the database's copy only")
    func moveAndWriteSeqno() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"))
        defer { try? db.close() }
        try db.put(Array("k".utf8), Array("old".utf8))
        try Self.writeExternal(dir.file("x.sst"), [("k", "new")])
        let original = try Data(contentsOf: URL(fileURLWithPath: dir.file("x.sst")))
        try FileManager.default.copyItem(atPath: dir.file("x.sst"), toPath: dir.file("keep.sst"))
        var options = IngestExternalFileOptions()
        options.moveFiles = true
        options.writeGlobalSeqno = true
        try db.ingestExternalFiles(paths: [dir.file("x.sst")], options: options)
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.sst")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("keep.sst"))) == original)
        let file = try #require(db.versions.current()?.allFiles.first { $0.meta.largestSequence > 1 })
        let reader = try TableReader.open(path: Path.join(dir.file("db"), DBFileName.table(file.number)))
        #expect(reader.properties.externalSstFileGlobalSeqno == file.meta.largestSequence)
        #expect(reader.globalSequence == file.meta.largestSequence)
        #expect(try Self.get(db, "k") == "new")
    }

    @Test("createColumnFamilyWithImport: another database's tables at their levels and sequence numbers")
    func importFamily() throws {
        let seed: UInt64 = 2207
        print("seed: \(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory()
        defer { dir.remove() }
        var sourceOptions = Options()
        sourceOptions.writeBufferSize = 16 << 10
        let source = try Database.open(at: dir.file("source"), options: sourceOptions)
        var model: [[UInt8]: [UInt8]] = [:]
        for _ in 0..<2000 {
            let key = Array("key\(rng.int(0..<500))".utf8)
            let value = rng.bytes(rng.int(1..<40))
            try source.put(key, value)
            model[key] = value
        }
        try source.flush()
        try source.waitForBackgroundWork()
        let version = try #require(source.versions.current())
        var files: [ImportedTableFile] = []
        for (level, levelFiles) in version.levels.enumerated() {
            for f in levelFiles {
                let copy = dir.file("export-\(f.number).sst")
                try FileManager.default.copyItem(atPath: Path.join(dir.file("source"), DBFileName.table(f.number)),
                                                 toPath: copy)
                files.append(ImportedTableFile(path: copy, level: level, smallestSequence: f.meta.smallestSequence,
                                               largestSequence: f.meta.largestSequence))
            }
        }
        let sourceLast = source.versions.lastSequence
        try source.close()

        let db = try Database.open(at: dir.file("target"))
        defer { try? db.close() }
        // Two files of one level ≥ 1 that overlap: refused, no family left.
        if let first = files.first {
            var bad = first
            bad.level = 1
            #expect(throws: StrataError.self) {
                try db.createColumnFamilyWithImport(named: "bad", files: [bad, bad])
            }
            #expect(db.columnFamily(named: "bad") == nil)
        }
        let family = try db.createColumnFamilyWithImport(named: "imported", files: files, moveFiles: true)
        #expect(db.versions.lastSequence >= sourceLast)
        #expect(try family.makeIterator().contents() == model)
        try family.put(Array("key1".utf8), Array("later".utf8))
        #expect(try family.get(Array("key1".utf8)) == Array("later".utf8))
    }

    @Test("a global seqno written in place (RocksDB's write_global_seqno, checksum left as it was) reads; other damage does not")
    func inPlaceGlobalSeqno() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        try Self.writeExternal(dir.file("x.sst"), [("a", "1"), ("b", "2")])
        let offset = try #require(try TableReader.open(path: dir.file("x.sst")).globalSeqnoFieldOffset())
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("x.sst"))))
        var seqno: [UInt8] = []
        seqno.appendFixed64(77)
        bytes.replaceSubrange(Int(offset)..<Int(offset) + 8, with: seqno)
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("patched.sst")))
        let reader = try TableReader.open(path: dir.file("patched.sst"))
        #expect(reader.globalSequence == 77)
        let it = reader.makeIterator()
        it.seekToFirst()
        #expect(ParsedInternalKey(it.key)?.sequence == 77)
        // The MANIFEST must agree: a different largest sequence is corruption.
        var options = TableReaderOptions()
        options.largestSequence = 76
        #expect(throws: StrataError.self) { try TableReader.open(path: dir.file("patched.sst"), options: options) }
        // A flipped byte elsewhere in the properties block still fails its checksum.
        bytes[Int(offset) - 3] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("damaged.sst")))
        #expect(throws: StrataError.self) { try TableReader.open(path: dir.file("damaged.sst")) }
    }
}
