import Glibc
import Synchronization

/// An open Strata database: a RocksDB 7.8.3-compatible directory of WALs,
/// a MANIFEST and block-based tables, with an in-memory memtable in front.
///
/// Durability: a write returns once it is in the WAL (handed to the OS) and
/// the memtable; with `WriteOptions(sync: true)` the WAL is fsynced first, so
/// the write survives a machine crash. After a crash the recovered state is a
/// prefix of the acknowledged writes (docs/durability.md).
///
/// Thread safety: `Sendable`; every method may be called from any thread
/// concurrently. Writes are serialized by group commit; reads take no lock
/// beyond a short one to pin the current memtables and version. Blocking
/// file I/O happens on the calling thread or on the database's own
/// background threads, never on the Swift concurrency pool.
public final class Database: @unchecked Sendable {
    // @unchecked: every `var` below is guarded by `monitor` (documented per
    // field); the rest is immutable or internally synchronized.

    /// The directory holding the database.
    public let path: String
    let options: Options
    let fileSystem: any FileSystem
    let versions: VersionSet
    let tableCache: TableCache
    let blockCache: BlockCache?
    let snapshots = SnapshotList()
    let stats = DBStatistics()
    /// Memory accounts (memtables, open tables), passed on to the memory budget if any.
    let memory: DatabaseMemory
    let monitor = Monitor()
    /// Serializes column family creations and drops (each a MANIFEST record
    /// plus in-memory changes).
    let familyChanges = Locked<Void>(())
    let lockFile: any FileLock
    let dbID: String
    let sessionID: String
    /// XXH3-64 of tables already hashed by a checkpoint, by file number
    /// (tables never change), so later checkpoints only read new tables.
    let checkpointChecksums = Locked<[UInt64: TableChecksum]>([:])

    /// The default column family (id 0), which the `Database` methods use.
    let defaultFamily: ColumnFamilyData

    // Guarded by `monitor`. `@exclusivity(unchecked)`: the lock orders
    // every access, and the dynamic exclusivity checks Swift would
    // otherwise make cost ~3% of a small write (callgrind, fillrandom).
    /// Live column families by id (the default one included).
    @exclusivity(unchecked) var families: [UInt32: ColumnFamilyData]
    /// The live column families ordered by id, default first (what the
    /// write path and the background threads walk).
    @exclusivity(unchecked) var familyList: [ColumnFamilyData]
    @exclusivity(unchecked) var wal: LogWriter?
    @exclusivity(unchecked) var walNumber: UInt64 = 0
    /// A WAL was created since the directory was last fsynced: the next sync
    /// write must fsync the directory too, or the synced WAL could vanish with
    /// its directory entry in a crash. Under `monitor`.
    @exclusivity(unchecked) var walDirectorySyncPending = false
    @exclusivity(unchecked) var writers = WriterQueue()
    @exclusivity(unchecked) var backgroundError: StrataError?
    /// Background threads deleting obsolete files right now (part of the
    /// work `waitForBackgroundWork` waits for). Under `monitor`.
    @exclusivity(unchecked) var purgesRunning = 0
    /// Background threads sleep here, not on the monitor's own condition,
    /// so the broadcast that ends every write does not wake them
    /// (`maybeScheduleWork` does).
    let workAvailable = Monitor.Condition()
    /// Backpressure state (under `monitor`).
    @exclusivity(unchecked) var writeController: WriteController
    /// Bytes of the last committed write group (the controller delays the
    /// next group by them, as RocksDB does). Under `monitor`.
    @exclusivity(unchecked) var lastGroupBytes = 0
    /// The write leader's reusable buffers.
    let writeScratch = WriteScratch()
    @exclusivity(unchecked) var shuttingDown = false
    @exclusivity(unchecked) var closed = false
    @exclusivity(unchecked) var runningThreads = 0
    /// Counts flushes and compactions installed, so waiters can tell progress.
    @exclusivity(unchecked) var backgroundWorkDone: UInt64 = 0
    /// Checkpoint cuts waiting for their memtables' flushes (CheckpointCut.swift).
    /// Under `monitor`.
    @exclusivity(unchecked) var pendingCuts: [CheckpointCut] = []

