/// Reading a database's newest OPTIONS file into `Options` (RocksDB
/// `LoadLatestOptions` with `ignore_unknown_options`).
///
/// Honoured, per column family: `merge_operator` (RocksDB's
/// `StringAppendOperator` with its delimiter, `stringappend`,
/// `UInt64AddOperator`/`uint64add`; any other name only if the base options
/// already hold an operator of that `name`), `write_buffer_size`,
/// `max_write_buffer_number`, `compression` (none and Snappy),
/// `compaction_style` (level and universal), `level0_*_trigger`,
/// `max_bytes_for_level_base`, `max_bytes_for_level_multiplier`,
/// `level_compaction_dynamic_level_bytes`, `target_file_size_base`,
/// `memtable_prefix_bloom_size_ratio` (with `memtable_whole_key_filtering`),
/// and the table options `block_size`,
/// `format_version` (2…6), `checksum` and `filter_policy` (bloomfilter);
/// from the default family also `soft/hard_pending_compaction_bytes_limit`
/// and `compaction_options_universal` (size_ratio, min/max_merge_width,
/// max_size_amplification_percent: database-wide in Strata);
/// from `[DBOptions]` `paranoid_checks`, `allow_mmap_reads`, `max_background_jobs` and
/// `delayed_write_rate`. Everything else is ignored and listed in `ignored`
/// when Strata has no way to honour a value it names (a compression type,
/// a merge operator or a filter policy it does not have). A comparator
/// other than `leveldb.BytewiseComparator` is refused (`.notSupported`).
/// Values outside the ranges Strata can run with (a write buffer outside
/// RocksDB's 64 KiB…64 GiB, more than 256 background jobs, a non-finite
/// multiplier, …) are ignored like unknown options: the file is input.
extension Options {
    /// The newest `OPTIONS-NNNNNN` of the database in `path` applied to
    /// these options, or nil if the directory has none. `ignored` names
    /// settings found but not honoured. Throws `.corruption` for a
    /// malformed file, `.notSupported` for a comparator Strata lacks,
    /// `.ioError` if it cannot be read.
    package func loadingLatestOptionsFile(inDatabase path: String) throws -> (options: Options, ignored: [String])? {
        var newest: UInt64? = nil
        for name in try fileSystem.listDirectory(path) {
            if case .options(let n) = DBFileName.parse(name), n > (newest ?? 0) || newest == nil { newest = n }
        }
        guard let newest else { return nil }
        let filePath = Path.join(path, DBFileName.options(newest))
        let file = try fileSystem.openRandomAccess(filePath)
        defer { file.close() }
        let text = String(decoding: try file.read(at: 0, count: Int(file.size)), as: UTF8.self)
        return try applyingOptionsFile(try OptionsFile.parse(text, file: filePath), file: filePath)
    }

