import Foundation
import Testing
@testable import Strata

/// Formats an entry as `sst_dump --command=scan --output_hex` prints it.
func sstDumpHexLine(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> String {
    let parsed = ParsedInternalKey(key)!
    return "'\(hexUpper(parsed.userKey))' seq:\(parsed.sequence), type:\(parsed.typeCode) => \(hexUpper(value))"
}

func hexUpper(_ bytes: UnsafeRawBufferPointer) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

@Suite("RocksDB-written tables")
struct TableVectorTests {
    @Test("every vector decodes to exactly its sst_dump scan", arguments: Vectors.tables)
    func scanMatches(name: String) throws {
        let table = try TableReader.open(path: Vectors.path("\(name).sst"))
        let expected = try String(contentsOfFile: Vectors.path("\(name).scan.txt"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        var lines: [String] = []
        let it = table.makeIterator()
        it.seekToFirst()
        while it.isValid {
            lines.append(sstDumpHexLine(it.key, it.value))
            it.next()
        }
        #expect(it.error == nil)
        #expect(lines == expected)

        // Backwards gives the same entries reversed.
        var reversed: [String] = []
        it.seekToLast()
        while it.isValid {
            reversed.append(sstDumpHexLine(it.key, it.value))
            it.prev()
        }
        #expect(reversed == expected.reversed())
    }

    @Test("every key of every vector is found by get, and passes the filter", arguments: Vectors.tables)
    func pointLookups(name: String) throws {
        let table = try TableReader.open(path: Vectors.path("\(name).sst"))
        let it = table.makeIterator()
        it.seekToFirst()
        var count = 0
        while it.isValid {
            let parsed = ParsedInternalKey(it.key)!
            let userKey = Array(parsed.userKey)
            let value = Array(it.value)
            #expect(userKey.withUnsafeBytes { table.mayContain(userKey: $0) })
            var found: [UInt8]? = nil
            _ = try userKey.withUnsafeBytes { uk in
                try table.get(userKey: uk) { _, v in
                    found = Array(v)
                    return false
                }
            }
            #expect(found == value)
            count += 1
            it.next()
        }
        #expect(count > 0)
    }

    @Test("the mixed-types vector has its range tombstone and counts")
    func mixedTypes() throws {
        let table = try TableReader.open(path: Vectors.path("mixed_types.sst"))
        #expect(table.rangeTombstones.count == 1)
        let tombstone = table.rangeTombstones[0]
        let parsed = tombstone.begin.withUnsafeBytes { ParsedInternalKey($0)! }
        #expect(Array(parsed.userKey) == Array("range_a".utf8))
        #expect(parsed.sequence == 107)
        #expect(tombstone.end == Array("range_m".utf8))
        #expect(table.properties.numEntries == 9)
        #expect(table.properties.numDeletions == 3)
        #expect(table.properties.numMergeOperands == 2)
        #expect(table.properties.numRangeDeletions == 1)
    }

    @Test("absent keys are mostly ruled out by the filter", arguments: ["snappy_xxh3_bloom_fv5", "snappy_xxhash64_legacybloom_fv4"])
    func filterRulesOutAbsentKeys(name: String) throws {
        let table = try TableReader.open(path: Vectors.path("\(name).sst"))
        var positives = 0
        for i in 0..<10_000 {
            let key = Array("absent\(i)".utf8)
            if key.withUnsafeBytes({ table.mayContain(userKey: $0) }) { positives += 1 }
        }
        // 10 bits/key: about 1% false positives; 3% is far outside the noise.
        #expect(positives < 300)
    }

    @Test("tiny_db's SSTs read (through the cache too)")
    func tinyDBTables() throws {
        var options = TableReaderOptions()
        options.blockCache = BlockCache(capacity: 1 << 20)
        for name in ["000012.sst", "000019.sst"] {
            let table = try TableReader.open(path: Vectors.path("tiny_db/\(name)"), options: options)
            for _ in 0..<2 {
                let it = table.makeIterator()
                it.seekToFirst()
                var n = 0
                while it.isValid { n += 1; it.next() }
                #expect(it.error == nil)
                #expect(n == (name == "000012.sst" ? 100 : 1))
            }
        }
    }

    @Test("every vector's properties print as RocksDB 7.8.3's sst_dump --show_properties prints them, unique ID included",
          arguments: Vectors.tables)
    func propertiesMatch(name: String) throws {
        let table = try TableReader.open(path: Vectors.path("\(name).sst"))
        let text = try String(contentsOfFile: Vectors.path("\(name).props.txt"), encoding: .utf8)
        let expected = String(text[try #require(text.range(of: "Table Properties:")).lowerBound...])
        #expect(table.properties.rocksDBStyleDescription() == expected)
    }
}
