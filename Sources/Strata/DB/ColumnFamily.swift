/// A column family: a named, independent key space of a database, with its
/// own memtables, levels, compactions and options, sharing the database's
/// WAL (so one `WriteBatch` can update several families atomically) and
/// MANIFEST. Get one from `Database.createColumnFamily(named:options:)` or
/// `Database.columnFamily(named:)`; the default family (`"default"`, id 0)
/// is what the `Database` methods themselves use.
///
/// The methods mirror `Database`'s and keep its contracts (absent keys read
/// as nil, durability per `WriteOptions`, snapshots are database-wide).
/// After `Database.dropColumnFamily(named:)` every method throws
/// `.invalidArgument` ("column family NAME was dropped"); iterators created
/// before the drop keep reading what they pinned.
///
/// Thread safety: `Sendable`; a handle may be used from any thread. It keeps
/// the database object alive, not open: after `Database.close()` its
/// methods throw `.closed`.
public final class ColumnFamily: Sendable {
    /// The database the family belongs to.
    public let database: Database
    let data: ColumnFamilyData

    init(database: Database, data: ColumnFamilyData) {
        self.database = database
        self.data = data
    }

    /// The family's name ("default" for the default family).
    public var name: String { data.name }

    /// The family's id as the MANIFEST, WAL and table properties record it
    /// (0 for the default family; ids are never reused after a drop).
    public var id: UInt32 { data.id }

    /// True once the family was dropped.
    public var isDropped: Bool { database.monitor.withLock { data.dropped } }

    // MARK: Writes

    /// Sets `key` to `value` in this family. Durability as `Database.write`.
    public func put(_ key: [UInt8], _ value: [UInt8], options: WriteOptions = WriteOptions()) throws {
        var batch = WriteBatch()
        batch.put(key, value, in: self)
        try database.write(batch, options: options)
    }

    /// Deletes `key` from this family; deleting an absent key is not an error.
    public func delete(_ key: [UInt8], options: WriteOptions = WriteOptions()) throws {
        var batch = WriteBatch()
        batch.delete(key, in: self)
        try database.write(batch, options: options)
    }

    /// Deletes the one earlier `put` of `key` (RocksDB `SingleDelete`), as `Database.singleDelete`.
    public func singleDelete(_ key: [UInt8], options: WriteOptions = WriteOptions()) throws {
        var batch = WriteBatch()
        batch.singleDelete(key, in: self)
        try database.write(batch, options: options)
    }

    /// Adds a merge operand for `key`. Throws `.invalidArgument` if this
    /// family has no merge operator (`ColumnFamilyOptions.mergeOperator`).
    public func merge(_ key: [UInt8], _ operand: [UInt8], options: WriteOptions = WriteOptions()) throws {
        var batch = WriteBatch()
        batch.merge(key, operand, in: self)
        try database.write(batch, options: options)
    }

    /// Deletes every key in [begin, end) of this family. An empty or inverted range is a no-op.
    public func deleteRange(from begin: [UInt8], to end: [UInt8], options: WriteOptions = WriteOptions()) throws {
        var batch = WriteBatch()
        batch.deleteRange(from: begin, to: end, in: self)
        try database.write(batch, options: options)
    }

    // MARK: Reads

    /// The value of `key` in this family, or nil if absent or deleted, as of
    /// `options.snapshot` (or now). As `Database.get`.
    public func get(_ key: [UInt8], options: ReadOptions = ReadOptions()) throws -> [UInt8]? {
        try database.get(key, options: options, family: data)
    }

    /// An iterator over this family, as `Database.makeIterator`.
    public func makeIterator(options: ReadOptions = ReadOptions()) throws -> DBIterator {
        try database.makeIterator(options: options, family: data)
    }

    // MARK: Maintenance

    /// Flushes this family's memtable to an L0 table and waits until every
    /// memtable of the family that existed at the call is on disk. Other
    /// families are not flushed (their data keeps the shared WAL alive).
    public func flush() throws {
        try database.flush(family: data)
    }

    /// Compacts [begin, end] (nil = unbounded) of this family, as `Database.compactRange`.
    public func compactRange(from begin: [UInt8]? = nil, to end: [UInt8]? = nil) throws {
        try database.compactRange(from: begin, to: end, family: data)
    }

