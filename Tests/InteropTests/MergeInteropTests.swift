import Foundation
import Testing
@testable import Strata

/// Merge operands and compaction results read by RocksDB 7.8.3's `ldb`.
///
/// `ldb` 7.8.3 has no `--merge_operator` flag (it answers "Invalid
/// command-line option merge_operator"): it takes each family's merge
/// operator from the newest OPTIONS file (`--try_load_options`, its
/// default; Strata writes one, see OptionsInteropTests), and without one
/// uses `MergeOperators::CreateStringAppendOperator()` (separator ':').
/// These tests mostly pass `--try_load_options=false`: then a Strata
/// database written with `StringAppendOperator(separator: ":")` reads the
/// same in both, whether its operands were merged by a Strata compaction
/// or are still operands in L0 tables and the WAL.
@Suite("Merge interop with RocksDB 7.8.3", .serialized)
struct MergeInteropTests {
    static func ldb(_ db: String, _ args: [String]) throws -> RocksDBTools.Output {
        try RocksDBTools.run("ldb", ["--db=\(db)", "--try_load_options=false"] + args)
    }

    static func strataScan(_ db: Database) throws -> [[UInt8]: [UInt8]] {
        try db.makeIterator().contents()
    }

    static func expectedScan(_ model: [[UInt8]: [UInt8]]) -> [String] {
        model.keys.sorted { Bytewise.compare($0, $1) < 0 }.map { "0x\(hexString($0)) : 0x\(hexString(model[$0]!))" }
    }

    /// Type codes of every entry in the live tables.
    static func tableTypes(_ db: Database) throws -> [UInt8] {
        var types: [UInt8] = []
        for f in db.versions.current()?.allFiles ?? [] {
            let it = try db.tableCache.table(f.number).makeIterator()
            it.seekToFirst()
            while it.isValid {
                types.append(ParsedInternalKey(it.key)!.typeCode)
                it.next()
            }
        }
        return types
    }

    @Test("ldb scan shows Strata's string-append values: merged by compaction, operands in L0 and in the WAL",
          arguments: [CompactionStyle.leveled, .universal])
    func stringAppendInterop(style: CompactionStyle) throws {
        let seed: UInt64 = 31
        print("seed: \(seed), style: \(style)")
        var rng = SeededRandom(seed: seed)
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        var options = Options()
        options.compactionStyle = style
        options.mergeOperator = StringAppendOperator(separator: ":")
        options.writeBufferSize = 32 << 10
        options.targetFileSizeBase = 32 << 10
        options.maxBytesForLevelBase = 128 << 10
        options.level0FileNumCompactionTrigger = 3
        var db = try Database.open(at: path, options: options)
        var model: [[UInt8]: [UInt8]] = [:]
        func step(_ i: Int) throws {
            let key = Array("key\(rng.int(0..<400))".utf8)
            switch rng.int(0..<12) {
            case 0:
                try db.delete(key)
                model[key] = nil
            case 1:
                let v = Array("put\(i)".utf8)
                try db.put(key, v)
                model[key] = v
            default:
                let v = Array("m\(i)".utf8)
                try db.merge(key, v)
                model[key] = model[key].map { $0 + Array(":".utf8) + v } ?? v
            }
        }
        for i in 0..<6_000 { try step(i) }
        try db.compactRange()           // operands below merged into values
        for i in 6_000..<7_000 { try step(i) }
        try db.flush()                  // operands in an L0 table
        for i in 7_000..<7_300 { try step(i) }  // operands only in the WAL
        let types = try Self.tableTypes(db)
        #expect(types.contains(ValueType.merge.rawValue), "some operands must still be operands in tables")
        #expect(types.contains(ValueType.value.rawValue))
        #expect(try Self.strataScan(db) == model)
        try db.close()

        let scan = try Self.ldb(path, ["--hex", "scan"])
        #expect(scan.status == 0, "\(scan.all)")
        #expect(scan.stdout.split(separator: "\n").map(String.init) == Self.expectedScan(model))
        let someKey = model.keys.sorted { Bytewise.compare($0, $1) < 0 }[model.count / 2]
        let get = try Self.ldb(path, ["get", String(decoding: someKey, as: UTF8.self)])
        #expect(get.stdout == String(decoding: model[someKey]!, as: UTF8.self) + "\n")

        // Strata reads ldb's view back unchanged, and every table verifies.
        db = try Database.open(at: path, options: options)
        #expect(try Self.strataScan(db) == model)
        try db.close()
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.hasSuffix(".sst") {
            let (ok, text) = try RocksDBTools.verifies(path + "/" + name)
            #expect(ok, "\(name): \(text)")
            let props = try RocksDBTools.run("sst_dump", ["--file=\(path)/\(name)", "--show_properties"])
            #expect(props.stdout.contains("merge operator name: StringAppendOperator"), "\(name)")
        }
    }

    @Test("ldb merges operands with the OPTIONS file's operator, else with ':' (operands in an L0 table and the WAL)")
    func ldbDefaultOperator() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        // STRATA_MERGE_DEMO_DIR=/some/new/dir keeps the database there for manual ldb runs.
        let path = ProcessInfo.processInfo.environment["STRATA_MERGE_DEMO_DIR"] ?? dir.file("db")
        var options = Options()
        options.mergeOperator = StringAppendOperator(separator: ",")  // deliberately not ':'
        let db = try Database.open(at: path, options: options)
        try db.put(Array("k".utf8), Array("a".utf8))
        try db.merge(Array("k".utf8), Array("b".utf8))
        try db.merge(Array("x".utf8), Array("1".utf8))
        try db.flush()
        try db.merge(Array("k".utf8), Array("c".utf8))
        try db.merge(Array("x".utf8), Array("2".utf8))
        #expect(try db.get(Array("k".utf8)) == Array("a,b,c".utf8))
        try db.close()
        // With the OPTIONS file (ldb's default) ldb uses Strata's ','.
        let scan = try RocksDBTools.run("ldb", ["--db=\(path)", "scan"])
        #expect(scan.stdout == "k : a,b,c\nx : 1,2\n", "\(scan.all)")
        // Without it: the flush merged k's first operand onto its value with
        // ','; ldb joins the rest with ':'.
        let fallback = try RocksDBTools.run("ldb", ["--db=\(path)", "--try_load_options=false", "scan"])
        #expect(fallback.stdout == "k : a,b:c\nx : 1:2\n", "\(fallback.all)")
    }

    @Test("Int64 add counters fully merged by a Strata compaction read as 8-byte values in ldb")
    func int64Interop() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        var options = Options()
        options.mergeOperator = Int64AddOperator()
        options.writeBufferSize = 16 << 10
        let db = try Database.open(at: path, options: options)
        var expected: [Int64] = Array(repeating: 0, count: 20)
        for round in 0..<300 {
            for c in 0..<20 {
                let delta = Int64(round * c - 1000)
                try db.merge(Array("c\(c)".utf8), Int64AddOperator.encode(delta))
                expected[c] &+= delta
            }
        }
        try db.compactRange()
        #expect(try Self.tableTypes(db).allSatisfy { $0 == ValueType.value.rawValue })
        try db.close()
        let scan = try Self.ldb(path, ["--hex", "scan"])
        let want = (0..<20).map { (Array("c\($0)".utf8), Int64AddOperator.encode(expected[$0])) }
            .sorted { Bytewise.compare($0.0, $1.0) < 0 }
            .map { "0x\(hexString($0.0)) : 0x\(hexString($0.1))" }
        #expect(scan.stdout.split(separator: "\n").map(String.init) == want)
    }
}