    init(path: String, options: Options, fileSystem: any FileSystem, versions: VersionSet, lockFile: any FileLock,
         dbID: String) {
        self.path = path
        self.options = options
        self.fileSystem = fileSystem
        self.versions = versions
        self.lockFile = lockFile
        self.dbID = dbID
        writeController = WriteController(delayedWriteRate: options.delayedWriteRate)
        sessionID = SessionID.generate()
        let budget = DatabaseMemory.budget(for: options)
        memory = DatabaseMemory(budget: budget)
        blockCache = budget?.cache
            ?? (options.blockCacheCapacity > 0 ? BlockCache(capacity: options.blockCacheCapacity) : nil)
        var readerOptions = TableReaderOptions()
        readerOptions.blockCache = blockCache
        readerOptions.memoryCharge = memory.tableReaders
        readerOptions.readCounters = stats.iteratorReads
        readerOptions.verifyChecksums = options.paranoidChecks
        readerOptions.allowMmapReads = options.allowMmapReads
        tableCache = TableCache(directory: path, fileSystem: fileSystem, readerOptions: readerOptions)
        var baseTable = TableOptions()
        baseTable.dbID = dbID
        baseTable.dbSessionID = sessionID
        baseTable.dbHostID = SessionID.hostName()
        var opened: [ColumnFamilyData] = []
        for state in versions.columnFamilies {
            let familyOptions = options.applying(options.familyOptions(named: state.name))
            opened.append(ColumnFamilyData(
                id: state.id, name: state.name, options: familyOptions,
                tableOptions: Database.tableOptions(familyOptions, base: baseTable),
                logNumber: state.logNumber, version: state.version, memory: memory))
        }
        if opened.first?.id != 0 {
            // VersionSet always has the default family; keep the invariant anyway.
            let familyOptions = options.applying(options.familyOptions(named: "default"))
            opened.insert(ColumnFamilyData(id: 0, name: "default", options: familyOptions,
                                           tableOptions: Database.tableOptions(familyOptions, base: baseTable),
                                           logNumber: 0, version: .empty, memory: memory), at: 0)
        }
        defaultFamily = opened[0]
        familyList = opened
        families = Dictionary(uniqueKeysWithValues: opened.map { ($0.id, $0) })
    }

    deinit {
        if !closed { try? close() }
    }

    /// The options for tables a family with effective options `options`
    /// writes; `base` carries the database identity.
    static func tableOptions(_ options: Options, base: TableOptions) -> TableOptions {
        var t = base
        t.formatVersion = options.formatVersion
        t.checksum = options.checksum
        t.compression = options.compression
        t.blockSize = options.blockSize
        t.bloomBitsPerKey = options.bloomBitsPerKey
        t.mergeOperatorName = options.mergeOperator?.name ?? "nullptr"
        return t
    }

    /// Installs a new SuperVersion of `family` from its current memtables
    /// and version. Caller holds `monitor`.
    func installSuperVersion(_ family: ColumnFamilyData) {
        if family.dropped { return }
        family.current = SuperVersion(mem: family.mem, imm: family.imm.reversed().map(\.table),
                                      version: versions.current(columnFamily: family.id) ?? .empty)
        family.pendingCompactionBytes = ColumnFamilyData.pendingCompactionBytes(version: family.current.version,
                                                                               options: family.options)
    }

    /// The current SuperVersion of `family` (pins memtables and files).
    /// Throws `.invalidArgument` if the family was dropped.
    /// The family's current super version, for a read. Takes only the
    /// family's reader lock (not the monitor). Throws if it was dropped.
    func superVersion(_ family: ColumnFamilyData) throws -> SuperVersion {
        let (current, dropped) = family.readerView.withLock { ($0.current, $0.dropped) }
        if dropped { throw StrataError.invalidArgument("column family \(family.name) was dropped") }
        return current
    }

    func checkOpen() throws {
        if closed { throw StrataError(.closed, "database \(path) is closed") }
    }

    // MARK: Public API: writes

    /// Sets `key` to `value`. See `write(_:options:)` for durability.
    public func put(_ key: [UInt8], _ value: [UInt8], options: WriteOptions = WriteOptions()) throws {
        var batch = WriteBatch(reservingCapacity: WriteBatch.recordSize(columnFamily: 0, key: key.count, value: value.count))
        batch.put(key, value)
        try write(batch, options: options)
    }

