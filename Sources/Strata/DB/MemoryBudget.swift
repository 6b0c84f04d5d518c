/// One memory budget for memtables, the block cache and the index and
/// filter blocks of open tables, which one database or several (the
/// operators of a stream job) share: pass the same object as
/// `Options.sharedMemoryBudget` to each, or let `Options.memoryBudget`
/// make a private one.
///
/// How the bytes are split (docs/metrics.md, "Memory"):
///
/// * The block cache gets the whole `capacity`. Memtable memory and the
///   index and filter blocks of open tables are charged to it as
///   reservations, so data blocks get what they leave: RocksDB's
///   `WriteBufferManager(buffer_size, cache)` ("cost to cache") with
///   `cache_index_and_filter_blocks = true`, as Flink's managed memory for
///   RocksDB sets them up.
/// * Memtables may take `writeBufferLimit = capacity × writeBufferRatio`
///   (Flink `state.backend.rocksdb.memory.write-buffer-ratio`, default 0.5).
///   Each column family's `writeBufferSize` becomes `writeBufferLimit /
///   maxWriteBufferNumber`, so one family alone can use the whole share;
///   when several write at once, `shouldFlush` (RocksDB
///   `WriteBufferManager::ShouldFlush`) makes the writing database switch
///   its largest memtable early.
/// * Blocks iterators hold are pinned in the cache: they count in its usage
///   and are not evicted until the iterator moves on.
///
/// The budget is a soft bound, as RocksDB's is with
/// `strict_capacity_limit = false`: pinned blocks, a memtable growing
/// until its writer's next write group, and reservations larger than the
/// capacity are not refused; the cache then holds no unpinned blocks.
///
/// Thread safety: `Sendable`; every member may be used from any thread.
/// The budget lives as long as any database or caller references it.
public final class MemoryBudget: Sendable {
    /// Bytes the budget covers (the block cache's capacity).
    public let capacity: Int
    /// Fraction of `capacity` memtables may take. Default 0.5.
    public let writeBufferRatio: Double
    /// Bytes memtables may take: `capacity × writeBufferRatio`.
    public let writeBufferLimit: Int
    /// The shared block cache, with memtables and index and filter blocks
    /// charged to it as reservations.
    package let cache: BlockCache
    /// Memtable memory (arena blocks) of every database using the budget:
    /// active, immutable, and flushed ones readers still hold.
    let memtables: MemoryCharge
    /// The part of `memtables` in active (still written) memtables.
    let activeMemtables: MemoryCharge
    /// Index and filter blocks of the open tables of every database using the budget.
    let tableReaders: MemoryCharge

    /// Smallest budget accepted: 1 MiB (two shards' worth of cache; below
    /// that, memtables of a few KiB flush constantly).
    public static let minimumCapacity = 1 << 20

    /// A budget of `capacity` bytes (at least `minimumCapacity`), of which
    /// memtables may take `writeBufferRatio` (clamped to 0.05…0.9; the rest
    /// is for blocks).
    public init(capacity: Int, writeBufferRatio: Double = 0.5) {
        self.capacity = max(capacity, MemoryBudget.minimumCapacity)
        self.writeBufferRatio = min(max(writeBufferRatio, 0.05), 0.9)
        writeBufferLimit = Int(Double(self.capacity) * self.writeBufferRatio)
        let cache = BlockCache(capacity: self.capacity)
        self.cache = cache
        memtables = MemoryCharge(sink: { cache.adjustReservation(by: $0) })
        activeMemtables = MemoryCharge()
        tableReaders = MemoryCharge(sink: { cache.adjustReservation(by: $0) })
    }

    /// The `writeBufferSize` a column family gets under the budget: the
    /// memtable share divided among its `maxWriteBufferNumber` memtables
    /// (at least 64 KiB).
    package func writeBufferSize(maxWriteBufferNumber: Int) -> Int {
        max(64 << 10, writeBufferLimit / max(1, maxWriteBufferNumber))
    }

    /// True when a writer should switch a memtable to free memory (RocksDB
    /// `WriteBufferManager::ShouldFlush`): active memtables exceed 7/8 of
    /// `writeBufferLimit`, or all memtables reach the limit while active
    /// ones hold at least half of it (flushing immutable ones, already
    /// under way, would not be enough).
    package var shouldFlush: Bool {
        let active = activeMemtables.current
        if active > writeBufferLimit / 8 * 7 { return true }
        return memtables.current >= writeBufferLimit && active >= writeBufferLimit / 2
    }

