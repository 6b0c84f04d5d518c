import Foundation
import Testing
@testable import Strata

/// Larger interop tests, still small enough for CI (the suite is meant to run
/// in well under a minute in a debug build): a Strata database with
/// awkward keys and values (the empty key, 0xFF keys, 4 KiB keys, empty and
/// 1 MiB values) checked by RocksDB's own tools, and a database written by
/// RocksDB's `db_bench` opened, read and extended by Strata.
@Suite("Database interop with RocksDB 7.8.3 — larger databases", .serialized)
struct DatabaseInteropLargeTests {
    typealias Model = [[UInt8]: [UInt8]]

    /// The model plus the keys in first-insertion order: picking "an existing
    /// key" from the list keeps the operation stream deterministic
    /// (dictionary order is not).
    struct KeyedModel {
        var entries: Model = [:]
        var keys: [[UInt8]] = []
        var known: Set<[UInt8]> = []

        mutating func put(_ key: [UInt8], _ value: [UInt8]) {
            entries[key] = value
            if known.insert(key).inserted { keys.append(key) }
        }
        mutating func delete(_ key: [UInt8]) { entries[key] = nil }
    }

    /// Applies one random operation to both the database (directly or
    /// through `batch`) and the model.
    struct Workload {
        var rng: SeededRandom
        var model = KeyedModel()
        /// A few 4 KiB (and near-4 KiB) keys, reused so they are overwritten and deleted.
        let longKeys: [[UInt8]]

        init(seed: UInt64) {
            rng = SeededRandom(seed: seed)
            var keys: [[UInt8]] = []
            for i in 0..<5 {
                var key = rng.bytes(i == 0 || i == 4 ? 4096 : rng.int(1000..<4097))
                if i == 1 { key[0] = 0xFF }  // sorts after nearly everything
                if i == 2 { key = [UInt8](repeating: 0xFF, count: 4096) }
                keys.append(key)
            }
            longKeys = keys
        }

        mutating func key() -> [UInt8] {
            switch rng.int(0..<100) {
            case 0..<3: return []
            case 3..<10:
                // 0xFF bytes: all-0xFF keys of several lengths, or 0xFF prefixes and suffixes.
                let ff = [UInt8](repeating: 0xFF, count: rng.int(1..<9))
                switch rng.int(0..<3) {
                case 0: return ff
                case 1: return ff + rng.bytes(rng.int(1..<6))
                default: return rng.bytes(rng.int(1..<6)) + ff
                }
            case 10..<13: return longKeys[rng.int(0..<longKeys.count)]
            case 13..<45 where !model.keys.isEmpty: return model.keys[rng.int(0..<model.keys.count)]
            default:
                // Short binary keys over a small first-byte range, so keys collide and interleave.
                var key = rng.bytes(rng.int(1..<17))
                key[0] = UInt8(rng.int(0..<8)) &* 0x21
                return key
            }
        }

        mutating func value() -> [UInt8] {
            switch rng.int(0..<100) {
            case 0..<10: return []
            case 10..<92: return rng.bytes(rng.int(1..<200))
            case 92..<96:
                // A few KiB of compressible bytes (Snappy shrinks these blocks).
                let unit = rng.bytes(rng.int(1..<32))
                let n = rng.int(1024..<16384)
                return (0..<n).map { unit[$0 % unit.count] }
            default: return rng.bytes(rng.int(4096..<40000))
            }
        }

        /// A 1 MiB value: random (incompressible) or compressible.
        mutating func hugeValue(compressible: Bool) -> [UInt8] {
            if compressible {
                let unit = rng.bytes(100)
                return (0..<(1 << 20)).map { unit[$0 % 100] }
            }
            return rng.bytes(1 << 20)
        }

