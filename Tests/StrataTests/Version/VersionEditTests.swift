import Testing
@testable import Strata

/// MANIFEST records (`VersionEdit`, spec section 13): every modeled field
/// (counters, comparator, deleted files, kNewFile4 files with their custom
/// fields, column family add/drop, atomic groups) survives encode → decode;
/// the encoding uses RocksDB's tags and reproduces RocksDB 7.8.3's own
/// MANIFEST; truncated input is `.corruption`; unknown tags follow the
/// forward-compatibility rules (top level: bit 13 = skippable; kNewFile4
/// custom fields: bit 6 = must be understood, others skipped); the legacy
/// kNewFile / kNewFile2 / kNewFile3 records still decode.
@Suite("VersionEdit encoding")
struct VersionEditTests {
    static func ikey(_ user: String, _ sequence: UInt64, _ type: ValueType = .value) -> [UInt8] {
        InternalKey.make(Array(user.utf8), sequence: sequence, type: type.rawValue)
    }

    static func varint(_ v: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.appendVarint64(v)
        return out
    }

    /// An edit with every field set, and files with every custom field.
    static func fullEdit() -> VersionEdit {
        var edit = VersionEdit()
        edit.dbID = "5f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
        edit.comparator = Bytewise.name
        edit.logNumber = 16
        edit.prevLogNumber = 15
        edit.nextFileNumber = 1 << 40
        edit.lastSequence = maxSequenceNumber - 1
        edit.minLogNumberToKeep = 14
        edit.maxColumnFamily = 70_000
        edit.columnFamily = 3
        edit.columnFamilyAdd = "users"
        edit.remainingInAtomicGroup = 2
        edit.deletedFiles = [(0, 7), (1, 300), (6, VersionEdit.maxFileNumber)]
        edit.compactCursors = [(2, ikey("cursor", 99))]
        var plain = FileMetaData(number: 12, fileSize: 2600, smallest: ikey("key000000", 1),
                                 largest: ikey("key000099", 100), smallestSequence: 1, largestSequence: 100)
        plain.oldestAncesterTime = 1_700_000_000
        plain.fileCreationTime = 1_700_000_123
        var rich = FileMetaData(number: 1 << 33, fileSize: UInt64(UInt32.max) + 5, smallest: ikey("", 0, .deletion),
                                largest: ikey("\u{FF}\u{FF}", maxSequenceNumber, .merge),
                                smallestSequence: 0, largestSequence: maxSequenceNumber)
        rich.oldestAncesterTime = UInt64.max
        rich.fileCreationTime = 1 << 35
        rich.fileChecksum = [0xDE, 0xAD, 0xBE, 0xEF]
        rich.fileChecksumFunctionName = "FileChecksumCrc32c"
        rich.pathID = 2
        rich.markedForCompaction = true
        rich.temperature = 0x08
        rich.oldestBlobFileNumber = 77
        rich.uniqueID = (0..<16).map { UInt8($0 * 3) }
        edit.newFiles = [(0, plain), (5, rich)]
        return edit
    }

    static func randomEdit(_ rng: inout TestRandom) -> VersionEdit {
        func maybe() -> Bool { rng.int(0..<2) == 0 }
        func u64() -> UInt64 { rng.next() >> UInt64(rng.int(0..<64)) }
        func fileNumber() -> UInt64 { u64() & VersionEdit.maxFileNumber }
        func ascii(_ n: Int) -> String { String(decoding: (0..<n).map { _ in UInt8(rng.int(0x20..<0x7F)) }, as: UTF8.self) }
        func key() -> [UInt8] {
            var k = rng.bytes(rng.int(0..<12))
            k.appendFixed64(rng.next())
            return k
        }
        var e = VersionEdit()
        if maybe() { e.comparator = ascii(rng.int(0..<30)) }
        if maybe() { e.logNumber = fileNumber() }
        if maybe() { e.prevLogNumber = fileNumber() }
        if maybe() { e.nextFileNumber = fileNumber() }
        if maybe() { e.lastSequence = u64() & maxSequenceNumber }
        if maybe() { e.minLogNumberToKeep = fileNumber() }
        if maybe() { e.maxColumnFamily = UInt32(truncatingIfNeeded: u64()) }
        if maybe() { e.dbID = ascii(36) }
        if maybe() { e.columnFamily = UInt32(truncatingIfNeeded: u64()) }
        if maybe() { e.columnFamilyAdd = ascii(rng.int(0..<10)) }
        e.columnFamilyDrop = rng.int(0..<4) == 0
        if maybe() { e.remainingInAtomicGroup = UInt32(truncatingIfNeeded: u64()) }
        for _ in 0..<rng.int(0..<4) { e.deletedFiles.append((rng.int(0..<7), fileNumber())) }
        for _ in 0..<rng.int(0..<2) { e.compactCursors.append((rng.int(0..<7), key())) }
        for _ in 0..<rng.int(0..<4) {
            var f = FileMetaData(number: fileNumber(), fileSize: u64(), smallest: key(), largest: key(),
                                 smallestSequence: u64() & maxSequenceNumber, largestSequence: u64() & maxSequenceNumber)
            f.oldestAncesterTime = u64()
            f.fileCreationTime = u64()
            if maybe() { f.fileChecksum = rng.bytes(rng.int(0..<40)) }
            if maybe() { f.fileChecksumFunctionName = ascii(rng.int(0..<20)) }
            f.pathID = UInt32(rng.int(0..<4))
            f.markedForCompaction = maybe()
            f.temperature = UInt8(rng.int(0..<256))
            if maybe() { f.oldestBlobFileNumber = u64() }
            if maybe() { f.uniqueID = rng.bytes(16) }
            e.newFiles.append((rng.int(0..<7), f))
        }
        return e
    }

