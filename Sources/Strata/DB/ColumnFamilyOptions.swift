/// The options of one column family: everything about how its LSM is
/// written, merged and compacted (RocksDB `ColumnFamilyOptions`, plus the
/// block-based table options RocksDB configures per family). Database-wide
/// settings (file system, block cache, background threads, checksums on
/// read) stay in `Options`.
///
/// The default family takes these settings from the fields of the same
/// names in `Options`; other families from `Options.columnFamilyOptions`
/// at open, or from `Database.createColumnFamily(named:options:)`. A family
/// that has no entry there gets the default family's settings
/// (`ColumnFamilyOptions(options)`), as `ldb` applies one set of options
/// to every family it opens.
///
/// Value type; `Sendable`. Read once, when the family is opened or created.
public struct ColumnFamilyOptions: Sendable {
    /// Bytes of memtable before it is made immutable and flushed to an L0
    /// table. Default 64 MiB. RocksDB: `write_buffer_size`.
    public var writeBufferSize: Int = 64 << 20

    /// Memtables (active + immutable) of this family allowed before writes
    /// stall waiting for its flushes. Default 2. RocksDB: `max_write_buffer_number`.
    public var maxWriteBufferNumber: Int = 2

    /// Block compression of this family's tables. Default `.snappy`. RocksDB: `compression`.
    public var compression: CompressionType = .snappy

    /// Block checksum type of this family's tables. Default `.xxh3`.
    /// RocksDB: `BlockBasedTableOptions::checksum`.
    public var checksum: ChecksumType = .xxh3

    /// Bloom filter bits per key; 0 disables filters. Default 10.
    /// RocksDB: `BlockBasedTableOptions::filter_policy`.
    public var bloomBitsPerKey: Double = 10

    /// Each memtable's whole-key bloom filter, as a fraction of
    /// `writeBufferSize` (at most 0.25); 0 = none. Default 0.02. RocksDB:
    /// `memtable_prefix_bloom_size_ratio` + `memtable_whole_key_filtering`
    /// (off by default there; see `Options.memtableBloomSizeRatio`).
    public var memtableBloomSizeRatio: Double = 0.02

    /// Uncompressed data block size. Default 4096. RocksDB: `BlockBasedTableOptions::block_size`.
    public var blockSize: Int = 4096

    /// Table format version of the tables written (2…6). Default 5, which
    /// RocksDB 7.8.3 and later read. 6 adds context checksums (a block
    /// misplaced in a file fails its checksum) and a checksummed footer;
    /// RocksDB 8.6+ reads it, RocksDB 7.8.3's tools cannot. 7 is read but not
    /// written (`Database.open` / `createColumnFamily` fail with
    /// `.notSupported`). Tables of every version 0…7 are read whatever this
    /// says. RocksDB: `BlockBasedTableOptions::format_version`.
    public var formatVersion: UInt32 = 5

    /// Compaction style. Default `.leveled`. RocksDB: `compaction_style`.
    public var compactionStyle: CompactionStyle = .leveled

    /// L0 files that trigger an L0 compaction. Default 4.
    /// RocksDB: `level0_file_num_compaction_trigger`.
    public var level0FileNumCompactionTrigger: Int = 4

    /// L0 files at which writes (to every family: the WAL is shared) are
    /// slowed down. Default 20. RocksDB: `level0_slowdown_writes_trigger`.
    public var level0SlowdownWritesTrigger: Int = 20

    /// L0 files at which writes stop until compaction catches up. Default 36.
    /// RocksDB: `level0_stop_writes_trigger`.
    public var level0StopWritesTrigger: Int = 36

    /// Target size of the base level. Default 256 MiB. RocksDB: `max_bytes_for_level_base`.
    public var maxBytesForLevelBase: UInt64 = 256 << 20

    /// Size ratio between adjacent levels. Default 10. RocksDB: `max_bytes_for_level_multiplier`.
    public var maxBytesForLevelMultiplier: Double = 10

    /// Size level targets from the last level up. Default true.
    /// RocksDB: `level_compaction_dynamic_level_bytes`.
    public var levelCompactionDynamicLevelBytes: Bool = true

