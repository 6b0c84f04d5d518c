import CXXHash

/// What a whole read of one table file found: everything the MANIFEST
/// records about a table, recomputed from the file alone (RocksDB repair's
/// `ScanTable`). Used by `Database.repair` to rebuild the MANIFEST and by
/// `Database.verify` to check a table against it.
///
/// Value type; `Sendable`.
public struct TableScan: Sendable {
    /// File size in bytes.
    public var fileSize: UInt64
    /// Point entries (range tombstones not counted).
    public var entries: UInt64
    /// Range tombstones.
    public var rangeTombstones: Int
    /// Smallest and largest internal keys, range tombstones included (a
    /// tombstone's end as the exclusive bound (end, max sequence, 0x0F)),
    /// as flushes and compactions record them; nil for an empty table.
    public var smallest: [UInt8]?
    /// See `smallest`.
    public var largest: [UInt8]?
    /// Smallest sequence number of the entries and tombstones (0 when empty).
    public var smallestSequence: UInt64
    /// Largest sequence number of the entries and tombstones (0 when empty).
    public var largestSequence: UInt64
    /// Column family id and name from the properties (`rocksdb.column.family.id`,
    /// `rocksdb.column.family.name`); nil when the table has no properties
    /// or RocksDB's "unknown" id (0x7FFFFFFF, kUnknownColumnFamily).
    public var columnFamilyID: UInt32?
    /// See `columnFamilyID`.
    public var columnFamilyName: String?
    /// XXH3-64 of the whole file, as the MANIFEST stores Strata's file
    /// checksums (8 bytes big-endian, function name `StrataXXH3_64`).
    public var fileChecksum: [UInt8]

    /// The record a MANIFEST keeps for this table as file `number`
    /// (nil for a table with no entries and no tombstones).
    package func fileMetaData(number: UInt64) -> FileMetaData? {
        guard let smallest, let largest else { return nil }
        var meta = FileMetaData(number: number, fileSize: fileSize, smallest: smallest, largest: largest,
                                smallestSequence: smallestSequence, largestSequence: largestSequence)
        meta.fileChecksum = fileChecksum
        meta.fileChecksumFunctionName = HashingWritableFile.functionName
        return meta
    }

    /// RocksDB's `TablePropertiesCollectorFactory::Context::kUnknownColumnFamily`.
    static let unknownColumnFamily: UInt64 = 0x7FFF_FFFF

    /// Bytes hashed per read while computing the file checksum.
    static let hashChunk = 1 << 20

    /// Reads the whole table at `path`: opens it (footer, meta blocks and
    /// index, every block checksum), reads every data block with its
    /// checksum verified, checks that the internal keys strictly increase
    /// across the whole table and that every key has its 8-byte trailer, and
    /// hashes the file. Throws `.corruption` naming the file and offset of
    /// the first problem, `.ioError` if it cannot be read. `largestSequence`
    /// is the MANIFEST's for the table, if known: an ingested external table
    /// reads with it as its global sequence number.
    public static func scan(path: String, fileSystem: any FileSystem, largestSequence: UInt64? = nil) throws
        -> TableScan
    {
        var readerOptions = TableReaderOptions()
        readerOptions.verifyChecksums = true
        readerOptions.largestSequence = largestSequence
        let reader = try TableReader.open(path: path, fileSystem: fileSystem, options: readerOptions)
        try reader.verifyAll()
        var result = TableScan(fileSize: reader.fileSize, entries: 0, rangeTombstones: reader.rangeTombstones.count,
                               smallest: nil, largest: nil, smallestSequence: .max, largestSequence: 0,
                               columnFamilyID: nil, columnFamilyName: nil, fileChecksum: [])
        func note(sequence: UInt64) {
            result.smallestSequence = min(result.smallestSequence, sequence)
            result.largestSequence = max(result.largestSequence, sequence)
        }
        let it = reader.makeIterator()
        var previous: [UInt8]? = nil
        it.seekToFirst()
        while it.isValid {
            guard let parsed = ParsedInternalKey(it.key) else {
                throw StrataError.corruption("data block key of \(it.key.count) bytes has no 8-byte trailer",
                                             file: path, offset: it.currentBlockHandle?.offset)
            }
            if let previous, previous.withUnsafeBytes({ InternalKey.compare($0, it.key) }) >= 0 {
                throw StrataError.corruption("keys out of order: a key is not after the one before it",
                                             file: path, offset: it.currentBlockHandle?.offset)
            }
            note(sequence: parsed.sequence)
            if result.smallest == nil { result.smallest = Array(it.key) }
            previous = Array(it.key)
            result.entries += 1
            it.next()
        }
        if let error = it.error { throw error.located(file: path) }
        result.largest = previous
        for tombstone in reader.rangeTombstones {
            guard let parsed = tombstone.begin.withUnsafeBytes({ ParsedInternalKey($0).map { $0.sequence } }) else {
                throw StrataError.corruption("range tombstone begin key has no 8-byte trailer", file: path)
            }
            note(sequence: parsed)
            if result.smallest == nil || InternalKey.compare(tombstone.begin, result.smallest!) < 0 {
                result.smallest = tombstone.begin
            }
            let bound = InternalKey.make(tombstone.end, sequence: maxSequenceNumber, type: ValueType.rangeDeletion.rawValue)
            if result.largest == nil || InternalKey.compare(bound, result.largest!) > 0 { result.largest = bound }
        }
        if result.smallestSequence == .max { result.smallestSequence = 0 }
        if reader.hasProperties {
            let properties = reader.properties
            if properties.numEntries >= properties.numRangeDeletions,
               properties.numEntries - properties.numRangeDeletions != result.entries {
                throw StrataError.corruption(
                    "properties count \(properties.numEntries - properties.numRangeDeletions) entries, the data blocks hold \(result.entries)",
                    file: path)
            }
            if properties.columnFamilyID < unknownColumnFamily {
                result.columnFamilyID = UInt32(properties.columnFamilyID)
                result.columnFamilyName = properties.columnFamilyName
            }
        }
        result.fileChecksum = try fileChecksum(reader.file)
        return result
    }

