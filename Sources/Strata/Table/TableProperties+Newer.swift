import CXXHash

/// What newer RocksDB releases put in the properties block: the checks
/// that refuse tables Strata would otherwise misread, format_version 7's
/// compression-manager property, the table's unique ID and RocksDB 11's
/// sst_dump text.
extension TableProperties {
    /// The compression manager RocksDB's built-in compressions are written
    /// under at format_version ≥ 7 (`BuiltinV2`'s `CompatibilityName`).
    static let builtinCompressionManager = "BuiltinV2"

    /// Throws `.notSupported` naming the feature if the table uses one that
    /// Strata cannot honour — a compression manager other than RocksDB's
    /// built-in one or a compression other than Snappy (format_version ≥ 7
    /// lists them in `rocksdb.compression`), data blocks with keys and
    /// values apart, a user-defined primary index, a partitioned index or
    /// one with first keys — and `.corruption` if format_version 7's
    /// compression property is malformed. Tables of format_version ≤ 6 name
    /// one compression; a block compressed otherwise is refused when read.
    func checkReadable(formatVersion: UInt32) throws(StrataError) {
        if let separate = separateKeyValueInDataBlock, separate != 0 {
            throw .notSupported(
                "table property \(Self.names.separateKeyValue) = \(separate): data blocks store keys and values apart (RocksDB separate_key_value_in_data_block), which Strata does not read")
        }
        if let udi = udiIsPrimaryIndex, udi != 0 {
            throw .notSupported(
                "table property \(Self.names.udiIsPrimaryIndex) = \(udi): a user-defined index replaces the index block, which Strata does not read")
        }
        // BlockBasedTableOptions::IndexType: 0 binary search, 1 hash search
        // (a binary-searchable index plus prefix hashes Strata ignores),
        // 2 two-level (partitioned), 3 binary search with first keys.
        guard indexType <= 1 else {
            let name = indexType == 2 ? "kTwoLevelIndexSearch (partitioned index)"
                : indexType == 3 ? "kBinarySearchWithFirstKey" : "unknown index type \(indexType)"
            throw .notSupported("table index type \(name) (property \(Self.names.indexType)): Strata reads kBinarySearch and kHashSearch indexes")
        }
        guard formatVersion >= Footer.firstCompressionManagerVersion, !compressionName.isEmpty else { return }
        let fields = compressionName.split(separator: ";", omittingEmptySubsequences: false)
        guard fields.count >= 3 else {
            throw .corruption(
                "table property \(Self.names.compression) = \"\(compressionName)\" of a format_version \(formatVersion) table: expected MANAGER;TYPES; (missing separator)")
        }
        let manager = String(fields[0])
        let disabled = manager.isEmpty || manager == "nullptr"
        guard disabled || manager == Self.builtinCompressionManager else {
            throw .notSupported(
                "compression manager \"\(manager)\" (table property \(Self.names.compression) = \"\(compressionName)\"): Strata decompresses only RocksDB's built-in \(Self.builtinCompressionManager) manager's Snappy")
        }
        let types = Array(fields[1].utf8)
        guard types.count % 2 == 0 else {
            throw .corruption("second field of table property \(Self.names.compression) = \"\(compressionName)\" has odd size")
        }
        for i in stride(from: 0, to: types.count, by: 2) {
            guard let code = UInt8(String(decoding: types[i..<(i + 2)], as: UTF8.self), radix: 16), code != 0, code != 0xFF else {
                throw .corruption("cannot parse compression types in table property \(Self.names.compression) = \"\(compressionName)\"")
            }
            guard !disabled else {
                throw .corruption("table property \(Self.names.compression) = \"\(compressionName)\" lists compression types without a compression manager")
            }
            guard code == CompressionType.snappy.rawValue else {
                let name = CompressionType(rawValue: code)?.rocksDBName ?? "compression type 0x\(hexByte(code))"
                throw .notSupported(
                    "table is compressed with \(name) (table property \(Self.names.compression) = \"\(compressionName)\"): Strata reads Snappy and uncompressed blocks")
            }
        }
    }

    /// RocksDB's unique ID of the table (table/unique_id.cc
    /// `GetUniqueIdFromTableProperties`, 128-bit form) as sst_dump prints
    /// it ("16 hex digits-16 hex digits"), or nil when the properties lack
    /// what it derives from (DB id, a base-36 session id of 13...24
    /// characters, a non-zero original file number).
    package var uniqueIDText: String? {
        guard !dbID.isEmpty, originalFileNumber != 0, let (upper, lower) = Self.decodeSessionID(dbSessionID) else {
            return nil
        }
        let hash = Array(dbID.utf8).withUnsafeBytes { XXH3_128bits_withSeed($0.baseAddress, $0.count, upper) }
        let internal0 = lower
        let internal1 = hash.high64 ^ originalFileNumber
        // InternalUniqueIdToExternal: a bijective mix with fixed offsets so
        // that an all-zero internal id does not map to zero.
        let (high, low) = Self.bijectiveHash(high: internal1 &+ 17_391_078_804_906_429_400,
                                             low: internal0 &+ 6_417_269_962_128_484_497)
        var bytes: [UInt8] = []
        bytes.appendFixed64(low)
        bytes.appendFixed64(high)
        let hex = bytes.map { hexByte($0) }.joined()
        return String(hex.prefix(16)) + "-" + String(hex.suffix(16))
    }

