import Foundation
import Testing
@testable import Strata

/// Column families in RocksDB's encoding: `ldb list_column_families` lists
/// what Strata created, `ldb --column_family=NAME` reads each family
/// (tables, MANIFEST records, the shared WAL), and Strata opens databases
/// with families that `ldb` created — and both keep working on top of each
/// other's writes, OPTIONS file included.
@Suite("Column family interop with RocksDB 7.8.3", .serialized)
struct ColumnFamilyInteropTests {
    typealias Model = [[UInt8]: [UInt8]]

    init() {
        // A tool that exits before reading its input must fail its test, not
        // kill the test process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
    }

    /// `ldb --hex scan` of one family (`--try_load_options` as given).
    static func ldbScan(_ db: String, family: String, loadOptions: Bool = false) throws -> [String] {
        var args = ["--db=\(db)", "--column_family=\(family)", "--hex", "scan"]
        if !loadOptions { args.insert("--try_load_options=false", at: 1) }
        let out = try RocksDBTools.run("ldb", args)
        #expect(out.status == 0, "ldb scan of \(family) failed: \(out.all)")
        return out.stdout.split(separator: "\n").map(String.init)
    }

    static func ldbFamilies(_ db: String) throws -> String {
        let out = try RocksDBTools.run("ldb", ["--db=\(db)", "list_column_families"])
        #expect(out.status == 0, "\(out.all)")
        return out.stdout
    }

    static func strataScan(_ family: ColumnFamily) throws -> Model {
        try family.makeIterator().contents()
    }

    @Test("ldb lists and reads every family of a Strata database (tables, WAL, a dropped family), then writes on top")
    func ldbReadsStrataFamilies() throws {
        let seed: UInt64 = 2024
        print("seed \(seed)")
        var rng = SeededRandom(seed: seed)
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        var options = Options()
        options.writeBufferSize = 32 << 10
        options.targetFileSizeBase = 32 << 10
        options.maxBytesForLevelBase = 128 << 10
        options.level0FileNumCompactionTrigger = 2
        var plain = ColumnFamilyOptions(options)
        plain.compression = .none
        plain.checksum = .crc32c
        options.columnFamilyOptions["plain"] = plain
        let names = ["default", "events", "plain"]
        let db = try Database.open(at: path, options: options)
        try db.createColumnFamily(named: "events")
        let doomed = try db.createColumnFamily(named: "doomed")
        try db.createColumnFamily(named: "plain")
        let families = names.map { db.columnFamily(named: $0)! }
        var models = [Model](repeating: [:], count: names.count)
        for i in 0..<9000 {
            let f = rng.int(0..<3)
            let key: [UInt8] = rng.int(0..<30) == 0 ? [0xFF, UInt8(rng.int(0..<4))] : Array("key\(rng.int(0..<1500))".utf8)
            if rng.int(0..<6) == 0 {
                var batch = WriteBatch()
                batch.delete(key, in: families[f])
                let value = rng.bytes(rng.int(1..<40))
                batch.put(key, value, in: families[(f + 1) % 3])
                batch.put(key, value, in: doomed)
                try db.write(batch)
                models[f][key] = nil
                models[(f + 1) % 3][key] = value
            } else {
                let value = rng.bytes(rng.int(0..<(rng.int(0..<40) == 0 ? 3000 : 80)))
                try families[f].put(key, value)
                models[f][key] = value
            }
            if i == 4000 { try families[1].compactRange() }
        }
        try db.dropColumnFamily(named: "doomed")
        // The last writes stay in the WAL only: ldb must replay them into the right families.
        for f in 0..<3 {
            let key = Array("wal-only-\(f)".utf8)
            try families[f].put(key, Array(names[f].utf8))
            models[f][key] = Array(names[f].utf8)
        }
        try db.close()

        let listed = try Self.ldbFamilies(path)
        #expect(listed == "Column families in \(path): \n{default, events, plain}\n")
        let ours = try StrataTools.run("strata", ["--db=\(path)", "list_column_families"])
        #expect(ours.stdout == listed)
        for (f, name) in names.enumerated() {
            #expect(try Self.ldbScan(path, family: name) == DatabaseInteropTests.expectedScan(models[f]), "family \(name)")
            let strata = try StrataTools.run("strata", ["--db=\(path)", "--column_family=\(name)", "--hex", "scan"])
            #expect(strata.stdout.split(separator: "\n").map(String.init) == DatabaseInteropTests.expectedScan(models[f]))
            // RocksDB consults each family's bloom filters: no false negatives.
            for key in models[f].keys.sorted(by: { Bytewise.compare($0, $1) < 0 }).prefix(8) {
                let out = try RocksDBTools.run("ldb", ["--db=\(path)", "--try_load_options=false", "--column_family=\(name)",
                                                       "--bloom_bits=10", "--hex", "get", "0x" + hexString(key)])
                #expect(out.stdout == "0x\(hexString(models[f][key]!))\n", "\(name) \(key): \(out.all)")
            }
        }
        let dropped = try RocksDBTools.run("ldb", ["--db=\(path)", "--column_family=doomed", "scan"])
        #expect(dropped.status != 0 && dropped.stderr.contains("Non-existing column family doomed"))
        var tables = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.hasSuffix(".sst") {
            tables += 1
            let (ok, text) = try RocksDBTools.verifies(path + "/" + name)
            #expect(ok, "\(name): \(text)")
        }
        #expect(tables >= 3)

        // RocksDB writes on top (a read-write open flushes the WAL it
        // replayed, per family); Strata reads the result.
        let put = try RocksDBTools.run("ldb", ["--db=\(path)", "--column_family=plain", "put", "from-ldb", "yes"])
        #expect(put.status == 0, "\(put.all)")
        models[2][Array("from-ldb".utf8)] = Array("yes".utf8)
        let reopened = try Database.open(at: path, options: options)
        #expect(reopened.columnFamilyNames == names)
        for (f, name) in names.enumerated() {
            #expect(try Self.strataScan(reopened.columnFamily(named: name)!) == models[f], "family \(name) after ldb")
        }
        try reopened.close()
    }

