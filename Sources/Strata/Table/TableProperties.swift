/// The `rocksdb.properties` block of a table (spec §10): counts, sizes and
/// names that readers and tools rely on, in RocksDB's encoding (numbers as
/// varint64, names as raw bytes, a few collector properties in their own
/// encodings).
///
/// Properties RocksDB does not predefine (and `rocksdb.deleted.keys` /
/// `rocksdb.merge.operands`, which RocksDB also reports as user-collected
/// for backward compatibility) are kept in `userCollected` as raw bytes, so
/// a table read and rewritten keeps them.
package struct TableProperties: Sendable, Equatable {
    // Sizes and counts (varint64).
    package var dataSize: UInt64 = 0
    package var indexSize: UInt64 = 0
    package var indexPartitions: UInt64 = 0
    package var topLevelIndexSize: UInt64 = 0
    package var filterSize: UInt64 = 0
    package var rawKeySize: UInt64 = 0
    package var rawValueSize: UInt64 = 0
    package var numDataBlocks: UInt64 = 0
    package var numEntries: UInt64 = 0
    package var numFilterEntries: UInt64 = 0
    /// DEL + SINGLE_DEL + range tombstones (`rocksdb.deleted.keys`).
    package var numDeletions: UInt64 = 0
    package var numMergeOperands: UInt64 = 0
    package var numRangeDeletions: UInt64 = 0
    /// `rocksdb.format.version`: always 0 for block-based tables.
    package var formatVersion: UInt64 = 0
    package var fixedKeyLength: UInt64 = 0
    package var columnFamilyID: UInt64 = 0
    /// Seconds since the epoch.
    package var creationTime: UInt64 = 0
    package var oldestKeyTime: UInt64 = 0
    /// Omitted from the block when 0.
    package var fileCreationTime: UInt64 = 0
    package var slowCompressionEstimatedDataSize: UInt64 = 0
    package var fastCompressionEstimatedDataSize: UInt64 = 0
    package var originalFileNumber: UInt64 = 0
    /// `rocksdb.index.key.is.user.key` (required to read fv ≥ 3 layouts).
    package var indexKeyIsUserKey = false
    /// `rocksdb.index.value.is.delta.encoded` (required for fv ≥ 4 layouts).
    package var indexValueIsDeltaEncoded = false

    // Written by newer RocksDB releases (8.x–11.x); nil = absent (Strata
    // does not write them, so tables it writes keep 7.8.3's property set).
    /// `rocksdb.num.data.blocks.compression.rejected`.
    package var numDataBlocksCompressionRejected: UInt64? = nil
    /// `rocksdb.num.data.blocks.compression.bypassed`.
    package var numDataBlocksCompressionBypassed: UInt64? = nil
    /// `rocksdb.num.uniform.blocks`.
    package var numUniformBlocks: UInt64? = nil
    /// `rocksdb.newest.key.time` (seconds since the epoch).
    package var newestKeyTime: UInt64? = nil
    /// `rocksdb.tail.start.offset`: where the meta blocks begin.
    package var tailStartOffset: UInt64? = nil
    /// `rocksdb.user.defined.timestamps.persisted`: written only as 0 (keys
    /// stored without their user-defined timestamps); absent means 1.
    package var userDefinedTimestampsPersisted: UInt64? = nil
    /// `rocksdb.key.largest.seqno`: the largest sequence number of the keys.
    package var keyLargestSeqno: UInt64? = nil
    /// `rocksdb.key.smallest.seqno`: the smallest sequence number of the keys.
    package var keySmallestSeqno: UInt64? = nil
    /// `rocksdb.data.block.restart.interval` (informational).
    package var dataBlockRestartInterval: UInt64? = nil
    /// `rocksdb.index.block.restart.interval` (informational).
    package var indexBlockRestartInterval: UInt64? = nil
    /// `rocksdb.separate.key.value.in.data.block`: non-zero = data blocks in
    /// a layout Strata does not read (refused at open).
    package var separateKeyValueInDataBlock: UInt64? = nil
    /// `rocksdb.udi.is.primary.index`: non-zero = a user-defined index
    /// replaces the index block (refused at open).
    package var udiIsPrimaryIndex: UInt64? = nil

    // Names (raw strings); empty means "omitted".
    package var columnFamilyName = ""
    package var comparatorName = ""
    package var mergeOperatorName = ""
    package var prefixExtractorName = ""
    package var propertyCollectorsNames = ""
    package var compressionName = ""
    package var compressionOptions = ""
    /// `rocksdb.filter.policy`; nil when the table has no filter.
    package var filterPolicyName: String? = nil
    package var dbID = ""
    package var dbSessionID = ""
    package var dbHostID = ""
    package var seqnoToTimeMapping: [UInt8] = []

    // BlockBasedTablePropertiesCollector's properties.
    /// `rocksdb.block.based.table.index.type` (fixed32; 0 = binary search).
    package var indexType: UInt32 = 0
    /// `rocksdb.block.based.table.whole.key.filtering` ("1"/"0").
    package var wholeKeyFiltering = true
    /// `rocksdb.block.based.table.prefix.filtering` ("1"/"0").
    package var prefixFiltering = false

    // SstFileWriter's collector (present only in external files).
    /// `rocksdb.external_sst_file.version` (fixed32), e.g. 2.
    package var externalSstFileVersion: UInt32? = nil
    /// `rocksdb.external_sst_file.global_seqno` (fixed64).
    package var externalSstFileGlobalSeqno: UInt64? = nil

    /// Any other property, raw.
    package var userCollected: [String: [UInt8]] = [:]

    package init() {}

    static let names = (
        dataSize: "rocksdb.data.size", indexSize: "rocksdb.index.size",
        indexPartitions: "rocksdb.index.partitions", topLevelIndexSize: "rocksdb.top-level.index.size",
        filterSize: "rocksdb.filter.size", rawKeySize: "rocksdb.raw.key.size", rawValueSize: "rocksdb.raw.value.size",
        numDataBlocks: "rocksdb.num.data.blocks", numEntries: "rocksdb.num.entries",
        numFilterEntries: "rocksdb.num.filter_entries", deletedKeys: "rocksdb.deleted.keys",
        mergeOperands: "rocksdb.merge.operands", rangeDeletions: "rocksdb.num.range-deletions",
        formatVersion: "rocksdb.format.version", fixedKeyLength: "rocksdb.fixed.key.length",
        columnFamilyID: "rocksdb.column.family.id", creationTime: "rocksdb.creation.time",
        oldestKeyTime: "rocksdb.oldest.key.time", fileCreationTime: "rocksdb.file.creation.time",
        slowSize: "rocksdb.sample_for_compression.slow.data.size",
        fastSize: "rocksdb.sample_for_compression.fast.data.size",
        originalFileNumber: "rocksdb.original.file.number",
        indexKeyIsUserKey: "rocksdb.index.key.is.user.key",
        indexValueIsDeltaEncoded: "rocksdb.index.value.is.delta.encoded",
        columnFamilyName: "rocksdb.column.family.name", comparator: "rocksdb.comparator",
        mergeOperator: "rocksdb.merge.operator", prefixExtractor: "rocksdb.prefix.extractor.name",
        propertyCollectors: "rocksdb.property.collectors", compression: "rocksdb.compression",
        compressionOptions: "rocksdb.compression_options", filterPolicy: "rocksdb.filter.policy",
        dbID: "rocksdb.creating.db.identity", sessionID: "rocksdb.creating.session.identity",
        hostID: "rocksdb.creating.host.identity", seqnoTime: "rocksdb.seqno.time.map",
        indexType: "rocksdb.block.based.table.index.type",
        wholeKey: "rocksdb.block.based.table.whole.key.filtering",
        prefix: "rocksdb.block.based.table.prefix.filtering",
        externalVersion: "rocksdb.external_sst_file.version",
        externalSeqno: "rocksdb.external_sst_file.global_seqno",
        compressionRejected: "rocksdb.num.data.blocks.compression.rejected",
        compressionBypassed: "rocksdb.num.data.blocks.compression.bypassed",
        uniformBlocks: "rocksdb.num.uniform.blocks", newestKeyTime: "rocksdb.newest.key.time",
        tailStartOffset: "rocksdb.tail.start.offset",
        timestampsPersisted: "rocksdb.user.defined.timestamps.persisted",
        keyLargestSeqno: "rocksdb.key.largest.seqno", keySmallestSeqno: "rocksdb.key.smallest.seqno",
        dataRestartInterval: "rocksdb.data.block.restart.interval",
        indexRestartInterval: "rocksdb.index.block.restart.interval",
        separateKeyValue: "rocksdb.separate.key.value.in.data.block",
        udiIsPrimaryIndex: "rocksdb.udi.is.primary.index"
    )

    /// The newer numeric properties: name and field, for encoding, parsing
    /// and the raw listing alike.
    static let newerNumbers: [(name: String, field: WritableKeyPath<TableProperties, UInt64?> & Sendable)] = [
        (names.compressionRejected, \.numDataBlocksCompressionRejected),
        (names.compressionBypassed, \.numDataBlocksCompressionBypassed),
        (names.uniformBlocks, \.numUniformBlocks), (names.newestKeyTime, \.newestKeyTime),
        (names.tailStartOffset, \.tailStartOffset), (names.timestampsPersisted, \.userDefinedTimestampsPersisted),
        (names.keyLargestSeqno, \.keyLargestSeqno), (names.keySmallestSeqno, \.keySmallestSeqno),
        (names.dataRestartInterval, \.dataBlockRestartInterval),
        (names.indexRestartInterval, \.indexBlockRestartInterval),
        (names.separateKeyValue, \.separateKeyValueInDataBlock), (names.udiIsPrimaryIndex, \.udiIsPrimaryIndex),
    ]

    /// Every property as (key, encoded value), sorted by key: the contents
    /// of the properties block, following RocksDB's
    /// `PropertyBlockBuilder::AddTableProperty` for what is omitted when empty.
    package func encodedEntries() -> [(key: [UInt8], value: [UInt8])] {
        let n = Self.names
        var map: [String: [UInt8]] = userCollected
        func number(_ key: String, _ value: UInt64) {
            var v: [UInt8] = []
            v.appendVarint64(value)
            map[key] = v
        }
        func text(_ key: String, _ value: String) {
            if !value.isEmpty { map[key] = Array(value.utf8) }
        }
        number(n.originalFileNumber, originalFileNumber)
        number(n.rawKeySize, rawKeySize)
        number(n.rawValueSize, rawValueSize)
        number(n.dataSize, dataSize)
        number(n.indexSize, indexSize)
        if indexPartitions != 0 {
            number(n.indexPartitions, indexPartitions)
            number(n.topLevelIndexSize, topLevelIndexSize)
        }
        number(n.indexKeyIsUserKey, indexKeyIsUserKey ? 1 : 0)
        number(n.indexValueIsDeltaEncoded, indexValueIsDeltaEncoded ? 1 : 0)
        number(n.numEntries, numEntries)
        number(n.numFilterEntries, numFilterEntries)
        number(n.deletedKeys, numDeletions)
        number(n.mergeOperands, numMergeOperands)
        number(n.rangeDeletions, numRangeDeletions)
        number(n.numDataBlocks, numDataBlocks)
        number(n.filterSize, filterSize)
        number(n.formatVersion, formatVersion)
        number(n.fixedKeyLength, fixedKeyLength)
        number(n.columnFamilyID, columnFamilyID)
        number(n.creationTime, creationTime)
        number(n.oldestKeyTime, oldestKeyTime)
        if fileCreationTime > 0 { number(n.fileCreationTime, fileCreationTime) }
        if slowCompressionEstimatedDataSize > 0 { number(n.slowSize, slowCompressionEstimatedDataSize) }
        if fastCompressionEstimatedDataSize > 0 { number(n.fastSize, fastCompressionEstimatedDataSize) }
        text(n.dbID, dbID)
        text(n.sessionID, dbSessionID)
        text(n.hostID, dbHostID)
        if let filterPolicyName { text(n.filterPolicy, filterPolicyName) }
        text(n.comparator, comparatorName)
        text(n.mergeOperator, mergeOperatorName)
        text(n.prefixExtractor, prefixExtractorName)
        text(n.propertyCollectors, propertyCollectorsNames)
        text(n.columnFamilyName, columnFamilyName)
        text(n.compression, compressionName)
        text(n.compressionOptions, compressionOptions)
        if !seqnoToTimeMapping.isEmpty { map[n.seqnoTime] = seqnoToTimeMapping }
        var indexTypeBytes: [UInt8] = []
        indexTypeBytes.appendFixed32(indexType)
        map[n.indexType] = indexTypeBytes
        map[n.wholeKey] = Array((wholeKeyFiltering ? "1" : "0").utf8)
        map[n.prefix] = Array((prefixFiltering ? "1" : "0").utf8)
        for (name, field) in Self.newerNumbers {
            if let value = self[keyPath: field] { number(name, value) }
        }
        if let externalSstFileVersion {
            var v: [UInt8] = []
            v.appendFixed32(externalSstFileVersion)
            map[n.externalVersion] = v
        }
        if let externalSstFileGlobalSeqno {
            var v: [UInt8] = []
            v.appendFixed64(externalSstFileGlobalSeqno)
            map[n.externalSeqno] = v
        }
        return map.map { (key: Array($0.key.utf8), value: $0.value) }
            .sorted { Bytewise.compare($0.key, $1.key) < 0 }
    }

    /// Parses the entries of a properties block. Unknown keys go to
    /// `userCollected`; a predefined number that is not a valid varint64 is
    /// corruption.
    package init(entries: [(key: [UInt8], value: [UInt8])]) throws(StrataError) {
        self.init()
        let n = Self.names
        wholeKeyFiltering = true
        for (rawKey, value) in entries {
            let key = String(decoding: rawKey, as: UTF8.self)
            func number() throws(StrataError) -> UInt64 {
                var result: UInt64? = nil
                value.withUnsafeBytes { raw in
                    var cursor = ByteCursor(raw)
                    if let v = cursor.readVarint64(), cursor.position == raw.count { result = v }
                }
                guard let result else {
                    throw .corruption("table property \(key) is not a varint64 (\(value.count) bytes)")
                }
                return result
            }
            let string = String(decoding: value, as: UTF8.self)
            switch key {
            case n.dataSize: dataSize = try number()
            case n.indexSize: indexSize = try number()
            case n.indexPartitions: indexPartitions = try number()
            case n.topLevelIndexSize: topLevelIndexSize = try number()
            case n.filterSize: filterSize = try number()
            case n.rawKeySize: rawKeySize = try number()
            case n.rawValueSize: rawValueSize = try number()
            case n.numDataBlocks: numDataBlocks = try number()
            case n.numEntries: numEntries = try number()
            case n.numFilterEntries: numFilterEntries = try number()
            case n.deletedKeys: numDeletions = try number()
            case n.mergeOperands: numMergeOperands = try number()
            case n.rangeDeletions: numRangeDeletions = try number()
            case n.formatVersion: formatVersion = try number()
            case n.fixedKeyLength: fixedKeyLength = try number()
            case n.columnFamilyID: columnFamilyID = try number()
            case n.creationTime: creationTime = try number()
            case n.oldestKeyTime: oldestKeyTime = try number()
            case n.fileCreationTime: fileCreationTime = try number()
            case n.slowSize: slowCompressionEstimatedDataSize = try number()
            case n.fastSize: fastCompressionEstimatedDataSize = try number()
            case n.originalFileNumber: originalFileNumber = try number()
            case n.indexKeyIsUserKey: indexKeyIsUserKey = try number() != 0
            case n.indexValueIsDeltaEncoded: indexValueIsDeltaEncoded = try number() != 0
            case n.columnFamilyName: columnFamilyName = string
            case n.comparator: comparatorName = string
            case n.mergeOperator: mergeOperatorName = string
            case n.prefixExtractor: prefixExtractorName = string
            case n.propertyCollectors: propertyCollectorsNames = string
            case n.compression: compressionName = string
            case n.compressionOptions: compressionOptions = string
            case n.filterPolicy: filterPolicyName = string
            case n.dbID: dbID = string
            case n.sessionID: dbSessionID = string
            case n.hostID: dbHostID = string
            case n.seqnoTime: seqnoToTimeMapping = value
            case n.indexType:
                guard value.count == 4 else { throw .corruption("table property \(key) must be a fixed32, has \(value.count) bytes") }
                indexType = value.withUnsafeBytes { loadFixed32($0.baseAddress!) }
            case n.wholeKey: wholeKeyFiltering = string != "0"
            case n.prefix: prefixFiltering = string != "0"
            case n.externalVersion:
                guard value.count == 4 else { throw .corruption("table property \(key) must be a fixed32, has \(value.count) bytes") }
                externalSstFileVersion = value.withUnsafeBytes { loadFixed32($0.baseAddress!) }
            case n.externalSeqno:
                guard value.count == 8 else { throw .corruption("table property \(key) must be a fixed64, has \(value.count) bytes") }
                externalSstFileGlobalSeqno = value.withUnsafeBytes { loadFixed64($0.baseAddress!) }
            default:
                if let field = Self.newerNumbers.first(where: { $0.name == key })?.field {
                    self[keyPath: field] = try number()
                } else {
                    userCollected[key] = value
                }
            }
        }
    }

    /// Keys sst_dump lists under "Raw user collected properties": everything
    /// RocksDB does not parse into a predefined field, plus deleted.keys and
    /// merge.operands.
    func rawUserCollected() -> [(String, [UInt8])] {
        let n = Self.names
        let encoded = encodedEntries()
        let predefined = Set<String>([
            n.dataSize, n.indexSize, n.indexPartitions, n.topLevelIndexSize, n.filterSize, n.rawKeySize,
            n.rawValueSize, n.numDataBlocks, n.numEntries, n.numFilterEntries, n.rangeDeletions, n.formatVersion,
            n.fixedKeyLength, n.columnFamilyID, n.creationTime, n.oldestKeyTime, n.fileCreationTime, n.slowSize,
            n.fastSize, n.originalFileNumber, n.indexKeyIsUserKey, n.indexValueIsDeltaEncoded, n.columnFamilyName,
            n.comparator, n.mergeOperator, n.prefixExtractor, n.propertyCollectors, n.compression,
            n.compressionOptions, n.filterPolicy, n.dbID, n.sessionID, n.hostID, n.seqnoTime,
        ]).union(Self.newerNumbers.map(\.name))
        return encoded.compactMap { entry in
            let key = String(decoding: entry.key, as: UTF8.self)
            return predefined.contains(key) ? nil : (key, entry.value)
        }
    }

    /// The "Table Properties" section exactly as RocksDB's sst_dump
    /// `--show_properties` prints it (TableProperties::ToString plus the raw
    /// user-collected list). The unique ID is derived from the DB id, session
    /// id and file number as RocksDB does ("N/A" when they are missing, as
    /// RocksDB prints then).
    package func rocksDBStyleDescription() -> String {
        func average(_ total: UInt64, _ count: UInt64) -> String {
            let value = count == 0 ? 0 : Double(total) / Double(count)
            return fixedSix(value)
        }
        var s = "Table Properties:\n------------------------------\n"
        func line(_ name: String, _ value: String) { s += "  \(name): \(value)\n" }
        line("# data blocks", "\(numDataBlocks)")
        line("# entries", "\(numEntries)")
        line("# deletions", "\(numDeletions)")
        line("# merge operands", "\(numMergeOperands)")
        line("# range deletions", "\(numRangeDeletions)")
        line("raw key size", "\(rawKeySize)")
        line("raw average key size", average(rawKeySize, numEntries))
        line("raw value size", "\(rawValueSize)")
        line("raw average value size", average(rawValueSize, numEntries))
        line("data block size", "\(dataSize)")
        line("index block size (user-key? \(indexKeyIsUserKey ? 1 : 0), delta-value? \(indexValueIsDeltaEncoded ? 1 : 0))",
             "\(indexSize)")
        if indexPartitions != 0 {
            line("# index partitions", "\(indexPartitions)")
            line("top-level index size", "\(topLevelIndexSize)")
        }
        line("filter block size", "\(filterSize)")
        line("# entries for filter", "\(numFilterEntries)")
        line("(estimated) table size", "\(dataSize + indexSize + filterSize)")
        line("filter policy name", filterPolicyName ?? "N/A")
        line("prefix extractor name", prefixExtractorName.isEmpty ? "N/A" : prefixExtractorName)
        line("column family ID", columnFamilyID == UInt64(Int32.max) ? "N/A" : "\(columnFamilyID)")
        line("column family name", columnFamilyName.isEmpty ? "N/A" : columnFamilyName)
        line("comparator name", comparatorName.isEmpty ? "N/A" : comparatorName)
        line("merge operator name", mergeOperatorName.isEmpty ? "N/A" : mergeOperatorName)
        line("property collectors names", propertyCollectorsNames.isEmpty ? "N/A" : propertyCollectorsNames)
        line("SST file compression algo", compressionName.isEmpty ? "N/A" : compressionName)
        line("SST file compression options", compressionOptions.isEmpty ? "N/A" : compressionOptions)
        line("creation time", "\(creationTime)")
        line("time stamp of earliest key", "\(oldestKeyTime)")
        line("file creation time", "\(fileCreationTime)")
        line("slow compression estimated data size", "\(slowCompressionEstimatedDataSize)")
        line("fast compression estimated data size", "\(fastCompressionEstimatedDataSize)")
        line("DB identity", dbID)
        line("DB session identity", dbSessionID)
        line("DB host id", dbHostID)
        line("original file number", "\(originalFileNumber)")
        line("unique ID", uniqueIDText ?? "N/A")
        line("Sequence number to time mapping", "")
        s += "  Raw user collected properties\n------------------------------\n"
        for (key, value) in rawUserCollected() {
            s += "  # \(key): 0x\(value.map { hexByte($0) }.joined())\n"
        }
        return s
    }
}

/// `%f` formatting (six decimals) without Foundation.
func fixedSix(_ value: Double) -> String {
    let scaled = (value * 1_000_000).rounded()
    let whole = Int64(scaled / 1_000_000)
    var frac = String(Int64(abs(scaled)) % 1_000_000)
    frac = String(repeating: "0", count: 6 - frac.count) + frac
    return "\(whole).\(frac)"
}

/// Two upper-case hex digits.
func hexByte(_ b: UInt8) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}
