import Testing
@testable import Strata

/// Random tables: entries → TableBuilder → TableReader → the same entries.
@Suite("Table round trips")
struct TableRoundTripTests {
    struct Entry {
        var internalKey: [UInt8]
        var value: [UInt8]
    }

    /// Random entries in internal-key order: binary user keys (the empty
    /// key, 0xFF runs, shared prefixes), several versions of some keys, every
    /// point type.
    static func randomEntries(_ rng: inout TestRandom, count: Int, maxKey: Int = 40, maxValue: Int = 300) -> [Entry] {
        var userKeys = Set<[UInt8]>()
        userKeys.insert([])
        userKeys.insert([0xFF, 0xFF])
        while userKeys.count < count {
            switch rng.int(0..<4) {
            case 0: userKeys.insert(rng.bytes(rng.int(0..<maxKey)))
            case 1: userKeys.insert([0xFF] + rng.bytes(rng.int(0..<4)))
            default: userKeys.insert(Array("user/\(rng.int(0..<100_000))/".utf8) + rng.bytes(rng.int(0..<3)))
            }
        }
        var entries: [Entry] = []
        var sequence: UInt64 = 1
        let types: [ValueType] = [.value, .value, .value, .deletion, .merge, .singleDeletion]
        for key in userKeys {
            for _ in 0..<(rng.int(0..<10) == 0 ? rng.int(2..<5) : 1) {
                let type = types[rng.int(0..<types.count)]
                let value = type == .deletion || type == .singleDeletion ? [] : rng.bytes(rng.int(0..<maxValue))
                entries.append(Entry(internalKey: InternalKey.make(key, sequence: sequence, type: type.rawValue), value: value))
                sequence += UInt64(rng.int(1..<3))
            }
        }
        entries.sort { InternalKey.compare($0.internalKey, $1.internalKey) < 0 }
        return entries
    }

    static func randomOptions(_ rng: inout TestRandom) -> TableOptions {
        var o = TableOptions()
        o.formatVersion = UInt32(rng.int(2..<7))
        o.checksum = [ChecksumType.crc32c, .xxHash, .xxHash64, .xxh3][rng.int(0..<4)]
        o.compression = rng.int(0..<2) == 0 ? .none : .snappy
        o.blockSize = [64, 256, 1024, 4096][rng.int(0..<4)]
        o.blockRestartInterval = [1, 4, 16][rng.int(0..<3)]
        o.indexBlockRestartInterval = [1, 2, 16][rng.int(0..<3)]
        o.bloomBitsPerKey = [0, 10, 5.5][rng.int(0..<3)]
        return o
    }

    static func write(_ entries: [Entry], options: TableOptions, to path: String) throws -> UInt64 {
        let file = try PosixFileSystem.shared.createWritable(path)
        let builder = try TableBuilder(file: file, options: options, fileNumber: 7)
        for e in entries { try builder.add(internalKey: e.internalKey, value: e.value) }
        let size = try builder.finish()
        try file.close()
        return size
    }

    @Test("random tables read back exactly, in both directions, with seeks and gets")
    func roundTrip() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        for seed: UInt64 in 1...40 {
            print("seed \(seed)")
            var rng = TestRandom(seed: seed)
            let entries = Self.randomEntries(&rng, count: rng.int(1..<600))
            let options = Self.randomOptions(&rng)
            let path = dir.file("t\(seed).sst")
            let size = try Self.write(entries, options: options, to: path)
            #expect(size == (try PosixFileSystem.shared.fileSize(path)))

            var readerOptions = TableReaderOptions()
            if seed % 2 == 0 { readerOptions.blockCache = BlockCache(capacity: 64 << 10) }
            let table = try TableReader.open(path: path, options: readerOptions)
            #expect(table.properties.numEntries == UInt64(entries.count))
            #expect(table.footer.formatVersion == options.formatVersion)

            let it = table.makeIterator()
            it.seekToFirst()
            var i = 0
            while it.isValid {
                #expect(Array(it.key) == entries[i].internalKey)
                #expect(Array(it.value) == entries[i].value)
                i += 1
                it.next()
            }
            #expect(i == entries.count)
            it.seekToLast()
            i = entries.count - 1
            while it.isValid {
                #expect(Array(it.key) == entries[i].internalKey)
                i -= 1
                it.prev()
            }
            #expect(i == -1)

            // Seeks to random internal keys.
            for _ in 0..<200 {
                let probe = rng.int(0..<3) == 0
                    ? InternalKey.make(rng.bytes(rng.int(0..<6)), sequence: UInt64(rng.int(0..<2000)), type: 1)
                    : entries[rng.int(0..<entries.count)].internalKey
                let expected = entries.firstIndex { InternalKey.compare($0.internalKey, probe) >= 0 }
                probe.withUnsafeBytes { it.seek($0) }
                if let expected { #expect(it.isValid && Array(it.key) == entries[expected].internalKey) } else { #expect(!it.isValid) }
                let expectedPrev = entries.lastIndex { InternalKey.compare($0.internalKey, probe) <= 0 }
                probe.withUnsafeBytes { it.seekForPrev($0) }
                if let expectedPrev { #expect(it.isValid && Array(it.key) == entries[expectedPrev].internalKey) } else { #expect(!it.isValid) }
            }
            #expect(it.error == nil)

            // Point lookups: every user key yields its versions newest first.
            for e in entries.shuffled(using: &rng).prefix(200) {
                let parsed = e.internalKey.withUnsafeBytes { ParsedInternalKey($0)! }
                let userKey = Array(parsed.userKey)
                let expected = entries.filter {
                    $0.internalKey.withUnsafeBytes { Array(ParsedInternalKey($0)!.userKey) } == userKey
                }.map(\.internalKey)
                var got: [[UInt8]] = []
                _ = try userKey.withUnsafeBytes { uk in
                    try table.get(userKey: uk) { key, _ in
                        got.append(Array(key.userKey) + withUnsafeBytes(of: packSequenceAndType(key.sequence, key.typeCode).littleEndian) { Array($0) })
                        return true
                    }
                }
                #expect(got == expected)
            }
        }
    }

    @Test("the same user key split across blocks forces an internal-key index")
    func userKeySplitAcrossBlocks() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = TableOptions()
        options.blockSize = 64
        let entries = (0..<50).map { i in
            Entry(internalKey: InternalKey.make(Array("same".utf8), sequence: UInt64(100 - i), type: 1), value: Array(repeating: UInt8(i), count: 30))
        }
        let path = dir.file("split.sst")
        _ = try Self.write(entries, options: options, to: path)
        let table = try TableReader.open(path: path)
        #expect(table.indexKeyIsUserKey == false)
        var versions = 0
        _ = try Array("same".utf8).withUnsafeBytes { uk in
            try table.get(userKey: uk, sequence: 80) { key, _ in
                #expect(key.sequence <= 80)
                versions += 1
                return true
            }
        }
        #expect(versions == 30)  // sequences 80 down to 51
    }

    @Test("keys out of order are refused")
    func outOfOrder() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let file = try PosixFileSystem.shared.createWritable(dir.file("bad.sst"))
        let builder = try TableBuilder(file: file, options: TableOptions())
        try builder.add(internalKey: InternalKey.make([2], sequence: 1, type: 1), value: [])
        #expect(throws: StrataError.self) {
            try builder.add(internalKey: InternalKey.make([1], sequence: 1, type: 1), value: [])
        }
        try file.close()
    }
}
