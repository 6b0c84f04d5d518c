/// The text of a RocksDB `OPTIONS-NNNNNN` file describing a Strata
/// database: `[Version]`, `[DBOptions]`, then per column family
/// `[CFOptions "NAME"]` and `[TableOptions/BlockBasedTable "NAME"]`, with
/// Strata's option values under RocksDB's option names (docs/format.md,
/// "OPTIONS file").
///
/// Only names RocksDB 7.8.3 knows are written: `ldb` loads the file with
/// `ignore_unknown_options = false` unless told otherwise, and one unknown
/// name fails the whole load. RocksDB 11.8.1 knows every one of them too.
/// Options a section leaves out keep RocksDB's defaults when RocksDB loads
/// the file, so only settings Strata has (or facts of how it works, such as
/// `num_levels=7`) are written.
enum OptionsFileWriter {
    /// The RocksDB release whose option set the file uses (`rocksdb_version`).
    static let rocksDBVersion = "7.8.3"
    /// RocksDB's OPTIONS file format version (`options_file_version`).
    static let fileVersion = "1.1"

    /// The file's text for database options `options` and the live
    /// families `families` (name and effective options, "default" first).
    static func text(options: Options, families: [(name: String, options: Options)]) -> String {
        var out = """
            # This is a RocksDB option file.
            #
            # Written by Strata with RocksDB's option names (docs/format.md).
            #

            [Version]
              rocksdb_version=\(rocksDBVersion)
              options_file_version=\(fileVersion)

            [DBOptions]

            """
        for (name, value) in dbOptions(options) { out += "  \(name)=\(value)\n" }
        out += "  \n"
        for family in families {
            out += "\n[CFOptions \"\(family.name)\"]\n"
            for (name, value) in familyOptions(family.options) { out += "  \(name)=\(value)\n" }
            out += "  \n"
            out += "[TableOptions/BlockBasedTable \"\(family.name)\"]\n"
            for (name, value) in tableOptions(family.options) { out += "  \(name)=\(value)\n" }
            out += "  \n"
        }
        return out
    }

    /// `[DBOptions]`: the database-wide settings Strata has.
    static func dbOptions(_ o: Options) -> [(String, String)] {
        [
            ("create_if_missing", bool(o.createIfMissing)),
            ("error_if_exists", bool(o.errorIfExists)),
            ("paranoid_checks", bool(o.paranoidChecks)),
            ("allow_mmap_reads", bool(o.allowMmapReads)),
            ("max_background_jobs", String(max(2, o.maxBackgroundJobs))),
            ("delayed_write_rate", String(o.delayedWriteRate)),
            // Every live table stays open (TableCache).
            ("max_open_files", "-1"),
            // Tables are written through a 1 MiB buffer (TableOutput).
            ("writable_file_max_buffer_size", "1048576"),
            // Recovery keeps the WAL prefix before a damaged record.
            ("wal_recovery_mode", "kPointInTimeRecovery"),
            ("create_missing_column_families", "false"),
            ("use_fsync", "false"),
            ("allow_ingest_behind", "false"),
            ("db_write_buffer_size", String(o.memoryBudget.map { Int(Double($0) * o.memoryBudgetWriteBufferRatio) } ?? 0)),
        ]
    }

    /// `[CFOptions "NAME"]`: one family's LSM settings.
    static func familyOptions(_ o: Options) -> [(String, String)] {
        [
            ("comparator", Bytewise.name),
            ("merge_operator", mergeOperatorValue(o.mergeOperator)),
            ("compaction_filter", o.compactionFilter.map { escape($0.name) } ?? "nullptr"),
            ("write_buffer_size", String(o.writeBufferSize)),
            ("max_write_buffer_number", String(o.maxWriteBufferNumber)),
            ("compression", compressionName(o.compression)),
            ("num_levels", String(Version.levelCount)),
            ("compaction_style", o.compactionStyle == .universal ? "kCompactionStyleUniversal" : "kCompactionStyleLevel"),
            ("level0_file_num_compaction_trigger", String(o.level0FileNumCompactionTrigger)),
            ("level0_slowdown_writes_trigger", String(o.level0SlowdownWritesTrigger)),
            ("level0_stop_writes_trigger", String(o.level0StopWritesTrigger)),
            ("max_bytes_for_level_base", String(o.maxBytesForLevelBase)),
            ("max_bytes_for_level_multiplier", fixedSix(o.maxBytesForLevelMultiplier)),
            ("level_compaction_dynamic_level_bytes", bool(o.levelCompactionDynamicLevelBytes)),
            ("target_file_size_base", String(o.targetFileSizeBase)),
            ("target_file_size_multiplier", "1"),
            ("soft_pending_compaction_bytes_limit", String(o.softPendingCompactionBytesLimit)),
            ("hard_pending_compaction_bytes_limit", String(o.hardPendingCompactionBytesLimit)),
            ("memtable_prefix_bloom_size_ratio", fixedSix(o.memtableBloomSizeRatio)),
            ("memtable_whole_key_filtering", bool(o.memtableBloomSizeRatio > 0)),
            ("compaction_options_universal", universalValue(o)),
            ("table_factory", "BlockBasedTable"),
        ]
    }