    /// These options with what `file` says applied (see the extension's comment).
    package func applyingOptionsFile(_ file: OptionsFile, file path: String) throws -> (options: Options, ignored: [String]) {
        var result = self
        var ignored: [String] = []
        let db = file.dbOptions
        if let v = db["paranoid_checks"].flatMap(Self.parseBool) { result.paranoidChecks = v }
        if let v = db["allow_mmap_reads"].flatMap(Self.parseBool) { result.allowMmapReads = v }
        // Bounded: each job is a thread.
        if let v = db["max_background_jobs"].flatMap({ Int($0) }), v > 0, v <= 256 { result.maxBackgroundJobs = v }
        if let v = db["delayed_write_rate"].flatMap({ UInt64($0) }), v > 0 { result.delayedWriteRate = v }
        for family in file.families {
            let base = result.columnFamilyOptions[family.name] ?? ColumnFamilyOptions(self)
            if let comparator = family.options["comparator"], comparator != Bytewise.name {
                throw StrataError.notSupported(
                    "column family \(family.name) uses comparator \(comparator); Strata has only \(Bytewise.name)",
                    file: path)
            }
            let applied = applyFamily(family, to: base, ignored: &ignored)
            if family.name == "default" {
                let pending = family.options
                result = result.withFamilySettings(applied)
                // Strata's universal settings are database-wide: the default family's apply.
                if let universal = pending["compaction_options_universal"].flatMap(OptionsFile.structFields) {
                    if let v = universal["size_ratio"].flatMap({ Int($0) }), v >= 0 { result.universalSizeRatio = v }
                    if let v = universal["min_merge_width"].flatMap({ Int($0) }), v >= 2 { result.universalMinMergeWidth = v }
                    if let v = universal["max_merge_width"].flatMap({ Int($0) }), v >= 2 {
                        result.universalMaxMergeWidth = v >= Int(UInt32.max) ? .max : v
                    }
                    if let v = universal["max_size_amplification_percent"].flatMap({ Int($0) }), v >= 0 {
                        result.universalMaxSizeAmplificationPercent = v
                    }
                }
                if let v = pending["soft_pending_compaction_bytes_limit"].flatMap({ UInt64($0) }) {
                    result.softPendingCompactionBytesLimit = v
                }
                if let v = pending["hard_pending_compaction_bytes_limit"].flatMap({ UInt64($0) }) {
                    result.hardPendingCompactionBytesLimit = v
                }
            } else {
                result.columnFamilyOptions[family.name] = applied
            }
        }
        return (result, ignored)
    }

    /// One family's honoured settings applied to `base`.
    private func applyFamily(_ family: OptionsFile.Family, to base: ColumnFamilyOptions, ignored: inout [String])
        -> ColumnFamilyOptions
    {
        var f = base
        let o = family.options
        let t = family.tableOptions
        let label = "[CFOptions \"\(family.name)\"]"
        if let value = o["merge_operator"] {
            if let op = Self.mergeOperator(named: value, known: base.mergeOperator) {
                f.mergeOperator = op
            } else if value == "nullptr" || value.isEmpty {
                f.mergeOperator = nil
            } else {
                f.mergeOperator = nil
                ignored.append("\(label) merge_operator=\(value): no such operator in Strata (merges refused)")
            }
        }
        // RocksDB's sanitized range (64 KiB … 64 GiB); the memtable bloom is sized from it.
        if let v = o["write_buffer_size"].flatMap({ Int($0) }), v >= 64 << 10, v <= 64 << 30 { f.writeBufferSize = v }
        if let v = o["max_write_buffer_number"].flatMap({ Int($0) }), v > 0, v <= 1000 { f.maxWriteBufferNumber = v }
        if let v = o["compression"] {
            switch v {
            case "kNoCompression": f.compression = .none
            case "kSnappyCompression": f.compression = .snappy
            default: ignored.append("\(label) compression=\(v): Strata writes Snappy or no compression (kept \(f.compression.rocksDBName))")
            }
        }
        if let v = o["compaction_style"] {
            switch v {
            case "kCompactionStyleLevel": f.compactionStyle = .leveled
            case "kCompactionStyleUniversal": f.compactionStyle = .universal
            default: ignored.append("\(label) compaction_style=\(v): Strata has level and universal compaction")
            }
        }
        if let v = o["level0_file_num_compaction_trigger"].flatMap({ Int($0) }), v > 0 { f.level0FileNumCompactionTrigger = v }
        if let v = o["level0_slowdown_writes_trigger"].flatMap({ Int($0) }), v > 0 { f.level0SlowdownWritesTrigger = v }
        if let v = o["level0_stop_writes_trigger"].flatMap({ Int($0) }), v > 0 { f.level0StopWritesTrigger = v }
        if let v = o["max_bytes_for_level_base"].flatMap({ UInt64($0) }), v > 0 { f.maxBytesForLevelBase = v }
        if let v = o["max_bytes_for_level_multiplier"].flatMap({ Double($0) }), v > 1, v <= 1e6 {
            // Finite and bounded: level targets are computed from it in UInt64.
            f.maxBytesForLevelMultiplier = v
        }
        if let v = o["level_compaction_dynamic_level_bytes"].flatMap(Self.parseBool) { f.levelCompactionDynamicLevelBytes = v }
        if let v = o["target_file_size_base"].flatMap({ UInt64($0) }), v > 0 { f.targetFileSizeBase = v }
        if let v = o["memtable_prefix_bloom_size_ratio"].flatMap({ Double($0) }), v >= 0, v.isFinite {
            // Strata's memtable bloom is whole-key only.
            let wholeKey = o["memtable_whole_key_filtering"].flatMap(Self.parseBool) ?? false
            f.memtableBloomSizeRatio = wholeKey ? min(v, 0.25) : 0
        }
        if let v = t["block_size"].flatMap({ Int($0) }), v > 0, v <= 1 << 30 { f.blockSize = v }
        if let v = t["format_version"].flatMap({ UInt32($0) }) {
            if TableOptions.supportedFormatVersions.contains(v) {
                f.formatVersion = v
            } else {
                ignored.append("[TableOptions/BlockBasedTable \"\(family.name)\"] format_version=\(v): Strata writes 2…6 (kept \(f.formatVersion))")
            }
        }
        if let v = t["checksum"], let type = Self.checksumType(v) { f.checksum = type }
        if let v = t["filter_policy"] {
            if v == "nullptr" || v.isEmpty {
                f.bloomBitsPerKey = 0
            } else if let bits = Self.bloomBits(v), bits <= 1000 {
                f.bloomBitsPerKey = bits
            } else {
                ignored.append("[TableOptions/BlockBasedTable \"\(family.name)\"] filter_policy=\(v): Strata builds bloom filters (kept \(f.bloomBitsPerKey) bits per key)")
            }
        }
        return f
    }

