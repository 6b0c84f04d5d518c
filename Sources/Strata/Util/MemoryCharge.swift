import Synchronization

/// Bytes of memory one part of the engine holds right now (memtable arenas,
/// the index and filter blocks of open tables), counted where the memory is
/// obtained and released, for the memory properties and for a memory budget.
///
/// A charge may pass every change on to a `parent` (a database's memtables →
/// the memtables of every database sharing a budget) and to a `sink` (the
/// budget's block cache, which then has that much less room for blocks:
/// RocksDB's "cost to cache" reservations). Changes are rare — an arena
/// block (4 KiB…1 MiB), a table opened or closed — so they cost nothing on
/// the per-key paths.
///
/// Thread safety: `Sendable`; `add` may be called from any thread. The
/// figure is exact once concurrent changes have returned.
package final class MemoryCharge: Sendable {
    private let bytes = Atomic<Int>(0)
    /// Receives every change too (nil for a root).
    package let parent: MemoryCharge?
    /// Called with every change, after `bytes` moved (e.g. a cache
    /// reservation); runs on the thread that made the change.
    let sink: (@Sendable (Int) -> Void)?

    /// A charge at zero that forwards changes to `parent` and `sink`.
    package init(parent: MemoryCharge? = nil, sink: (@Sendable (Int) -> Void)? = nil) {
        self.parent = parent
        self.sink = sink
    }

    /// Bytes held now.
    package var current: Int { bytes.load(ordering: .relaxed) }

    /// Records `delta` bytes obtained (positive) or released (negative).
    package func add(_ delta: Int) {
        guard delta != 0 else { return }
        bytes.add(delta, ordering: .relaxed)
        parent?.add(delta)
        sink?(delta)
    }
}
