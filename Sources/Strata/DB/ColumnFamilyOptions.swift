/// The options of one column family: everything about how its LSM is
/// written, merged and compacted (RocksDB `ColumnFamilyOptions`, plus the
/// block-based table options RocksDB configures per family). Database-wide
/// settings (file system, block cache, background threads, checksums on
/// read) stay in `Options`.
///
/// The default family takes these settings from `Options.defaultColumnFamily`
/// (which `Options` exposes by name: `options.writeBufferSize`); other
/// families from `Options.columnFamilyOptions`
/// at open, or from `Database.createColumnFamily(named:options:)`. A family
/// that has no entry there gets the default family's settings
/// (`ColumnFamilyOptions(options)`), as `ldb` applies one set of options
/// to every family it opens.
///
/// Value type; `Sendable`. Read once, when the family is opened or created.
public struct ColumnFamilyOptions: Sendable {
    /// Bytes of memtable before it is made immutable and flushed to an L0
    /// table. Larger values mean fewer, larger L0 files and less write
    /// amplification, at the cost of memory and recovery time. Default 64 MiB.
    /// RocksDB: `write_buffer_size`.
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
    /// RocksDB: `BlockBasedTableOptions::filter_policy` (NewBloomFilterPolicy(10)).
    public var bloomBitsPerKey: Double = 10

    /// Size of each memtable's whole-key bloom filter as a fraction of
    /// `writeBufferSize` (clamped to 0.25); 0 turns it off. With it, a point
    /// lookup skips the memtable's skiplist search when the key is not
    /// there — the common case once most data is in tables — for one
    /// cache-line probe, at the cost of a hash and that probe per write.
    /// Default 0.02 (1.3 MiB for 64 MiB: ~20 bits per 100-byte entry).
    /// RocksDB: `memtable_prefix_bloom_size_ratio` with
    /// `memtable_whole_key_filtering = true`; RocksDB's defaults are 0 and
    /// false. Strata turns it on because a stream state backend's reads are
    /// point lookups of keys mostly outside the memtable.
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

    /// Compaction style. Default `.leveled`: low space amplification, more
    /// rewriting. `.universal` rewrites less (lower write amplification) at
    /// the cost of more sorted runs to read and up to
    /// `universalMaxSizeAmplificationPercent` extra space (docs/compaction.md).
    /// RocksDB: `compaction_style`.
    public var compactionStyle: CompactionStyle = .leveled

    /// Number of L0 files that triggers an L0 → L1 compaction; under
    /// universal compaction, the number of sorted runs (L0 files plus
    /// non-empty levels) at which compactions start. Default 4.
    /// RocksDB: `level0_file_num_compaction_trigger`.
    public var level0FileNumCompactionTrigger: Int = 4

    /// Number of L0 files at which writes are slowed down; under universal
    /// compaction, sorted runs (L0 files plus non-empty levels), as RocksDB
    /// counts them. Default 20. RocksDB: `level0_slowdown_writes_trigger`.
    public var level0SlowdownWritesTrigger: Int = 20

    /// Number of L0 files at which writes stop until compaction catches up;
    /// under universal compaction, sorted runs, as for the slowdown trigger.
    /// Default 36. RocksDB: `level0_stop_writes_trigger`.
    public var level0StopWritesTrigger: Int = 36

    /// Target size of the first non-zero level (L1, or the base level with
    /// dynamic level bytes). Default 256 MiB. RocksDB: `max_bytes_for_level_base`.
    public var maxBytesForLevelBase: UInt64 = 256 << 20

    /// Size ratio between adjacent levels. Default 10.
    /// RocksDB: `max_bytes_for_level_multiplier`.
    public var maxBytesForLevelMultiplier: Double = 10

    /// Size level targets from the last level up, so the last level holds
    /// about 90% of the data and space amplification stays near 1.1. Default
    /// true (RocksDB 7.8.3's default is false; true is its recommended setting
    /// and the default from RocksDB 8.4). RocksDB: `level_compaction_dynamic_level_bytes`.
    public var levelCompactionDynamicLevelBytes: Bool = true

    /// Target size of compaction output files. Default 64 MiB.
    /// RocksDB: `target_file_size_base`.
    public var targetFileSizeBase: UInt64 = 64 << 20

    /// Merge operator for `merge` in this family; nil means merges to it are
    /// refused with `.invalidArgument`. Default nil. RocksDB: `merge_operator`.
    public var mergeOperator: (any MergeOperator)? = nil

    /// Compaction filter applied to values during compaction (not flush);
    /// nil = none. Values a snapshot (taken before the compaction began) can
    /// see are never filtered; see `CompactionFilter`.
    /// RocksDB: `compaction_filter`.
    public var compactionFilter: (any CompactionFilter)? = nil

    /// Marks tables dense with deletions for compaction as they are
    /// written, so deleted entries leave the disk without waiting for
    /// size-triggered compaction to reach them (`CompactOnDeletionOptions`,
    /// docs/compaction.md). Default nil (off), as in RocksDB; the stream
    /// state backend turns it on. RocksDB:
    /// `table_properties_collector_factories` with
    /// `NewCompactOnDeletionCollectorFactory`.
    public var compactOnDeletion: CompactOnDeletionOptions? = nil

    /// Leveled compaction: a table whose file creation time is at least this
    /// many seconds ago is compacted (into the next level, or in place in the
    /// last level) when no level needs compaction by size or file count, so
    /// expired entries (a TTL compaction filter) and deletions are dropped
    /// even where no write reaches them. 0 = off. Default 0 (RocksDB 7.8
    /// turns it on, at 30 days, only with a compaction filter; Strata leaves
    /// that choice to the user). RocksDB: `periodic_compaction_seconds`.
    public var periodicCompactionSeconds: UInt64 = 0

    /// RocksDB's defaults (Strata's, where they differ; see `Options`).
    public init() {}

    /// The family settings of a database's options: `options.defaultColumnFamily`.
    public init(_ options: Options) {
        self = options.defaultColumnFamily
    }
}

extension Options {
    /// These options with the family settings replaced by `family`'s: the
    /// effective options one column family's flushes, compactions and
    /// reads use (the pickers and table builders take an `Options`).
    func applying(_ family: ColumnFamilyOptions) -> Options {
        var o = self
        o.defaultColumnFamily = family
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