    /// Drops this family's table files whose whole key range lies inside
    /// one of `ranges`, without reading them, as `Database.deleteFilesInRanges`
    /// (RocksDB `DeleteFilesInRanges`; snapshots may lose data in the ranges).
    public func deleteFilesInRanges(_ ranges: [KeyRange], includeEnd: Bool = false) throws {
        try database.deleteFilesInRanges(ranges, includeEnd: includeEnd, family: data)
    }

    /// Removes every key of this family outside `ranges` (sorted, disjoint,
    /// each [begin, end)) by dropping the files wholly outside and compacting
    /// range tombstones over the rest, as `Database.clip(keeping:)`
    /// (RocksDB `ClipColumnFamily` for several ranges).
    public func clip(keeping ranges: [KeyRange]) throws {
        try database.clip(keeping: ranges, family: data)
    }

    /// A property of this family (level layout, `strata.stats` with this
    /// family's levels), as `Database.property`; nil for an unknown name or
    /// a dropped family.
    public func property(_ name: String) -> String? {
        database.property(name, family: data)
    }
}

/// The in-memory state of one live column family: its memtables, the
/// SuperVersion readers take, its background-work flags and the WAL
/// horizon. Its `Version` lives in the `VersionSet` under the same id.
///
/// Thread safety: `let`s are immutable; every `var` is guarded by the
/// owning database's `monitor`.
final class ColumnFamilyData: @unchecked Sendable {
    let id: UInt32
    let name: String
    /// The database's options with this family's settings applied.
    let options: Options
    /// Options of the tables this family writes (properties name the family).
    let tableOptions: TableOptions
    /// Copies of the option fields the write path reads on every write
    /// group (no copy of `options` with its existentials per write).
    let hasMergeOperator: Bool
    let writeBufferSize: Int
    /// Bytes of each memtable's whole-key bloom (0: none).
    let memtableBloomBytes: Int
    let maxWriteBufferNumber: Int
    let level0SlowdownWritesTrigger: Int
    let level0StopWritesTrigger: Int
    let isUniversal: Bool

    // Guarded by the database's monitor (`@exclusivity(unchecked)`: the
    // lock orders every access; see `Database.families`):
    /// The active memtable.
    @exclusivity(unchecked) var mem: MemTable
    /// Immutable memtables waiting to be flushed, oldest first, each with
    /// the WAL number created when it was switched out: no data of it (or
    /// of older memtables) is in that WAL or later ones.
    @exclusivity(unchecked) var imm: [(table: MemTable, nextLog: UInt64)] = []
    /// WALs numbered below this hold nothing of this family that is not in
    /// its tables (RocksDB's per-family log number; it moves ahead in memory
    /// for an empty family when a new WAL starts, without a MANIFEST record).
    @exclusivity(unchecked) var logNumber: UInt64
    /// What readers of this family pin. Written under the monitor; kept in
    /// `readerView`, so a lookup takes only that small lock, never the
    /// monitor that commits, flushes and compactions hold.
    var current: SuperVersion {
        get { readerView.withLock { $0.current } }
        set {
            l0StallCount = Self.stallCount(newValue.version, isUniversal: isUniversal)
            readerView.withLock { $0.current = newValue }
        }
    }
    /// `current` and `dropped`, behind a lock of their own (see `current`).
    let readerView: Locked<(current: SuperVersion, dropped: Bool)>
    @exclusivity(unchecked) var flushRunning = false
    /// Background compactions of this family now running.
    @exclusivity(unchecked) var runningCompactions: [CompactionPlan] = []
    /// A manual compaction (`compactRange`) of this family is running: it
    /// excludes every other compaction of the family.
    @exclusivity(unchecked) var manualCompactionRunning = false
    /// True if any compaction of the family, background or manual, runs.
    var compactionRunning: Bool { manualCompactionRunning || !runningCompactions.isEmpty }
    @exclusivity(unchecked) var manualCompactionPending = 0
    /// The input files of the running compactions (the picker must not
    /// choose them again).
    var filesBeingCompacted: Set<UInt64> {
        var numbers = Set<UInt64>()
        for plan in runningCompactions { for f in plan.allInputs { numbers.insert(f.number) } }
        return numbers
    }
    /// Set by `dropColumnFamily`: no new writes, reads or background work.
    /// Written under the monitor (kept in `readerView`).
    var dropped: Bool {
        get { readerView.withLock { $0.dropped } }
        set {
            droppedUnderMonitor = newValue
            readerView.withLock { $0.dropped = newValue }
        }
    }
    /// `dropped`, for callers holding the monitor (it is written under
    /// it): the write path reads it for every write group without a lock.
    @exclusivity(unchecked) private(set) var droppedUnderMonitor = false
    /// Estimated compaction debt of the installed version (see
    /// `pendingCompactionBytes(version:options:)`). Under the monitor.
    @exclusivity(unchecked) var pendingCompactionBytes: UInt64 = 0

