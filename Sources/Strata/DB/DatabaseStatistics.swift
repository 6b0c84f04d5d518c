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
    /// `rocksdb.bloom.filter.full.positive`). Sums over `levelReads`.
    public var gets: UInt64 = 0
    public var filesProbed: UInt64 = 0
    public var bloomUseful: UInt64 = 0
    /// Probes the filter let through (`filesProbed − bloomUseful`; the
    /// differences here saturate at 0: counters read while lookups run may
    /// be a few lookups apart).
    public var bloomPositive: UInt64 { filesProbed.subtractingSaturated(bloomUseful) }
    /// Probes the filter let through that found the key in the table
    /// (RocksDB `rocksdb.bloom.filter.full.true.positive`).
    public var bloomTruePositive: UInt64 { levelReads.reduce(0) { $0 + $1.bloomTruePositives } }
    /// Measured false-positive rate of the filters: probes let through that
    /// did not find the key, over probes of tables that did not hold it,
    /// (positive − true positive) / (probes − true positive); nil before
    /// any such probe. Compare with the model (1 − e^(−k/b))^k for b bits
    /// per key and k probes (docs/metrics.md).
    public var bloomFalsePositiveRate: Double? {
        let absent = filesProbed.subtractingSaturated(bloomTruePositive)
        return absent == 0 ? nil : Double(bloomPositive.subtractingSaturated(bloomTruePositive)) / Double(absent)
    }
    /// Point lookups by the number of tables they probed: index n = lookups
    /// that probed n tables; the last index counts those that probed that
    /// many or more (8). Σ = `gets`.
    public var getsByFilesProbed: [UInt64] = []
    /// Per level (index = level): what point lookups did there.
    public var levelReads: [LevelReadStatistics] = []
    /// Data blocks table iterators loaded (scans and compaction inputs),
    /// from the cache and from the file, and the bytes read from the file.
    public var iteratorBlocksFromCache: UInt64 = 0
    public var iteratorBlocksFromDisk: UInt64 = 0
    public var iteratorBytesFromDisk: UInt64 = 0
    /// Block cache lookups that found their block, and those that read it
    /// from the file — the cache's own counters: with a cache shared by
    /// several databases (`MemoryBudget`) they count every database's
    /// lookups; `levelReads` and `iteratorBlocks…` are this database's.
    public var blockCacheHits: UInt64 = 0
    public var blockCacheMisses: UInt64 = 0
    /// Seconds spent in compactions into each level (index = output level;
    /// L0 includes flushes).
    public var compactionSeconds: [Double] = []

    /// Data blocks point lookups read, from the cache and from the file
    /// (Σ over `levelReads`).
    public var getBlocksFromCache: UInt64 { levelReads.reduce(0) { $0 + $1.blocksFromCache } }
    public var getBlocksFromDisk: UInt64 { levelReads.reduce(0) { $0 + $1.blocksFromDisk } }
    /// Bytes point lookups read from table files (Σ over `levelReads`).
    public var getBytesFromDisk: UInt64 { levelReads.reduce(0) { $0 + $1.bytesFromDisk } }

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
        for i in d.getsByFilesProbed.indices where i < earlier.getsByFilesProbed.count {
            d.getsByFilesProbed[i] -= earlier.getsByFilesProbed[i]
        }
        for i in d.levelReads.indices where i < earlier.levelReads.count {
            d.levelReads[i] = d.levelReads[i].since(earlier.levelReads[i])
        }
        for i in d.compactionSeconds.indices where i < earlier.compactionSeconds.count {
            d.compactionSeconds[i] -= earlier.compactionSeconds[i]
        }
        d.iteratorBlocksFromCache -= earlier.iteratorBlocksFromCache
        d.iteratorBlocksFromDisk -= earlier.iteratorBlocksFromDisk
        d.iteratorBytesFromDisk -= earlier.iteratorBytesFromDisk
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
        result.getsByFilesProbed = stats.getsByFilesProbed.map(\.load)
        result.gets = result.getsByFilesProbed.reduce(0, +)
        result.levelReads = stats.levelReads.map { c in
            LevelReadStatistics(
                probes: c.probes.load(ordering: .relaxed), bloomUseful: c.bloomUseful.load(ordering: .relaxed),
                bloomTruePositives: c.bloomTruePositives.load(ordering: .relaxed),
                blocksFromCache: c.blocksFromCache.load(ordering: .relaxed),
                blocksFromDisk: c.blocksFromDisk.load(ordering: .relaxed),
                bytesFromDisk: c.bytesFromDisk.load(ordering: .relaxed))
        }
        result.filesProbed = result.levelReads.reduce(0) { $0 + $1.probes }
        result.bloomUseful = result.levelReads.reduce(0) { $0 + $1.bloomUseful }
        result.iteratorBlocksFromCache = stats.iteratorReads.fromCache.load(ordering: .relaxed)
        result.iteratorBlocksFromDisk = stats.iteratorReads.fromDisk.load(ordering: .relaxed)
        result.iteratorBytesFromDisk = stats.iteratorReads.bytesFromDisk.load(ordering: .relaxed)
        result.blockCacheHits = blockCache?.hits ?? 0
        result.blockCacheMisses = blockCache?.misses ?? 0
        result.compactionSeconds = stats.levels.map { Double($0.nanoseconds.load(ordering: .relaxed)) / 1e9 }
        return result
    }
}

