import Synchronization

/// Bump allocator for a memtable: memory comes in blocks that live until the
/// arena is released, so entries never move and readers can hold pointers
/// into them without locks.
///
/// Thread safety: one allocating thread at a time (the memtable's single
/// writer); `memoryUsage` may be read from any thread.
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

    /// Alignment of every allocation: enough for the 8-byte atomic links.
    static let alignment = 8

    /// An arena that grabs `blockSize` bytes at a time (RocksDB sizes the
    /// memtable arena block to 1/8 of the write buffer, within 4 KiB...1 MiB).
    init(blockSize: Int) {
        self.blockSize = max(4096, min(blockSize, 1 << 20))
    }

    deinit {
        for b in blocks { b.deallocate() }
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

    private func newBlock(_ size: Int) -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Self.alignment)
        blocks.append(p)
        usage.add(size, ordering: .relaxed)
        return p
    }
}
