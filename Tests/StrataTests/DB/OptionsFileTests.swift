import Foundation
import Testing
@testable import Strata

/// The RocksDB OPTIONS file: written at open and on column family changes
/// (as RocksDB's WriteOptionsFile), parsed back, and RocksDB's own files
/// read (the settings Strata honours applied).
@Suite("RocksDB OPTIONS file")
struct OptionsFileTests {
    static func optionsFiles(_ dir: String) throws -> [String] {
        try PosixFileSystem.shared.listDirectory(dir).filter { $0.hasPrefix("OPTIONS-") }.sorted()
    }

    static func read(_ path: String) throws -> String {
        let file = try PosixFileSystem.shared.openRandomAccess(path)
        defer { file.close() }
        return String(decoding: try file.read(at: 0, count: Int(file.size)), as: UTF8.self)
    }

    static func newest(_ dir: String) throws -> OptionsFile {
        let name = try #require(try optionsFiles(dir).last)
        return try OptionsFile.parse(try read(Path.join(dir, name)), file: name)
    }

    @Test("written at open and after each create/drop; the newest two are kept, no temp file stays")
    func writtenAndRotated() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var db = try Database.open(at: dir.path)
        #expect(try Self.optionsFiles(dir.path).count == 1)
        try db.createColumnFamily(named: "a")
        try db.createColumnFamily(named: "b")
        try db.dropColumnFamily(named: "a")
        let names = try Self.optionsFiles(dir.path)
        #expect(names.count == 2)
        #expect(names.allSatisfy { !$0.hasSuffix(".dbtmp") })
        #expect(try Self.newest(dir.path).families.map(\.name) == ["default", "b"])
        let before = try #require(names.last)
        try db.close()
        db = try Database.open(at: dir.path)
        let after = try #require(try Self.optionsFiles(dir.path).last)
        #expect(after > before)
        // OPTIONS numbers come from the file counter: no later file reuses one.
        try db.put([1], [1])
        try db.flush()
        let tables = try PosixFileSystem.shared.listDirectory(dir.path).filter { $0.hasSuffix(".sst") }
        let optionNumbers = Set(try Self.optionsFiles(dir.path).map { String($0.dropFirst(8)) })
        #expect(tables.allSatisfy { !optionNumbers.contains(String($0.dropLast(4))) })
        try db.close()
    }

    @Test("Strata's values under RocksDB's names, and loading them back gives the same settings")
    func roundTrip() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 3 << 20
        options.compression = .none
        options.checksum = .crc32c
        options.bloomBitsPerKey = 0
        options.blockSize = 8192
        options.formatVersion = 4
        options.level0FileNumCompactionTrigger = 7
        options.maxBytesForLevelBase = 99 << 20
        options.compactionStyle = .universal
        options.universalSizeRatio = 3
        options.mergeOperator = Int64AddOperator()
        var family = ColumnFamilyOptions(options)
        family.mergeOperator = StringAppendOperator(separator: ":")
        family.compactionStyle = .leveled
        family.bloomBitsPerKey = 12
        options.columnFamilyOptions["words"] = family
        let db = try Database.open(at: dir.path, options: options)
        try db.createColumnFamily(named: "words")
        try db.close()

        let name = try #require(try Self.optionsFiles(dir.path).last)
        let text = try Self.read(dir.file(name))
        #expect(text.contains("[Version]\n  rocksdb_version=7.8.3\n  options_file_version=1.1\n"))
        #expect(text.contains("[CFOptions \"default\"]\n"))
        #expect(text.contains("  merge_operator=UInt64AddOperator\n"))
        #expect(text.contains("  merge_operator={id=StringAppendOperator;delimiter=\\:;}\n"))
        #expect(text.contains("  comparator=leveldb.BytewiseComparator\n"))
        #expect(text.contains("  write_buffer_size=3145728\n"))
        #expect(text.contains("  compression=kNoCompression\n"))
        #expect(text.contains("  compaction_style=kCompactionStyleUniversal\n"))
        #expect(text.contains("  max_bytes_for_level_base=103809024\n"))
        #expect(text.contains("  filter_policy=nullptr\n"))
        #expect(text.contains("  filter_policy=bloomfilter:12:false\n"))
        #expect(text.contains("  checksum=kCRC32c\n"))
        #expect(text.contains("  format_version=4\n"))

        let (loaded, ignored) = try #require(try Options().loadingLatestOptionsFile(inDatabase: dir.path))
        #expect(ignored.isEmpty)
        #expect(loaded.writeBufferSize == 3 << 20)
        #expect(loaded.compression == .none)
        #expect(loaded.checksum == .crc32c)
        #expect(loaded.bloomBitsPerKey == 0)
        #expect(loaded.blockSize == 8192)
        #expect(loaded.formatVersion == 4)
        #expect(loaded.level0FileNumCompactionTrigger == 7)
        #expect(loaded.maxBytesForLevelBase == 99 << 20)
        #expect(loaded.compactionStyle == .universal)
        #expect(loaded.universalSizeRatio == 3)
        #expect(loaded.mergeOperator?.name == "UInt64AddOperator")
        let words = try #require(loaded.columnFamilyOptions["words"])
        #expect(words.compactionStyle == .leveled)
        #expect(words.bloomBitsPerKey == 12)
        let append = try #require(words.mergeOperator as? StringAppendOperator)
        #expect(append.separator == Array(":".utf8))
    }

    @Test("RocksDB 11.8.1's files: merge_db's ',' StringAppendOperator, tiny_db's families; fv7 ignored with a note")
    func rocksDB11Files() throws {
        let base = Vectors.directory.replacingOccurrences(of: "rocksdb-7.8.3", with: "rocksdb-11.8.1")
        let merge = try OptionsFile.parse(try Self.read(Path.join(base, "merge_db/OPTIONS-000007")), file: "merge_db")
        #expect(merge.rocksDBVersion == "11.8.1")
        let (options, ignored) = try Options().applyingOptionsFile(merge, file: "merge_db")
        let append = try #require(options.mergeOperator as? StringAppendOperator)
        #expect(append.separator == Array(",".utf8))
        #expect(options.compression == .snappy)
        #expect(options.formatVersion == 5)
        #expect(options.levelCompactionDynamicLevelBytes == false)
        #expect(options.memtableBloomSizeRatio == 0)
        #expect(ignored.contains { $0.contains("format_version=7") })

        let tiny = try OptionsFile.parse(try Self.read(Path.join(base, "tiny_db/OPTIONS-000049")), file: "tiny_db")
        #expect(tiny.families.map(\.name) == ["default", "cf1"])
        let (tinyOptions, _) = try Options().applyingOptionsFile(tiny, file: "tiny_db")
        #expect(tinyOptions.columnFamilyOptions["cf1"] != nil)
    }

    @Test("user operators: kept when the base options have one of that name, else dropped with a note")
    func userOperators() throws {
        struct Max: MergeOperator {
            var name: String { "my.Max" }
            func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) -> [UInt8]? { operands.last }
        }
        let text = """
            [Version]
              rocksdb_version=7.8.3
            [DBOptions]
              max_background_jobs=4
            [CFOptions "default"]
              merge_operator=my.Max
            [CFOptions "other"]
              merge_operator=unknown.Op
              some_future_option=1
            """
        let file = try OptionsFile.parse(text, file: "x")
        var base = Options()
        base.mergeOperator = Max()
        let (options, ignored) = try base.applyingOptionsFile(file, file: "x")
        #expect(options.mergeOperator?.name == "my.Max")
        #expect(options.maxBackgroundJobs == 4)
        #expect(options.columnFamilyOptions["other"]?.mergeOperator == nil)
        #expect(ignored.count == 1 && ignored[0].contains("unknown.Op"))
    }

    @Test("malformed files and foreign comparators are refused with the file and line")
    func refusals() throws {
        let noDB = "[Version]\n  rocksdb_version=7.8.3\n[CFOptions \"default\"]\n"
        #expect(throws: StrataError.self) { try OptionsFile.parse(noDB, file: "f") }
        let badLine = "[DBOptions]\n  just words\n[CFOptions \"default\"]\n"
        do {
            _ = try OptionsFile.parse(badLine, file: "OPTIONS-000009")
            Issue.record("accepted a line without '='")
        } catch let error as StrataError {
            #expect(error.kind == .corruption)
            #expect("\(error)".contains("line 2"))
            #expect("\(error)".contains("OPTIONS-000009"))
        }
        let orphanTable = "[DBOptions]\n[TableOptions/BlockBasedTable \"x\"]\n  block_size=1\n[CFOptions \"default\"]\n"
        #expect(throws: StrataError.self) { try OptionsFile.parse(orphanTable, file: "f") }
        let reverse = try OptionsFile.parse(
            "[DBOptions]\n[CFOptions \"default\"]\n  comparator=rocksdb.ReverseBytewiseComparator\n", file: "f")
        do {
            _ = try Options().applyingOptionsFile(reverse, file: "f")
            Issue.record("accepted a reverse comparator")
        } catch let error as StrataError {
            #expect(error.kind == .notSupported)
        }
    }

    @Test("escaping as RocksDB's EscapeOptionString: ':', '#', '\\\\' and newlines survive a round trip")
    func escaping() throws {
        for separator in [":", "#", "\\", "a\nb", ", "] {
            let value = OptionsFileWriter.mergeOperatorValue(StringAppendOperator(separator: separator))
            let text = "[DBOptions]\n[CFOptions \"default\"]\n  merge_operator=\(value) # comment\n"
            let file = try OptionsFile.parse(text, file: "f")
            let (options, _) = try Options().applyingOptionsFile(file, file: "f")
            let op = try #require(options.mergeOperator as? StringAppendOperator)
            #expect(op.separator == Array(separator.utf8), "separator \(separator.debugDescription)")
        }
    }

    @Test("mutated OPTIONS files (seeded) parse or fail with a StrataError, never crash or loop")
    func mutations() throws {
        let seed: UInt64 = 2222
        print("seed: \(seed)")
        var rng = TestRandom(seed: seed)
        var options = Options()
        options.mergeOperator = StringAppendOperator(separator: ",")
        let text = OptionsFileWriter.text(options: options, families: [("default", options), ("x", options)])
        let base = Array(text.utf8)
        let specials: [UInt8] = Array("[]{}=;\\#\"\n :".utf8)
        var parsed = 0
        for _ in 0..<1500 {
            var bytes = base
            for _ in 0..<rng.int(1..<6) {
                let at = rng.int(0..<bytes.count)
                switch rng.int(0..<4) {
                case 0: bytes[at] = specials[rng.int(0..<specials.count)]
                case 1: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                case 2: bytes.removeSubrange(at..<min(bytes.count, at + rng.int(1..<40)))
                default: bytes.insert(specials[rng.int(0..<specials.count)], at: at)
                }
                if bytes.isEmpty { bytes = [0x5B] }
            }
            do {
                let file = try OptionsFile.parse(String(decoding: bytes, as: UTF8.self), file: "m")
                _ = try Options().applyingOptionsFile(file, file: "m")
                parsed += 1
            } catch is StrataError {
                continue
            }
        }
        #expect(parsed > 0)
        // Values a database cannot run with are ignored, not applied.
        let hostile = """
            [DBOptions]
              max_background_jobs=100000000
            [CFOptions "default"]
              write_buffer_size=9223372036854775807
              max_bytes_for_level_multiplier=inf
              memtable_prefix_bloom_size_ratio=nan
            [TableOptions/BlockBasedTable "default"]
              filter_policy=bloomfilter:1e300:false
            """
        let (safe, _) = try Options().applyingOptionsFile(try OptionsFile.parse(hostile, file: "h"), file: "h")
        #expect(safe.maxBackgroundJobs == Options().maxBackgroundJobs)
        #expect(safe.writeBufferSize == Options().writeBufferSize)
        #expect(safe.maxBytesForLevelMultiplier == 10)
        #expect(safe.memtableBloomSizeRatio == Options().memtableBloomSizeRatio)
        #expect(safe.bloomBitsPerKey == 10)
    }
}
