/// How a database is opened and how it behaves. Every field documents its
/// default and the RocksDB option it mirrors.
///
/// As RocksDB's `Options` is a `DBOptions` and a `ColumnFamilyOptions`,
/// these options contain the default family's `ColumnFamilyOptions`
/// (`defaultColumnFamily`), and every one of its settings reads and writes
/// through `Options` by name: `options.writeBufferSize` is
/// `options.defaultColumnFamily.writeBufferSize`. Each setting is declared,
/// with its default and documentation, once — in `ColumnFamilyOptions`.
///
/// Value type; `Sendable`. Options are read once at open.
@dynamicMemberLookup
public struct Options: Sendable {
    /// The default family's settings (write buffer, compression, checksums,
    /// bloom filter, block size, format version, compaction style and
    /// triggers, merge operator, compaction filter), which are also the
    /// settings of every other family that has no entry in
    /// `columnFamilyOptions`. Default `ColumnFamilyOptions()`.
    public var defaultColumnFamily = ColumnFamilyOptions()

    /// Reads and writes a setting of `defaultColumnFamily` by name
    /// (`options.writeBufferSize`, `options.mergeOperator`, ...).
    @inlinable
    public subscript<Value>(dynamicMember setting: WritableKeyPath<ColumnFamilyOptions, Value>) -> Value {
        get { defaultColumnFamily[keyPath: setting] }
        set { defaultColumnFamily[keyPath: setting] = newValue }
    }

    /// Create the database if the directory holds none. Default true.
    /// RocksDB: `create_if_missing` (RocksDB's default is false; Strata's
    /// is true, as api.md specifies).
    public var createIfMissing: Bool = true

    /// Fail to open if a database already exists. Default false.
    /// RocksDB: `error_if_exists`.
    public var errorIfExists: Bool = false

    /// Bytes of uncompressed blocks cached in memory. Default 32 MiB.
    /// RocksDB: `BlockBasedTableOptions::block_cache` (an LRU cache of this capacity).
    public var blockCacheCapacity: Int = 32 << 20

    /// One number for the memory of memtables, block cache and index and
    /// filter blocks: when set, the database gets a private `MemoryBudget`
    /// of this many bytes (at least 1 MiB) whose block cache replaces
    /// `blockCacheCapacity`, and every column family's `writeBufferSize`
    /// becomes `memoryBudget × memoryBudgetWriteBufferRatio /
    /// maxWriteBufferNumber` (e.g. 256 MiB → a 256 MiB cache of which
    /// memtables may take 128 MiB, two memtables of 64 MiB per family).
    /// Memtables and index and filter blocks are charged to the cache.
    /// Default nil: `writeBufferSize`, `maxWriteBufferNumber` and
    /// `blockCacheCapacity` apply as set, nothing is charged to the cache.
    /// RocksDB: `WriteBufferManager(buffer_size, cache)` with
    /// `cache_index_and_filter_blocks`; Flink
    /// `state.backend.rocksdb.memory.fixed-per-slot`.
    public var memoryBudget: Int? = nil

    /// The part of `memoryBudget` memtables may take (0.05…0.9). Default
    /// 0.5. Flink: `state.backend.rocksdb.memory.write-buffer-ratio` (0.5).
    public var memoryBudgetWriteBufferRatio: Double = 0.5

    /// A budget shared with other databases of the process (a stream job's
    /// operators): one block cache and one memtable limit for all of them.
    /// Takes precedence over `memoryBudget`; see `MemoryBudget` for the
    /// split. Default nil. RocksDB: one `Cache` and one `WriteBufferManager`
    /// passed to several `DB::Open`s; Flink: managed memory shared by the
    /// RocksDB instances of a slot.
    public var sharedMemoryBudget: MemoryBudget? = nil

