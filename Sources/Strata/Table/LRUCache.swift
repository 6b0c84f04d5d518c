import Synchronization

/// Key of a block in the block cache: the table's process-unique id and the
/// block's offset in it.
public struct BlockCacheKey: Hashable, Sendable {
    public var fileID: UInt64
    public var offset: UInt64
    public init(fileID: UInt64, offset: UInt64) {
        self.fileID = fileID
        self.offset = offset
    }
}

/// A sharded LRU cache with a byte capacity (RocksDB's `LRUCache`, without
/// priorities). Each entry has a caller-given `charge`; when a shard's usage
/// exceeds its share of the capacity the least recently used entries go.
///
/// Values handed out stay valid after eviction (they are reference counted),
/// so there is no explicit release. Thread safety: every shard has its own
/// mutex; all methods may be called from any thread.
public final class LRUCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// Smallest shard RocksDB makes when it picks the shard count itself
    /// (`GetDefaultCacheShardBits`: 512 KiB per shard, at most 64 shards).
    static var minShardSize: Int { 512 << 10 }

    struct Node {
        var key: Key
        var value: Value?
        var charge: Int
        var prev: Int32
        var next: Int32
    }

    /// One shard: a hash map to slots of a node array threaded on a doubly
    /// linked recency list (head = most recent). Freed slots are reused.
    struct Shard {
        var capacity: Int
        var usage = 0
        var map: [Key: Int32] = [:]
        var nodes: [Node] = []
        var free: [Int32] = []
        var head: Int32 = -1
        var tail: Int32 = -1

        mutating func unlink(_ i: Int32) {
            let n = nodes[Int(i)]
            if n.prev >= 0 { nodes[Int(n.prev)].next = n.next } else { head = n.next }
            if n.next >= 0 { nodes[Int(n.next)].prev = n.prev } else { tail = n.prev }
        }

        mutating func pushFront(_ i: Int32) {
            nodes[Int(i)].prev = -1
            nodes[Int(i)].next = head
            if head >= 0 { nodes[Int(head)].prev = i }
            head = i
            if tail < 0 { tail = i }
        }

        mutating func remove(_ i: Int32) {
            unlink(i)
            usage -= nodes[Int(i)].charge
            map[nodes[Int(i)].key] = nil
            nodes[Int(i)].value = nil
            free.append(i)
        }

        mutating func evict() {
            while usage > capacity, tail >= 0 { remove(tail) }
        }
    }

    /// A shard behind its own lock (`Mutex` is not copyable, so each lives
    /// in a box in the array).
    final class LockedShard: Sendable {
        let state: Locked<Shard>
        init(capacity: Int) { state = Locked(Shard(capacity: capacity)) }
        func withLock<R>(_ body: (inout Shard) -> R) -> R { state.withLock { body(&$0) } }
    }

    let shards: [LockedShard]
    let shardMask: Int
    /// Total capacity in bytes of charge.
    public let capacity: Int
    let hitCount = Atomic<UInt64>(0)
    let missCount = Atomic<UInt64>(0)

    /// A cache holding up to `capacity` bytes of charge in
    /// 2^`shardCountLog2` shards (default: one shard per 512 KiB, 1...64
    /// shards, as RocksDB chooses). An entry larger than a shard's capacity
    /// is not kept.
    public init(capacity: Int, shardCountLog2: Int? = nil) {
        var bits = 0
        if let shardCountLog2 {
            bits = max(0, min(shardCountLog2, 10))
        } else {
            var shards = capacity / Self.minShardSize
            while shards > 1 && bits < 6 {
                shards >>= 1
                bits += 1
            }
        }
        let count = 1 << bits
        let perShard = (capacity + count - 1) / count
        shards = (0..<count).map { _ in LockedShard(capacity: perShard) }
        shardMask = count - 1
        self.capacity = capacity
    }

    @inline(__always) func shard(_ key: Key) -> Int {
        var h = UInt64(bitPattern: Int64(key.hashValue))
        h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: h >> 40) & shardMask
    }

    /// The value for `key`, marked most recently used; nil if absent.
    public func lookup(_ key: Key) -> Value? {
        let value = shards[shard(key)].withLock { s -> Value? in
            guard let i = s.map[key] else { return nil }
            if s.head != i {
                s.unlink(i)
                s.pushFront(i)
            }
            return s.nodes[Int(i)].value
        }
        if value == nil {
            missCount.add(1, ordering: .relaxed)
        } else {
            hitCount.add(1, ordering: .relaxed)
        }
        return value
    }

    /// Inserts or replaces `key`, charging `charge` bytes, then evicts least
    /// recently used entries until the shard fits its capacity.
    public func insert(_ key: Key, _ value: Value, charge: Int) {
        shards[shard(key)].withLock { s in
            if let old = s.map[key] { s.remove(old) }
            guard charge <= s.capacity else { return }
            let node = Node(key: key, value: value, charge: charge, prev: -1, next: -1)
            let i: Int32
            if let slot = s.free.popLast() {
                i = slot
                s.nodes[Int(i)] = node
            } else {
                i = Int32(s.nodes.count)
                s.nodes.append(node)
            }
            s.map[key] = i
            s.pushFront(i)
            s.usage += charge
            s.evict()
        }
    }

    /// Removes `key` if present.
    public func erase(_ key: Key) {
        shards[shard(key)].withLock { s in
            if let i = s.map[key] { s.remove(i) }
        }
    }

    /// Bytes of charge currently held.
    public var usage: Int {
        shards.reduce(0) { total, shard in total + shard.withLock { $0.usage } }
    }

    /// Number of entries currently held.
    public var count: Int {
        shards.reduce(0) { total, shard in total + shard.withLock { $0.map.count } }
    }

    /// Lookups that found their key, since creation.
    public var hits: UInt64 { hitCount.load(ordering: .relaxed) }
    /// Lookups that did not, since creation.
    public var misses: UInt64 { missCount.load(ordering: .relaxed) }
}
