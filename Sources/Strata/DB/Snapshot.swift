import Synchronization

/// A consistent, read-only view of the database as of one sequence number.
///
/// While a snapshot is alive, compaction keeps every entry it can see.
/// It is released when the last reference to it goes away, or earlier with
/// `release()`; reading through a released snapshot still works but is no
/// longer guaranteed to see its old values once compaction has run.
///
/// Thread safety: immutable; share freely.
public final class Snapshot: Sendable {
    /// The sequence number this snapshot reads at.
    public let sequence: UInt64
    private let list: SnapshotList
    private let released = Atomic<Bool>(false)

    init(sequence: UInt64, list: SnapshotList) {
        self.sequence = sequence
        self.list = list
    }

    /// Stops protecting this snapshot's entries from compaction. Idempotent.
    public func release() {
        if !released.exchange(true, ordering: .acquiringAndReleasing) { list.remove(sequence) }
    }

    deinit { release() }
}

/// The sequence numbers of live snapshots (a multiset), for compaction.
///
/// Thread safety: internally locked.
final class SnapshotList: Sendable {
    private let counts = Locked<[UInt64: Int]>([:])

    func add(_ sequence: UInt64) {
        counts.withLock { $0[sequence, default: 0] += 1 }
    }

    func remove(_ sequence: UInt64) {
        counts.withLock { c in
            if let n = c[sequence] {
                if n <= 1 { c[sequence] = nil } else { c[sequence] = n - 1 }
            }
        }
    }

    /// Live snapshot sequence numbers, ascending.
    var sequences: [UInt64] { counts.withLock { $0.keys.sorted() } }

    /// The oldest live snapshot, if any.
    var oldest: UInt64? { counts.withLock { $0.keys.min() } }
}
