/// Filters a sorted stream of internal entries down to what must survive a
/// flush or compaction (RocksDB `CompactionIterator`, without merging):
///
/// * Snapshots cut each user key's history into stripes: an entry belongs to
///   the stripe of the oldest snapshot that can see it (or to the "latest"
///   stripe above every snapshot). In each stripe only the newest entry is
///   visible to anyone, so once a value or deletion has been kept, older
///   entries of the same stripe are dropped.
/// * Merge operands are kept (they need what lies beneath them) until a
///   value or deletion completes the stripe.
/// * A deletion in the oldest stripe is dropped when the output is the
///   bottom of the LSM for this key range (`bottommost`): nothing older can
///   exist that it would still have to hide.
/// * An entry covered by a range tombstone of the same stripe (newer than
///   the entry, with no snapshot between them) is dropped: nobody can see it.
///
/// Thread safety: one thread at a time.
public final class CompactionIterator {
    private let input: any InternalIterator
    private let snapshots: [UInt64]
    private let bottommost: Bool
    private let rangeTombstones: RangeTombstoneList

    private var currentUserKey: [UInt8] = []
    private var hasCurrentUserKey = false
    private var currentStripe = -1
    private var stripeCompleted = false

    /// Entries dropped because a newer entry in their stripe hides them.
    public private(set) var droppedHidden: UInt64 = 0
    /// Entries dropped because a range tombstone of their stripe covers them.
    public private(set) var droppedCovered: UInt64 = 0
    /// Deletions dropped at the bottom of the LSM.
    public private(set) var droppedDeletions: UInt64 = 0
    /// Entries read from the input.
    public private(set) var inputEntries: UInt64 = 0

    /// Filters `input`. `snapshots` are the live snapshot sequence numbers,
    /// ascending; `bottommost` says no older data for these keys exists
    /// outside the input; `rangeTombstones` are the input's range
    /// deletions (the caller decides which of them to write out, see
    /// `isDroppable(rangeTombstoneSequence:)`).
    public init(input: any InternalIterator, snapshots: [UInt64], bottommost: Bool,
                rangeTombstones: RangeTombstoneList = .empty) {
        self.input = input
        self.snapshots = snapshots
        self.bottommost = bottommost
        self.rangeTombstones = rangeTombstones
    }

    /// True if a range tombstone at `sequence` can be left out of a
    /// bottommost output: no snapshot is older than it, so every entry it
    /// covers was in its stripe and has been dropped.
    public func isDroppable(rangeTombstoneSequence sequence: UInt64) -> Bool {
        bottommost && stripe(sequence) == 0
    }

    /// True when positioned on an entry to output.
    public var isValid: Bool { input.isValid }
    /// The entry's internal key.
    public var key: UnsafeRawBufferPointer { input.key }
    /// The entry's value.
    public var value: UnsafeRawBufferPointer { input.value }
    /// The input's error, if it failed.
    public var error: StrataError? { input.error }

    /// Positions at the first entry to output.
    public func seekToFirst() {
        input.seekToFirst()
        skipDropped(advance: false)
    }

    /// Moves to the next entry to output.
    public func next() {
        guard input.isValid else { return }
        skipDropped(advance: true)
    }

    private func stripe(_ sequence: UInt64) -> Int {
        // First snapshot ≥ sequence (binary search).
        var lo = 0
        var hi = snapshots.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if snapshots[mid] < sequence { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func skipDropped(advance: Bool) {
        if advance { input.next() }
        while input.isValid {
            inputEntries += 1
            guard let parsed = ParsedInternalKey(input.key) else { return }  // passed through; the reader reports
            let sameKey = hasCurrentUserKey && currentUserKey.withUnsafeBytes { Bytewise.compare(parsed.userKey, $0) == 0 }
            if !sameKey {
                currentUserKey.removeAll(keepingCapacity: true)
                currentUserKey.append(contentsOf: parsed.userKey)
                hasCurrentUserKey = true
                currentStripe = -1
                stripeCompleted = false
            }
            let s = stripe(parsed.sequence)
            if s == currentStripe && stripeCompleted {
                droppedHidden += 1
                input.next()
                continue
            }
            if s != currentStripe {
                currentStripe = s
                stripeCompleted = false
            }
            if !rangeTombstones.isEmpty {
                // The newest tombstone over this key that lies in the same
                // stripe (at or below the stripe's snapshot).
                let limit = s < snapshots.count ? snapshots[s] : maxSequenceNumber
                if rangeTombstones.maxCoveringSequence(parsed.userKey, snapshot: limit) > parsed.sequence {
                    droppedCovered += 1
                    input.next()
                    continue
                }
            }
            switch parsed.typeCode {
            case ValueType.deletion.rawValue, ValueType.singleDeletion.rawValue:
                stripeCompleted = true
                if bottommost && s == 0 {
                    droppedDeletions += 1
                    input.next()
                    continue
                }
                return
            case ValueType.merge.rawValue:
                return
            default:
                stripeCompleted = true
                return
            }
        }
    }
}
