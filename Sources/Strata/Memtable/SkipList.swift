import CPrefetch
import Synchronization

/// A skiplist of internal-key entries in an arena (LevelDB/RocksDB
/// `SkipList`/`InlineSkipList` design): one writer, any number of lock-free
/// readers. Nodes are never removed or moved.
///
/// Node layout (8-byte aligned, `node` points at the header):
///
///     [next[h-1]] … [next[1]] [next[0]] | keyLength u32 | valueLength u32 | key | value
///
/// The links lie *before* the header, 8 bytes each, so a node of height h
/// costs 8·h bytes of links. A writer links a new node bottom-up with
/// release stores after filling it; readers follow links with acquire loads,
/// so they see either the old list or the new node fully formed.
///
/// Thread safety: `insert` from one thread at a time; everything else from
/// any thread.
final class SkipList: @unchecked Sendable {
    // @unchecked: the only mutable state readers touch goes through atomics
    // (links and `height`); `random` belongs to the single writer.

    /// Tallest tower (RocksDB kMaxHeight): enough for 4^12 = 16 M entries.
    static let maxHeight = 12
    /// 1 in `branching` nodes grows one level taller.
    static let branching: UInt64 = 4
    static let headerSize = 8

    let arena: Arena
    /// The head node: `maxHeight` links, an empty key.
    let head: UnsafeMutableRawPointer
    private let currentHeight = Atomic<Int>(1)
    @exclusivity(unchecked)
    private var random: UInt64 = 0x2545_F491_4F6C_DD1D
    /// The writer's splice, allocated once so inserts allocate nothing but
    /// arena memory: at every level, the node after which the last insert
    /// went (`splice`) and its successor there (`spliceNext`, nil at the
    /// end). Kept tight after each insert (`splice[i]`'s level-i link is
    /// `spliceNext[i]`; only this writer links nodes), so a key that falls
    /// between `splice[0]` and `spliceNext[0]` falls between them at every
    /// level (the higher levels' pairs enclose the lower ones'): it is
    /// linked with no search at all. That is every insert of ascending keys
    /// (RocksDB's InlineSkipList keeps the same splice for its inserts).
    private let splice: UnsafeMutablePointer<UnsafeRawPointer>
    private let spliceNext: UnsafeMutablePointer<UnsafeRawPointer?>

    init(arena: Arena) {
        self.arena = arena
        head = SkipList.makeNode(arena: arena, height: SkipList.maxHeight, keyLength: 0, valueLength: 0)
        splice = .allocate(capacity: SkipList.maxHeight)
        splice.initialize(repeating: UnsafeRawPointer(head), count: SkipList.maxHeight)
        spliceNext = .allocate(capacity: SkipList.maxHeight)
        spliceNext.initialize(repeating: nil, count: SkipList.maxHeight)
    }

    deinit {
        splice.deallocate()
        spliceNext.deallocate()
    }

    /// Allocates a node with zeroed (nil) links.
    static func makeNode(arena: Arena, height: Int, keyLength: Int, valueLength: Int) -> UnsafeMutableRawPointer {
        let links = 8 * height
        let base = arena.allocate(links + headerSize + keyLength + valueLength)
        for i in 0..<height {
            (base + 8 * i).initializeMemory(as: UInt.self, repeating: 0, count: 1)
        }
        let node = base + links
        storeFixed32(node, UInt32(keyLength))
        storeFixed32(node + 4, UInt32(valueLength))
        return node
    }

    // MARK: Node accessors

    @inline(__always)
    static func link(_ node: UnsafeRawPointer, _ level: Int) -> UnsafeMutablePointer<Atomic<UInt>> {
        UnsafeMutableRawPointer(mutating: node - 8 * (level + 1)).assumingMemoryBound(to: Atomic<UInt>.self)
    }

    @inline(__always)
    static func next(_ node: UnsafeRawPointer, _ level: Int) -> UnsafeRawPointer? {
        UnsafeRawPointer(bitPattern: link(node, level).pointee.load(ordering: .acquiring))
    }

