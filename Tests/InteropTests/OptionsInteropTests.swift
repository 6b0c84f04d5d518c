import Foundation
import Testing
@testable import Strata

/// RocksDB 11.8.1's tools in `../shared/peers/rocksdb-11.8.1` beside the
/// repository (or the workplace's copy at /work/shared).
enum Peers {
    static func shared(_ relative: String) -> String {
        let beside = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared").appendingPathComponent(relative).path
        if FileManager.default.fileExists(atPath: beside) { return beside }
        return "/work/shared/" + relative
    }

    /// Runs 11.8.1's `ldb` (needs libgflags2.2 and libsnappy1v5).
    @discardableResult
    static func ldb11(_ args: [String], input: String? = nil) throws -> RocksDBTools.Output {
        let path = shared("peers/rocksdb-11.8.1/ldb")
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw StrataError(.notSupported, "\(path) is missing: RocksDB 11.8.1's ldb belongs in ../shared/peers")
        }
        return try RocksDBTools.runExecutable(path, args, input: input)
    }

    /// Runs ldb of `version` ("7.8.3": Debian's, "11.8.1": the peer).
    @discardableResult
    static func ldb(_ version: String, _ args: [String], input: String? = nil) throws -> RocksDBTools.Output {
        version == "7.8.3" ? try RocksDBTools.run("ldb", args, input: input) : try ldb11(args, input: input)
    }

    /// `ldb --hex scan` lines (`0xKEY ==> 0xVALUE`) of what Strata reads in `family`.
    static func strataScanLines(_ db: Database, family: ColumnFamily? = nil) throws -> [String] {
        let it = try (family ?? db.defaultColumnFamily).makeIterator()
        var lines: [String] = []
        it.seekToFirst()
        while it.isValid {
            lines.append("0x\(hexString(it.key)) ==> 0x\(hexString(it.value))")
            it.next()
        }
        try it.status()
        return lines
    }

    /// The entry lines of an `ldb --hex scan` (7.8.3 prints `K : V`, 11.8.1
    /// `K ==> V`), as `K ==> V`.
    static func lines(_ output: RocksDBTools.Output) -> [String] {
        output.stdout.split(separator: "\n").filter { $0.hasPrefix("0x") }
            .map { $0.replacingOccurrences(of: " : ", with: " ==> ") }
    }
}

/// Strata's OPTIONS file read by RocksDB 7.8.3's and 11.8.1's `ldb
/// --try_load_options` (merge operators per family), and RocksDB's OPTIONS
/// files read by Strata.
@Suite("OPTIONS file interop with RocksDB 7.8.3 and 11.8.1", .serialized)
struct OptionsInteropTests {
    /// A database with a ',' string-append family and an add family, with
    /// operands merged in tables, unmerged in L0 and still in the WAL.
    static func makeMergeDatabase(_ path: String) throws -> (words: [String: String], counts: [String: Int64]) {
        var options = Options()
        options.writeBufferSize = 64 << 10
        var words = ColumnFamilyOptions(options)
        words.mergeOperator = StringAppendOperator(separator: ",")
        var counts = ColumnFamilyOptions(options)
        counts.mergeOperator = Int64AddOperator()
        options.columnFamilyOptions = ["words": words, "counts": counts]
        let db = try Database.open(at: path, options: options)
        let w = try db.createColumnFamily(named: "words")
        let c = try db.createColumnFamily(named: "counts")
        var expectedWords: [String: String] = [:]
        var expectedCounts: [String: Int64] = [:]
        var rng = SeededRandom(seed: 22)
        print("seed: 22")
        for round in 0..<3 {
            for i in 0..<40 {
                let key = "k\(rng.int(0..<12))"
                let word = "w\(round)_\(i)"
                try w.merge(Array(key.utf8), Array(word.utf8))
                expectedWords[key] = expectedWords[key].map { $0 + "," + word } ?? word
                let n = Int64(rng.int(-50..<100))
                try c.merge(Array(key.utf8), Int64AddOperator.encode(n))
                expectedCounts[key, default: 0] &+= n
            }
            // Rounds 0 and 1 go to L0 tables as operands; round 2 stays in the WAL.
            if round < 2 {
                try w.flush()
                try c.flush()
            }
        }
        try db.close()
        return (expectedWords, expectedCounts)
    }