    /// Universal compaction: percent by which a run may be larger than the
    /// total size of the newer runs before it in a size-ratio window and
    /// still be merged with them. Larger values merge more eagerly (more
    /// write amplification, fewer sorted runs). Default 1.
    /// RocksDB: `compaction_options_universal.size_ratio`.
    public var universalSizeRatio: Int = 1

    /// Universal compaction: fewest sorted runs a size-ratio compaction
    /// merges (at least 2). Default 2.
    /// RocksDB: `compaction_options_universal.min_merge_width`.
    public var universalMinMergeWidth: Int = 2

    /// Universal compaction: most sorted runs one size-ratio or run-count
    /// compaction merges. Default `Int.max` (unbounded).
    /// RocksDB: `compaction_options_universal.max_merge_width` (default UINT_MAX).
    public var universalMaxMergeWidth: Int = .max

    /// Universal compaction: when the sorted runs other than the oldest add
    /// up to this percentage of the oldest run's size, everything is merged
    /// into one run (a full compaction). It bounds space amplification at
    /// about (100 + this) / 100. Default 200.
    /// RocksDB: `compaction_options_universal.max_size_amplification_percent`.
    public var universalMaxSizeAmplificationPercent: Int = 200

    /// Write rate, in bytes per second, while writes are slowed down (L0 at
    /// its slowdown trigger, memtables piling up, compaction debt over the
    /// soft limit): each write group waits so the rate is not exceeded, and
    /// the rate drops while the debt grows and recovers as it shrinks.
    /// Default 16 MiB/s. RocksDB: `delayed_write_rate` (0 there means 16 MiB/s).
    public var delayedWriteRate: UInt64 = 16 << 20

    /// Estimated bytes compaction still has to rewrite at which writes are
    /// slowed down. Default 64 GiB. RocksDB: `soft_pending_compaction_bytes_limit`.
    public var softPendingCompactionBytesLimit: UInt64 = 64 << 30

    /// Estimated bytes compaction still has to rewrite at which writes stop
    /// until compaction catches up. Default 256 GiB.
    /// RocksDB: `hard_pending_compaction_bytes_limit`.
    public var hardPendingCompactionBytesLimit: UInt64 = 256 << 30

    /// Background threads for flushes and compactions. Default 2. One
    /// thread is kept for flushes, so up to `max(1, maxBackgroundJobs - 1)`
    /// compactions on disjoint files run at once (RocksDB with 2 jobs also
    /// runs one flush and one compaction). Values below 2 count as 2.
    /// RocksDB: `max_background_jobs`.
    public var maxBackgroundJobs: Int = 2

    /// Verify block checksums on every read. Default true.
    /// RocksDB: `ReadOptions::verify_checksums` (default true there too).
    public var paranoidChecks: Bool = true

    /// Read tables through read-only memory mappings instead of `pread`
    /// into buffers: a block read from the page cache costs no system call
    /// and no copy of its stored bytes, as LevelDB reads tables by default
    /// (measured: random seeks and lookups that miss the block cache 1.4-1.8×
    /// faster, docs/benchmarks.md). The mapping needs address space for every
    /// open table, not memory (the pages are the page cache's). The price: a
    /// media error while reading a mapped page, or a table truncated by
    /// another process while mapped, stops the process with SIGBUS instead
    /// of returning `.ioError` — set false where that matters more than
    /// read speed. Checksums are verified either way. Default true
    /// (RocksDB's default is false, LevelDB's true).
    /// RocksDB: `allow_mmap_reads`.
    public var allowMmapReads: Bool = true

    /// Options of the column families other than the default one, by
    /// name, used when `Database.open` opens the families that exist (and
    /// by `createColumnFamily(named:)` without explicit options). A family
    /// without an entry gets the default family's settings (the fields
    /// above). An entry for "default" replaces those fields for the default
    /// family. Default empty. RocksDB: the `ColumnFamilyDescriptor` list
    /// passed to `DB::Open`.
    public var columnFamilyOptions: [String: ColumnFamilyOptions] = [:]

