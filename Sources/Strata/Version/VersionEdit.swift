/// One MANIFEST record: a change to the set of live files and counters
/// (RocksDB `VersionEdit`, spec section 13). Encoded as a sequence of
/// `varint32 tag` + field; unknown tags with bit 13 set are skipped, any
/// other unknown tag is corruption.
///
/// Value type; `Sendable`.
package struct VersionEdit: Sendable, Equatable {
    /// Tags of the encoding.
    enum Tag: UInt32 {
        case comparator = 1
        case logNumber = 2
        case nextFileNumber = 3
        case lastSequence = 4
        case compactCursor = 5
        case deletedFile = 6
        case newFile = 7
        case prevLogNumber = 9
        case minLogNumberToKeep = 10
        case newFile2 = 100
        case newFile3 = 102
        case newFile4 = 103
        case columnFamily = 200
        case columnFamilyAdd = 201
        case columnFamilyDrop = 202
        case maxColumnFamily = 203
        case inAtomicGroup = 300
        case dbID = 8193
    }

    /// The largest file number RocksDB can record: it packs a file number
    /// and a 2-bit path id into 64 bits (`kFileNumberMask`). Larger numbers
    /// in a MANIFEST are corruption (and would overflow the file counter).
    package static let maxFileNumber: UInt64 = (1 << 62) - 1

    /// Path ids go in those 2 bits: at most 4 `db_paths` (RocksDB rejects a
    /// larger one as "path_id wrong vaue").
    static let maxPathID: UInt32 = 3

    /// Tags with this bit can be skipped by readers that do not know them.
    static let safeIgnoreMask: UInt32 = 1 << 13
    /// RocksDB `kBlobFileAddition` / `kBlobFileGarbage` (BlobDB, RocksDB 6.x+):
    /// without the safe-to-ignore bit, so a reader that cannot follow blob
    /// references must refuse the MANIFEST.
    static let blobFileAdditionTag: UInt32 = 400
    static let blobFileGarbageTag: UInt32 = 401

    /// Custom-field tags of kNewFile4.
    enum FileTag: UInt32 {
        case terminate = 1
        case needCompaction = 2
        case minLogNumberToKeepHack = 3
        case oldestBlobFileNumber = 4
        case oldestAncesterTime = 5
        case fileCreationTime = 6
        case fileChecksum = 7
        case fileChecksumFunctionName = 8
        case temperature = 9
        case minTimestamp = 10
        case maxTimestamp = 11
        case uniqueID = 12
        case pathID = 65
    }

    /// Custom-field tags with this bit must be understood by the reader.
    static let fileTagMustUnderstand: UInt32 = 1 << 6

    package var comparator: String?
    package var logNumber: UInt64?
    package var prevLogNumber: UInt64?
    package var nextFileNumber: UInt64?
    package var lastSequence: UInt64?
    package var minLogNumberToKeep: UInt64?
    package var maxColumnFamily: UInt32?
    package var dbID: String?
    /// The column family this edit applies to (0 = default).
    package var columnFamily: UInt32 = 0
    /// Set when the edit creates the column family `columnFamily` with this name.
    package var columnFamilyAdd: String?
    /// Set when the edit drops the column family `columnFamily`.
    package var columnFamilyDrop = false
    /// Remaining edits of an atomic group after this one.
    package var remainingInAtomicGroup: UInt32?
    /// Files removed: (level, file number).
    package var deletedFiles: [(level: Int, number: UInt64)] = []
    /// Files added: (level, metadata).
    package var newFiles: [(level: Int, file: FileMetaData)] = []
    /// Compaction cursors: (level, internal key).
    package var compactCursors: [(level: Int, key: [UInt8])] = []

    /// An empty edit.
    package init() {}

    package static func == (a: VersionEdit, b: VersionEdit) -> Bool {
        a.comparator == b.comparator && a.logNumber == b.logNumber && a.prevLogNumber == b.prevLogNumber
            && a.nextFileNumber == b.nextFileNumber && a.lastSequence == b.lastSequence
            && a.minLogNumberToKeep == b.minLogNumberToKeep && a.maxColumnFamily == b.maxColumnFamily
            && a.dbID == b.dbID && a.columnFamily == b.columnFamily && a.columnFamilyAdd == b.columnFamilyAdd
            && a.columnFamilyDrop == b.columnFamilyDrop && a.remainingInAtomicGroup == b.remainingInAtomicGroup
            && a.deletedFiles.elementsEqual(b.deletedFiles, by: { $0.level == $1.level && $0.number == $1.number })
            && a.newFiles.elementsEqual(b.newFiles, by: { $0.level == $1.level && $0.file == $1.file })
            && a.compactCursors.elementsEqual(b.compactCursors, by: { $0.level == $1.level && $0.key == $1.key })
    }

    // MARK: Encoding

    /// The record payload, in the field order RocksDB 7.8.3 writes.
    package func encode() -> [UInt8] {
        var out: [UInt8] = []
        func tag(_ t: Tag) { out.appendVarint32(t.rawValue) }
        if let dbID { tag(.dbID); out.appendLengthPrefixed(Array(dbID.utf8)) }
        if let comparator { tag(.comparator); out.appendLengthPrefixed(Array(comparator.utf8)) }
        if let logNumber { tag(.logNumber); out.appendVarint64(logNumber) }
        if let prevLogNumber { tag(.prevLogNumber); out.appendVarint64(prevLogNumber) }
        if let nextFileNumber { tag(.nextFileNumber); out.appendVarint64(nextFileNumber) }
        if let maxColumnFamily { tag(.maxColumnFamily); out.appendVarint32(maxColumnFamily) }
        if let minLogNumberToKeep { tag(.minLogNumberToKeep); out.appendVarint64(minLogNumberToKeep) }
        if let lastSequence { tag(.lastSequence); out.appendVarint64(lastSequence) }
        for cursor in compactCursors {
            tag(.compactCursor)
            out.appendVarint32(UInt32(cursor.level))
            out.appendLengthPrefixed(cursor.key)
        }
        for deleted in deletedFiles {
            tag(.deletedFile)
            out.appendVarint32(UInt32(deleted.level))
            out.appendVarint64(deleted.number)
        }
        for (level, f) in newFiles {
            tag(.newFile4)
            out.appendVarint32(UInt32(level))
            out.appendVarint64(f.number)
            out.appendVarint64(f.fileSize)
            out.appendLengthPrefixed(f.smallest)
            out.appendLengthPrefixed(f.largest)
            out.appendVarint64(f.smallestSequence)
            out.appendVarint64(f.largestSequence)
            func field(_ t: FileTag, _ bytes: [UInt8]) {
                out.appendVarint32(t.rawValue)
                out.appendLengthPrefixed(bytes)
            }
            func varintBytes(_ v: UInt64) -> [UInt8] {
                var b: [UInt8] = []
                b.appendVarint64(v)
                return b
            }
            field(.oldestAncesterTime, varintBytes(f.oldestAncesterTime))
            field(.fileCreationTime, varintBytes(f.fileCreationTime))
            field(.fileChecksum, f.fileChecksum)
            field(.fileChecksumFunctionName, Array(f.fileChecksumFunctionName.utf8))
            if f.pathID != 0 { field(.pathID, [UInt8(truncatingIfNeeded: f.pathID)]) }
            if f.temperature != 0 { field(.temperature, [f.temperature]) }
            if f.markedForCompaction { field(.needCompaction, [1]) }
            if let blob = f.oldestBlobFileNumber { field(.oldestBlobFileNumber, varintBytes(blob)) }
            if !f.uniqueID.isEmpty { field(.uniqueID, f.uniqueID) }
            out.appendVarint32(FileTag.terminate.rawValue)
        }
        if columnFamily != 0 { tag(.columnFamily); out.appendVarint32(columnFamily) }
        if let columnFamilyAdd { tag(.columnFamilyAdd); out.appendLengthPrefixed(Array(columnFamilyAdd.utf8)) }
        if columnFamilyDrop { tag(.columnFamilyDrop) }
        if let remainingInAtomicGroup { tag(.inAtomicGroup); out.appendVarint32(remainingInAtomicGroup) }
        return out
    }

    // MARK: Decoding

    /// Decodes a record payload. Throws `.corruption` (no file; the MANIFEST
    /// reader adds it) naming the field that is malformed — truncated, an
    /// unknown tag without the safe-to-ignore bit, a file number above
    /// `maxFileNumber`, a sequence number above `maxSequenceNumber`, a path
    /// id above 3.
    package static func decode(_ bytes: [UInt8]) throws(StrataError) -> VersionEdit {
        var result: Result<VersionEdit, StrataError>!
        bytes.withUnsafeBytes { raw in
            do throws(StrataError) { result = .success(try decode(raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// Decodes a record payload from raw bytes.
    package static func decode(_ raw: UnsafeRawBufferPointer) throws(StrataError) -> VersionEdit {
        var edit = VersionEdit()
        var c = ByteCursor(raw)
        func bad(_ what: String) -> StrataError {
            StrataError.corruption("VersionEdit: bad \(what) at record offset \(c.position)")
        }
        func string(_ what: String) throws(StrataError) -> String {
            guard let s = c.readLengthPrefixed() else { throw bad(what) }
            return String(decoding: s, as: UTF8.self)
        }
        func v64(_ what: String) throws(StrataError) -> UInt64 {
            guard let v = c.readVarint64() else { throw bad(what) }
            return v
        }
        func v32(_ what: String) throws(StrataError) -> UInt32 {
            guard let v = c.readVarint32() else { throw bad(what) }
            return v
        }
        func fileNumber(_ what: String) throws(StrataError) -> UInt64 {
            let start = c.position
            let v = try v64(what)
            guard v <= maxFileNumber else {
                throw StrataError.corruption(
                    "VersionEdit: \(what) \(v) at record offset \(start) is above the largest file number \(maxFileNumber)")
            }
            return v
        }
        func sequenceNumber(_ what: String) throws(StrataError) -> UInt64 {
            let start = c.position
            let v = try v64(what)
            guard v <= maxSequenceNumber else {
                throw StrataError.corruption(
                    "VersionEdit: \(what) \(v) at record offset \(start) is above the largest sequence number \(maxSequenceNumber)")
            }
            return v
        }
        func internalKey(_ what: String) throws(StrataError) -> [UInt8] {
            guard let k = c.readLengthPrefixed(), k.count >= 8 else { throw bad(what) }
            return Array(k)
        }
        while !c.isAtEnd {
            let tagValue = try v32("tag")
            switch Tag(rawValue: tagValue) {
            case .comparator: edit.comparator = try string("comparator name")
            case .logNumber: edit.logNumber = try fileNumber("log number")
            case .prevLogNumber: edit.prevLogNumber = try fileNumber("previous log number")
            case .nextFileNumber: edit.nextFileNumber = try fileNumber("next file number")
            case .lastSequence: edit.lastSequence = try sequenceNumber("last sequence")
            case .minLogNumberToKeep: edit.minLogNumberToKeep = try fileNumber("min log number to keep")
            case .maxColumnFamily: edit.maxColumnFamily = try v32("max column family")
            case .dbID: edit.dbID = try string("db id")
            case .compactCursor:
                let level = try v32("compact cursor level")
                edit.compactCursors.append((Int(level), try internalKey("compact cursor key")))
            case .deletedFile:
                let level = try v32("deleted file level")
                edit.deletedFiles.append((Int(level), try fileNumber("deleted file number")))
            case .newFile, .newFile2, .newFile3, .newFile4:
                let kind = Tag(rawValue: tagValue)!
                let level = try v32("new file level")
                guard level < 64 else { throw bad("new file level \(level)") }
                let number = try fileNumber("new file number")
                var pathID: UInt32 = 0
                if kind == .newFile3 {
                    pathID = try v32("new file path id")
                    guard pathID <= maxPathID else { throw bad("new file path id \(pathID) (at most \(maxPathID))") }
                }
                let size = try v64("new file size")
                let smallest = try internalKey("smallest key")
                let largest = try internalKey("largest key")
                var smallestSeq: UInt64 = 0
                var largestSeq: UInt64 = 0
                if kind != .newFile {
                    smallestSeq = try sequenceNumber("smallest sequence")
                    largestSeq = try sequenceNumber("largest sequence")
                }
                var f = FileMetaData(number: number, fileSize: size, smallest: smallest, largest: largest,
                                     smallestSequence: smallestSeq, largestSequence: largestSeq)
                f.pathID = pathID
                if kind == .newFile4 {
                    while true {
                        let fieldTag = try v32("new file field tag")
                        if fieldTag == FileTag.terminate.rawValue { break }
                        guard let value = c.readLengthPrefixed() else { throw bad("new file field \(fieldTag)") }
                        var fc = ByteCursor(value)
                        switch FileTag(rawValue: fieldTag) {
                        case .needCompaction: f.markedForCompaction = value.first == 1
                        case .oldestAncesterTime:
                            guard let v = fc.readVarint64() else { throw bad("oldest ancester time") }
                            f.oldestAncesterTime = v
                        case .fileCreationTime:
                            guard let v = fc.readVarint64() else { throw bad("file creation time") }
                            f.fileCreationTime = v
                        case .fileChecksum: f.fileChecksum = Array(value)
                        case .fileChecksumFunctionName: f.fileChecksumFunctionName = String(decoding: value, as: UTF8.self)
                        case .temperature: f.temperature = value.first ?? 0
                        case .uniqueID: f.uniqueID = Array(value)
                        case .oldestBlobFileNumber:
                            guard let v = fc.readVarint64() else { throw bad("oldest blob file number") }
                            f.oldestBlobFileNumber = v
                        case .pathID:
                            guard value.count == 1, UInt32(value[0]) <= maxPathID else { throw bad("path id") }
                            let p = value[0]
                            f.pathID = UInt32(p)
                        case .minLogNumberToKeepHack:
                            guard let v = fc.readFixed64(), v <= maxFileNumber else { throw bad("min log number to keep") }
                            edit.minLogNumberToKeep = max(edit.minLogNumberToKeep ?? 0, v)
                        case .minTimestamp, .maxTimestamp, .terminate:
                            break
                        case nil:
                            if fieldTag & fileTagMustUnderstand != 0 {
                                throw StrataError.notSupported("VersionEdit: new-file field \(fieldTag) must be understood and is not")
                            }
                        }
                    }
                }
                edit.newFiles.append((Int(level), f))
            case .columnFamily: edit.columnFamily = try v32("column family id")
            case .columnFamilyAdd: edit.columnFamilyAdd = try string("column family name")
            case .columnFamilyDrop: edit.columnFamilyDrop = true
            case .inAtomicGroup: edit.remainingInAtomicGroup = try v32("atomic group count")
            case nil:
                if tagValue & safeIgnoreMask != 0 {
                    guard c.readLengthPrefixed() != nil else { throw bad("ignorable field \(tagValue)") }
                } else if tagValue == blobFileAdditionTag || tagValue == blobFileGarbageTag {
                    // Valid RocksDB records Strata cannot honour: the
                    // database keeps values in BlobDB blob files.
                    throw StrataError.notSupported(
                        "VersionEdit: tag \(tagValue) (\(tagValue == blobFileAdditionTag ? "kBlobFileAddition" : "kBlobFileGarbage")) at record offset \(c.position): the database uses blob files (RocksDB enable_blob_files), which Strata does not read")
                } else {
                    throw StrataError.corruption(
                        "VersionEdit: unknown tag \(tagValue) at record offset \(c.position) (without the safe-to-ignore bit 0x2000, so it must be understood)")
                }
            }
        }
        return edit
    }
}
