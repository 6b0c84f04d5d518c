import Foundation
import Testing
@testable import Strata

/// RocksDB 11.8.1's release tools, from `../shared/peers/rocksdb-11.8.1`
/// beside the package root (CI clones the repository with shared/ next to
/// it), and its reference files from `../shared/vectors/rocksdb-11.8.1`.
enum RocksDB11 {
    /// <package root>/../shared (falls back to /work/shared on the dev machine).
    static let shared: String = {
        // #filePath = <root>/Tests/InteropTests/RocksDB11InteropTests.swift
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let beside = url.deletingLastPathComponent().appendingPathComponent("shared").path
        if FileManager.default.fileExists(atPath: beside + "/peers/rocksdb-11.8.1") { return beside }
        return "/work/shared"
    }()
    static let peers = shared + "/peers/rocksdb-11.8.1"
    static let vectors = shared + "/vectors/rocksdb-11.8.1"

    static func tool(_ name: String) -> String? {
        let path = peers + "/" + name
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// True if the binaries are there; otherwise prints why the tests skip.
    static let available: Bool = {
        if tool("sst_dump") != nil && tool("ldb") != nil { return true }
        print("RocksDB 11.8.1 interop tests skipped: no sst_dump/ldb in \(peers)")
        return false
    }()

    @discardableResult
    static func run(_ name: String, _ args: [String]) throws -> RocksDBTools.Output {
        guard let executable = tool(name) else {
            throw StrataError(.notSupported, "RocksDB 11.8.1 \(name) not found in \(peers)")
        }
        return try RocksDBTools.runExecutable(executable, args)
    }

    /// `ldb --hex scan` lines (11.8.1 prints `0xKEY ==> 0xVALUE`).
    static func ldbScan(_ db: String, family: String? = nil, loadOptions: Bool = false) throws -> [String] {
        var args = ["--db=\(db)", "--hex"]
        if let family { args.append("--column_family=\(family)") }
        if loadOptions { args.append("--try_load_options") }
        args.append("scan")
        let out = try run("ldb", args)
        #expect(out.status == 0, "ldb scan failed: \(out.all.prefix(500))")
        return out.stdout.split(separator: "\n").map(String.init)
    }

    /// A family's contents in ldb's `--hex scan` format.
    static func scanLines(_ family: ColumnFamily) throws -> [String] {
        let it = try family.makeIterator()
        it.seekToFirst()
        var lines: [String] = []
        while it.isValid {
            lines.append("0x\(hexString(it.key)) ==> 0x\(hexString(it.value))")
            it.next()
        }
        try it.status()
        return lines
    }

    /// Copies a vector database into `dir` (shared/ is read-only), writable.
    static func copyDatabase(_ name: String, into dir: InteropDirectory) throws -> String {
        let target = dir.file(name)
        try FileManager.default.copyItem(atPath: vectors + "/" + name, toPath: target)
        for file in try FileManager.default.contentsOfDirectory(atPath: target) {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target + "/" + file)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: target)
        return target
    }
}

/// RocksDB 11.8.1 judges Strata's format_version 6 tables, and Strata opens,
/// reads and writes databases RocksDB 11.8.1 wrote (format_version 7
/// tables, its MANIFEST and WAL records), leaving them readable by its ldb.
@Suite("Interop with RocksDB 11.8.1", .serialized, .enabled(if: RocksDB11.available, "RocksDB 11.8.1 tools not found"))
struct RocksDB11InteropTests {
    init() {
        signal(SIGPIPE, SIG_IGN)
    }

