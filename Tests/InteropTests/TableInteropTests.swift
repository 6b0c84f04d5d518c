import Foundation
import Testing
@testable import Strata

/// RocksDB's own tools judge the tables Strata writes, and Strata reads
/// tables RocksDB writes with settings other than the vectors'.
@Suite("Table interop with RocksDB 7.8.3", .serialized)
struct TableInteropTests {
    /// Random sorted entries: binary keys (the empty key, 0xFF runs, up to
    /// 4 KiB), values from 0 bytes to 1 MiB.
    static func randomEntries(_ rng: inout SeededRandom, count: Int) -> [([UInt8], [UInt8])] {
        var keys = Set<[UInt8]>([[], [0xFF], [0xFF, 0xFF, 0xFF]])
        while keys.count < count {
            switch rng.int(0..<10) {
            case 0: keys.insert(rng.bytes(rng.int(1..<4096)))
            case 1: keys.insert([0xFF] + rng.bytes(rng.int(0..<5)))
            default: keys.insert(rng.bytes(rng.int(1..<24)))
            }
        }
        return keys.sorted { Bytewise.compare($0, $1) < 0 }.map { key in
            let size = rng.int(0..<100) == 0 ? rng.int(0..<(1 << 20) + 1) : rng.int(0..<300)
            return (key, rng.bytes(size))
        }
    }

