import Foundation
import Testing
@testable import Strata

/// RocksDB 11.8.1's reference files (../shared/vectors/rocksdb-11.8.1 beside the repo).
enum Vectors11 {
    static let directory: String = {
        let beside = URL(fileURLWithPath: Vectors.directory).deletingLastPathComponent()
            .appendingPathComponent("rocksdb-11.8.1").path
        if FileManager.default.fileExists(atPath: beside) { return beside }
        return "/work/shared/vectors/rocksdb-11.8.1"
    }()

    static func path(_ name: String) -> String { Path.join(directory, name) }

    /// The format_version 6 and 7 tables with their sst_dump scans and properties.
    static let tables = [
        "snappy_xxh3_bloom_fv7", "snappy_xxh3_bloom_fv6", "snappy_crc32c_bloom_fv6", "uncompressed_xxhash64_fv6",
        "uncompressed_xxh3_bloom_fv7",
    ]
}

/// format_version 6 and 7 (RocksDB 8.6+ / 10.4+): RocksDB 11.8.1's tables
/// read exactly (scan and properties as its sst_dump prints them), context
/// checksums, the checksummed footer, misplaced blocks reported as
/// corruption naming file and offset, every checksum type written and read
/// back at format_version 6, and the features Strata refuses by name.
@Suite("Table format_version 6 and 7")
struct FormatVersion6Tests {
    // MARK: RocksDB 11.8.1's tables

    @Test("RocksDB 11.8.1's format_version 6 and 7 tables scan as its sst_dump prints them", arguments: Vectors11.tables)
    func vectorScans(name: String) throws {
        let table = try TableReader.open(path: Vectors11.path("\(name).sst"))
        let expected = try String(contentsOfFile: Vectors11.path("\(name).scan.txt"), encoding: .utf8)
            .split(separator: "\n").filter { $0.hasPrefix("'") }.map(String.init)
        var lines: [String] = []
        let it = table.makeIterator()
        it.seekToFirst()
        while it.isValid {
            lines.append(sstDumpHexLine(it.key, it.value))
            it.next()
        }
        #expect(it.error == nil)
        #expect(lines.count == 1200)
        #expect(lines == expected)
        try table.verifyAll()
        #expect(try table.allBlocks().allSatisfy { $0.checksumMatches })
        // Every key is found by a point lookup.
        it.seekToFirst()
        while it.isValid {
            let key = Array(ParsedInternalKey(it.key)!.userKey)
            var found = false
            _ = try key.withUnsafeBytes { k in
                try table.get(userKey: k) { _, _ in
                    found = true
                    return false
                }
            }
            #expect(found)
            it.next()
        }
    }

