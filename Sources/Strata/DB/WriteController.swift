/// Backpressure (RocksDB `WriteController`): when flushes or compactions
/// fall behind, writes are delayed a little per write group — gently and
/// early — so they never have to stop for seconds later.
///
/// Writes are **delayed** when, in any column family, L0 holds
/// `level0SlowdownWritesTrigger` files (universal compaction: sorted runs,
/// L0 files plus non-empty levels, as RocksDB's `l0_delay_trigger_count`),
/// or `maxWriteBufferNumber − 1`
/// memtables wait for flush (only when `maxWriteBufferNumber > 3`, as in
/// RocksDB), or the estimated compaction debt reaches
/// `softPendingCompactionBytesLimit`. A delayed write group waits
/// `bytes / rate`, where the rate starts at `delayedWriteRate` and is cut
/// by 20% each time the debt grew since the last group and raised by 25%
/// (up to `delayedWriteRate`) each time it shrank.
///
/// Writes **stop** (wait for background progress) when L0 holds
/// `level0StopWritesTrigger` files, `maxWriteBufferNumber` memtables are
/// full, or the debt reaches `hardPendingCompactionBytesLimit`.
///
/// `WriteOptions.noSlowdown` turns both into an immediate `.busy` error.
/// Properties `strata.is-write-stopped`, `strata.actual-delayed-write-rate`
/// and `strata.write-stall-cause` show the state.
///
/// Thread safety: a value under the database monitor.
struct WriteController {
    /// Why writes are delayed or stopped right now.
    enum Condition: Equatable {
        case normal
        case delayed(String)
        case stopped(String)
    }

    /// Smallest rate the controller slows to (RocksDB's 16 KiB/s floor).
    static let minimumRate: UInt64 = 16 << 10

    private(set) var rate: UInt64
    let maximumRate: UInt64
    /// Monotonic time before which the next delayed group may not start.
    private var nextFree: UInt64 = 0
    /// The debt measure (L0 files + pending bytes) seen at the last delay.
    private var lastDebt: UInt64 = 0
    /// The condition the last write group met.
    private(set) var condition: Condition = .normal

    init(delayedWriteRate: UInt64) {
        maximumRate = max(delayedWriteRate, WriteController.minimumRate)
        rate = maximumRate
    }

    /// Records the condition met by the current write group.
    mutating func update(_ condition: Condition, debt: UInt64) {
        if case .delayed = condition {
            if case .delayed = self.condition {
                if debt > lastDebt {
                    rate = max(WriteController.minimumRate, rate * 4 / 5)
                } else if debt < lastDebt {
                    rate = min(maximumRate, rate * 5 / 4)
                }
            }
            lastDebt = debt
        } else if case .normal = condition {
            rate = maximumRate
            nextFree = 0
        }
        self.condition = condition
    }

    /// Nanoseconds a delayed group of `bytes` must wait from `now`, and
    /// books its share of the rate.
    mutating func delay(bytes: Int, now: UInt64) -> UInt64 {
        let cost = UInt64(max(bytes, 1)) * 1_000_000_000 / rate
        let start = max(now, nextFree)
        nextFree = start + cost
        return start - now + cost
    }

    /// The rate writes are held to now, or 0 when they are not delayed.
    var actualDelayedWriteRate: UInt64 {
        if case .delayed = condition { return rate }
        return 0
    }

    var isStopped: Bool {
        if case .stopped = condition { return true }
        return false
    }
}

extension ColumnFamilyData {
    /// Estimated bytes compaction must still rewrite before every level is
    /// within its target (RocksDB `estimated_compaction_needed_bytes`,
    /// simplified): L0 when it reached its compaction trigger, plus, for
    /// each deeper level over its target, the excess times (1 + the level
    /// multiplier) — each byte moved down is merged with that many bytes
    /// of the next level.
    static func pendingCompactionBytes(version: Version, options: Options) -> UInt64 {
        let scores = CompactionPicker(options: options).scores(version: version)
        var pending: UInt64 = 0
        if scores[0] >= 1 { pending += version.levelBytes(0) }
        for level in 1..<max(1, version.levels.count - 1) where scores[level] > 1 {
            let bytes = version.levelBytes(level)
            let excess = Double(bytes) * (1 - 1 / scores[level])
            pending += UInt64(excess * (1 + options.maxBytesForLevelMultiplier))
        }
        return pending
    }
}
