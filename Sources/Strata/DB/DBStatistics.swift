import Synchronization

/// Byte and operation counters of a database, for `strata.stats`, the
/// benchmarks' amplification report and `MetricsReporter`. Every counter is
/// an atomic, updated where the work happens; point lookups gather theirs in
/// locals and add them once per level touched. docs/metrics.md has every
/// counter with its formula.
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
    /// Compaction inputs not read because a newer range tombstone of
    /// another input deletes all of them.
    let coveredInputsSkipped = Atomic<UInt64>(0)
    /// Nanoseconds writers spent stalled (waiting for flush or compaction).
    let stallNanoseconds = Atomic<UInt64>(0)
    /// Times writers stalled.
    let stalls = Atomic<UInt64>(0)
    /// Point lookups (`get`) by the number of tables they consulted (past
    /// the key-range check): index n counts lookups that probed n tables,
    /// the last bucket those that probed `probeBuckets - 1` or more. One
    /// add per lookup; Σ = lookups.
    let getsByFilesProbed: [AtomicCounter]
    /// Per level (index = level): what point lookups did there.
    let levelReads: [LevelReadCounters]
    /// Data blocks loaded by table iterators (scans and compaction inputs).
    let iteratorReads = BlockReadCounters()
    /// Nanoseconds spent in compactions and flushes.
    let compactionNanoseconds = Atomic<UInt64>(0)

    /// Buckets of `getsByFilesProbed`: 0…7 tables, then 8 or more (a lookup
    /// probes at most the L0 files plus one table per deeper level, so
    /// more than 8 means L0 holds many overlapping files).
    static let probeBuckets = 9

    init() {
        levels = (0..<Version.levelCount).map { _ in LevelCounters() }
        levelReads = (0..<Version.levelCount).map { _ in LevelReadCounters() }
        getsByFilesProbed = (0..<DBStatistics.probeBuckets).map { _ in AtomicCounter() }
    }

    /// Counts one point lookup that probed `files` tables.
    @inline(__always)
    func countGet(filesProbed files: Int) {
        getsByFilesProbed[min(files, DBStatistics.probeBuckets - 1)].value.add(1, ordering: .relaxed)
    }

    /// One atomic counter (boxed, so counters can sit in arrays).
    final class AtomicCounter: Sendable {
        let value = Atomic<UInt64>(0)
        var load: UInt64 { value.load(ordering: .relaxed) }
    }
}

/// What one point lookup did in one level, gathered in locals and added to
/// the level's `LevelReadCounters` once (not per block).
struct LevelProbeCounts {
    /// Tables probed (their key range held the key).
    var probes: UInt64 = 0
    /// Probes the filter ruled out without reading a block.
    var bloomUseful: UInt64 = 0
    /// Probes the filter let through that found the key (an entry of it
    /// visible to the lookup) in the table.
    var bloomTruePositives: UInt64 = 0
    /// Data blocks read for them.
    var reads = BlockReads()
}

/// Point-lookup counters of one level.
final class LevelReadCounters: Sendable {
    let probes = Atomic<UInt64>(0)
    let bloomUseful = Atomic<UInt64>(0)
    let bloomTruePositives = Atomic<UInt64>(0)
    let blocksFromCache = Atomic<UInt64>(0)
    let blocksFromDisk = Atomic<UInt64>(0)
    let bytesFromDisk = Atomic<UInt64>(0)

    /// Adds one lookup's work in the level (zero fields cost nothing).
    @inline(__always)
    func add(_ c: LevelProbeCounts) {
        probes.add(c.probes, ordering: .relaxed)
        if c.bloomUseful > 0 { bloomUseful.add(c.bloomUseful, ordering: .relaxed) }
        if c.bloomTruePositives > 0 { bloomTruePositives.add(c.bloomTruePositives, ordering: .relaxed) }
        if c.reads.fromCache > 0 { blocksFromCache.add(c.reads.fromCache, ordering: .relaxed) }
        if c.reads.fromDisk > 0 {
            blocksFromDisk.add(c.reads.fromDisk, ordering: .relaxed)
            bytesFromDisk.add(c.reads.bytesFromDisk, ordering: .relaxed)
        }
    }
}

/// Compaction counters of one output level.
final class LevelCounters: Sendable {
    /// Bytes written by compactions into the level.
    let bytesWritten = Atomic<UInt64>(0)
    /// Bytes read by compactions into the level (inputs from both levels).
    let bytesRead = Atomic<UInt64>(0)
    /// Compactions into the level (flushes are counted apart, in `DBStatistics.flushes`).
    let count = Atomic<UInt64>(0)
    /// Nanoseconds spent in compactions into the level (for L0: flushes too).
    let nanoseconds = Atomic<UInt64>(0)
}