        /// One operation: a put, a delete, or a batch of several.
        mutating func step(_ db: Database) throws {
            switch rng.int(0..<100) {
            case 0..<15:
                let k = key()
                try db.delete(k)
                model.delete(k)
            case 15..<20:
                var batch = WriteBatch()
                for _ in 0..<rng.int(2..<12) {
                    let k = key()
                    if rng.int(0..<4) == 0 {
                        batch.delete(k)
                        model.delete(k)
                    } else {
                        let v = value()
                        batch.put(k, v)
                        model.put(k, v)
                    }
                }
                // The same key twice in one batch: the later operation wins.
                let k = key()
                batch.put(k, value())
                batch.delete(k)
                model.put(k, [])
                model.delete(k)
                try db.write(batch)
            default:
                let k = key()
                let v = value()
                try db.put(k, v)
                model.put(k, v)
            }
        }
    }

    static func filesBelowLevel0(_ db: Database) -> Int {
        (1..<7).reduce(0) { $0 + (Int(db.property("strata.num-files-at-level\($1)") ?? "0") ?? 0) }
    }

    static func sstCount(_ path: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".sst") }.count
    }

    /// Bytes in the directory's WAL files.
    static func walBytes(_ path: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".log") }
            .reduce(0) { $0 + (((try? FileManager.default.attributesOfItem(atPath: path + "/" + $1))?[.size] as? Int) ?? 0) }
    }

    /// Runs rocksdb-check.sh on `path` with an EXPECTED file written from `model`.
    static func rocksdbCheck(_ path: String, model: Model, in dir: InteropDirectory) throws -> RocksDBTools.Output {
        let lines = DatabaseInteropTests.expectedScan(model)
        let expected = dir.file("expected.txt")
        try Data((lines.map { $0 + "\n" }.joined()).utf8).write(to: URL(fileURLWithPath: expected))
        return try RocksDBTools.runExecutable(
            "/bin/bash", [DatabaseInteropTests.sharedTool("rocksdb-check.sh"), path, expected])
    }

    /// Iterates the database in order and formats each entry as `ldb --hex scan` does.
    static func strataScanLines(_ db: Database) throws -> [String] {
        var lines: [String] = []
        let it = try db.makeIterator()
        it.seekToFirst()
        while it.isValid {
            lines.append("0x\(hexString(it.key)) : 0x\(hexString(it.value))")
            it.next()
        }
        try it.status()
        return lines
    }

    /// Parses `ldb --hex scan` lines back into entries.
    static func parseScan(_ lines: [String]) -> [([UInt8], [UInt8])] {
        lines.compactMap { line in
            let parts = line.components(separatedBy: " : ")
            guard parts.count == 2, let k = decodeHex(parts[0]), let v = decodeHex(parts[1]) else { return nil }
            return (k, v)
        }
    }

    static func decodeHex(_ text: String) -> [UInt8]? {
        guard text.hasPrefix("0x") else { return nil }
        let digits = Array(text.utf8.dropFirst(2))
        guard digits.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let hi = nibble(digits[i]), let lo = nibble(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    @Test("A database written by Strata — random binary keys (empty, 0xFF, up to 4 KiB), values up to 1 MiB, overwrites, deletes, flushes and compactions — passes rocksdb-check.sh DIR EXPECTED")
    func strataDatabaseWithLargeEntriesPassesRocksDBCheck() throws {
        let seed: UInt64 = 0x5EED_2024
        print("seed \(seed)")
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        var options = Options()
        options.writeBufferSize = 128 << 10
        options.targetFileSizeBase = 128 << 10
        options.maxBytesForLevelBase = 512 << 10
        options.level0FileNumCompactionTrigger = 2
        options.checksum = .crc32c  // the db_bench test below covers Strata's default, XXH3
        var work = Workload(seed: seed)

        // Phase 1: writes with automatic and explicit flushes, 1 MiB values,
        // a full and a partial manual compaction.
        var db = try Database.open(at: path, options: options)
        let huge: [Int: Bool] = [300: false, 900: true, 1500: false, 2100: true]
        for i in 0..<2400 {
            if let compressible = huge[i] {
                // A 1 MiB value, under a short key or a 4 KiB key.
                let k = i == 900 ? work.longKeys[3] : [0x42, UInt8(i / 100)]
                let v = work.hugeValue(compressible: compressible)
                try db.put(k, v)
                work.model.put(k, v)
            }
            try work.step(db)
            if i == 700 || i == 1200 || i == 1900 { try db.flush() }
            if i == 1000 { try db.compactRange() }
            if i == 1700 { try db.compactRange(from: [0x21], to: [0xA5]) }
        }
        // The first 1 MiB value is overwritten by a small one, the second (under a 4 KiB key) deleted.
        try db.put([0x42, 3], [1, 2, 3])
        work.model.put([0x42, 3], [1, 2, 3])
        try db.delete(work.longKeys[3])
        work.model.delete(work.longKeys[3])
        try db.flush()
        #expect(Self.filesBelowLevel0(db) > 0, "compaction output below L0: \(db.property("strata.levelstats") ?? "")")
        #expect(try DatabaseInteropTests.strataScan(db) == work.model.entries, "seed \(seed)")
        // The last writes stay in the WAL only.
        for _ in 0..<40 { try work.step(db) }
        print(db.property("strata.levelstats") ?? "", terminator: "")
        try db.close()

        // Phase 2: Strata reopens (replaying its own WAL), writes more, compacts
        // everything, and leaves a WAL tail again.
        db = try Database.open(at: path, options: options)
        #expect(try DatabaseInteropTests.strataScan(db) == work.model.entries, "seed \(seed): after reopen")
        for i in 0..<800 {
            try work.step(db)
            if i == 400 { try db.flush() }
        }
        // A live 1 MiB value under a 4 KiB key, whatever the random stream did.
        let hugeValue = work.hugeValue(compressible: false)
        try db.put(work.longKeys[4], hugeValue)
        work.model.put(work.longKeys[4], hugeValue)
        try db.compactRange()
        #expect(Self.filesBelowLevel0(db) > 0, "\(db.property("strata.levelstats") ?? "")")
        for _ in 0..<60 { try work.step(db) }
        // The empty key and an all-0xFF key with an empty value, in the WAL tail.
        try db.put([], [0x00, 0xFF])
        work.model.put([], [0x00, 0xFF])
        try db.put([0xFF, 0xFF, 0xFF], [])
        work.model.put([0xFF, 0xFF, 0xFF], [])
        #expect(try DatabaseInteropTests.strataScan(db) == work.model.entries, "seed \(seed)")
        try db.close()
        #expect(Self.walBytes(path) > 0, "the last writes are in the WAL only")

        let model = work.model.entries
        #expect(Self.sstCount(path) >= 2, "tables: \(Self.sstCount(path))")
        #expect(model.keys.contains { $0.count >= 4000 }, "a 4 KiB key is live")
        #expect(model.values.contains { $0.count == 1 << 20 }, "a 1 MiB value is live")
        #expect(model.values.contains { $0.isEmpty }, "an empty value is live")
        #expect(model.keys.contains { $0.contains(0xFF) }, "a key with 0xFF bytes is live")
        print("seed \(seed): \(model.count) keys, \(model.values.reduce(0) { $0 + $1.count }) value bytes, \(Self.sstCount(path)) tables")

        let check = try Self.rocksdbCheck(path, model: model, in: dir)
        print(check.stdout, terminator: "")
        #expect(check.stdout.contains("contents: equal"), "seed \(seed): \(check.all)")
        #expect(check.stdout.contains("rocksdb-check: PASS"), "seed \(seed): \(check.all)")
    }

    @Test("A database written by db_bench fillrandom opens in Strata; Strata's writes on top read back in ldb")
    func dbBenchDatabaseOpensInStrata() throws {
        let seed: UInt64 = 20_240_611
        print("seed \(seed)")
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        let bench = try RocksDBTools.run("db_bench", [
            "--benchmarks=fillrandom", "--num=20000", "--key_size=16", "--value_size=100", "--db=\(path)",
            "--compression_type=snappy", "--write_buffer_size=262144", "--disable_auto_compactions=0",
            "--use_existing_db=0", "--seed=\(seed)",
        ])
        try #require(bench.status == 0, "db_bench failed: \(bench.all)")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        print("db_bench wrote: \(files.sorted().joined(separator: " "))")
        #expect(files.contains { $0.hasSuffix(".sst") } && files.contains { $0.hasSuffix(".log") })

        let rocksLines = try DatabaseInteropTests.ldbScan(path)
        #expect(rocksLines.count > 10000, "fillrandom of 20000 random keys leaves ~12600 distinct keys")
        var model = Model()
        for (k, v) in Self.parseScan(rocksLines) { model[k] = v }
        try #require(model.count == rocksLines.count, "every ldb scan line parses")

        // The strata tool reads RocksDB's directory (tables and its live WAL) as ldb does.
        let toolScan = try StrataTools.run("strata", ["--db=\(path)", "--hex", "scan"])
        #expect(toolScan.status == 0, "\(toolScan.stderr)")
        #expect(toolScan.stdout == rocksLines.map { $0 + "\n" }.joined(), "strata --hex scan differs from ldb --hex scan")
        // ... and RocksDB still reads the directory after Strata opened and closed it.
        #expect(try DatabaseInteropTests.ldbScan(path) == rocksLines)

        var options = Options()
        options.writeBufferSize = 256 << 10
        options.targetFileSizeBase = 256 << 10
        let db = try Database.open(at: path, options: options)
        let strataLines = try Self.strataScanLines(db)
        #expect(strataLines.count == rocksLines.count)
        #expect(strataLines == rocksLines, "Strata's scan of db_bench's database differs from ldb's")
        var rng = SeededRandom(seed: seed)
        let existing = Self.parseScan(rocksLines).map(\.0)
        for _ in 0..<300 {
            let k = existing[rng.int(0..<existing.count)]
            #expect(try db.get(k) == model[k])
        }
        #expect(try db.get(Array("not-a-db_bench-key".utf8)) == nil)

        // Strata overwrites, deletes and adds keys, flushes and compacts.
        for i in 0..<4000 {
            switch rng.int(0..<10) {
            case 0..<2:
                let k = existing[rng.int(0..<existing.count)]
                try db.delete(k)
                model[k] = nil
            case 2..<6:
                let k = existing[rng.int(0..<existing.count)]
                let v = rng.bytes(rng.int(0..<300))
                try db.put(k, v)
                model[k] = v
            default:
                let k = rng.bytes(16)
                let v = rng.bytes(rng.int(0..<300))
                try db.put(k, v)
                model[k] = v
            }
            if i == 1500 { try db.flush() }
        }
        try db.flush()
        try db.compactRange()
        #expect(Self.filesBelowLevel0(db) > 0, "\(db.property("strata.levelstats") ?? "")")
        // A WAL tail that RocksDB must replay.
        for i in 0..<50 {
            let k = Array("strata-tail-\(i)".utf8)
            try db.put(k, Array("v\(i)".utf8))
            model[k] = Array("v\(i)".utf8)
        }
        try db.delete(existing[0])
        model[existing[0]] = nil
        #expect(try DatabaseInteropTests.strataScan(db) == model)
        try db.close()
        #expect(Self.walBytes(path) > 0, "the tail is in the WAL only")

        let after = try DatabaseInteropTests.ldbScan(path)
        #expect(after.count == model.count)
        #expect(after == DatabaseInteropTests.expectedScan(model), "ldb's scan after Strata's writes differs from the model")
        let toolAfter = try StrataTools.run("strata", ["--db=\(path)", "--hex", "scan"])
        let ldbAfter = try RocksDBTools.run("ldb", ["--db=\(path)", "--try_load_options=false", "--hex", "scan"])
        #expect(toolAfter.status == 0 && ldbAfter.status == 0, "\(toolAfter.stderr) \(ldbAfter.stderr)")
        #expect(toolAfter.stdout == ldbAfter.stdout, "strata --hex scan differs from ldb --hex scan")

        let check = try Self.rocksdbCheck(path, model: model, in: dir)
        print(check.stdout, terminator: "")
        #expect(check.stdout.contains("contents: equal"), "seed \(seed): \(check.all)")
        #expect(check.stdout.contains("rocksdb-check: PASS"), "seed \(seed): \(check.all)")
    }
}