    /// The file system every file access goes through. Default: the real
    /// POSIX file system. Tests substitute a fault-injecting one.
    /// RocksDB: `env` / `file_system`.
    public var fileSystem: any FileSystem = PosixFileSystem.shared

    /// Default options.
    public init() {}
}

/// How compaction organizes the LSM.
public enum CompactionStyle: Sendable, Equatable {
    /// Levels of non-overlapping files, each about `maxBytesForLevelMultiplier`
    /// times larger than the one above (RocksDB kCompactionStyleLevel).
    case leveled
    /// Size-tiered sorted runs merged by size ratio (RocksDB kCompactionStyleUniversal).
    case universal
}

/// Options for one write.
public struct WriteOptions: Sendable {
    /// Fsync the WAL before the write returns: the write survives a machine
    /// crash. Default false (survives a process crash only).
    /// RocksDB: `WriteOptions::sync`.
    public var sync: Bool
    /// Skip the WAL: the write is lost on any crash until the memtable is
    /// flushed. Default false. RocksDB: `WriteOptions::disableWAL`.
    public var disableWAL: Bool
    /// Fail with `.busy` instead of waiting when the write would stall.
    /// Default false. RocksDB: `WriteOptions::no_slowdown`.
    public var noSlowdown: Bool

    /// Options with the given flags.
    public init(sync: Bool = false, disableWAL: Bool = false, noSlowdown: Bool = false) {
        self.sync = sync
        self.disableWAL = disableWAL
        self.noSlowdown = noSlowdown
    }
}

/// A merge operator: combines operands written with `merge` into a value.
/// Its `name` is written to table properties (`rocksdb.merge.operator`).
///
/// Contract: called on reads (get, iterators), during flushes and from
/// background compaction threads, possibly at once (hence `Sendable`).
/// Results must depend only on the arguments: a key's operands may be
/// combined in any grouping a snapshot allows (partial merges of adjacent
/// operands, full merges onto a value), and every grouping must read the same.
/// Built-ins: `StringAppendOperator`, `Int64AddOperator`.
public protocol MergeOperator: Sendable {
    /// A stable name (RocksDB writes it to the table properties).
    var name: String { get }
    /// Combines an optional existing value with operands, oldest first.
    /// Returning nil reports a merge failure (the read fails with `.corruption`).
    func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) -> [UInt8]?
    /// Optional: combines two operands into one (associative operators); nil = cannot.
    func partialMerge(key: [UInt8], left: [UInt8], right: [UInt8]) -> [UInt8]?
}

extension MergeOperator {
    /// By default operands are not combined before a full merge.
    public func partialMerge(key: [UInt8], left: [UInt8], right: [UInt8]) -> [UInt8]? { nil }
}

/// What a compaction filter decides for one entry.
public enum CompactionDecision: Sendable, Equatable {
    /// Keep the entry as it is.
    case keep
    /// Drop the entry (it reads as deleted).
    case remove
    /// Replace the value.
    case change([UInt8])
}

/// Called for each value during compaction (RocksDB `CompactionFilter`).
///
/// Contract: called from background compaction threads, possibly from
/// several at once (hence `Sendable`); never during a flush, never for merge
/// operands or merge results, and never for a value that a snapshot which
/// existed when the compaction started can see (unlike RocksDB 7.8, which
/// ignores snapshots; docs/compaction.md).
/// Decisions should depend only on the key, the value and the filter's own
/// state: a value may be offered again by a later compaction.
public protocol CompactionFilter: Sendable {
    /// A stable name.
    var name: String { get }
    /// Decides the fate of one value (the newest version of `key` that no
    /// snapshot sees) being written to `level` (the compaction's output
    /// level). `.remove` makes the key read as deleted; `.change` replaces
    /// the value.
    func filter(level: Int, key: [UInt8], value: [UInt8]) -> CompactionDecision
}