    @Test("ldb --try_load_options get/scan print Strata's merged values (',' delimiter, UInt64AddOperator)",
          arguments: ["7.8.3", "11.8.1"])
    func ldbReadsMergedValues(version: String) throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        let (words, counts) = try Self.makeMergeDatabase(path)
        for (key, value) in words.sorted(by: { $0.key < $1.key }).prefix(4) {
            let out = try Peers.ldb(version, ["--db=\(path)", "--try_load_options", "--column_family=words", "get", key])
            #expect(out.stdout == value + "\n", "ldb \(version) get \(key): \(out.all)")
        }
        let scan = try Peers.ldb(version, ["--db=\(path)", "--try_load_options", "--column_family=counts", "--hex", "scan"])
        let expected = counts.keys.sorted().map { "0x\(hexString(Array($0.utf8))) ==> 0x\(hexString(Int64AddOperator.encode(counts[$0]!)))" }
        #expect(Peers.lines(scan) == expected, "ldb \(version): \(scan.stderr)")
        let wordScan = try Peers.ldb(version, ["--db=\(path)", "--try_load_options", "--column_family=words", "scan"])
        let expectedWords = words.keys.sorted().map { "\($0) ==> \(words[$0]!)" }
        let wordLines = wordScan.stdout.split(separator: "\n").map { $0.replacingOccurrences(of: " : ", with: " ==> ") }
        #expect(wordLines == expectedWords)
    }

    @Test("strata merge into a family uses the OPTIONS file's operator; both ldbs read the result")
    func strataToolMerge() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        let (words, _) = try Self.makeMergeDatabase(path)
        let key = try #require(words.keys.sorted().first)
        let merged = try StrataTools.run("strata", ["--db=\(path)", "--column_family=words", "merge", key, "tool"])
        #expect(merged.status == 0, "\(merged.all)")
        let get = try StrataTools.run("strata", ["--db=\(path)", "--column_family=words", "get", key])
        #expect(get.stdout == words[key]! + ",tool\n")
        for version in ["7.8.3", "11.8.1"] {
            let out = try Peers.ldb(version, ["--db=\(path)", "--try_load_options", "--column_family=words", "get", key])
            #expect(out.stdout == words[key]! + ",tool\n", "ldb \(version): \(out.all)")
        }
    }

    @Test("strata reads RocksDB 11.8.1's merge_db without flags (its OPTIONS file's ',' operator)")
    func strataReadsMergeDB() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let copy = dir.file("merge_db")
        try FileManager.default.copyItem(atPath: Peers.shared("vectors/rocksdb-11.8.1/merge_db"), toPath: copy)
        let expected = try String(contentsOfFile: Peers.shared("vectors/rocksdb-11.8.1/merge_db.scan.hex.txt"), encoding: .utf8)
        let scan = try StrataTools.run("strata", ["--db=\(copy)", "--hex", "scan"])
        #expect(scan.status == 0, "\(scan.all)")
        let lines = scan.stdout.split(separator: "\n").map { $0.replacingOccurrences(of: " : ", with: " ==> ") }
        #expect(lines == expected.split(separator: "\n").map(String.init))
    }

    @Test("strata reads a RocksDB 7.8.3 db_bench database's OPTIONS file (UInt64AddOperator) without flags")
    func strataReadsRocksDB7Options() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        let bench = try RocksDBTools.run("db_bench", [
            "--benchmarks=mergerandom", "--merge_operator=uint64add", "--db=\(path)", "--num=200",
            "--use_existing_db=0", "--seed=7", "--value_size=8",
        ])
        #expect(bench.status == 0, "\(bench.all)")
        let options = try #require(try Options().loadingLatestOptionsFile(inDatabase: path))
        #expect(options.options.mergeOperator?.name == "UInt64AddOperator")
        let ldbScan = try RocksDBTools.run("ldb", ["--db=\(path)", "--try_load_options", "--hex", "scan"])
        let scan = try StrataTools.run("strata", ["--db=\(path)", "--hex", "scan"])
        let lines = scan.stdout.split(separator: "\n").map { $0.replacingOccurrences(of: " : ", with: " ==> ") }
        #expect(!lines.isEmpty)
        // 8-byte operands: sums, not the 0 a malformed operand counts as.
        #expect(lines.contains { !$0.hasSuffix("0x0000000000000000") })
        #expect(lines == Peers.lines(ldbScan))
    }
}