    /// The database's memory accounts its memtables are charged to.
    let memory: DatabaseMemory?

    /// `options` are the family's effective options; under a memory budget
    /// (`memory.budget`) its `writeBufferSize` is replaced by the budget's share.
    init(id: UInt32, name: String, options: Options, tableOptions: TableOptions, logNumber: UInt64, version: Version,
         memory: DatabaseMemory? = nil) {
        let options = memory?.applyingBudget(options) ?? options
        self.id = id
        self.name = name
        self.memory = memory
        self.options = options
        var t = tableOptions
        t.columnFamilyID = id
        t.columnFamilyName = name
        self.tableOptions = t
        hasMergeOperator = options.mergeOperator != nil
        writeBufferSize = options.writeBufferSize
        let bloomBytes = Int(Double(options.writeBufferSize) * min(max(options.memtableBloomSizeRatio, 0), 0.25))
        memtableBloomBytes = bloomBytes
        maxWriteBufferNumber = options.maxWriteBufferNumber
        level0SlowdownWritesTrigger = options.level0SlowdownWritesTrigger
        level0StopWritesTrigger = options.level0StopWritesTrigger
        isUniversal = options.compactionStyle == .universal
        self.logNumber = logNumber
        mem = Self.newMemTable(memory: memory, writeBufferSize: options.writeBufferSize, bloomBytes: bloomBytes)
        readerView = Locked((current: SuperVersion(mem: mem, imm: [], version: version), dropped: false))
        l0StallCount = Self.stallCount(version, isUniversal: isUniversal)
    }

    /// A new empty memtable for this family, charged to the database's memory accounts.
    func makeMemTable() -> MemTable {
        Self.newMemTable(memory: memory, writeBufferSize: writeBufferSize, bloomBytes: memtableBloomBytes)
    }

    /// A memtable charged to `memory` if the database accounts memory.
    private static func newMemTable(memory: DatabaseMemory?, writeBufferSize: Int, bloomBytes: Int) -> MemTable {
        memory?.makeMemTable(writeBufferSize: writeBufferSize, bloomBytes: bloomBytes) ?? MemTable(bloomBytes: bloomBytes)
    }

    /// Needs a memtable switch: the active memtable is full.
    var memtableIsFull: Bool { mem.approximateMemoryUsage >= writeBufferSize }

    /// What the L0 write-stall triggers (`level0SlowdownWritesTrigger`,
    /// `level0StopWritesTrigger`) count, in the installed SuperVersion
    /// (every version change installs a new one): the L0 files, and under
    /// universal compaction also each non-empty level ≥ 1 — every sorted
    /// run, as RocksDB's `l0_delay_trigger_count` (VersionStorageInfo::
    /// CalculateBaseBytes adds the non-empty levels "as if they are L0
    /// files"). Counted when `current` is installed, as the write path
    /// reads it for every write group. Caller holds the monitor.
    @exclusivity(unchecked) private(set) var l0StallCount: Int

    private static func stallCount(_ version: Version, isUniversal: Bool) -> Int {
        let levels = version.levels
        var count = levels[0].count
        if isUniversal {
            for level in 1..<levels.count where !levels[level].isEmpty { count += 1 }
        }
        return count
    }
}
