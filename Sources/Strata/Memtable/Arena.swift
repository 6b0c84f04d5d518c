import Synchronization

/// Bump allocator for a memtable: memory comes in blocks that live until the
/// arena is released, so entries never move and readers can hold pointers
/// into them without locks.
///
/// Memory accounting: every block obtained is added to `charge` (all the
/// memtables of a database, passed on to a memory budget) and, while the
/// arena's memtable is the active one, to `activeCharge`; `deactivate()`
/// (the memtable became immutable) takes it out of the latter, and `deinit`
/// gives everything back.
///
/// Thread safety: one allocating thread at a time (the memtable's single
/// writer), and `deactivate` only between that thread's inserts (the
/// database switches memtables at the head of the writer queue);
/// `memoryUsage` may be read from any thread.
final class Arena: @unchecked Sendable {
    // @unchecked: `blocks`, `cursor` and `remaining` are touched only by the
    // single writer; readers only dereference memory handed out earlier.
    @exclusivity(unchecked)
    private var blocks: [UnsafeMutableRawPointer] = []
    @exclusivity(unchecked)
    private var cursor: UnsafeMutableRawPointer? = nil
    @exclusivity(unchecked)
    private var remaining = 0
    let blockSize: Int
    private let usage = Atomic<Int>(0)
    private let used = Atomic<Int>(0)
    /// Charged with every block obtained (nil: not accounted).
    let charge: MemoryCharge?
    /// Charged while the memtable is the active one.
    let activeCharge: MemoryCharge?
    private let active = Atomic<Bool>(true)

    /// Alignment of every allocation: enough for the 8-byte atomic links.
    static let alignment = 8

    /// An arena that grabs `blockSize` bytes at a time (RocksDB sizes the
    /// memtable arena block to 1/8 of the write buffer, within 4 KiB...1 MiB).
    init(blockSize: Int, charge: MemoryCharge? = nil, activeCharge: MemoryCharge? = nil) {
        self.blockSize = max(4096, min(blockSize, 1 << 20))
        self.charge = charge
        self.activeCharge = activeCharge
    }

    deinit {
        for b in blocks { b.deallocate() }
        let total = usage.load(ordering: .relaxed)
        charge?.add(-total)
        if active.load(ordering: .relaxed) { activeCharge?.add(-total) }
    }

    /// The memtable stopped taking writes: its memory no longer counts as
    /// active. Idempotent.
    func deactivate() {
        if active.exchange(false, ordering: .relaxed) {
            activeCharge?.add(-usage.load(ordering: .relaxed))
        }
    }

    /// Bytes obtained from the system so far.
    var memoryUsage: Int { usage.load(ordering: .relaxed) }

    /// Bytes handed out so far (what the entries take, without the unused
    /// tail of the current block).
    var allocatedBytes: Int { used.load(ordering: .relaxed) }

    /// `count` bytes aligned to 8; valid until the arena is freed.
    func allocate(_ count: Int) -> UnsafeMutableRawPointer {
        let rounded = (count + Self.alignment - 1) & ~(Self.alignment - 1)
        used.add(rounded, ordering: .relaxed)
        if rounded <= remaining, let c = cursor {
            cursor = c + rounded
            remaining -= rounded
            return c
        }
        if rounded > blockSize / 4 {
            // Large entry: its own block, so the current block's tail is not wasted.
            return newBlock(rounded)
        }
        let block = newBlock(blockSize)
        cursor = block + rounded
        remaining = blockSize - rounded
        return block
    }

    /// A block of `count` bytes aligned to `alignment`, valid until the
    /// arena is freed, that counts as memory (`memoryUsage` and the
    /// charges) but not in `allocatedBytes`, so it does not bring the
    /// memtable's flush closer (the memtable bloom).
    func allocateAside(_ count: Int, alignment: Int) -> UnsafeMutableRawPointer {
        newBlock(count, alignment: alignment)
    }

    private func newBlock(_ size: Int, alignment: Int = Arena.alignment) -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: max(alignment, Self.alignment))
        blocks.append(p)
        usage.add(size, ordering: .relaxed)
        charge?.add(size)
        if active.load(ordering: .relaxed) { activeCharge?.add(size) }
        return p
    }
}