    @Test("RocksDB 11.8.1's sst_dump checks, verifies and scans our format_version 6 tables, every checksum type")
    func sstDumpReadsOurFormatVersion6() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        var round: UInt64 = 600
        for checksum in ChecksumType.allCases {
            for compression in [CompressionType.snappy, .none] {
                round += 1
                var rng = SeededRandom(seed: round)
                print("seed \(round): \(checksum) \(compression)")
                let entries = TableInteropTests.randomEntries(&rng, count: 300)
                var options = TableOptions()
                options.formatVersion = 6
                options.checksum = checksum
                options.compression = compression
                let path = dir.file("fv6-\(round).sst")
                let writer = SSTFileWriter(options: options)
                try writer.open(path)
                for (k, v) in entries { try writer.put(k, v) }
                try writer.finish()

                let check = try RocksDB11.run("sst_dump", ["--file=\(path)", "--command=check", "--verify_checksum"])
                #expect(check.status == 0, "\(check.all.suffix(400))")
                #expect(!check.all.lowercased().contains("corrupt"), "\(check.all.suffix(400))")
                let verify = try RocksDB11.run("sst_dump", ["--file=\(path)", "--command=verify", "--verify_checksum"])
                #expect(verify.all.contains("The file is ok"), "\(verify.all.suffix(400))")
                let scan = try RocksDB11.run("sst_dump", ["--file=\(path)", "--command=scan", "--output_hex"])
                let lines = scan.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("'") }
                #expect(lines == entries.map { "'\(hexString($0.0))' seq:0, type:1 => \(hexString($0.1))" })
                // The price of format_version 6: RocksDB 7.8.3's tools refuse it.
                if round == 601, RocksDBTools.path("sst_dump") != nil {
                    let old = try RocksDBTools.run("sst_dump", ["--file=\(path)", "--command=check"])
                    #expect(old.all.contains("Corrupt or unsupported format_version"), "\(old.all.suffix(300))")
                }
            }
        }
    }

    @Test("a block misplaced in our format_version 6 table is corruption for RocksDB 11.8.1 too")
    func sstDumpCatchesMisplacedBlock() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("misplaced.sst")
        var options = TableOptions()
        options.formatVersion = 6
        options.compression = .none
        options.blockRestartInterval = 1
        options.blockSize = 1024
        let file = try PosixFileSystem.shared.createWritable(path)
        let builder = try TableBuilder(file: file, options: options)
        for i in 0..<300 {
            let key = Array(String(format: "key%08d", i).utf8)
            try builder.add(internalKey: InternalKey.make(key, sequence: 1, type: ValueType.value.rawValue),
                            value: [UInt8](repeating: UInt8(i & 0xFF), count: 50))
        }
        try builder.finish()
        try file.close()
        let table = try TableReader.open(path: path)
        let handles = try table.dataBlockHandles().map(\.handle)
        let (from, to) = (handles[0], handles[2])
        #expect(from.size == to.size)
        var bytes = try table.file.read(at: 0, count: Int(table.fileSize))
        bytes.replaceSubrange(Int(to.offset)..<Int(to.offset + to.size + 5),
                              with: Array(bytes[Int(from.offset)..<Int(from.offset + from.size + 5)]))
        let damaged = try PosixFileSystem.shared.createWritable(path)
        try damaged.append(bytes)
        try damaged.close()
        let verify = try RocksDB11.run("sst_dump", ["--file=\(path)", "--command=verify", "--verify_checksum"])
        #expect(verify.all.contains("checksum mismatch"), "\(verify.all.suffix(400))")
        let ours = try StrataTools.run("sst-dump", ["--file=\(path)", "--command=verify"])
        #expect(ours.status == 1)
        #expect(ours.all.contains("misplaced"), "\(ours.all)")
    }

    @Test("sst-dump prints RocksDB 11.8.1's tables as its sst_dump does, properties included")
    func sstDumpMatchesRocksDB11() throws {
        for name in ["snappy_xxh3_bloom_fv7", "snappy_crc32c_bloom_fv6", "uncompressed_xxhash64_fv6", "uncompressed_xxh3_bloom_fv7"] {
            let path = RocksDB11.vectors + "/\(name).sst"
            for args in [["--show_properties", "--command=check"], ["--command=scan", "--output_hex"]] {
                let theirs = try RocksDB11.run("sst_dump", ["--file=\(path)"] + args)
                let ours = try StrataTools.run("sst-dump", ["--file=\(path)"] + args)
                #expect(ours.status == 0, "\(ours.all)")
                // sst_dump's first line prints a pointer ("options.env is 0x...").
                let theirLines = theirs.stdout.split(separator: "\n", omittingEmptySubsequences: false)
                    .filter { !$0.hasPrefix("options.env") }
                let ourLines = ours.stdout.split(separator: "\n", omittingEmptySubsequences: false)
                #expect(ourLines == theirLines, "\(name) \(args)")
            }
        }
    }

    @Test("tiny_db (RocksDB 11.8.1: format_version 7 table, cf1, WAL tail) opens, reads as ldb does, takes writes, and ldb reads them")
    func tinyDatabase() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = try RocksDB11.copyDatabase("tiny_db", into: dir)
        let expectedDefault = try String(contentsOfFile: RocksDB11.vectors + "/tiny_db.scan.hex.txt", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let expectedCF1 = try String(contentsOfFile: RocksDB11.vectors + "/tiny_db.cf1.scan.hex.txt", encoding: .utf8)
            .split(separator: "\n").map(String.init)

        var options = Options()
        options.formatVersion = 6
        let db = try Database.open(at: path, options: options)
        let cf1 = try #require(db.columnFamily(named: "cf1"))
        #expect(try RocksDB11.scanLines(db.defaultColumnFamily) == expectedDefault)
        #expect(try RocksDB11.scanLines(cf1) == expectedCF1)

        // Writes: a table flushed at format_version 6, a compaction, a WAL tail.
        print("seed 1101")
        var rng = SeededRandom(seed: 1101)
        for i in 0..<400 {
            try db.put(Array("strata-\(i)".utf8), rng.bytes(rng.int(0..<200)))
            try cf1.put(Array("cf1-\(i)".utf8), rng.bytes(rng.int(0..<50)))
        }
        try db.delete(Array("walonly1".utf8))
        try db.flush()
        try db.compactRange()
        try db.put(Array("after-compaction".utf8), Array("wal".utf8))
        let strataDefault = try RocksDB11.scanLines(db.defaultColumnFamily)
        let strataCF1 = try RocksDB11.scanLines(cf1)
        try db.close()
        #expect(strataDefault.count == expectedDefault.count - 1 + 400 + 1)

        // The tables now: RocksDB's format_version 7 ones and Strata's format_version 6 ones.
        var versions = Set<UInt32>()
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.hasSuffix(".sst") {
            versions.insert(try TableReader.open(path: path + "/" + name).footer.formatVersion)
        }
        #expect(versions.contains(6), "\(versions)")

        #expect(try RocksDB11.ldbScan(path) == strataDefault)
        #expect(try RocksDB11.ldbScan(path, family: "cf1") == strataCF1)
        // And Strata reopens what it wrote (now with a MANIFEST of its own).
        let again = try Database.open(at: path, options: options)
        #expect(try RocksDB11.scanLines(again.defaultColumnFamily) == strataDefault)
        try again.close()
    }

    @Test("merge_db (300 merges in RocksDB 11.8.1's WAL) reads with the caller's StringAppend ',' and stays readable by ldb")
    func mergeDatabase() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = try RocksDB11.copyDatabase("merge_db", into: dir)
        let expected = try String(contentsOfFile: RocksDB11.vectors + "/merge_db.scan.hex.txt", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        var options = Options()
        options.mergeOperator = StringAppendOperator(separator: ",")
        let db = try Database.open(at: path, options: options)
        #expect(try RocksDB11.scanLines(db.defaultColumnFamily) == expected)
        // More operands, some flushed to a table, some left in the WAL.
        let keys = expected.prefix(5).map { line -> [UInt8] in
            let hex = Array(line.split(separator: " ")[0].dropFirst(2).utf8)
            return stride(from: 0, to: hex.count - 1, by: 2).compactMap { UInt8(String(decoding: hex[$0...$0 + 1], as: UTF8.self), radix: 16) }
        }
        for key in keys { try db.merge(key, Array("strata".utf8)) }
        try db.flush()
        for key in keys { try db.merge(key, Array("wal".utf8)) }
        let after = try RocksDB11.scanLines(db.defaultColumnFamily)
        try db.close()
        #expect(after.count == expected.count)
        #expect(after[0].hasSuffix(hexString(Array(",strata,wal".utf8))))
        // ldb loads the merge operator from RocksDB's OPTIONS file in the directory.
        #expect(try RocksDB11.ldbScan(path, loadOptions: true) == after)
    }
}
