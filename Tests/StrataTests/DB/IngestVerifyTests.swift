import Foundation
import Testing
@testable import Strata

/// `Database.verify` on ingested and imported tables: a global seqno written
/// into the properties block after its checksum (write_global_seqno, as
/// RocksDB does in place) is not damage, as RocksDB's `VerifyChecksum`
/// accepts it; any other change of that block still is.
@Suite("Verify after ingestion and import")
struct IngestVerifyTests {
    /// Ingests one external file into a database holding an overlapping key,
    /// so the file gets a global seqno > 0; returns the ingested table's path
    /// and its largest sequence.
    static func ingest(into path: String, external: String, writeGlobalSeqno: Bool) throws -> (table: String, sequence: UInt64) {
        let db = try Database.open(at: path)
        defer { try? db.close() }
        try db.put(Array("k".utf8), Array("old".utf8))
        try IngestTests.writeExternal(external, [("a", "1"), ("k", "new")])
        var options = IngestExternalFileOptions()
        options.writeGlobalSeqno = writeGlobalSeqno
        try db.ingestExternalFiles(paths: [external], options: options)
        let file = try #require(db.versions.current()?.allFiles.first { $0.meta.largestSequence > 1 })
        #expect(try IngestTests.get(db, "k") == "new")
        return (Path.join(path, DBFileName.table(file.number)), file.meta.largestSequence)
    }

    static func damagedNames(_ report: VerifyReport) -> [String] { report.damaged.map(\.name) }

    @Test("an ingested table verifies, with and without the seqno written into the file", arguments: [true, false])
    func ingestedTableVerifies(writeGlobalSeqno: Bool) throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let (table, sequence) = try Self.ingest(into: dir.file("db"), external: dir.file("x.sst"),
                                                writeGlobalSeqno: writeGlobalSeqno)
        let reader = try TableReader.open(path: table)
        #expect(reader.properties.externalSstFileGlobalSeqno == (writeGlobalSeqno ? sequence : 0))
        try reader.verifyAll()
        #expect(try reader.allBlocks().allSatisfy(\.checksumMatches))
        let report = try Database.verify(at: dir.file("db"))
        #expect(report.isHealthy, "\(report)")
        // It still opens and reads.
        let db = try Database.open(at: dir.file("db"))
        #expect(try IngestTests.get(db, "k") == "new")
        try db.close()
    }

    @Test("a bit flip in the rewritten properties block is still damage, inside the seqno field or outside it")
    func bitFlipInPropertiesBlock() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let (table, _) = try Self.ingest(into: dir.file("db"), external: dir.file("x.sst"), writeGlobalSeqno: true)
        let reader = try TableReader.open(path: table)
        let field = try #require(try reader.globalSeqnoFieldOffset())
        let handle = try #require(reader.metaindex.first { $0.name == "rocksdb.properties" }?.handle)
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: table)))
        // Outside the field (the block's first bytes: its first entry's
        // lengths and key), and inside it (the MANIFEST's sequence then
        // disagrees with the property).
        let outside = Int(handle.offset) + 4
        #expect(!(Int(field)..<Int(field) + 8).contains(outside))
        for position in [outside, Int(field) + 1] {
            var bytes = original
            bytes[position] ^= 0x10
            try Data(bytes).write(to: URL(fileURLWithPath: table))
            let report = try Database.verify(at: dir.file("db"))
            #expect(Self.damagedNames(report) == [(table as NSString).lastPathComponent], "\(report)")
            if case .damaged(let error) = report.damaged.first?.status {
                #expect(error.kind == .corruption)
            }
        }
        try Data(original).write(to: URL(fileURLWithPath: table))
        #expect(try Database.verify(at: dir.file("db")).isHealthy)
    }

    @Test("an ingested table imported into another database's column family verifies")
    func importedIngestedTableVerifies() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let (table, sequence) = try Self.ingest(into: dir.file("source"), external: dir.file("x.sst"),
                                                writeGlobalSeqno: true)
        let copy = dir.file("export.sst")
        try FileManager.default.copyItem(atPath: table, toPath: copy)
        let db = try Database.open(at: dir.file("target"))
        let family = try db.createColumnFamilyWithImport(
            named: "imported",
            files: [ImportedTableFile(path: copy, level: 6, smallestSequence: sequence, largestSequence: sequence)])
        #expect(try family.get(Array("k".utf8)) == Array("new".utf8))
        try db.close()
        let report = try Database.verify(at: dir.file("target"))
        #expect(report.isHealthy, "\(report)")
    }
}