    @Test("their footers: extended magic, context base, metaindex before the footer, index handle from the metaindex",
          arguments: Vectors11.tables)
    func vectorFooters(name: String) throws {
        let table = try TableReader.open(path: Vectors11.path("\(name).sst"))
        #expect(table.footer.formatVersion == (name.hasSuffix("fv7") ? 7 : 6))
        #expect(table.baseContextChecksum != 0)
        #expect(table.footer.metaindexHandle.offset + table.footer.metaindexHandle.size + 5
            == table.fileSize - UInt64(Footer.encodedLength))
        #expect(table.footer.indexHandle == BlockHandle(offset: 0, size: 0))
        #expect(table.metaindex.contains { $0.name == "rocksdb.index" && $0.handle == table.indexHandle })
        #expect(table.indexHandle.size > 0)
    }

    @Test("their properties print as RocksDB 11.8.1's sst_dump --show_properties prints them", arguments: Vectors11.tables)
    func vectorProperties(name: String) throws {
        let table = try TableReader.open(path: Vectors11.path("\(name).sst"))
        let text = try String(contentsOfFile: Vectors11.path("\(name).props.txt"), encoding: .utf8)
        let expected = String(text[text.range(of: "Table Properties:")!.lowerBound...])
        #expect(table.properties.rocksDB11StyleDescription() == expected)
        #expect(table.properties.uniqueIDText != nil)
    }

    /// The footer of `uncompressed_xxhash64_fv6.sst` (409,058 bytes; the
    /// footer starts at 409,005): the worked example of docs/format.md.
    static let exampleFooter: [UInt8] = [
        0x03, 0x3E, 0x00, 0x7A, 0x00, 0x72, 0xA7, 0x12, 0x80, 0xA1, 0x47, 0xA5, 0x23, 0x3B, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0xF7, 0xCF, 0xF4, 0x85,
        0xB7, 0x41, 0xE2, 0x88,
    ]

    @Test("the worked example: a real format_version 6 footer decodes field by field and re-encodes to its bytes")
    func workedExample() throws {
        let footer = try Self.exampleFooter.withUnsafeBytes { (raw) throws(StrataError) in
            try Footer.decode(raw, tailOffset: 409_005)
        }
        #expect(footer.checksumType == ChecksumType.xxHash64.rawValue)
        #expect(footer.baseContextChecksum == 0x23A5_47A1)
        #expect(footer.metaindexHandle == BlockHandle(offset: 409_005 - 5 - 59, size: 59))
        #expect(footer.formatVersion == 6)
        #expect(footer.encode(footerOffset: 409_005) == Self.exampleFooter)
        // The same bytes anywhere else fail the footer checksum.
        let moved = Self.exampleFooter.withUnsafeBytes { raw -> StrataError? in
            do throws(StrataError) { _ = try Footer.decode(raw, tailOffset: 409_006); return nil } catch { return error }
        }
        #expect(moved?.kind == .corruption)
        #expect(moved?.message.contains("footer checksum mismatch") == true)
        let vector = try PosixFileSystem.shared.openRandomAccess(Vectors11.path("uncompressed_xxhash64_fv6.sst"))
        defer { vector.close() }
        #expect(vector.size == 409_058)
        #expect(try vector.read(at: 409_005, count: 53) == Self.exampleFooter)
        // The metaindex the footer points to, as docs/format.md walks through it.
        #expect(try vector.read(at: 408_941 + 59, count: 5) == [0x00, 0x8D, 0x94, 0xB0, 0x8D])
        let table = try TableReader.open(path: Vectors11.path("uncompressed_xxhash64_fv6.sst"))
        #expect(table.indexHandle == BlockHandle(offset: 406_577, size: 1196))
        #expect(table.metaindex.first { $0.name == "rocksdb.properties" }?.handle == BlockHandle(offset: 407_778, size: 1158))
        #expect(contextChecksumModifier(base: 0x23A5_47A1, offset: 409_005) == 0x23A3_7A0C)
        #expect(contextChecksumModifier(base: 0x23A5_47A1, offset: 408_941) == 0x23A3_7ACC)
    }

    // MARK: Writing format_version 6

    static func entries(count: Int, seed: UInt64) -> [(key: [UInt8], value: [UInt8])] {
        var rng = TestRandom(seed: seed)
        var keys = Set<[UInt8]>()
        while keys.count < count { keys.insert(rng.bytes(16)) }
        return keys.sorted { Bytewise.compare($0, $1) < 0 }.enumerated().map { i, key in
            (InternalKey.make(key, sequence: UInt64(i + 1), type: ValueType.value.rawValue), rng.bytes(50))
        }
    }

    static func write(_ entries: [(key: [UInt8], value: [UInt8])], options: TableOptions, to path: String) throws {
        let file = try PosixFileSystem.shared.createWritable(path)
        let builder = try TableBuilder(file: file, options: options, fileNumber: 9)
        for e in entries { try builder.add(internalKey: e.key, value: e.value) }
        try builder.finish()
        try file.close()
    }

    @Test("every checksum type round trips at format_version 6, compressed or not")
    func everyChecksumType() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        print("seed 61")
        let entries = Self.entries(count: 400, seed: 61)
        for checksum in ChecksumType.allCases {
            for compression in [CompressionType.none, .snappy] {
                var options = TableOptions()
                options.formatVersion = 6
                options.checksum = checksum
                options.compression = compression
                options.blockSize = 1024
                let path = dir.file("\(checksum.rocksDBName)-\(compression.rocksDBName).sst")
                try Self.write(entries, options: options, to: path)
                let table = try TableReader.open(path: path)
                #expect(table.footer.formatVersion == 6)
                #expect(table.checksumType == checksum)
                #expect(table.baseContextChecksum != 0)
                try table.verifyAll()
                let blocks = try table.allBlocks()
                #expect(blocks.allSatisfy { $0.checksumMatches }, "\(checksum) \(compression)")
                var read: [(key: [UInt8], value: [UInt8])] = []
                let it = table.makeIterator()
                it.seekToFirst()
                while it.isValid {
                    read.append((Array(it.key), Array(it.value)))
                    it.next()
                }
                #expect(read.map(\.key) == entries.map(\.key))
                #expect(read.map(\.value) == entries.map(\.value))
            }
        }
    }

    @Test("a block's stored checksum is its plain checksum plus the modifier of its offset")
    func contextChecksum() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = TableOptions()
        options.formatVersion = 6
        options.compression = .none
        let path = dir.file("t.sst")
        try Self.write(Self.entries(count: 200, seed: 62), options: options, to: path)
        let table = try TableReader.open(path: path)
        let handles = try table.dataBlockHandles().map(\.handle)
        #expect(handles.count > 2)
        for handle in handles {
            let stored = try table.file.read(at: handle.offset, count: Int(handle.size) + 5)
            let plain = stored.prefix(Int(handle.size) + 1).withUnsafeBytes { blockChecksum(.xxh3, blockAndType: $0) }
            let trailer = stored.suffix(4).withUnsafeBytes { loadFixed32($0.baseAddress!) }
            #expect(trailer == plain &+ (table.baseContextChecksum ^ UInt32(handle.offset)))
            #expect(trailer == plain &+ contextChecksumModifier(base: table.baseContextChecksum, offset: handle.offset))
        }
        // The modifier: base XOR (low 32 + high 32 bits of the offset); none without a base.
        #expect(contextChecksumModifier(base: 0, offset: 12345) == 0)
        #expect(contextChecksumModifier(base: 0xF0F0_0000, offset: (3 << 32) | 5) == 0xF0F0_0000 ^ 8)
        #expect(contextChecksumModifier(base: 1, offset: 0xFFFF_FFFF_0000_0001) == 1 ^ 0)
    }

    /// A table whose data blocks all have the same stored size (fixed-size
    /// keys and values, no prefix compression, no compression), so one can
    /// be copied over another.
    static func uniformTable(formatVersion: UInt32, checksum: ChecksumType, at path: String) throws {
        var options = TableOptions()
        options.formatVersion = formatVersion
        options.checksum = checksum
        options.compression = .none
        options.blockRestartInterval = 1
        options.blockSize = 1024
        try write(entries(count: 300, seed: 63), options: options, to: path)
    }

    /// Copies data block `from` over data block `to` (same size) in place.
    static func misplace(at path: String) throws -> (from: BlockHandle, to: BlockHandle) {
        let table = try TableReader.open(path: path)
        let handles = try table.dataBlockHandles().map(\.handle)
        guard let to = handles.dropFirst(2).first, let from = handles.first, from.size == to.size else {
            Issue.record("expected equal-size data blocks: \(handles.prefix(3))")
            throw StrataError.invalidArgument("no equal-size blocks")
        }
        var bytes = try table.file.read(at: 0, count: Int(table.fileSize))
        let block = Array(bytes[Int(from.offset)..<Int(from.offset + from.size + 5)])
        bytes.replaceSubrange(Int(to.offset)..<Int(to.offset + to.size + 5), with: block)
        let file = try PosixFileSystem.shared.createWritable(path)
        try file.append(bytes)
        try file.close()
        return (from, to)
    }

    @Test("a block copied to another offset is corruption naming the file, the offset and where it belongs",
          arguments: [ChecksumType.crc32c, .xxHash, .xxHash64, .xxh3, .none])
    func misplacedBlock(checksum: ChecksumType) throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let path = dir.file("misplaced.sst")
        try Self.uniformTable(formatVersion: 6, checksum: checksum, at: path)
        let (from, to) = try Self.misplace(at: path)
        let table = try TableReader.open(path: path)
        do {
            try table.verifyAll()
            Issue.record("a misplaced block passed verification (\(checksum))")
        } catch let error as StrataError {
            #expect(error.kind == .corruption)
            #expect(error.file == path)
            #expect(error.offset == to.offset)
            #expect(error.message.contains("misplaced"), "\(error)")
            #expect(error.message.contains("valid for offset \(from.offset)"), "\(error)")
        }
        // Iterating fails the same way: no silently wrong entries.
        let it = table.makeIterator()
        it.seekToFirst()
        var count = 0
        while it.isValid { count += 1; it.next() }
        #expect(it.error?.kind == .corruption)
    }

    @Test("at format_version 5 the same misplaced block goes unnoticed: why format_version 6 exists")
    func misplacedBlockFormatVersion5() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let path = dir.file("misplaced5.sst")
        try Self.uniformTable(formatVersion: 5, checksum: .xxh3, at: path)
        _ = try Self.misplace(at: path)
        let table = try TableReader.open(path: path)
        // Every block checksum still matches: only the keys' order can give
        // the copy away (verifyAll checks it across blocks).
        #expect(try table.allBlocks().allSatisfy { $0.checksumMatches })
        do {
            try table.verifyAll()
        } catch let error as StrataError {
            #expect(error.kind == .corruption)
            #expect(error.message.contains("out of order"), "\(error)")
            #expect(!error.message.contains("checksum"), "\(error)")
        }
    }

    @Test("footer damage: checksum mismatch, bad extended magic, zero context base, reserved bytes set")
    func footerCorruption() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = TableOptions()
        options.formatVersion = 6
        let good = dir.file("good.sst")
        try Self.write(Self.entries(count: 50, seed: 64), options: options, to: good)
        let bytes = try PosixFileSystem.shared.openRandomAccess(good).read(at: 0, count: Int(try PosixFileSystem.shared.fileSize(good)))
        let footerStart = bytes.count - 53
        func reopen(_ change: (inout [UInt8]) -> Void) -> StrataError? {
            var damaged = bytes
            change(&damaged)
            let path = dir.file("bad.sst")
            do {
                let file = try PosixFileSystem.shared.createWritable(path)
                try file.append(damaged)
                try file.close()
                _ = try TableReader.open(path: path)
                return nil
            } catch let error as StrataError {
                #expect(error.file == path)
                return error
            } catch {
                Issue.record("\(error)")
                return nil
            }
        }
        // Every byte of the footer's part 2 (its unchecked padding too) is covered by the footer checksum.
        for i in [9, 13, 20, 30] {
            let error = reopen { $0[footerStart + i] ^= 0x10 }
            #expect(error?.kind == .corruption, "byte \(i)")
            #expect(error?.message.contains("footer checksum mismatch") == true, "byte \(i): \(String(describing: error))")
            #expect(error?.offset == UInt64(footerStart + 5))
        }
        let magic = reopen { $0[footerStart + 2] ^= 0x01 }
        #expect(magic?.kind == .corruption)
        #expect(magic?.message.contains("extended magic") == true)
        // A valid checksum over a zero base, or over reserved bytes set.
        func rechecksummed(_ change: (inout [UInt8]) -> Void) -> StrataError? {
            reopen { b in
                var footer = Array(b[footerStart...])
                change(&footer)
                let base = footer.withUnsafeBytes { loadFixed32($0.baseAddress! + 9) }
                let sum = Footer.checksum(of: footer, type: footer[0], base: base, footerOffset: UInt64(footerStart))
                for k in 0..<4 { footer[5 + k] = UInt8(truncatingIfNeeded: sum >> (8 * UInt32(k))) }
                b.replaceSubrange(footerStart..., with: footer)
            }
        }
        let zeroBase = rechecksummed { f in for k in 9..<13 { f[k] = 0 } }
        #expect(zeroBase?.kind == .corruption)
        #expect(zeroBase?.message.contains("base context checksum") == true)
        let future = rechecksummed { f in f[40] = 1 }
        #expect(future?.kind == .notSupported)
        #expect(future?.message.contains("future feature") == true)
        // Sanity: re-checksumming alone keeps it valid.
        #expect(rechecksummed { _ in } == nil)
    }

    @Test("footers of format_version 6 and 7 round trip for every checksum type, only at their own offset")
    func footerRoundTrip() throws {
        for version: UInt32 in [6, 7] {
            for checksum: UInt8 in 0...4 {
                for offset: UInt64 in [100, 65_536, 5_000_000_000] {
                    let footer = Footer(checksumType: checksum, metaindexHandle: BlockHandle(offset: offset - 5 - 70, size: 70),
                                        indexHandle: BlockHandle(offset: 0, size: 0), formatVersion: version,
                                        baseContextChecksum: 0x1234_5678)
                    let bytes = footer.encode(footerOffset: offset)
                    #expect(bytes.count == 53)
                    let decoded = try bytes.withUnsafeBytes { (raw) throws(StrataError) in
                        try Footer.decode(raw, tailOffset: offset)
                    }
                    #expect(decoded == footer)
                    let elsewhere = bytes.withUnsafeBytes { raw -> StrataError? in
                        do throws(StrataError) { _ = try Footer.decode(raw, tailOffset: offset + 4096); return nil } catch {
                            return error
                        }
                    }
                    #expect(elsewhere?.kind == .corruption)
                }
            }
        }
    }

    // MARK: What Strata refuses

    @Test("writing format_version 7 (or outside 2...7) is refused with a clear error")
    func writeVersion7Refused() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        for version: UInt32 in [7, 1, 8] {
            var options = TableOptions()
            options.formatVersion = version
            let file = try PosixFileSystem.shared.createWritable(dir.file("v\(version).sst"))
            defer { try? file.close() }
            do {
                _ = try TableBuilder(file: file, options: options)
                Issue.record("format_version \(version) accepted for writing")
            } catch {
                #expect(error.kind == (version == 7 ? .notSupported : .invalidArgument))
                #expect(error.message.contains("format_version"))
            }
        }
    }

    @Test("format_version 7 compression property: built-in Snappy or none is read; other managers and compressions are refused by name")
    func compressionManagerProperty() throws {
        func check(_ name: String, version: UInt32 = 7) -> StrataError? {
            var p = TableProperties()
            p.compressionName = name
            do {
                try p.checkReadable(formatVersion: version)
                return nil
            } catch {
                return error
            }
        }
        #expect(check("BuiltinV2;01;") == nil)
        #expect(check(";;") == nil)
        #expect(check("BuiltinV2;;") == nil)
        #expect(check("BuiltinV2;01;future-field") == nil)
        #expect(check("") == nil)
        // Before format_version 7 the property is one compression's name (blocks are checked as read).
        #expect(check("ZSTD", version: 6) == nil)
        let zstd = check("BuiltinV2;07;")
        #expect(zstd?.kind == .notSupported)
        #expect(zstd?.message.contains("ZSTD") == true)
        let mixed = check("BuiltinV2;0107;")
        #expect(mixed?.kind == .notSupported)
        let manager = check("MyCustomManager;01;")
        #expect(manager?.kind == .notSupported)
        #expect(manager?.message.contains("MyCustomManager") == true)
        for malformed in ["BuiltinV2", "BuiltinV2;01", "BuiltinV2;1;", "BuiltinV2;zz;", "BuiltinV2;00;", ";01;"] {
            #expect(check(malformed)?.kind == .corruption, "\(malformed)")
        }
    }

    @Test("separate_key_value_in_data_block, a user-defined index and partitioned indexes are refused by name")
    func unsupportedLayouts() throws {
        var p = TableProperties()
        p.separateKeyValueInDataBlock = 1
        #expect(throws: StrataError.self) { try p.checkReadable(formatVersion: 7) }
        do { try p.checkReadable(formatVersion: 6) } catch { #expect(error.message.contains("separate_key_value_in_data_block")) }
        p = TableProperties()
        p.udiIsPrimaryIndex = 1
        do { try p.checkReadable(formatVersion: 7) } catch { #expect(error.kind == .notSupported) }
        p = TableProperties()
        p.indexType = 2
        do { try p.checkReadable(formatVersion: 5) } catch { #expect(error.message.contains("partitioned")) }

        // End to end: a table that says so is refused at open, naming the file.
        let dir = TestDirectory()
        defer { dir.remove() }
        let path = dir.file("separate.sst")
        let file = try PosixFileSystem.shared.createWritable(path)
        var options = TableOptions()
        options.formatVersion = 6
        let builder = try TableBuilder(file: file, options: options)
        for e in Self.entries(count: 10, seed: 65) { try builder.add(internalKey: e.key, value: e.value) }
        builder.setProperties { $0.separateKeyValueInDataBlock = 1 }
        try builder.finish()
        try file.close()
        do {
            _ = try TableReader.open(path: path)
            Issue.record("a table with separated keys and values was opened")
        } catch let error as StrataError {
            #expect(error.kind == .notSupported)
            #expect(error.file == path)
            #expect(error.message.contains("rocksdb.separate.key.value.in.data.block"))
        }
    }

    @Test("newer properties survive a parse and re-encode; Strata's own fv6 tables keep 7.8.3's property set")
    func newerPropertiesRoundTrip() throws {
        var p = TableProperties()
        p.newestKeyTime = 5
        p.tailStartOffset = 1000
        p.keyLargestSeqno = 9
        p.keySmallestSeqno = 1
        p.numUniformBlocks = 0
        let parsed = try TableProperties(entries: p.encodedEntries())
        #expect(parsed == p)
        #expect(parsed.userCollected.isEmpty)
        #expect(TableProperties().encodedEntries().allSatisfy {
            !String(decoding: $0.key, as: UTF8.self).contains("newest.key.time")
        })
    }
}