    /// This database options' family fields replaced by `family`'s (the
    /// default family's settings live in `Options` itself).
    func withFamilySettings(_ family: ColumnFamilyOptions) -> Options {
        var o = applying(family)
        o.columnFamilyOptions = columnFamilyOptions
        return o
    }

    /// The operator an OPTIONS `merge_operator` value names: RocksDB's
    /// registered built-ins Strata has, or `known` if it has that name.
    static func mergeOperator(named value: String, known: (any MergeOperator)?) -> (any MergeOperator)? {
        var id = OptionsFile.unescape(Substring(value))
        var fields: [String: String] = [:]
        if let parsed = OptionsFile.structFields(value) {
            fields = parsed
            id = OptionsFile.unescape(Substring(parsed["id"] ?? ""))
        }
        switch id {
        case "StringAppendOperator", "stringappend":
            // RocksDB's default delimiter is ','.
            let delimiter = fields["delimiter"].map { OptionsFile.unescape(Substring($0)) } ?? ","
            return StringAppendOperator(separator: delimiter)
        case "UInt64AddOperator", "uint64add":
            return Int64AddOperator()
        default:
            if let known, known.name == id { return known }
            return nil
        }
    }

    static func checksumType(_ name: String) -> ChecksumType? {
        switch name {
        case "kNoChecksum": return ChecksumType.none
        case "kCRC32c": return .crc32c
        case "kxxHash": return .xxHash
        case "kxxHash64": return .xxHash64
        case "kXXH3": return .xxh3
        default: return nil
        }
    }

    /// Bits per key of `bloomfilter:BITS:false` (RocksDB's full bloom filter).
    static func bloomBits(_ value: String) -> Double? {
        let parts = value.split(separator: ":")
        guard parts.count >= 2, parts[0] == "bloomfilter" || parts[0] == "rocksdb.BuiltinBloomFilter",
              let bits = Double(parts[1]), bits >= 0 else { return nil }
        if parts.count >= 3 && parts[2] == "true" { return nil }  // block-based filters: not built by Strata
        return bits
    }

    static func parseBool(_ s: String) -> Bool? {
        switch s {
        case "true", "1": return true
        case "false", "0": return false
        default: return nil
        }
    }
}