    /// The kind of the error `decode` throws, or nil if it decodes.
    static func failure(_ bytes: [UInt8]) -> StrataError? {
        do throws(StrataError) {
            _ = try VersionEdit.decode(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test("an edit with every field, files with every custom field, round-trips")
    func roundTripFull() throws {
        let edit = Self.fullEdit()
        let decoded = try VersionEdit.decode(edit.encode())
        #expect(decoded == edit)
        // Spot-check fields through the decoded value, not just ==.
        #expect(decoded.comparator == "leveldb.BytewiseComparator")
        #expect(decoded.lastSequence == maxSequenceNumber - 1)
        #expect(decoded.deletedFiles.map { $0.number } == [7, 300, VersionEdit.maxFileNumber])
        #expect(decoded.newFiles.map { $0.level } == [0, 5])
        let rich = decoded.newFiles[1].file
        #expect(rich.smallestUserKey == [] && rich.largestUserKey == [0xC3, 0xBF, 0xC3, 0xBF])
        #expect(rich.largestSequence == maxSequenceNumber && rich.pathID == 2 && rich.temperature == 8)
        #expect(rich.markedForCompaction && rich.oldestBlobFileNumber == 77 && rich.uniqueID.count == 16)
        #expect(rich.fileChecksum == [0xDE, 0xAD, 0xBE, 0xEF] && rich.fileChecksumFunctionName == "FileChecksumCrc32c")
        #expect(decoded.newFiles[0].file.fileChecksumFunctionName == "Unknown")
        #expect(decoded.newFiles[0].file.oldestBlobFileNumber == nil)

        var drop = VersionEdit()
        drop.columnFamily = 3
        drop.columnFamilyDrop = true
        #expect(try VersionEdit.decode(drop.encode()) == drop)

        #expect(VersionEdit().encode() == [])
        #expect(try VersionEdit.decode([]) == VersionEdit())
    }

    @Test("300 random edits round-trip")
    func roundTripRandom() throws {
        let seed: UInt64 = 0xED17
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        for round in 0..<300 {
            let edit = Self.randomEdit(&rng)
            let bytes = edit.encode()
            let decoded = try VersionEdit.decode(bytes)
            #expect(decoded == edit, "round \(round)")
            #expect(decoded.encode() == bytes, "round \(round)")
        }
    }

    @Test("the encoding uses RocksDB's tags and field layouts")
    func exactBytes() throws {
        var counters = VersionEdit()
        counters.comparator = Bytewise.name
        counters.logNumber = 16
        counters.prevLogNumber = 0
        counters.nextFileNumber = 22
        counters.maxColumnFamily = 0
        counters.minLogNumberToKeep = 16
        counters.lastSequence = 101
        #expect(counters.encode() == [0x01, 0x1A] + Array(Bytewise.name.utf8)
            + [0x02, 0x10, 0x09, 0x00, 0x03, 0x16, 0xCB, 0x01, 0x00, 0x0A, 0x10, 0x04, 0x65])

        var files = VersionEdit()
        files.deletedFiles = [(1, 300)]
        files.newFiles = [(0, FileMetaData(number: 12, fileSize: 2600, smallest: Self.ikey("key000000", 1),
                                           largest: Self.ikey("key000099", 100), smallestSequence: 1, largestSequence: 100))]
        #expect(files.encode() == [0x06, 0x01, 0xAC, 0x02]
            + [0x67, 0x00, 0x0C, 0xA8, 0x14, 0x11] + Self.ikey("key000000", 1) + [0x11] + Self.ikey("key000099", 100)
            + [0x01, 0x64]
            + [0x05, 0x01, 0x00, 0x06, 0x01, 0x00, 0x07, 0x00, 0x08, 0x07] + Array("Unknown".utf8) + [0x01])

        var family = VersionEdit()
        family.dbID = "id"
        family.columnFamily = 5
        family.columnFamilyAdd = "x"
        family.remainingInAtomicGroup = 2
        #expect(family.encode() == [0x81, 0x40, 0x02, 0x69, 0x64, 0xC8, 0x01, 0x05, 0xC9, 0x01, 0x01, 0x78, 0xAC, 0x02, 0x02])

        var drop = VersionEdit()
        drop.columnFamily = 5
        drop.columnFamilyDrop = true
        #expect(drop.encode() == [0xC8, 0x01, 0x05, 0xCA, 0x01])

        var cursor = VersionEdit()
        cursor.compactCursors = [(1, Self.ikey("c", 3))]
        #expect(cursor.encode() == [0x05, 0x01, 0x09] + Self.ikey("c", 3))
    }

    @Test("RocksDB 7.8.3's tiny_db MANIFEST decodes to its documented contents and re-encodes identically")
    func rocksdbManifest() throws {
        let file = try PosixFileSystem().openRandomAccess(Vectors.path("tiny_db/MANIFEST-000021"))
        defer { file.close() }
        let reader = LogReader(file: file)
        var records: [[UInt8]] = []
        while let record = try reader.next() { records.append(record) }
        #expect(records.count == 5)
        let edits = try records.map { try VersionEdit.decode($0) }
        #expect(edits.first?.comparator == "leveldb.BytewiseComparator")

        // The state after replaying every edit (later values win).
        var logNumber: UInt64?, nextFile: UInt64?, lastSequence: UInt64?, minLog: UInt64?
        var files: [UInt64: (level: Int, file: FileMetaData)] = [:]
        for edit in edits {
            logNumber = edit.logNumber ?? logNumber
            nextFile = edit.nextFileNumber ?? nextFile
            lastSequence = edit.lastSequence ?? lastSequence
            minLog = edit.minLogNumberToKeep ?? minLog
            for (level, f) in edit.newFiles { files[f.number] = (level, f) }
            for d in edit.deletedFiles { files[d.number] = nil }
            #expect(edit.columnFamily == 0)
        }
        #expect(logNumber == 16 && nextFile == 22 && lastSequence == 101 && minLog == 16)
        #expect(files.keys.sorted() == [12, 19])
        if let entry = files[12] {
            let f12 = entry.file
            #expect(entry.level == 0 && f12.fileSize == 2600)
            #expect(f12.smallest == Self.ikey("key000000", 1) && f12.largest == Self.ikey("key000099", 100))
            #expect(f12.smallestSequence == 1 && f12.largestSequence == 100)
            #expect(f12.fileChecksum == [] && f12.fileChecksumFunctionName == "Unknown" && f12.uniqueID.count == 16)
            #expect(f12.oldestAncesterTime == f12.fileCreationTime && f12.oldestAncesterTime > 1_600_000_000)
        }
        if let entry = files[19] {
            let f19 = entry.file
            #expect(entry.level == 0 && f19.fileSize == 1162)
            #expect(f19.smallest == Self.ikey("key000005", 101) && f19.largest == Self.ikey("key000005", 101))
            #expect(f19.smallestSequence == 101 && f19.largestSequence == 101)
        }
        // File 12's record also carries the min-log-number hack field
        // (custom tag 3, fixed64), which decodes into minLogNumberToKeep.
        #expect(edits[1].minLogNumberToKeep == 8)

        // Strata writes fields in RocksDB's order: every record re-encodes
        // byte for byte, except that Strata does not repeat
        // minLogNumberToKeep as the tag-3 hack inside kNewFile4.
        for (i, edit) in edits.enumerated() {
            var expected = records[i]
            let hack: [UInt8] = [0x03, 0x08, 0x08, 0, 0, 0, 0, 0, 0, 0]
            if i == 1, let at = expected.firstRange(of: hack) { expected.removeSubrange(at) }
            #expect(edit.encode() == expected, "record \(i)")
            #expect(try VersionEdit.decode(edit.encode()) == edit, "record \(i)")
        }
    }

    @Test("every truncation is .corruption unless it ends on a field boundary")
    func truncation() throws {
        let bytes = Self.fullEdit().encode()
        var failures = 0
        for cut in 0..<bytes.count {
            let prefix = Array(bytes[0..<cut])
            do throws(StrataError) {
                // A prefix that decodes holds whole fields: it re-encodes to itself.
                let edit = try VersionEdit.decode(prefix)
                #expect(edit.encode() == prefix, "cut \(cut)")
            } catch {
                failures += 1
                #expect(error.kind == .corruption, "cut \(cut): \(error)")
            }
        }
        #expect(failures > bytes.count * 3 / 4)

        // One kNewFile4 is one field: every cut inside it fails.
        var one = VersionEdit()
        one.newFiles = Self.fullEdit().newFiles
        one.newFiles.removeFirst()
        let file = one.encode()
        for cut in 1..<file.count {
            #expect(Self.failure(Array(file[0..<cut]))?.kind == .corruption, "cut \(cut) of \(file.count)")
        }

        // Specific malformed inputs.
        let cases: [(String, [UInt8])] = [
            ("truncated tag varint", [0x82]),
            ("truncated log number", [0x02, 0x80]),
            ("comparator longer than the record", [0x01, 0x05, 0x61]),
            ("deleted file without number", [0x06, 0x01]),
            ("internal key shorter than 8 bytes", [0x67, 0x00, 0x01, 0x01, 0x03, 0x61, 0x62, 0x63]),
            ("varint64 longer than 10 bytes", [0x02] + [UInt8](repeating: 0xFF, count: 11)),
            ("column family id missing", [0xC8, 0x01]),
        ]
        for (label, input) in cases {
            #expect(Self.failure(input)?.kind == .corruption, "\(label)")
        }
    }

    /// level 0, file 12, 2600 bytes, keys a@1 .. z@100, seq 1..100, then `fields`, then kTerminate.
    static func newFile4(fields: [(UInt32, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [0x67, 0x00, 0x0C, 0xA8, 0x14]
        out.appendLengthPrefixed(ikey("a", 1))
        out.appendLengthPrefixed(ikey("z", 100))
        out += [0x01, 0x64]
        for (tag, value) in fields {
            out.appendVarint32(tag)
            out.appendLengthPrefixed(value)
        }
        out.append(0x01)
        return out
    }

    @Test("top-level unknown tags: bit 13 set is skipped, anything else is .corruption")
    func unknownTopLevelTags() throws {
        // 8192 + 77 carries a varint32 length and that many bytes; the fields
        // around it still decode.
        var bytes: [UInt8] = [0x02, 0x05]
        bytes.appendVarint32(8192 + 77)
        bytes.appendLengthPrefixed([0x02, 0x63, 0x04, 0x63])
        bytes += [0x04, 0x09]
        let edit = try VersionEdit.decode(bytes)
        #expect(edit.logNumber == 5 && edit.lastSequence == 9)

        for tag: UInt32 in [8, 11, 77, 101, 8191] {
            var unknown: [UInt8] = []
            unknown.appendVarint32(tag)
            unknown += [0x00]
            #expect(Self.failure(unknown)?.kind == .corruption, "tag \(tag)")
        }
        // RocksDB 8.x-11.x's forward-compatible records (kWalAddition2,
        // kPersistUserDefinedTimestamps, kSubcompactionProgress, ...: 8192 + 6...11) are skipped.
        for tag: UInt32 in 8198...8203 {
            var newer: [UInt8] = []
            newer.appendVarint32(tag)
            newer.appendLengthPrefixed([0x01, 0x02])
            newer += [0x04, 0x07]
            #expect(try VersionEdit.decode(newer).lastSequence == 7, "tag \(tag)")
        }
        // Blob files (kBlobFileAddition 400, kBlobFileGarbage 401) are refused by name.
        for tag: UInt32 in [400, 401] {
            var blob: [UInt8] = []
            blob.appendVarint32(tag)
            blob += [0x00]
            let error = Self.failure(blob)
            #expect(error?.kind == .notSupported, "tag \(tag)")
            #expect(error?.message.contains("blob files") == true)
            #expect(error?.message.contains("\(tag)") == true)
        }
        // A skippable tag whose length runs past the record is corruption.
        var short: [UInt8] = []
        short.appendVarint32(8192 + 77)
        short += [0x05, 0x01]
        #expect(Self.failure(short)?.kind == .corruption)
    }

    @Test("kNewFile4 custom fields: unknown tags without bit 6 are skipped, unknown tags with bit 6 are refused")
    func unknownCustomFields() throws {
        // Spec §13 (and RocksDB's kCustomTagNonSafeIgnoreMask = 1 << 6): a
        // custom tag with bit 6 SET must be understood; without it, skipped.
        for tag: UInt32 in [10, 11, 13, 20, 63, 130, 1026] {
            let bytes = Self.newFile4(fields: [(5, Self.varint(1234)), (tag, [9, 9, 9]), (6, Self.varint(99))]) + [0x04, 0x65]
            let edit = try VersionEdit.decode(bytes)
            #expect(edit.newFiles.count == 1, "tag \(tag)")
            #expect(edit.newFiles.first?.file.oldestAncesterTime == 1234, "tag \(tag)")
            #expect(edit.newFiles.first?.file.fileCreationTime == 99, "tag \(tag)")
            #expect(edit.lastSequence == 101, "tag \(tag)")
        }
        for tag: UInt32 in [64, 66, 100, 127, 64 + 128] {
            let error = Self.failure(Self.newFile4(fields: [(tag, [1])]))
            #expect(error != nil, "tag \(tag) must be understood")
            // RocksDB 7.8.3 reports Corruption("new-file4 custom field not
            // supported"); Strata classifies a field from a newer format as
            // .notSupported (StrataError.Kind: "valid input, feature not
            // implemented").
            #expect(error?.kind == .notSupported, "tag \(tag): \(String(describing: error))")
        }
        // The known bit-6 tag (65, path id) is understood.
        let withPath = try VersionEdit.decode(Self.newFile4(fields: [(65, [3])]))
        #expect(withPath.newFiles.first?.file.pathID == 3)
    }

    @Test("kNewFile4 custom fields with malformed values are .corruption")
    func malformedCustomFields() throws {
        let cases: [(String, [UInt8])] = [
            ("oldest ancester time not a varint", Self.newFile4(fields: [(5, [0x80])])),
            ("file creation time not a varint", Self.newFile4(fields: [(6, [])])),
            ("oldest blob file not a varint", Self.newFile4(fields: [(4, [0xFF])])),
            ("path id empty", Self.newFile4(fields: [(65, [])])),
            ("min-log hack shorter than fixed64", Self.newFile4(fields: [(3, [1, 2, 3])])),
            ("no kTerminate", Array(Self.newFile4(fields: [(5, [1])]).dropLast())),
            ("value longer than the record", Array(Self.newFile4(fields: [(7, [1, 2, 3, 4])]).dropLast(3))),
        ]
        for (label, bytes) in cases {
            #expect(Self.failure(bytes)?.kind == .corruption, "\(label)")
        }
        // Sanity: the builder makes a valid record.
        #expect(Self.failure(Self.newFile4(fields: [(5, [1]), (3, [8, 0, 0, 0, 0, 0, 0, 0])])) == nil)
    }

    @Test("legacy kNewFile, kNewFile2 and kNewFile3 records decode")
    func legacyNewFiles() throws {
        let small = Self.ikey("a", 1), large = Self.ikey("z", 100)
        var v1: [UInt8] = [0x07, 0x02, 0x0C, 0xA8, 0x14]
        v1.appendLengthPrefixed(small)
        v1.appendLengthPrefixed(large)
        var v2: [UInt8] = [0x64, 0x02, 0x0C, 0xA8, 0x14]
        v2.appendLengthPrefixed(small)
        v2.appendLengthPrefixed(large)
        v2 += [0x01, 0x64]
        var v3: [UInt8] = [0x66, 0x02, 0x0C, 0x01, 0xA8, 0x14]
        v3.appendLengthPrefixed(small)
        v3.appendLengthPrefixed(large)
        v3 += [0x01, 0x64]
        for (name, bytes, seqs, path) in [("kNewFile", v1, (0, 0), 0), ("kNewFile2", v2, (1, 100), 0),
                                           ("kNewFile3", v3, (1, 100), 1)] {
            let edit = try VersionEdit.decode(bytes + [0x04, 0x65])
            #expect(edit.lastSequence == 101, "\(name)")
            guard let first = edit.newFiles.first else {
                Issue.record("\(name): no file")
                continue
            }
            let level = first.level, f = first.file
            #expect(level == 2 && f.number == 12 && f.fileSize == 2600, "\(name)")
            #expect(f.smallest == small && f.largest == large, "\(name)")
            #expect(f.smallestSequence == UInt64(seqs.0) && f.largestSequence == UInt64(seqs.1), "\(name)")
            #expect(f.pathID == UInt32(path), "\(name)")
            // Re-encoded, it becomes a kNewFile4 with the same contents.
            let again = try VersionEdit.decode(edit.encode())
            #expect(again == edit, "\(name)")
        }
    }
}
