import Synchronization

/// Byte and operation counters of a database, for `strata.stats` and the
/// benchmarks' amplification report. Every counter is an atomic, updated
/// where the work happens.
///
/// Write amplification = (walBytes + flushBytes + compactionBytesWritten) / userBytes.
final class DBStatistics: Sendable {
    /// Bytes of keys and values passed to writes by users.
    let userBytes = Atomic<UInt64>(0)
    /// Updates written by users (keys).
    let userWrites = Atomic<UInt64>(0)
    /// Write calls (`write`, `put`, `delete`, …): one per batch, whatever its size.
    let writeCalls = Atomic<UInt64>(0)
    /// Write groups committed (one WAL record each).
    let commitGroups = Atomic<UInt64>(0)
    /// Bytes appended to WALs.
    let walBytes = Atomic<UInt64>(0)
    /// Write-batch bytes committed (headers and record encoding included):
    /// RocksDB's "ingest" (`rocksdb.bytes.written`).
    let batchBytes = Atomic<UInt64>(0)
    /// Write-batch bytes appended to WALs, without the log's 7-byte record
    /// headers: RocksDB's "Cumulative WAL ... written" (`rocksdb.wal.bytes`).
    let walBatchBytes = Atomic<UInt64>(0)
    /// WAL fsyncs.
    let walSyncs = Atomic<UInt64>(0)
    /// Bytes of tables written by flushes.
    let flushBytes = Atomic<UInt64>(0)
    /// Flushes completed.
    let flushes = Atomic<UInt64>(0)
    /// Per output level (index = level): compaction bytes written and read, compactions run.
    let levels: [LevelCounters]
    /// Trivial moves (a file moved to the next level without rewriting).
    let trivialMoves = Atomic<UInt64>(0)
    /// Nanoseconds writers spent stalled (waiting for flush or compaction).
    let stallNanoseconds = Atomic<UInt64>(0)
    /// Times writers stalled.
    let stalls = Atomic<UInt64>(0)
    /// Point lookups (`get`), tables they consulted (past the key-range
    /// check), and of those, how many the bloom filter ruled out ("useful";
    /// the others were let through and a block was searched).
    let gets = Atomic<UInt64>(0)
    let filesProbed = Atomic<UInt64>(0)
    let bloomUseful = Atomic<UInt64>(0)
    /// Nanoseconds spent in compactions and flushes.
    let compactionNanoseconds = Atomic<UInt64>(0)

    init() {
        levels = (0..<Version.levelCount).map { _ in LevelCounters() }
    }
}

/// Compaction counters of one output level.
final class LevelCounters: Sendable {
    /// Bytes written by compactions into the level.
    let bytesWritten = Atomic<UInt64>(0)
    /// Bytes read by compactions into the level (inputs from both levels).
    let bytesRead = Atomic<UInt64>(0)
    /// Compactions into the level.
    let count = Atomic<UInt64>(0)
}
