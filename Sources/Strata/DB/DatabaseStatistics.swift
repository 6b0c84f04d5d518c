/// A point-in-time copy of a database's counters and level layout, for
/// benchmarks and monitoring (`Database.statistics()`); the same figures
/// `property("strata.stats")` prints. Counters start at zero when the
/// database is opened and are not persisted.
///
/// Write amplification = (walBytes + flushBytes + Σ compaction bytes written) / userBytes,
/// as benchmarks.md defines it (RocksDB's stats count flush output with compaction).
public struct DatabaseStatistics: Sendable {
    /// Bytes of keys and values passed to writes.
    public var userBytes: UInt64
    /// Updates (keys) written.
    public var userWrites: UInt64
    /// Write calls (one per batch).
    public var writeCalls: UInt64
    /// Write groups committed, one WAL record each.
    public var commitGroups: UInt64
    /// Bytes appended to WALs, headers included.
    public var walBytes: UInt64
    /// WAL fsyncs.
    public var walSyncs: UInt64
    /// Bytes of L0 tables written by flushes.
    public var flushBytes: UInt64
    /// Flushes completed.
    public var flushes: UInt64
    /// Compaction bytes written into each level (index = output level).
    public var compactionBytesWritten: [UInt64]
    /// Compaction bytes read by compactions into each level (inputs from both levels).
    public var compactionBytesRead: [UInt64]
    /// Compactions into each level.
    public var compactions: [UInt64]
    /// Files moved down a level without rewriting.
    public var trivialMoves: UInt64
    /// Time writers spent stalled, in nanoseconds, and how often they stalled.
    public var stallNanoseconds: UInt64
    public var stalls: UInt64
    /// Live table files and their bytes per level, in the current version.
    public var filesPerLevel: [Int]
    public var bytesPerLevel: [UInt64]

    /// Σ compaction bytes written over all levels (flushes not included).
    public var totalCompactionBytesWritten: UInt64 { compactionBytesWritten.reduce(0, +) }

    /// Bytes of live table files (the current version).
    public var tableBytes: UInt64 { bytesPerLevel.reduce(0, +) }

    /// (WAL + flush + compaction bytes written) / user bytes; 0 before any write.
    public var writeAmplification: Double {
        userBytes == 0 ? 0 : Double(walBytes + flushBytes + totalCompactionBytesWritten) / Double(userBytes)
    }

    /// Point lookups, the tables they consulted, and the filter's verdicts
    /// there: ruled out (useful) or let through (positive). R-Amp per
    /// lookup = filesProbed / gets; bloom useful rate = useful / (useful +
    /// positive) (RocksDB `rocksdb.bloom.filter.useful` and
    /// `rocksdb.bloom.filter.full.positive`).
    public var gets: UInt64 = 0
    public var filesProbed: UInt64 = 0
    public var bloomUseful: UInt64 = 0
    /// Probes the filter let through (`filesProbed − bloomUseful`).
    public var bloomPositive: UInt64 { filesProbed - bloomUseful }
    /// Block cache lookups that found their block, and those that read it
    /// from the file (data blocks read from disk, for R-Amp).
    public var blockCacheHits: UInt64 = 0
    public var blockCacheMisses: UInt64 = 0

    /// The counters accumulated since `earlier` (levels are the current layout).
    public func since(_ earlier: DatabaseStatistics) -> DatabaseStatistics {
        var d = self
        d.userBytes -= earlier.userBytes
        d.userWrites -= earlier.userWrites
        d.writeCalls -= earlier.writeCalls
        d.commitGroups -= earlier.commitGroups
        d.walBytes -= earlier.walBytes
        d.walSyncs -= earlier.walSyncs
        d.flushBytes -= earlier.flushBytes
        d.flushes -= earlier.flushes
        for i in d.compactionBytesWritten.indices {
            d.compactionBytesWritten[i] -= earlier.compactionBytesWritten[i]
            d.compactionBytesRead[i] -= earlier.compactionBytesRead[i]
            d.compactions[i] -= earlier.compactions[i]
        }
        d.trivialMoves -= earlier.trivialMoves
        d.stallNanoseconds -= earlier.stallNanoseconds
        d.stalls -= earlier.stalls
        d.gets -= earlier.gets
        d.filesProbed -= earlier.filesProbed
        d.bloomUseful -= earlier.bloomUseful
        d.blockCacheHits -= earlier.blockCacheHits
        d.blockCacheMisses -= earlier.blockCacheMisses
        return d
    }
}

extension Database {
    /// A snapshot of the counters and the current level layout. Thread-safe;
    /// cheap (no I/O). Background work may be running: counters of a flush
    /// or compaction appear when it completes.
    public func statistics() -> DatabaseStatistics {
        let version = versions.current() ?? .empty
        let levelCount = Version.levelCount
        var result = DatabaseStatistics(
            userBytes: stats.userBytes.load(ordering: .relaxed),
            userWrites: stats.userWrites.load(ordering: .relaxed),
            writeCalls: stats.writeCalls.load(ordering: .relaxed),
            commitGroups: stats.commitGroups.load(ordering: .relaxed),
            walBytes: stats.walBytes.load(ordering: .relaxed),
            walSyncs: stats.walSyncs.load(ordering: .relaxed),
            flushBytes: stats.flushBytes.load(ordering: .relaxed),
            flushes: stats.flushes.load(ordering: .relaxed),
            compactionBytesWritten: (0..<levelCount).map { stats.levels[$0].bytesWritten.load(ordering: .relaxed) },
            compactionBytesRead: (0..<levelCount).map { stats.levels[$0].bytesRead.load(ordering: .relaxed) },
            compactions: (0..<levelCount).map { stats.levels[$0].count.load(ordering: .relaxed) },
            trivialMoves: stats.trivialMoves.load(ordering: .relaxed),
            stallNanoseconds: stats.stallNanoseconds.load(ordering: .relaxed),
            stalls: stats.stalls.load(ordering: .relaxed),
            filesPerLevel: (0..<levelCount).map { $0 < version.levels.count ? version.levels[$0].count : 0 },
            bytesPerLevel: (0..<levelCount).map { $0 < version.levels.count ? version.levelBytes($0) : 0 })
        result.gets = stats.gets.load(ordering: .relaxed)
        result.filesProbed = stats.filesProbed.load(ordering: .relaxed)
        result.bloomUseful = stats.bloomUseful.load(ordering: .relaxed)
        result.blockCacheHits = blockCache?.hits ?? 0
        result.blockCacheMisses = blockCache?.misses ?? 0
        return result
    }
}