    /// Deletes `key`; deleting an absent key is not an error.
    public func delete(_ key: [UInt8], options: WriteOptions = WriteOptions()) throws {
        var batch = WriteBatch(reservingCapacity: WriteBatch.recordSize(columnFamily: 0, key: key.count, value: nil))
        batch.delete(key)
        try write(batch, options: options)
    }

    /// Deletes the one earlier `put` of `key` (RocksDB `SingleDelete`): valid
    /// only if the key was put once since its last deletion and never merged.
    public func singleDelete(_ key: [UInt8], options: WriteOptions = WriteOptions()) throws {
        var batch = WriteBatch(reservingCapacity: WriteBatch.recordSize(columnFamily: 0, key: key.count, value: nil))
        batch.singleDelete(key)
        try write(batch, options: options)
    }

    /// Adds a merge operand for `key`. Throws `.invalidArgument` without a
    /// merge operator (`Options.mergeOperator`).
    public func merge(_ key: [UInt8], _ operand: [UInt8], options: WriteOptions = WriteOptions()) throws {
        var batch = WriteBatch(reservingCapacity: WriteBatch.recordSize(columnFamily: 0, key: key.count, value: operand.count))
        batch.merge(key, operand)
        try write(batch, options: options)
    }

    /// Deletes every key in [begin, end). An empty or inverted range is a no-op.
    public func deleteRange(from begin: [UInt8], to end: [UInt8], options: WriteOptions = WriteOptions()) throws {
        var batch = WriteBatch(reservingCapacity: WriteBatch.recordSize(columnFamily: 0, key: begin.count, value: end.count))
        batch.deleteRange(from: begin, to: end)
        try write(batch, options: options)
    }

    // MARK: Public API: snapshots

    /// A consistent view of the database as of now. Reads through it see
    /// exactly the writes acknowledged before this call.
    public func snapshot() -> Snapshot {
        let sequence = versions.lastSequence
        snapshots.add(sequence)
        return Snapshot(sequence: sequence, list: snapshots)
    }

    // MARK: Close

    /// Stops background work, closes the WAL (syncing it) and releases the
    /// lock. Data in the memtable is not flushed: the WAL holds it and the
    /// next open replays it. Further calls throw `.closed`. Idempotent.
    public func close() throws {
        monitor.withLock {
            shuttingDown = true
            monitor.broadcast()
            monitor.broadcast(workAvailable)
            while runningThreads > 0 { monitor.wait() }
        }
        var firstError: Error? = nil
        monitor.withLock {
            if closed { return }
            closed = true
            do {
                try wal?.sync()
                try wal?.close()
            } catch {
                firstError = error
            }
            wal = nil
        }
        do { try versions.close() } catch { if firstError == nil { firstError = error } }
        deleteObsoleteFiles()
        lockFile.unlock()
        if let firstError { throw firstError }
    }
}

/// One write waiting in the group-commit queue.
/// Buffers the write leader reuses from group to group, so a commit
/// allocates nothing: the group's members and the group's merged WAL
/// record. Only the current leader touches them (leaders follow each other
/// through the writer queue, under the monitor).
final class WriteScratch: @unchecked Sendable {
    @exclusivity(unchecked) var group: [PendingWrite] = []
    @exclusivity(unchecked) var record: [UInt8] = []
    /// Capacity kept between groups; a larger record's buffer is dropped.
    static let retainedRecordCapacity = 4 << 20
}

final class PendingWrite {
    let batch: WriteBatch
    let options: WriteOptions
    /// A `flush()` waiting for its turn in the writer queue, not a write: a
    /// leader never takes it into its group (the flush must reach the head
    /// of the queue itself, or it would wait forever).
    let isFlushBarrier: Bool
    var done = false
    var error: Error?
    /// The next writer in the queue (`WriterQueue`), under the monitor.
    var next: PendingWrite?

    init(batch: WriteBatch, options: WriteOptions, isFlushBarrier: Bool = false) {
        self.batch = batch
        self.options = options
        self.isFlushBarrier = isFlushBarrier
    }
}

/// Random identifiers.
enum Identity {
    /// A random UUID in text form (RocksDB writes one to IDENTITY).
    static func uuid() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { b -> String in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
        let c = Array(hex)
        return [c[0..<8], c[8..<12], c[12..<16], c[16..<20], c[20..<32]].map { String($0) }.joined(separator: "-")
    }
}