    /// Memory of every database using the budget, by category.
    public var usage: MemoryUsage {
        MemoryUsage(memtables: memtables.current, activeMemtables: activeMemtables.current,
                    tableReaders: tableReaders.current, cache: cache)
    }
}

/// Memory by category (`Database.memoryUsage()`, `MemoryBudget.usage`,
/// property `strata.memory-usage`). Bytes.
public struct MemoryUsage: Sendable, Equatable {
    /// Memtable arena blocks: active, immutable (waiting for flush), and
    /// flushed ones that readers still hold (RocksDB `rocksdb.size-all-mem-tables`).
    public var memtables: Int
    /// The part of `memtables` in active memtables (taking writes).
    public var activeMemtables: Int
    /// Index and filter blocks of open tables (RocksDB
    /// `rocksdb.estimate-table-readers-mem`; charged to the cache under a budget).
    public var tableReaders: Int
    /// Data blocks held by the block cache, pinned ones included.
    public var blockCacheEntries: Int
    /// The part of `blockCacheEntries` pinned by iterators
    /// (RocksDB `rocksdb.block-cache-pinned-usage`).
    public var blockCachePinned: Int
    /// Bytes the cache counts against its capacity: entries plus
    /// reservations (memtables and table readers under a budget; RocksDB
    /// `rocksdb.block-cache-usage`).
    public var blockCacheUsage: Int
    /// The cache's capacity (RocksDB `rocksdb.block-cache-capacity`); 0 without a cache.
    public var blockCacheCapacity: Int

    /// Memtables + table readers + cached data blocks: the memory these
    /// parts of the engine hold.
    public var total: Int { memtables + tableReaders + blockCacheEntries }

    init(memtables: Int, activeMemtables: Int, tableReaders: Int, cache: BlockCache?) {
        self.memtables = memtables
        self.activeMemtables = activeMemtables
        self.tableReaders = tableReaders
        blockCacheEntries = cache?.entryUsage ?? 0
        blockCachePinned = cache?.pinnedUsage ?? 0
        blockCacheUsage = cache?.usage ?? 0
        blockCacheCapacity = cache?.capacity ?? 0
    }
}

/// A database's memory accounts: its memtables and open tables, passed on
/// to its budget's (and so to the shared cache) when it has one.
/// Thread safety: `Sendable` (charges are atomic).
final class DatabaseMemory: Sendable {
    let budget: MemoryBudget?
    let memtables: MemoryCharge
    let activeMemtables: MemoryCharge
    let tableReaders: MemoryCharge

    init(budget: MemoryBudget?) {
        self.budget = budget
        memtables = MemoryCharge(parent: budget?.memtables)
        activeMemtables = MemoryCharge(parent: budget?.activeMemtables)
        tableReaders = MemoryCharge(parent: budget?.tableReaders)
    }

    /// The budget `options` ask for: the shared one, else a private one of
    /// `memoryBudget` bytes, else none.
    static func budget(for options: Options) -> MemoryBudget? {
        if let shared = options.sharedMemoryBudget { return shared }
        guard let bytes = options.memoryBudget else { return nil }
        return MemoryBudget(capacity: bytes, writeBufferRatio: options.memoryBudgetWriteBufferRatio)
    }

    /// A family's effective options: under a budget, `writeBufferSize`
    /// comes from the budget.
    func applyingBudget(_ options: Options) -> Options {
        guard let budget else { return options }
        var o = options
        o.writeBufferSize = budget.writeBufferSize(maxWriteBufferNumber: o.maxWriteBufferNumber)
        return o
    }

    /// A new, charged memtable for a family with `writeBufferSize`: the
    /// arena grows by 1/8 of the write buffer at a time (RocksDB's default
    /// `arena_block_size`), between 4 KiB and 256 KiB.
    func makeMemTable(writeBufferSize: Int, bloomBytes: Int = 0) -> MemTable {
        MemTable(arenaBlockSize: min(256 << 10, max(4 << 10, writeBufferSize / 8)),
                 charge: memtables, activeCharge: activeMemtables, bloomBytes: bloomBytes)
    }
}
