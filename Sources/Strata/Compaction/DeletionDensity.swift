/// When a newly written table is marked for compaction because it holds
/// many deletions (RocksDB's `CompactOnDeletionCollector`, made by
/// `NewCompactOnDeletionCollectorFactory(sliding_window_size,
/// deletion_trigger, deletion_ratio)` and installed in
/// `ColumnFamilyOptions::table_properties_collector_factories`).
///
/// While a flush or compaction writes a table, the point deletions (Delete
/// and SingleDelete entries) among its entries are counted. The table is
/// marked (`FileMetaData.markedForCompaction`, persisted in the MANIFEST
/// as RocksDB's need_compaction field) if
/// - some `slidingWindowSize` consecutive entries hold at least
///   `deletionTrigger` deletions, or
/// - `deletionRatio` > 0 and deletions make up at least that fraction of
///   all its entries, or
/// - `rangeDeletionTrigger` > 0 and it holds at least that many range
///   tombstones (Strata's addition, see below).
///
/// A marked file is compacted when no level needs compaction by size or
/// file count: with the overlapping files of the next level, or in place
/// in the last level, so its deletions meet the entries they delete and
/// are dropped at the bottom (docs/compaction.md).
///
/// Range tombstones: RocksDB's collector counts point deletions only, so a
/// `deleteRange` never marks a file there. Strata also marks a table that
/// holds `rangeDeletionTrigger` range tombstones (default 1): what a
/// tombstone covers cannot be measured when it is written (the entries it
/// deletes are in older files), and a stream job's range deletions (a
/// fired window, an expired timer bucket) are exactly the state that should
/// leave the disk soon. Outputs of compactions into the bottommost level
/// are never marked: the deletions still there are those a snapshot
/// needs, and marking them would compact the same file over and over.
///
/// Value type; `Sendable`.
public struct CompactOnDeletionOptions: Sendable, Equatable {
    /// Consecutive entries the deletion window spans (≥ 1).
    /// RocksDB: `sliding_window_size`.
    public var slidingWindowSize: Int
    /// Deletions within one window that mark the table (1...slidingWindowSize).
    /// RocksDB: `deletion_trigger`.
    public var deletionTrigger: Int
    /// Fraction of deletions among all the table's entries that marks it
    /// (0...1); 0 turns the ratio test off. Default 0. RocksDB: `deletion_ratio`.
    public var deletionRatio: Double
    /// Range tombstones in one table that mark it; 0 turns this off.
    /// Default 1. No RocksDB counterpart (its collector ignores range
    /// tombstones).
    public var rangeDeletionTrigger: Int

    /// A collector setting. RocksDB's factory takes the same first three
    /// arguments; it has no defaults for the window and trigger.
    public init(slidingWindowSize: Int, deletionTrigger: Int, deletionRatio: Double = 0, rangeDeletionTrigger: Int = 1) {
        self.slidingWindowSize = slidingWindowSize
        self.deletionTrigger = deletionTrigger
        self.deletionRatio = deletionRatio
        self.rangeDeletionTrigger = rangeDeletionTrigger
    }

    /// Throws `.invalidArgument` naming the setting that is out of range.
    func validate() throws(StrataError) {
        guard slidingWindowSize >= 1 else {
            throw .invalidArgument("compactOnDeletion.slidingWindowSize \(slidingWindowSize) must be >= 1")
        }
        guard (1...slidingWindowSize).contains(deletionTrigger) else {
            throw .invalidArgument(
                "compactOnDeletion.deletionTrigger \(deletionTrigger) must be in 1...\(slidingWindowSize) (slidingWindowSize)")
        }
        guard deletionRatio >= 0 && deletionRatio <= 1 else {
            throw .invalidArgument("compactOnDeletion.deletionRatio \(deletionRatio) must be in 0...1")
        }
        guard rangeDeletionTrigger >= 0 else {
            throw .invalidArgument("compactOnDeletion.rangeDeletionTrigger \(rangeDeletionTrigger) must be >= 0")
        }
    }
}

/// Counts deletions over the entries of one table being written and says
/// whether it should be marked for compaction (`CompactOnDeletionOptions`).
/// The window is exact: a ring of the last `slidingWindowSize` entries'
/// kinds (RocksDB approximates it with 128 buckets).
///
/// Ownership: one owner; not thread-safe. Allocates once (the ring), never
/// per entry.
package struct DeletionDensityTracker {
    let options: CompactOnDeletionOptions
    /// 1 where the entry at that position of the window is a deletion.
    private var ring: [UInt8]
    private var position = 0
    private var inWindow = 0
    private var entries: UInt64 = 0
    private var deletions: UInt64 = 0
    private var rangeDeletions = 0
    /// Set once a window reached the trigger.
    private var windowTriggered = false

    package init(options: CompactOnDeletionOptions) {
        self.options = options
        ring = [UInt8](repeating: 0, count: max(1, options.slidingWindowSize))
    }

    /// Counts one entry of a data block; `type` is its value type code.
    @inline(__always)
    package mutating func add(type: UInt8) {
        let isDeletion: UInt8 =
            (type == ValueType.deletion.rawValue || type == ValueType.singleDeletion.rawValue) ? 1 : 0
        entries &+= 1
        deletions &+= UInt64(isDeletion)
        if windowTriggered { return }
        inWindow += Int(isDeletion) - Int(ring[position])
        ring[position] = isDeletion
        position += 1
        if position == ring.count { position = 0 }
        if inWindow >= options.deletionTrigger { windowTriggered = true }
    }

    /// Counts one range tombstone written to the table.
    package mutating func addRangeDeletion() {
        rangeDeletions += 1
    }

    /// True if the table written so far should be marked for compaction.
    package var shouldMark: Bool {
        if windowTriggered { return true }
        if options.rangeDeletionTrigger > 0 && rangeDeletions >= options.rangeDeletionTrigger { return true }
        if options.deletionRatio > 0 && entries > 0 {
            return Double(deletions) / Double(entries) >= options.deletionRatio
        }
        return false
    }

    /// Forgets everything: a new table starts.
    package mutating func reset() {
        for i in ring.indices { ring[i] = 0 }
        position = 0
        inWindow = 0
        entries = 0
        deletions = 0
        rangeDeletions = 0
        windowTriggered = false
    }
}