    /// XXH3-64 of a whole file, 8 bytes big-endian (HashingWritableFile's form).
    static func fileChecksum(_ file: any RandomAccessFile) throws -> [UInt8] {
        guard let state = XXH3_createState() else { throw StrataError.ioError("cannot allocate an XXH3 state") }
        defer { XXH3_freeState(state) }
        XXH3_64bits_reset(state)
        var offset: UInt64 = 0
        var buffer = [UInt8](repeating: 0, count: hashChunk)
        while offset < file.size {
            let count = Int(min(UInt64(hashChunk), file.size - offset))
            try buffer.withUnsafeMutableBytes { raw in
                let chunk = UnsafeMutableRawBufferPointer(rebasing: raw[0..<count])
                try file.read(at: offset, into: chunk)
                XXH3_64bits_update(state, chunk.baseAddress, count)
            }
            offset += UInt64(count)
        }
        let digest = XXH3_64bits_digest(state)
        return (0..<8).map { UInt8(truncatingIfNeeded: digest >> (56 - 8 * $0)) }
    }
}

/// The intact part of a damaged table, for `Database.repair` (LevelDB's
/// repairer copies it the same way): every data block whose checksum and
/// entries decode, keys kept only while they increase.
struct TableSalvage {
    /// Intact entries, in internal-key order.
    var entries: [(key: [UInt8], value: [UInt8])] = []
    /// Range tombstones (begin internal key, end user key), if their block was intact.
    var rangeTombstones: [(begin: [UInt8], end: [UInt8])] = []
    /// Data blocks read whole, and those skipped.
    var intactBlocks = 0
    var damagedBlocks = 0
    /// Column family from the properties (as `TableScan`).
    var columnFamilyID: UInt32?
    var columnFamilyName: String?

    /// Reads what survives of the table at `path`. Throws if the table
    /// cannot be opened at all (footer, metaindex, properties or index
    /// damaged): then nothing in it can be located.
    static func read(path: String, fileSystem: any FileSystem) throws -> TableSalvage {
        let reader = try TableReader.open(path: path, fileSystem: fileSystem)
        var result = TableSalvage()
        result.rangeTombstones = reader.rangeTombstones
        if reader.hasProperties, reader.properties.columnFamilyID < TableScan.unknownColumnFamily {
            result.columnFamilyID = UInt32(reader.properties.columnFamilyID)
            result.columnFamilyName = reader.properties.columnFamilyName
        }
        var previous: [UInt8]? = nil
        for (_, handle) in try reader.dataBlockHandles() {
            guard let block = try? TableReader.readBlock(file: reader.file, handle: handle, checksum: reader.checksumType,
                                                         context: reader.baseContextChecksum,
                                                         verify: true, what: "data block")
            else {
                result.damagedBlocks += 1
                continue
            }
            var kept: [(key: [UInt8], value: [UInt8])] = []
            let it = block.makeIterator(order: .internalKey)
            it.seekToFirst()
            while it.isValid {
                let key = Array(it.key)
                if key.count >= 8, previous.map({ InternalKey.compare($0, key) < 0 }) ?? true {
                    kept.append((key, Array(it.value)))
                    previous = key
                }
                it.next()
            }
            if it.error != nil {
                // The entries before the bad one decoded and are kept.
                result.damagedBlocks += 1
            } else {
                result.intactBlocks += 1
            }
            result.entries += kept
        }
        return result
    }
}
