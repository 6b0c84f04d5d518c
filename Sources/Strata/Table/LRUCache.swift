import Synchronization

/// Key of a block in the block cache: the table's process-unique id and the
/// block's offset in it.
package struct BlockCacheKey: Hashable, Sendable {
    package var fileID: UInt64
    package var offset: UInt64
    package init(fileID: UInt64, offset: UInt64) {
        self.fileID = fileID
        self.offset = offset
    }
}

/// A sharded LRU cache with a byte capacity (RocksDB's `LRUCache`, without
/// priorities). Each entry has a caller-given `charge`; when a shard's usage
/// exceeds its share of the room left, the least recently used entries go.
///
/// Pinning: `lookupPinned`/`insertPinned` hand out a `Handle`; until it is
/// `release`d the entry is in use (an iterator reads its block): it still
/// counts in `usage` and `pinnedUsage` but cannot be evicted, as RocksDB's
/// referenced entries. An entry erased or replaced while pinned leaves the
/// map at once and gives its charge back at the last release.
///
/// Reservations: `adjustReservation(by:)` charges memory held elsewhere
/// (memtables, index and filter blocks of open tables) to the cache, which
/// then keeps that much less of its own entries (RocksDB's
/// `CacheReservationManager`, "cost to cache"). A reservation is spread
/// evenly over the shards; growing it evicts at once.
///
/// Values handed out stay valid after eviction (they are reference counted).
/// Thread safety: every shard has its own mutex; all methods may be called
/// from any thread.
package final class LRUCache<Key: CacheKey, Value: Sendable>: Sendable {
    /// Smallest shard RocksDB makes when it picks the shard count itself
    /// (`GetDefaultCacheShardBits`: 512 KiB per shard, at most 64 shards).
    static var minShardSize: Int { 512 << 10 }

    /// An entry in use: keep it and pass it to `release` exactly once.
    package struct Handle: Sendable {
        let shard: Int32
        let slot: Int32
    }

    struct Node {
        var key: Key
        /// `key.cacheHash`, kept for the table's growth and deletions.
        var hash: UInt64
        var value: Value?
        var charge: Int
        var prev: Int32
        var next: Int32
        /// Handles not yet released; a pinned node is off the recency list.
        var pins: Int32 = 0
        /// Erased or replaced while pinned: out of the map, freed at the last release.
        var detached = false
    }

    /// One shard: a hash table to slots of a node array threaded on a doubly
    /// linked recency list (head = most recent) of the unpinned entries.
    /// Freed slots are reused; a pinned node keeps its slot.
    struct Shard {
        var capacity: Int
        /// Charge of every entry held, pinned (and detached) ones included.
        var usage = 0
        /// Charge of the pinned entries.
        var pinnedUsage = 0
        var table = CacheSlotTable()
        var nodes: [Node] = []
        var free: [Int32] = []
        var head: Int32 = -1
        var tail: Int32 = -1

        mutating func unlink(_ i: Int32) {
            // The links only: copying the whole node would retain and
            // release its key and value.
            let prev = nodes[Int(i)].prev
            let next = nodes[Int(i)].next
            if prev >= 0 { nodes[Int(prev)].next = next } else { head = next }
            if next >= 0 { nodes[Int(next)].prev = prev } else { tail = prev }
        }

        mutating func pushFront(_ i: Int32) {
            nodes[Int(i)].prev = -1
            nodes[Int(i)].next = head
            if head >= 0 { nodes[Int(head)].prev = i }
            head = i
            if tail < 0 { tail = i }
        }

        /// Frees slot `i` (an unpinned node, already off the list if it was on it).
        mutating func freeSlot(_ i: Int32) {
            usage -= nodes[Int(i)].charge
            nodes[Int(i)].value = nil
            free.append(i)
        }

        /// The slot holding `key` (hash `hash`), or nil.
        @inline(__always)
        func find(_ key: Key, hash: UInt64) -> Int32? {
            table.find(hash) { nodes[Int($0)].key == key }
        }

        /// Takes node `i` out of the map: freed now if unpinned, else at its last release.
        mutating func remove(_ i: Int32) {
            table.remove(nodes[Int(i)].hash, slot: i)
            if nodes[Int(i)].pins > 0 {
                nodes[Int(i)].detached = true
            } else {
                unlink(i)
                freeSlot(i)
            }
        }

        mutating func evict(limit: Int) {
            while usage > limit, tail >= 0 { remove(tail) }
        }

        /// Adds a node (the key must be absent), pinned or at the front of the list.
        mutating func add(_ key: Key, hash: UInt64, _ value: Value, charge: Int, pinned: Bool) -> Int32 {
            let node = Node(key: key, hash: hash, value: value, charge: charge, prev: -1, next: -1, pins: pinned ? 1 : 0)
            let i: Int32
            if let slot = free.popLast() {
                i = slot
                nodes[Int(i)] = node
            } else {
                i = Int32(nodes.count)
                nodes.append(node)
            }
            table.insert(hash, slot: i)
            usage += charge
            if pinned { pinnedUsage += charge } else { pushFront(i) }
            return i
        }

        mutating func pin(_ i: Int32) {
            if nodes[Int(i)].pins == 0 {
                unlink(i)
                pinnedUsage += nodes[Int(i)].charge
            }
            nodes[Int(i)].pins += 1
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
    /// Capacity of each shard (the capacity split evenly, rounded up).
    let shardCapacity: Int
    /// Total capacity in bytes of charge.
    package let capacity: Int
    let hitCount = Atomic<UInt64>(0)
    let missCount = Atomic<UInt64>(0)
    /// Bytes reserved for memory held outside the cache.
    let reserved = Atomic<Int>(0)

    /// A cache holding up to `capacity` bytes of charge in
    /// 2^`shardCountLog2` shards (default: one shard per 512 KiB, 1...64
    /// shards, as RocksDB chooses). An entry larger than a shard's room is
    /// not kept.
    package init(capacity: Int, shardCountLog2: Int? = nil) {
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
        shardCapacity = perShard
        shardMask = count - 1
        self.capacity = capacity
    }

    /// The shard of a key with hash `hash`: its top bits (the shard table
    /// takes the low ones).
    @inline(__always) func shard(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash >> 54) & shardMask
    }

    /// The room a shard has for entries: its capacity less its share of
    /// the reservations.
    @inline(__always) var limit: Int {
        // Rounded up, so the shards together never keep more than the
        // capacity less the reservations.
        let share = (reserved.load(ordering: .relaxed) + shards.count - 1) / shards.count
        return share <= 0 ? shardCapacity : max(0, shardCapacity - share)
    }

    @inline(__always) private func count(hit: Bool) {
        if hit { hitCount.add(1, ordering: .relaxed) } else { missCount.add(1, ordering: .relaxed) }
    }

    /// The value for `key`, marked most recently used; nil if absent.
    package func lookup(_ key: Key) -> Value? {
        let hash = key.cacheHash
        let value = shards[shard(hash)].withLock { s -> Value? in
            guard let i = s.find(key, hash: hash) else { return nil }
            if s.nodes[Int(i)].pins == 0 && s.head != i {
                s.unlink(i)
                s.pushFront(i)
            }
            return s.nodes[Int(i)].value
        }
        count(hit: value != nil)
        return value
    }

    /// The value for `key`, pinned until `release(handle)`; nil if absent.
    package func lookupPinned(_ key: Key) -> (value: Value, handle: Handle)? {
        let hash = key.cacheHash
        let index = shard(hash)
        let found = shards[index].withLock { s -> (Value, Int32)? in
            guard let i = s.find(key, hash: hash), let value = s.nodes[Int(i)].value else { return nil }
            s.pin(i)
            return (value, i)
        }
        count(hit: found != nil)
        guard let found else { return nil }
        return (found.0, Handle(shard: Int32(index), slot: found.1))
    }

    /// Inserts or replaces `key`, charging `charge` bytes, then evicts least
    /// recently used entries until the shard fits its room.
    package func insert(_ key: Key, _ value: Value, charge: Int) {
        let limit = self.limit
        let hash = key.cacheHash
        shards[shard(hash)].withLock { s in
            if let old = s.find(key, hash: hash) { s.remove(old) }
            guard charge <= limit else { return }
            _ = s.add(key, hash: hash, value, charge: charge, pinned: false)
            s.evict(limit: limit)
        }
    }

    /// Inserts or replaces `key` as `insert` does, pinned until
    /// `release(handle)`; nil (nothing kept, nothing to release) if the
    /// entry is larger than a shard's room.
    package func insertPinned(_ key: Key, _ value: Value, charge: Int) -> Handle? {
        let hash = key.cacheHash
        let index = shard(hash)
        let limit = self.limit
        let slot = shards[index].withLock { s -> Int32? in
            if let old = s.find(key, hash: hash) { s.remove(old) }
            guard charge <= limit else { return nil }
            let i = s.add(key, hash: hash, value, charge: charge, pinned: true)
            s.evict(limit: limit)
            return i
        }
        return slot.map { Handle(shard: Int32(index), slot: $0) }
    }

    /// Ends a pin: the entry becomes evictable (most recently used), or is
    /// freed if it was erased or replaced meanwhile.
    package func release(_ handle: Handle) {
        let shard = shards[Int(handle.shard)]
        let limit = self.limit
        shard.withLock { s in
            let i = handle.slot
            guard s.nodes[Int(i)].pins > 0 else { return }
            s.nodes[Int(i)].pins -= 1
            guard s.nodes[Int(i)].pins == 0 else { return }
            s.pinnedUsage -= s.nodes[Int(i)].charge
            if s.nodes[Int(i)].detached {
                s.nodes[Int(i)].detached = false
                s.freeSlot(i)
            } else {
                s.pushFront(i)
                s.evict(limit: limit)
            }
        }
    }

    /// Removes `key` if present (a pinned entry is freed at its last release).
    package func erase(_ key: Key) {
        let hash = key.cacheHash
        shards[shard(hash)].withLock { s in
            if let i = s.find(key, hash: hash) { s.remove(i) }
        }
    }

    /// Charges `delta` bytes of memory held outside the cache to it
    /// (negative: gives them back). Growth evicts least recently used
    /// entries at once, in every shard, until the entries fit the room left.
    /// Reservations may exceed the capacity; the cache then keeps nothing
    /// unpinned.
    package func adjustReservation(by delta: Int) {
        guard delta != 0 else { return }
        reserved.add(delta, ordering: .relaxed)
        guard delta > 0 else { return }
        for shard in shards {
            let limit = self.limit
            shard.withLock { s in s.evict(limit: limit) }
        }
    }

    /// Bytes of charge currently held: entries (pinned included) plus reservations.
    package var usage: Int { entryUsage + reservedUsage }

    /// Bytes of charge of the entries (pinned included), without reservations.
    package var entryUsage: Int {
        shards.reduce(0) { total, shard in total + shard.withLock { $0.usage } }
    }

    /// Bytes of charge of the pinned entries (in use by iterators).
    package var pinnedUsage: Int {
        shards.reduce(0) { total, shard in total + shard.withLock { $0.pinnedUsage } }
    }

    /// Bytes reserved for memory held outside the cache (`adjustReservation`).
    package var reservedUsage: Int { reserved.load(ordering: .relaxed) }

    /// Number of entries currently held (in the map: detached pinned entries excluded).
    package var count: Int {
        shards.reduce(0) { total, shard in total + shard.withLock { $0.table.count } }
    }

    /// Lookups that found their key, since creation.
    package var hits: UInt64 { hitCount.load(ordering: .relaxed) }
    /// Lookups that did not, since creation.
    package var misses: UInt64 { missCount.load(ordering: .relaxed) }
}