    /// Splits a DB session id (base 36, upper case, 13...24 characters) into
    /// the two 64-bit halves RocksDB encoded it from (`DecodeSessionId`).
    static func decodeSessionID(_ id: String) -> (upper: UInt64, lower: UInt64)? {
        let chars = Array(id.utf8)
        guard chars.count >= 13, chars.count <= 24 else { return nil }
        func parse(_ digits: ArraySlice<UInt8>) -> UInt64? {
            var value: UInt64 = 0
            for c in digits {
                let d: UInt64
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt64(c - UInt8(ascii: "0"))
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): d = UInt64(c - UInt8(ascii: "A")) + 10
                case UInt8(ascii: "a")...UInt8(ascii: "z"): d = UInt64(c - UInt8(ascii: "a")) + 10
                default: return nil
                }
                value = value &* 36 &+ d
            }
            return value
        }
        guard let a = parse(chars[0..<(chars.count - 12)]), let b = parse(chars[(chars.count - 12)...]) else { return nil }
        return (a >> 2, (b & (UInt64.max >> 2)) | (a << 62))
    }

    /// RocksDB's `BijectiveHash2x64` with seed 0 (adapted by RocksDB from
    /// XXH3's 9-to-16-byte case): an invertible mix of 128 bits.
    static func bijectiveHash(high inHigh: UInt64, low inLow: UInt64) -> (high: UInt64, low: UInt64) {
        func avalanche(_ h: UInt64) -> UInt64 {
            var h = h
            h ^= h >> 37
            h = h &* 0x1656_6791_9E37_79F9
            h ^= h >> 32
            return h
        }
        let bitflipLow: UInt64 = 0x5997_3F00_3336_2349
        let bitflipHigh: UInt64 = 0xC202_7976_92D6_3D58
        var product = (inLow ^ inHigh ^ bitflipLow).multipliedFullWidth(by: 0x9E37_79B1_85EB_CA87)
        var lo = product.low &+ 0x03C0_0000_0000_0000
        var hi = product.high
        let flippedHigh = inHigh ^ bitflipHigh
        hi = hi &+ flippedHigh &+ (UInt64(UInt32(truncatingIfNeeded: flippedHigh)) &* 0x85EB_CA76)
        lo ^= hi.byteSwapped
        product = lo.multipliedFullWidth(by: 0xC2B2_AE3D_27D4_EB4F)
        lo = product.low
        hi = product.high &+ (hi &* 0xC2B2_AE3D_27D4_EB4F)
        return (avalanche(hi), avalanche(lo))
    }

    /// The "Table Properties" section as RocksDB 11's sst_dump
    /// `--show_properties` prints it (its `TableProperties::ToString`, which
    /// adds compression counts, sequence-number bounds, the newest key time
    /// and the unique ID to 7.8.3's, plus the raw user-collected list).
    /// sst-dump uses it for format_version ≥ 6 tables, which only RocksDB
    /// 8.6 and later read.
    package func rocksDB11StyleDescription() -> String {
        func average(_ total: UInt64, _ count: UInt64) -> String {
            fixedSix(count == 0 ? 0 : Double(total) / Double(count))
        }
        func orNA(_ s: String) -> String { s.isEmpty ? "N/A" : s }
        var s = "Table Properties:\n------------------------------\n"
        func line(_ name: String, _ value: String) { s += "  \(name): \(value)\n" }
        line("# data blocks", "\(numDataBlocks)")
        line("# data blocks compression rejected", "\(numDataBlocksCompressionRejected ?? 0)")
        line("# data blocks compression bypassed", "\(numDataBlocksCompressionBypassed ?? 0)")
        line("# uniform blocks", "\(numUniformBlocks ?? 0)")
        line("# entries", "\(numEntries)")
        line("# deletions", "\(numDeletions)")
        line("# merge operands", "\(numMergeOperands)")
        line("# range deletions", "\(numRangeDeletions)")
        line("raw key size", "\(rawKeySize)")
        line("raw average key size", average(rawKeySize, numEntries))
        line("raw value size", "\(rawValueSize)")
        line("raw average value size", average(rawValueSize, numEntries))
        line("data block size", "\(dataSize)")
        // Not persisted: RocksDB shows 0 for a table read back.
        line("data uncompressed size", "0")
        line("index block size (user-key? \(indexKeyIsUserKey ? 1 : 0), delta-value? \(indexValueIsDeltaEncoded ? 1 : 0))",
             "\(indexSize)")
        if indexPartitions != 0 {
            line("# index partitions", "\(indexPartitions)")
            line("top-level index size", "\(topLevelIndexSize)")
        }
        line("filter block size", "\(filterSize)")
        line("# entries for filter", "\(numFilterEntries)")
        line("(estimated) table size", "\(dataSize + indexSize + filterSize)")
        line("filter policy name", orNA(filterPolicyName ?? ""))
        line("prefix extractor name", orNA(prefixExtractorName))
        line("column family ID", columnFamilyID == UInt64(Int32.max) ? "N/A" : "\(columnFamilyID)")
        line("column family name", orNA(columnFamilyName))
        line("comparator name", orNA(comparatorName))
        line("user defined timestamps persisted", (userDefinedTimestampsPersisted ?? 1) != 0 ? "true" : "false")
        line("largest sequence number in file", "\(keyLargestSeqno ?? .max)")
        line("smallest sequence number in file", "\(keySmallestSeqno ?? .max)")
        line("merge operator name", orNA(mergeOperatorName))
        line("property collectors names", orNA(propertyCollectorsNames))
        line("SST file compression algo", orNA(compressionName))
        line("SST file compression options", orNA(compressionOptions))
        line("creation time", "\(creationTime)")
        line("time stamp of earliest key", "\(oldestKeyTime)")
        line("time stamp of newest key", "\(newestKeyTime ?? 0)")
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
