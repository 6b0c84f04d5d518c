import Foundation
import Testing
@testable import Strata

/// External file ingestion across Strata and RocksDB 7.8.3 / 11.8.1: files
/// written by either side ingested by the other, global sequence numbers
/// (in the MANIFEST, and written into the file with write_global_seqno)
/// read the same by both.
@Suite("Ingestion interop with RocksDB 7.8.3 and 11.8.1", .serialized)
struct IngestInteropTests {
    /// `KEY ==> VALUE` lines (ldb's load format) of `pairs`, sorted.
    static func loadLines(_ pairs: [String: String]) -> String {
        pairs.keys.sorted().map { "\($0) ==> \(pairs[$0]!)\n" }.joined()
    }

    static func scanLines(_ pairs: [String: String]) -> [String] {
        pairs.keys.sorted().map { "0x\(hexString(Array($0.utf8))) ==> 0x\(hexString(Array(pairs[$0]!.utf8)))" }
    }

    static func pairs(_ seed: UInt64, count: Int, prefix: String) -> [String: String] {
        var rng = SeededRandom(seed: seed)
        var result: [String: String] = [:]
        for _ in 0..<count { result["\(prefix)\(rng.int(0..<1000))"] = "v\(rng.int(0..<1_000_000))" }
        return result
    }

    @Test("ldb 7.8.3 and 11.8.1 scan what Strata ingested (seqno 0 and a global seqno, with and without write_global_seqno)",
          arguments: [false, true])
    func rocksDBReadsStrataIngestion(writeGlobalSeqno: Bool) throws {
        print("seed: 41")
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        let db = try Database.open(at: path)
        var model = Self.pairs(41, count: 300, prefix: "k")
        for (k, v) in model { try db.put(Array(k.utf8), Array(v.utf8)) }
        try db.flush()
        // One file over the same keys (a global seqno), one beyond them (seqno 0).
        let overwrite = Self.pairs(42, count: 200, prefix: "k")
        let beyond = Self.pairs(43, count: 100, prefix: "z")
        for (name, pairs) in [("over.sst", overwrite), ("beyond.sst", beyond)] {
            let writer = SSTFileWriter()
            try writer.open(dir.file(name))
            for k in pairs.keys.sorted() { try writer.put(Array(k.utf8), Array(pairs[k]!.utf8)) }
            try writer.finish()
            model.merge(pairs) { _, new in new }
        }
        try db.put(Array("k1".utf8), Array("memtable".utf8))
        model["k1"] = overwrite["k1"] ?? "memtable"
        var options = IngestExternalFileOptions()
        options.writeGlobalSeqno = writeGlobalSeqno
        try db.ingestExternalFiles(paths: [dir.file("over.sst")], options: options)
        try db.ingestExternalFiles(paths: [dir.file("beyond.sst")], options: options)
        let sequences = Set(db.versions.current()?.allFiles.map(\.meta.largestSequence) ?? [])
        #expect(sequences.contains(0) && sequences.count >= 3)
        #expect(try Peers.strataScanLines(db) == Self.scanLines(model))
        try db.close()
        for version in ["7.8.3", "11.8.1"] {
            let scan = try Peers.ldb(version, ["--db=\(path)", "--hex", "scan"])
            #expect(Peers.lines(scan) == Self.scanLines(model), "ldb \(version): \(scan.stderr)")
        }
    }

    @Test("Strata scans a database RocksDB 7.8.3's ldb ingested into (write_global_seqno true and false)",
          arguments: [true, false])
    func strataReadsRocksDB7Ingestion(writeGlobalSeqno: Bool) throws {
        print("seed: 51")
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        var model = Self.pairs(51, count: 200, prefix: "k")
        let load = try RocksDBTools.run("ldb", ["--db=\(path)", "--create_if_missing", "load"], input: Self.loadLines(model))
        #expect(load.status == 0, "\(load.all)")
        let external = Self.pairs(52, count: 150, prefix: "k")
        let write = try RocksDBTools.run("ldb", ["--db=\(path)", "write_extern_sst", dir.file("x.sst")],
                                         input: Self.loadLines(external))
        #expect(write.status == 0, "\(write.all)")
        let ingest = try RocksDBTools.run("ldb", [
            "--db=\(path)", "ingest_extern_sst", dir.file("x.sst"), "--write_global_seqno=\(writeGlobalSeqno)",
        ])
        #expect(ingest.all.contains("external SST files ingested"), "\(ingest.all)")
        model.merge(external) { _, new in new }
        let db = try Database.open(at: path)
        #expect(try Peers.strataScanLines(db) == Self.scanLines(model))
        #expect(db.versions.current()?.allFiles.contains { $0.meta.largestSequence > 0 && $0.meta.smallestSequence == $0.meta.largestSequence } == true)
        try db.compactRange()
        #expect(try Peers.strataScanLines(db) == Self.scanLines(model))
        try db.close()
    }

