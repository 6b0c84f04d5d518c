/// How tables are written. Each field names the RocksDB option it mirrors
/// (`BlockBasedTableOptions` unless said otherwise); the defaults are
/// RocksDB 7.8.3's, except where noted.
public struct TableOptions: Sendable {
    /// Table format version, 2 to 6. 5 (the default, RocksDB 7.8.3's) uses
    /// FastLocalBloom filters and a user-key index with delta-encoded handles;
    /// 4 the same index with legacy Bloom filters; 3 a user-key index with full
    /// handles; 2 an internal-key index. 6 is 5 plus context checksums (each
    /// block's checksum depends on its offset, so a misplaced block is caught)
    /// and a footer with its own checksum: RocksDB 8.6 and later read it,
    /// RocksDB 7.8.3's tools do not. 7 is read, not written (`TableBuilder`
    /// refuses it with `.notSupported`). RocksDB: `format_version`.
    public var formatVersion: UInt32 = 5

    /// Block checksum. Default `.xxh3`. RocksDB: `checksum`.
    public var checksum: ChecksumType = .xxh3

    /// Compression of data and index blocks: `.none` or `.snappy` (default).
    /// A block is stored compressed only if that saves at least 1/8 of it.
    /// RocksDB: `ColumnFamilyOptions::compression`.
    public var compression: CompressionType = .snappy

    /// Target uncompressed data-block size in bytes. Default 4096.
    /// RocksDB: `block_size`.
    public var blockSize: Int = 4096

    /// A block is also closed early when the next entry would overflow
    /// `blockSize` and the block is already within this percentage of it.
    /// Default 10. RocksDB: `block_size_deviation`.
    public var blockSizeDeviation: Int = 10

    /// Entries between restart points in data blocks. Default 16.
    /// RocksDB: `block_restart_interval`.
    public var blockRestartInterval: Int = 16

    /// Entries between restart points in the index block. Default 1.
    /// RocksDB: `index_block_restart_interval`.
    public var indexBlockRestartInterval: Int = 1

    /// Bloom filter bits per key; 0 writes no filter. Default 10 (≈1% false
    /// positives). RocksDB: `filter_policy = NewBloomFilterPolicy(bits)` (RocksDB's
    /// default is no filter; Strata's is 10 because every state backend wants one).
    public var bloomBitsPerKey: Double = 10

    /// Whether the index block may be compressed. Default true.
    /// RocksDB: `enable_index_compression`.
    public var enableIndexCompression: Bool = true

    /// Recorded in the `rocksdb.column.family.id` property. Default 0 (the
    /// default family).
    public var columnFamilyID: UInt32 = 0
    /// Recorded in `rocksdb.column.family.name`. Default "default".
    public var columnFamilyName: String = "default"
    /// Recorded in `rocksdb.merge.operator`; "nullptr" when none.
    public var mergeOperatorName: String = "nullptr"
    /// Recorded in `rocksdb.creating.db.identity`.
    public var dbID: String = ""
    /// Recorded in `rocksdb.creating.session.identity`.
    public var dbSessionID: String = ""
    /// Recorded in `rocksdb.creating.host.identity`.
    public var dbHostID: String = ""

    /// Default options.
    public init() {}
}