    @inline(__always)
    static func key(_ node: UnsafeRawPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: node + headerSize, count: Int(loadFixed32(node)))
    }

    @inline(__always)
    static func value(_ node: UnsafeRawPointer) -> UnsafeRawBufferPointer {
        let k = Int(loadFixed32(node))
        return UnsafeRawBufferPointer(start: node + headerSize + k, count: Int(loadFixed32(node + 4)))
    }

    var height: Int { currentHeight.load(ordering: .relaxed) }

    private func randomHeight() -> Int {
        var h = 1
        while h < Self.maxHeight {
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            if random % Self.branching != 0 { break }
            h += 1
        }
        return h
    }

    // MARK: Search

    /// First node with key ≥ `target`, or nil. If `previous` is given, fills
    /// the last node < `target` at every level.
    func findGreaterOrEqual(_ target: UnsafeRawBufferPointer,
                            previous: UnsafeMutablePointer<UnsafeRawPointer>? = nil) -> UnsafeRawPointer? {
        var x = UnsafeRawPointer(head)
        var level = height - 1
        var knownGreater: UnsafeRawPointer? = nil  // avoids re-comparing the same node on the next level
        while true {
            let n = Self.next(x, level)
            // Start loading the node after `n` while `n` is compared (as
            // RocksDB's InlineSkipList does): the search is a chain of cache
            // misses, and this overlaps the next one with the compare.
            if let n, let after = Self.next(n, level) { strata_prefetch_read(after) }
            if let n, n != knownGreater, InternalKey.compare(Self.key(n), target) < 0 {
                x = n
                continue
            }
            previous?[level] = x
            if level == 0 { return n }
            knownGreater = n
            level -= 1
        }
    }

    /// Last node with key < `target`, or nil (the head).
    func findLessThan(_ target: UnsafeRawBufferPointer) -> UnsafeRawPointer? {
        var x = UnsafeRawPointer(head)
        var level = height - 1
        while true {
            if let n = Self.next(x, level), InternalKey.compare(Self.key(n), target) < 0 {
                x = n
                continue
            }
            if level == 0 { return x == UnsafeRawPointer(head) ? nil : x }
            level -= 1
        }
    }

    /// The last node, or nil if empty.
    func findLast() -> UnsafeRawPointer? {
        var x = UnsafeRawPointer(head)
        var level = height - 1
        while true {
            if let n = Self.next(x, level) {
                x = n
                continue
            }
            if level == 0 { return x == UnsafeRawPointer(head) ? nil : x }
            level -= 1
        }
    }

    // MARK: Insert

    /// Inserts an entry whose internal key is `userKey ‖ trailer`. The
    /// caller guarantees no equal internal key exists (sequence numbers are
    /// unique). Single writer only.
    func insert(userKey: UnsafeRawBufferPointer, trailer: UInt64, value: UnsafeRawBufferPointer) {
        let keyLength = userKey.count + 8
        let h = randomHeight()
        let node = Self.makeNode(arena: arena, height: h, keyLength: keyLength, valueLength: value.count)
        let keyStart = node + Self.headerSize
        if userKey.count > 0 { keyStart.copyMemory(from: userKey.baseAddress!, byteCount: userKey.count) }
        storeFixed64(keyStart + userKey.count, trailer)
        if value.count > 0 { (keyStart + keyLength).copyMemory(from: value.baseAddress!, byteCount: value.count) }

        let prev = splice
        let target = UnsafeRawBufferPointer(start: keyStart, count: keyLength)
        let old = height
        if !spliceEncloses(target) {
            _ = findGreaterOrEqual(target, previous: prev)
            for i in 0..<old { spliceNext[i] = Self.next(prev[i], i) }
        }
        if h > old {
            for i in old..<h {
                prev[i] = UnsafeRawPointer(head)
                spliceNext[i] = nil
            }
            // Readers that see the new height before the links find nil
            // links from the head at those levels, which is harmless.
            currentHeight.store(h, ordering: .relaxed)
        }
        for i in 0..<h {
            Self.link(node, i).pointee.store(UInt(bitPattern: spliceNext[i]), ordering: .relaxed)
            Self.link(prev[i], i).pointee.store(UInt(bitPattern: node), ordering: .releasing)
            // The new node is now the last one before the next ascending key.
            prev[i] = UnsafeRawPointer(node)
        }
    }

    /// True if `target` lies strictly between the splice's nodes at level 0
    /// (and so at every level: see `splice`).
    @inline(__always)
    private func spliceEncloses(_ target: UnsafeRawBufferPointer) -> Bool {
        let before = splice[0]
        if before != UnsafeRawPointer(head) && InternalKey.compare(Self.key(before), target) >= 0 { return false }
        if let after = spliceNext[0], InternalKey.compare(Self.key(after), target) <= 0 { return false }
        return true
    }
}