/// What point lookups did in one level (a part of `DatabaseStatistics`).
/// RocksDB reports the same per level in `PerfContextByLevel`.
public struct LevelReadStatistics: Sendable, Equatable {
    /// Tables probed: their key range held the key (RocksDB counts the
    /// filter checks, `bloom_filter_useful` + `bloom_filter_full_positive`).
    public var probes: UInt64
    /// Probes the filter ruled out without reading a block
    /// (`bloom_filter_useful`).
    public var bloomUseful: UInt64
    /// Probes let through that found the key in the table: an entry of it
    /// visible to the lookup's snapshot (`bloom_filter_full_true_positive`).
    public var bloomTruePositives: UInt64
    /// Data blocks found in the block cache (`block_cache_hit_count`).
    public var blocksFromCache: UInt64
    /// Data blocks read from the file (`block_cache_miss_count`, or every
    /// block without a cache).
    public var blocksFromDisk: UInt64
    /// Bytes read from the file for them (stored block plus 5-byte trailer).
    public var bytesFromDisk: UInt64

    /// Counters with the given values.
    public init(probes: UInt64 = 0, bloomUseful: UInt64 = 0, bloomTruePositives: UInt64 = 0,
                blocksFromCache: UInt64 = 0, blocksFromDisk: UInt64 = 0, bytesFromDisk: UInt64 = 0) {
        self.probes = probes
        self.bloomUseful = bloomUseful
        self.bloomTruePositives = bloomTruePositives
        self.blocksFromCache = blocksFromCache
        self.blocksFromDisk = blocksFromDisk
        self.bytesFromDisk = bytesFromDisk
    }

    /// Probes the filter let through (probes − useful; with no filter, every probe).
    public var bloomPositives: UInt64 { probes.subtractingSaturated(bloomUseful) }
    /// Probes let through that did not find the key (positives − true positives).
    public var bloomFalsePositives: UInt64 { bloomPositives.subtractingSaturated(bloomTruePositives) }

    /// The counters accumulated since `earlier`.
    public func since(_ earlier: LevelReadStatistics) -> LevelReadStatistics {
        LevelReadStatistics(
            probes: probes - earlier.probes, bloomUseful: bloomUseful - earlier.bloomUseful,
            bloomTruePositives: bloomTruePositives - earlier.bloomTruePositives,
            blocksFromCache: blocksFromCache - earlier.blocksFromCache, blocksFromDisk: blocksFromDisk - earlier.blocksFromDisk,
            bytesFromDisk: bytesFromDisk - earlier.bytesFromDisk)
    }
}

extension UInt64 {
    /// `self − other`, or 0 if `other` is larger.
    func subtractingSaturated(_ other: UInt64) -> UInt64 { self > other ? self - other : 0 }
}
