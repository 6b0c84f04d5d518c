/// What an ingestion or import learns about one table before touching the
/// database (RocksDB `IngestedFileInfo` from `GetIngestedFileInfo`): its
/// key range, counts, external-file version and global seqno field.
struct ExternalTableInfo {
    /// The caller's path.
    let externalPath: String
    /// The file number it gets in the database.
    let number: UInt64
    let fileSize: UInt64
    /// Smallest and largest internal keys (range tombstones included; a
    /// tombstone's end is the exclusive (end, max sequence, range deletion)).
    var smallest: [UInt8]
    var largest: [UInt8]
    /// `rocksdb.external_sst_file.version` (nil: not an external file).
    let externalVersion: UInt32?
    /// The global seqno the file already has (its property; 0 if none).
    let originalSequence: UInt64
    /// `rocksdb.column.family.id` of the file.
    let columnFamilyID: UInt64
    /// Point entries and range tombstones.
    let entries: UInt64
    let rangeDeletions: UInt64
    /// Set while running: where it goes and with which sequence number.
    var level = 0
    var assignedSequence: UInt64 = 0
    /// Its path inside the database once linked or copied (nil before).
    var internalPath: String? = nil
    /// True if it was copied (false: hard-linked).
    var copied = false

    var smallestUserKey: [UInt8] { Array(smallest.dropLast(8)) }
    var largestUserKey: [UInt8] { Array(largest.dropLast(8)) }

    /// RocksDB's `kUnknownColumnFamily` (`INT32_MAX`): a file written
    /// without a column family may go to any family.
    static let unknownColumnFamily = UInt64(Int32.max)

    /// Reads `path` (which gets file number `number`). With `external`,
    /// the file must be an SST file writer's (version property present,
    /// every key at sequence 0), as `IngestExternalFile` requires; without,
    /// any table (`CreateColumnFamilyWithImport`), keys read with
    /// `knownLargestSequence` applied as their global seqno if external.
    /// Throws `.corruption` or `.invalidArgument` with RocksDB's reasons,
    /// naming the file.
    static func read(path: String, number: UInt64, fileSystem: any FileSystem, external: Bool,
                     verifyChecksums: Bool, knownLargestSequence: UInt64? = nil) throws -> ExternalTableInfo {
        var readerOptions = TableReaderOptions()
        readerOptions.largestSequence = knownLargestSequence
        let table = try TableReader.open(path: path, fileSystem: fileSystem, options: readerOptions)
        let props = table.properties
        if external {
            guard let version = props.externalSstFileVersion else {
                throw StrataError.corruption("External file version not found (not written by an SST file writer)",
                                             file: path)
            }
            if version == 2 && props.externalSstFileGlobalSeqno == nil {
                throw StrataError.corruption("External file global sequence number not found", file: path)
            }
            if version != 1 && version != 2 {
                throw StrataError.invalidArgument("External file version \(version) is not supported", file: path)
            }
        }
        if verifyChecksums {
            let it = table.makeIterator(fillCache: false)
            it.seekToFirst()
            while it.isValid { it.next() }
            if let error = it.error { throw error }
        }
        var smallest: [UInt8]? = nil
        var largest: [UInt8]? = nil
        let it = table.makeIterator(fillCache: false)
        it.seekToFirst()
        if it.isValid {
            smallest = Array(it.key)
            it.seekToLast()
            if it.isValid { largest = Array(it.key) }
        }
        if let error = it.error { throw error }
        if external && table.globalSequence == nil {
            for key in [smallest, largest].compactMap({ $0 }) {
                guard let parsed = key.withUnsafeBytes({ ParsedInternalKey($0) }), parsed.sequence == 0 else {
                    throw StrataError.corruption("External file has non zero sequence number", file: path)
                }
            }
        }
        for t in table.rangeTombstones {
            let begin = t.begin
            var end = t.end
            end.appendFixed64(packSequenceAndType(maxSequenceNumber, ValueType.rangeDeletion.rawValue))
            if smallest == nil || InternalKey.compare(begin, smallest!) < 0 { smallest = begin }
            if largest == nil || InternalKey.compare(end, largest!) > 0 { largest = end }
        }
        guard let smallest, let largest else {
            throw StrataError.invalidArgument("File contain no entries", file: path)
        }
        return ExternalTableInfo(
            externalPath: path, number: number, fileSize: table.fileSize, smallest: smallest, largest: largest,
            externalVersion: props.externalSstFileVersion, originalSequence: props.externalSstFileGlobalSeqno ?? 0,
            columnFamilyID: props.columnFamilyID, entries: props.numEntries,
            rangeDeletions: UInt64(table.rangeTombstones.count))
    }

    /// True if `a`'s largest key is at or after `b`'s smallest (RocksDB's
    /// `sstableKeyCompare`: an exclusive tombstone end equal to the other's
    /// first user key does not overlap it).
    static func overlap(_ a: ExternalTableInfo, before b: ExternalTableInfo) -> Bool {
        let c = Bytewise.compare(a.largestUserKey, b.smallestUserKey)
        if c != 0 { return c > 0 }
        return !a.largest.withUnsafeBytes { FileMetaData.isExclusiveEnd($0) }
    }

    /// Links (`link`) or copies the file into the database directory as
    /// table `number`, fsynced. A link that fails falls back to a copy when
    /// `fallBackToCopy`.
    mutating func transfer(into directory: String, fileSystem: any FileSystem, link: Bool, fallBackToCopy: Bool) throws {
        let target = Path.join(directory, DBFileName.table(number))
        if link {
            do {
                try fileSystem.link(externalPath, to: target)
                internalPath = target
                copied = false
                // The caller may not have synced it (RocksDB syncs it too).
                let file = try fileSystem.openAppendable(target)
                defer { try? file.close() }
                try file.sync()
                return
            } catch {
                if internalPath != nil { throw error }
                guard fallBackToCopy else { throw error }
            }
        }
        try FileTransfer.copy(from: externalPath, in: fileSystem, to: target, in: fileSystem)
        internalPath = target
        copied = true
    }
}