    @Test("our tables pass sst_dump verification and scan to exactly the input, for every checksum and compression")
    func ourTablesVerify() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        var round: UInt64 = 0
        for checksum in [ChecksumType.xxh3, .crc32c, .xxHash, .xxHash64] {
            for compression in [CompressionType.snappy, .none] {
                round += 1
                var rng = SeededRandom(seed: round)
                print("seed \(round): \(checksum) \(compression)")
                let entries = Self.randomEntries(&rng, count: 300)
                var options = TableOptions()
                options.checksum = checksum
                options.compression = compression
                options.formatVersion = UInt32(2 + (round % 4))
                let path = dir.file("t\(round).sst")
                let writer = SSTFileWriter(options: options)
                try writer.open(path)
                for (k, v) in entries { try writer.put(k, v) }
                try writer.finish()

                let (ok, text) = try RocksDBTools.verifies(path)
                #expect(ok, "sst_dump verify failed: \(text.suffix(400))")
                let expected = entries.map { "'\(hexString($0.0))' seq:0, type:1 => \(hexString($0.1))" }
                #expect(try RocksDBTools.scanHex(path) == expected)
            }
        }
    }

    @Test("RocksDB ingests our SSTFileWriter output and finds every key through our bloom filter")
    func ingestAndQuery() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        var rng = SeededRandom(seed: 77)
        print("seed 77")
        let db = dir.file("db")
        _ = try RocksDBTools.run("ldb", ["--db=\(db)", "--create_if_missing", "put", "seed", "row"])
        // Printable keys so `ldb query` can name them; some share prefixes.
        var keys = Set<String>()
        while keys.count < 2000 { keys.insert("user/\(rng.int(0..<1_000_000))/\(rng.int(0..<100))") }
        let sorted = keys.sorted()
        let path = dir.file("ingest.sst")
        let writer = SSTFileWriter()
        try writer.open(path)
        for k in sorted { try writer.put(Array(k.utf8), Array("value-of-\(k)".utf8)) }
        try writer.finish()
        let ingest = try RocksDBTools.run("ldb", ["--db=\(db)", "ingest_extern_sst", path])
        #expect(ingest.status == 0, "ingest failed: \(ingest.all)")
        let queries = sorted.map { "get \($0)" }.joined(separator: "\n") + "\n"
        let out = try RocksDBTools.run("ldb", ["--db=\(db)", "--bloom_bits=10", "query"], input: queries)
        let found = out.stdout.split(separator: "\n").filter { $0.contains("value-of-") }.count
        #expect(found == sorted.count, "found \(found) of \(sorted.count): \(out.all.prefix(300))")
        #expect(!out.all.contains("Not found"))
    }

    @Test("SSTFileWriter writes the properties ldb write_extern_sst writes")
    func externalProperties() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let db = dir.file("db")
        _ = try RocksDBTools.run("ldb", ["--db=\(db)", "--create_if_missing", "put", "a", "b"])
        let theirs = dir.file("theirs.sst")
        _ = try RocksDBTools.run("ldb", ["--db=\(db)", "write_extern_sst", theirs], input: "k1 ==> v1\nk2 ==> v2\n")
        let ours = dir.file("ours.sst")
        var options = TableOptions()
        options.bloomBitsPerKey = 0  // ldb's default options have no filter
        options.mergeOperatorName = "StringAppendOperator"
        let writer = SSTFileWriter(options: options)
        try writer.open(ours)
        try writer.put(Array("k1".utf8), Array("v1".utf8))
        try writer.put(Array("k2".utf8), Array("v2".utf8))
        try writer.finish()
        let a = try TableReader.open(path: theirs).properties
        let b = try TableReader.open(path: ours).properties
        #expect(a.externalSstFileVersion == b.externalSstFileVersion)
        #expect(a.externalSstFileGlobalSeqno == b.externalSstFileGlobalSeqno)
        #expect(a.numEntries == b.numEntries && a.rawKeySize == b.rawKeySize && a.rawValueSize == b.rawValueSize)
        #expect(a.columnFamilyName == b.columnFamilyName && a.columnFamilyID == b.columnFamilyID)
        #expect(a.indexKeyIsUserKey == b.indexKeyIsUserKey && a.indexValueIsDeltaEncoded == b.indexValueIsDeltaEncoded)
        #expect(a.dataSize == b.dataSize, "same entries, same data block bytes")
        #expect(a.indexSize == b.indexSize)
        #expect(try RocksDBTools.scanHex(theirs) == (try RocksDBTools.scanHex(ours)))
    }

    @Test("tables RocksDB writes with db_bench settings read back exactly", arguments: [
        ["--compression_type=none", "--checksum_type=1", "--format_version=5"],
        ["--compression_type=snappy", "--checksum_type=2", "--format_version=4", "--index_block_restart_interval=8"],
        ["--compression_type=snappy", "--checksum_type=3", "--format_version=3", "--bloom_bits=0"],
        ["--compression_type=snappy", "--checksum_type=4", "--format_version=5", "--block_size=512"],
    ])
    func rocksDBTablesRead(settings: [String]) throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let db = dir.file("bench")
        let out = try RocksDBTools.run("db_bench", [
            "--benchmarks=fillrandom", "--num=3000", "--db=\(db)", "--value_size=50", "--key_size=16",
            "--bloom_bits=10", "--write_buffer_size=65536", "--disable_auto_compactions=true", "--seed=5",
        ] + settings)
        #expect(out.status == 0, "db_bench failed: \(out.all.suffix(300))")
        let tables = try FileManager.default.contentsOfDirectory(atPath: db).filter { $0.hasSuffix(".sst") }.sorted()
        #expect(!tables.isEmpty)
        for name in tables {
            let path = db + "/" + name
            let table = try TableReader.open(path: path)
            var lines: [String] = []
            let it = table.makeIterator()
            it.seekToFirst()
            while it.isValid {
                let parsed = ParsedInternalKey(it.key)!
                lines.append("'\(hexString(Array(parsed.userKey)))' seq:\(parsed.sequence), type:\(parsed.typeCode) => \(hexString(Array(it.value)))")
                it.next()
            }
            #expect(it.error == nil)
            #expect(lines == (try RocksDBTools.scanHex(path)), "\(name) with \(settings)")
            // Every key passes our reading of RocksDB's filter.
            it.seekToFirst()
            while it.isValid {
                #expect(table.mayContain(userKey: InternalKey.userKey(it.key)))
                it.next()
            }
        }
    }
}
