import Foundation
import Testing
@testable import Strata

/// A Strata directory is a RocksDB directory: RocksDB 7.8.3's `ldb` and
/// `sst_dump` open what Strata writes (tables, MANIFEST, WAL), and Strata
/// opens what RocksDB writes — in both directions, on the same directory.
@Suite("Database interop with RocksDB 7.8.3", .serialized)
struct DatabaseInteropTests {
    /// `ldb scan --hex` lines (`0xKEY : 0xVALUE`) for a model.
    static func expectedScan(_ model: [[UInt8]: [UInt8]]) -> [String] {
        model.keys.sorted { Bytewise.compare($0, $1) < 0 }.map { k in
            "0x\(hexString(k)) : 0x\(hexString(model[k]!))"
        }
    }

    static func ldbScan(_ db: String) throws -> [String] {
        let out = try RocksDBTools.run("ldb", ["--db=\(db)", "--try_load_options=false", "--hex", "scan"])
        #expect(out.status == 0, "ldb scan failed: \(out.all)")
        return out.stdout.split(separator: "\n").map(String.init)
    }

    static func strataScan(_ db: Database) throws -> [[UInt8]: [UInt8]] {
        try db.makeIterator().contents()
    }

    @Test("ldb reads a Strata database (puts, deletes, range deletions) after flushes and compactions, and rocksdb-check passes")
    func ldbReadsStrata() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        for seed: UInt64 in 1...2 {
            print("seed \(seed)")
            try? FileManager.default.removeItem(atPath: path)
            var rng = SeededRandom(seed: seed)
            var options = Options()
            options.writeBufferSize = 64 << 10
            options.targetFileSizeBase = 64 << 10
            options.maxBytesForLevelBase = 256 << 10
            options.level0FileNumCompactionTrigger = 2
            options.compression = seed == 1 ? .snappy : .none
            options.checksum = seed == 1 ? .xxh3 : .crc32c
            let db = try Database.open(at: path, options: options)
            var model: [[UInt8]: [UInt8]] = [:]
            for i in 0..<6000 {
                let key: [UInt8]
                switch rng.int(0..<20) {
                case 0: key = []
                case 1: key = [0xFF] + rng.bytes(rng.int(0..<3))
                default: key = Array("key\(rng.int(0..<2500))".utf8)
                }
                if rng.int(0..<150) == 0 {
                    // A range deletion: ldb must honour the tombstones in
                    // tables (flushed, compacted, cut at file boundaries)
                    // and in the WAL.
                    let a = Array("key\(rng.int(0..<2500))".utf8)
                    let b = Array("key\(rng.int(0..<2500))".utf8)
                    try db.deleteRange(from: a, to: b)
                    for k in model.keys where Bytewise.compare(k, a) >= 0 && Bytewise.compare(k, b) < 0 { model[k] = nil }
                } else if rng.int(0..<6) == 0 {
                    try db.delete(key)
                    model[key] = nil
                } else {
                    let value = rng.bytes(rng.int(0..<(rng.int(0..<50) == 0 ? 5000 : 80)))
                    try db.put(key, value)
                    model[key] = value
                }
                if i == 3000 { try db.compactRange() }
            }
            // Leave the last writes in the WAL only: RocksDB must replay Strata's WAL.
            try db.close()
            // ldb first, on the WAL as Strata left it (a Strata reopen would
            // flush it into a table first).
            let ldbLines = try Self.ldbScan(path)
            let expectedLines = Self.expectedScan(model)
            #expect(ldbLines == expectedLines, "seed \(seed)")
            if ldbLines != expectedLines {
                print("DIFF ldb-only:", Set(ldbLines).subtracting(expectedLines).sorted().prefix(5))
                print("DIFF expected-only:", Set(expectedLines).subtracting(ldbLines).sorted().prefix(5))
                if let keep = ProcessInfo.processInfo.environment["STRATA_KEEP_FAILED"] {
                    try? FileManager.default.removeItem(atPath: keep)
                    try? FileManager.default.copyItem(atPath: path, toPath: keep)
                }
            }
            let reopened = try Database.open(at: path, options: options)
            #expect(try Self.strataScan(reopened) == model, "seed \(seed): Strata's own scan")
            try reopened.close()

            let check = try RocksDBTools.runExecutable(
                "/bin/bash", [Self.sharedTool("rocksdb-check.sh"), path])
            #expect(check.stdout.contains("rocksdb-check: PASS"), "seed \(seed): \(check.all)")
        }
    }

    @Test("Strata opens a database RocksDB wrote (tables, MANIFEST and a live WAL), and ldb reads Strata's writes back")
    func strataReadsRocksDB() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        var rng = SeededRandom(seed: 42)
        print("seed 42")
        var model: [[UInt8]: [UInt8]] = [:]
        // Bulk load through ldb with a small write buffer: several flushed tables.
        var lines = ""
        for _ in 0..<5000 {
            let key = Array("k\(rng.int(0..<3000))".utf8)
            let value = rng.bytes(rng.int(0..<60))
            model[key] = value
            lines += "0x\(hexString(key)) ==> 0x\(hexString(value))\n"
        }
        let load = try RocksDBTools.run(
            "ldb", ["--db=\(path)", "--create_if_missing", "--hex", "--write_buffer_size=32768", "load"], input: lines)
        #expect(load.status == 0, "ldb load failed: \(load.all)")
        // Single writes through ldb stay in its WAL (ldb does not flush on close).
        for i in 0..<20 {
            let key = Array("wal\(i)".utf8)
            _ = try RocksDBTools.run("ldb", ["--db=\(path)", "put", String(decoding: key, as: UTF8.self), "v\(i)"])
            model[key] = Array("v\(i)".utf8)
        }
        _ = try RocksDBTools.run("ldb", ["--db=\(path)", "delete", "wal3"])
        model[Array("wal3".utf8)] = nil

        let db = try Database.open(at: path)
        #expect(try Self.strataScan(db) == model)
        for (k, v) in model.prefix(200) { #expect(try db.get(k) == v) }
        // Strata writes on top, flushes some, and compacts everything.
        for i in 0..<500 {
            let key = Array("k\(rng.int(0..<3000))".utf8)
            if i % 7 == 0 {
                try db.delete(key)
                model[key] = nil
            } else {
                let value = Array("strata-\(i)".utf8)
                try db.put(key, value)
                model[key] = value
            }
        }
        try db.flush()
        try db.compactRange()
        try db.put(Array("after-compaction".utf8), Array("in-wal".utf8))
        model[Array("after-compaction".utf8)] = Array("in-wal".utf8)
        try db.close()
        #expect(try Self.ldbScan(path) == Self.expectedScan(model))
    }

    @Test("the Strata tool's put/get/scan agree with ldb on the same directory")
    func toolAgreesWithLdb() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        let put = try StrataTools.run("strata", ["--db=\(path)", "--create_if_missing", "put", "alpha", "1"])
        #expect(put.stdout == "OK\n", "\(put.all)")
        _ = try StrataTools.run("strata", ["--db=\(path)", "batchput", "beta", "2", "gamma", "3"])
        _ = try StrataTools.run("strata", ["--db=\(path)", "delete", "beta"])
        let ours = try StrataTools.run("strata", ["--db=\(path)", "scan"])
        let theirs = try RocksDBTools.run("ldb", ["--db=\(path)", "--try_load_options=false", "scan"])
        #expect(ours.stdout == "alpha : 1\ngamma : 3\n")
        #expect(theirs.stdout == ours.stdout, "\(theirs.all)")
        let missing = try StrataTools.run("strata", ["--db=\(path)", "get", "beta"])
        let ldbMissing = try RocksDBTools.run("ldb", ["--db=\(path)", "--try_load_options=false", "get", "beta"])
        #expect(missing.status == ldbMissing.status)
    }

    /// `../shared/tools/NAME` beside the repository, or the workplace's
    /// copy at /work/shared when the repository was cloned elsewhere.
    static func sharedTool(_ name: String) -> String {
        let beside = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/tools").appendingPathComponent(name).path
        if FileManager.default.fileExists(atPath: beside) { return beside }
        return "/work/shared/tools/" + name
    }
}