    @Test("strata ingest_extern_sst takes RocksDB 11.8.1's write_extern_sst file (format_version 5 from Strata's OPTIONS); both ldbs agree")
    func strataIngestsRocksDB11File() throws {
        print("seed: 61")
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        var model = Self.pairs(61, count: 200, prefix: "k")
        let load = try StrataTools.run("strata", ["--db=\(path)", "--create_if_missing", "load"], input: Self.loadLines(model))
        #expect(load.status == 0, "\(load.all)")
        // 11.8.1's ldb takes format_version=5 from the OPTIONS file Strata wrote.
        let external = Self.pairs(62, count: 150, prefix: "k")
        let write = try Peers.ldb11(["--db=\(path)", "--try_load_options", "write_extern_sst", dir.file("x.sst")],
                                    input: Self.loadLines(external))
        #expect(write.status == 0, "\(write.all)")
        let reader = try TableReader.open(path: dir.file("x.sst"))
        #expect(reader.footer.formatVersion <= 5)
        #expect(reader.properties.externalSstFileVersion == 2)
        let ingest = try StrataTools.run("strata", ["--db=\(path)", "ingest_extern_sst", dir.file("x.sst")])
        #expect(ingest.stdout.contains("external SST files ingested"), "\(ingest.all)")
        model.merge(external) { _, new in new }
        for version in ["7.8.3", "11.8.1"] {
            let scan = try Peers.ldb(version, ["--db=\(path)", "--hex", "scan"])
            #expect(Peers.lines(scan) == Self.scanLines(model), "ldb \(version): \(scan.stderr)")
        }
        // And 11.8.1's ldb ingesting into the Strata database.
        let more = Self.pairs(63, count: 50, prefix: "k")
        let write2 = try Peers.ldb11(["--db=\(path)", "--try_load_options", "write_extern_sst", dir.file("y.sst")],
                                     input: Self.loadLines(more))
        #expect(write2.status == 0, "\(write2.all)")
        let ingest2 = try Peers.ldb11(["--db=\(path)", "--try_load_options", "ingest_extern_sst", dir.file("y.sst")])
        #expect(ingest2.all.contains("external SST files ingested"), "\(ingest2.all)")
        model.merge(more) { _, new in new }
        let db = try Database.open(at: path)
        #expect(try Peers.strataScanLines(db) == Self.scanLines(model))
        try db.close()
    }

    @Test("strata write_extern_sst writes a file for a column family; RocksDB 7.8.3 ingests it into its family of that id")
    func strataFileForAFamily() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let strataDB = dir.file("strata")
        #expect(try StrataTools.run("strata", ["--db=\(strataDB)", "--create_if_missing", "create_column_family", "c1"]).status == 0)
        let pairs = Self.pairs(71, count: 80, prefix: "k")
        let write = try StrataTools.run("strata", ["--db=\(strataDB)", "--column_family=c1", "write_extern_sst", dir.file("c1.sst")],
                                        input: Self.loadLines(pairs))
        #expect(write.status == 0, "\(write.all)")
        let reader = try TableReader.open(path: dir.file("c1.sst"))
        #expect(reader.properties.columnFamilyID == 1)
        let rocks = dir.file("rocks")
        #expect(try RocksDBTools.run("ldb", ["--db=\(rocks)", "--create_if_missing", "put", "z", "9"]).status == 0)
        #expect(try RocksDBTools.run("ldb", ["--db=\(rocks)", "create_column_family", "c1"]).status == 0)
        let ingest = try RocksDBTools.run("ldb", ["--db=\(rocks)", "--column_family=c1", "ingest_extern_sst", dir.file("c1.sst")])
        #expect(ingest.all.contains("external SST files ingested"), "\(ingest.all)")
        let scan = try RocksDBTools.run("ldb", ["--db=\(rocks)", "--column_family=c1", "--hex", "scan"])
        #expect(Peers.lines(scan) == Self.scanLines(pairs))
        // Strata ingests it into its own c1 (id 1), but not into the default family.
        let again = try StrataTools.run("strata", ["--db=\(strataDB)", "--column_family=c1", "ingest_extern_sst",
                                                   dir.file("c1.sst")])
        #expect(again.status == 0, "\(again.all)")
        let wrong = try StrataTools.run("strata", ["--db=\(strataDB)", "ingest_extern_sst", dir.file("c1.sst")])
        #expect(wrong.status != 0 && wrong.stderr.contains("column family id don't match"), "\(wrong.all)")
    }

    @Test("RocksDB 11.8.1's default external file (format_version 7) ingests into Strata")
    func rocksDB11DefaultFormat() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let source = dir.file("source")
        let load = try Peers.ldb11(["--db=\(source)", "--create_if_missing", "load"], input: "a ==> 1\n")
        #expect(load.status == 0)
        let write = try Peers.ldb11(["--db=\(source)", "write_extern_sst", dir.file("x.sst")], input: "b ==> 2\n")
        #expect(write.status == 0)
        // The file is RocksDB 11's default: format_version 7.
        #expect(try TableReader.open(path: dir.file("x.sst")).footer.formatVersion == 7)
        let db = try Database.open(at: dir.file("db"))
        defer { try? db.close() }
        try db.ingestExternalFiles(paths: [dir.file("x.sst")])
        #expect(try db.get(Array("b".utf8)) == Array("2".utf8))
    }
}