    @Test("Strata opens a database whose families ldb created, writes on top, and ldb (OPTIONS file and all) still reads it")
    func strataReadsLdbFamilies() throws {
        let seed: UInt64 = 77
        print("seed \(seed)")
        var rng = SeededRandom(seed: seed)
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        func ldb(_ args: [String], input: String? = nil) throws {
            let out = try RocksDBTools.run("ldb", ["--db=\(path)"] + args, input: input)
            #expect(out.status == 0, "ldb \(args): \(out.all)")
        }
        var models: [String: Model] = ["default": [:], "cf1": [:], "cf2": [:]]
        try ldb(["--create_if_missing", "put", "k", "v"])
        models["default"]![Array("k".utf8)] = Array("v".utf8)
        try ldb(["create_column_family", "cf1"])
        try ldb(["create_column_family", "cf2"])
        try ldb(["--column_family=cf1", "put", "a", "b"])
        models["cf1"]![Array("a".utf8)] = Array("b".utf8)
        // Two bulk loads into cf1: tables of family 1. (This ldb build
        // asserts in a family load with a write buffer below 1 MiB.)
        for _ in 0..<2 {
            var lines = ""
            for _ in 0..<1500 {
                let key = Array("load\(rng.int(0..<2000))".utf8)
                let value = rng.bytes(rng.int(0..<50))
                models["cf1"]![key] = value
                lines += "0x\(hexString(key)) ==> 0x\(hexString(value))\n"
            }
            try ldb(["--column_family=cf1", "--hex", "load"], input: lines)
        }
        // cf2's data stays in ldb's WAL.
        try ldb(["--column_family=cf2", "put", "only", "in-wal"])
        models["cf2"]![Array("only".utf8)] = Array("in-wal".utf8)
        try ldb(["--column_family=cf2", "delete", "only"])
        models["cf2"]![Array("only".utf8)] = nil
        try ldb(["--column_family=cf2", "put", "again", "x"])
        models["cf2"]![Array("again".utf8)] = Array("x".utf8)

        let db = try Database.open(at: path)
        #expect(db.columnFamilyNames == ["default", "cf1", "cf2"])
        for (name, model) in models {
            #expect(try Self.strataScan(db.columnFamily(named: name)!) == model, "family \(name) written by ldb")
        }
        // Strata writes on top: a new family, writes to an ldb family, a drop.
        let cf3 = try db.createColumnFamily(named: "cf3")
        try cf3.put(Array("three".utf8), Array("3".utf8))
        models["cf3"] = [Array("three".utf8): Array("3".utf8)]
        let cf1 = db.columnFamily(named: "cf1")!
        for i in 0..<300 {
            let key = Array("load\(rng.int(0..<2000))".utf8)
            if i % 5 == 0 {
                try cf1.delete(key)
                models["cf1"]![key] = nil
            } else {
                try cf1.put(key, Array("strata-\(i)".utf8))
                models["cf1"]![key] = Array("strata-\(i)".utf8)
            }
        }
        try cf1.compactRange()
        try db.dropColumnFamily(named: "cf2")
        models["cf2"] = nil
        try db.close()

        // ldb loads the OPTIONS file by default: it must list exactly the live families.
        #expect(try Self.ldbFamilies(path) == "Column families in \(path): \n{default, cf1, cf3}\n")
        for (name, model) in models {
            #expect(try Self.ldbScan(path, family: name, loadOptions: true) == DatabaseInteropTests.expectedScan(model),
                    "family \(name) read by ldb after Strata")
        }
        let gone = try RocksDBTools.run("ldb", ["--db=\(path)", "--column_family=cf2", "scan"])
        #expect(gone.status != 0)
        // And ldb can still write to the family Strata created.
        try ldb(["--column_family=cf3", "put", "ldb-too", "yes"])
        let again = try Database.open(at: path)
        #expect(try again.columnFamily(named: "cf3")!.get(Array("ldb-too".utf8)) == Array("yes".utf8))
        try again.close()
    }

    @Test("the strata tool's column-family commands print what ldb prints")
    func toolMatchesLdb() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let ours = dir.file("strata")
        let theirs = dir.file("ldb")
        func both(_ args: [String]) throws -> (RocksDBTools.Output, RocksDBTools.Output) {
            let a = try StrataTools.run("strata", ["--db=\(ours)"] + args)
            let b = try RocksDBTools.run("ldb", ["--db=\(theirs)"] + args)
            return (a, b)
        }
        _ = try both(["--create_if_missing", "put", "k", "v"])
        for args in [["create_column_family", "cf1"], ["create_column_family", "cf1"], ["--column_family=cf1", "put", "a", "b"],
                     ["--column_family=cf1", "batchput", "c", "d", "e", "f"], ["--column_family=cf1", "delete", "c"],
                     ["--column_family=cf1", "get", "a"], ["--column_family=cf1", "get", "c"],
                     ["--column_family=cf1", "scan"], ["--column_family=nope", "get", "a"],
                     ["create_column_family", "cf2"], ["drop_column_family", "cf2"], ["drop_column_family", "cf2"],
                     ["drop_column_family", "default"], ["list_column_families"]] {
            let (a, b) = try both(args)
            let expected = b.stdout.replacingOccurrences(of: theirs, with: ours)
            #expect(a.stdout == expected, "\(args): strata \(a.all) / ldb \(b.all)")
            #expect(a.status == b.status, "\(args): exit status")
            #expect(a.stderr.hasPrefix("Failed:") == b.stderr.hasPrefix("Failed:"), "\(args): \(a.stderr) / \(b.stderr)")
            if b.stderr.hasPrefix("Failed:") { #expect(a.stderr == b.stderr, "\(args)") }
        }
        // A load into a family, then the same scan from both tools on Strata's directory.
        let load = try StrataTools.run("strata", ["--db=\(ours)", "--column_family=cf1", "load"], input: "x ==> 1\ny ==> 2\n")
        #expect(load.status == 0)
        let scanOurs = try StrataTools.run("strata", ["--db=\(ours)", "--column_family=cf1", "scan"])
        let scanLdb = try RocksDBTools.run("ldb", ["--db=\(ours)", "--column_family=cf1", "scan"])
        #expect(scanOurs.stdout == "a : b\ne : f\nx : 1\ny : 2\n")
        #expect(scanLdb.stdout == scanOurs.stdout, "\(scanLdb.all)")
    }
}