    /// `[TableOptions/BlockBasedTable "NAME"]`: how the family's tables are built.
    static func tableOptions(_ o: Options) -> [(String, String)] {
        let budget = o.memoryBudget != nil || o.sharedMemoryBudget != nil
        return [
            ("format_version", String(o.formatVersion)),
            ("checksum", o.checksum.rocksDBName),
            ("block_size", String(o.blockSize)),
            ("block_size_deviation", "10"),
            ("block_restart_interval", "16"),
            ("index_block_restart_interval", "1"),
            ("index_type", "kBinarySearch"),
            ("filter_policy", filterPolicyValue(o.bloomBitsPerKey)),
            ("whole_key_filtering", "true"),
            ("enable_index_compression", "true"),
            ("no_block_cache", bool(o.blockCacheCapacity == 0 && !budget)),
            ("cache_index_and_filter_blocks", bool(budget)),
        ]
    }

    /// How RocksDB serializes the merge operators it registers: a
    /// configurable one (`StringAppendOperator`, with its delimiter) as
    /// `{id=NAME;OPTION=VALUE;}`, a plain one (`UInt64AddOperator`) and any
    /// other by its name; `nullptr` for none.
    static func mergeOperatorValue(_ op: (any MergeOperator)?) -> String {
        guard let op else { return "nullptr" }
        if let append = op as? StringAppendOperator {
            return "{id=StringAppendOperator;delimiter=\(escape(String(decoding: append.separator, as: UTF8.self)));}"
        }
        return escape(op.name)
    }

    /// RocksDB's `filter_policy` value: `bloomfilter:BITS:false` (a full
    /// filter) or `nullptr`.
    static func filterPolicyValue(_ bitsPerKey: Double) -> String {
        guard bitsPerKey > 0 else { return "nullptr" }
        let bits = bitsPerKey == bitsPerKey.rounded() ? String(Int(bitsPerKey)) : String(bitsPerKey)
        return "bloomfilter:\(bits):false"
    }

    /// `compaction_options_universal` as RocksDB 7.8.3 writes the struct.
    static func universalValue(_ o: Options) -> String {
        let maxWidth = o.universalMaxMergeWidth >= Int(UInt32.max) ? String(UInt32.max) : String(o.universalMaxMergeWidth)
        return "{allow_trivial_move=false;incremental=false;stop_style=kCompactionStopStyleTotalSize;"
            + "compression_size_percent=-1;max_size_amplification_percent=\(o.universalMaxSizeAmplificationPercent);"
            + "max_merge_width=\(maxWidth);min_merge_width=\(o.universalMinMergeWidth);size_ratio=\(o.universalSizeRatio);}"
    }

    /// RocksDB's `CompressionType` enum names.
    static func compressionName(_ c: CompressionType) -> String {
        switch c {
        case .none: return "kNoCompression"
        case .snappy: return "kSnappyCompression"
        case .zlib: return "kZlibCompression"
        case .bzip2: return "kBZip2Compression"
        case .lz4: return "kLZ4Compression"
        case .lz4hc: return "kLZ4HCCompression"
        case .xpress: return "kXpressCompression"
        case .zstd, .zstdNotFinal: return "kZSTD"
        }
    }

    static func bool(_ b: Bool) -> String { b ? "true" : "false" }

    /// RocksDB's `EscapeOptionString`: `\`, `#`, `:`, CR and LF get a
    /// backslash (CR and LF as `\r`, `\n`).
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\", "#", ":": out += "\\" + String(c)
            case "\r": out += "\\r"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