    /// Target size of compaction output files. Default 64 MiB. RocksDB: `target_file_size_base`.
    public var targetFileSizeBase: UInt64 = 64 << 20

    /// Merge operator for `merge` in this family; nil means merges to it are
    /// refused with `.invalidArgument`. Default nil. RocksDB: `merge_operator`.
    public var mergeOperator: (any MergeOperator)? = nil

    /// Compaction filter for this family's compactions; nil = none. Default nil.
    /// RocksDB: `compaction_filter`.
    public var compactionFilter: (any CompactionFilter)? = nil

    /// RocksDB's defaults (Strata's, where they differ; see `Options`).
    public init() {}

    /// The family settings of a database's options (what its default family uses).
    public init(_ options: Options) {
        writeBufferSize = options.writeBufferSize
        maxWriteBufferNumber = options.maxWriteBufferNumber
        compression = options.compression
        checksum = options.checksum
        bloomBitsPerKey = options.bloomBitsPerKey
        memtableBloomSizeRatio = options.memtableBloomSizeRatio
        blockSize = options.blockSize
        formatVersion = options.formatVersion
        compactionStyle = options.compactionStyle
        level0FileNumCompactionTrigger = options.level0FileNumCompactionTrigger
        level0SlowdownWritesTrigger = options.level0SlowdownWritesTrigger
        level0StopWritesTrigger = options.level0StopWritesTrigger
        maxBytesForLevelBase = options.maxBytesForLevelBase
        maxBytesForLevelMultiplier = options.maxBytesForLevelMultiplier
        levelCompactionDynamicLevelBytes = options.levelCompactionDynamicLevelBytes
        targetFileSizeBase = options.targetFileSizeBase
        mergeOperator = options.mergeOperator
        compactionFilter = options.compactionFilter
    }
}

extension Options {
    /// These options with the family settings replaced by `family`'s: the
    /// effective options one column family's flushes, compactions and
    /// reads use (the pickers and table builders take an `Options`).
    func applying(_ family: ColumnFamilyOptions) -> Options {
        var o = self
        o.writeBufferSize = family.writeBufferSize
        o.maxWriteBufferNumber = family.maxWriteBufferNumber
        o.compression = family.compression
        o.checksum = family.checksum
        o.bloomBitsPerKey = family.bloomBitsPerKey
        o.memtableBloomSizeRatio = family.memtableBloomSizeRatio
        o.blockSize = family.blockSize
        o.formatVersion = family.formatVersion
        o.compactionStyle = family.compactionStyle
        o.level0FileNumCompactionTrigger = family.level0FileNumCompactionTrigger
        o.level0SlowdownWritesTrigger = family.level0SlowdownWritesTrigger
        o.level0StopWritesTrigger = family.level0StopWritesTrigger
        o.maxBytesForLevelBase = family.maxBytesForLevelBase
        o.maxBytesForLevelMultiplier = family.maxBytesForLevelMultiplier
        o.levelCompactionDynamicLevelBytes = family.levelCompactionDynamicLevelBytes
        o.targetFileSizeBase = family.targetFileSizeBase
        o.mergeOperator = family.mergeOperator
        o.compactionFilter = family.compactionFilter
        o.columnFamilyOptions = [:]
        return o
    }

    /// The settings of the family called `name` when it is opened or
    /// created without explicit options: its entry in
    /// `columnFamilyOptions`, else the default family's settings.
    func familyOptions(named name: String) -> ColumnFamilyOptions {
        columnFamilyOptions[name] ?? ColumnFamilyOptions(self)
    }
}

extension ColumnFamilyOptions {
    /// Throws `.notSupported` for format_version 7, which Strata reads but
    /// does not write, so that setting fails `open` / `createColumnFamily`
    /// with that reason; other out-of-range values are left to `validate`
    /// (`.invalidArgument` naming the option and its range).
    static func checkWritable(formatVersion: UInt32, family: String) throws(StrataError) {
        if formatVersion == 7 {
            throw .notSupported(
                "column family \(family): table format_version 7 is read but not written by Strata; use 2...6")
        }
    }
}
