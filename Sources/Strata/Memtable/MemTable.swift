import Synchronization

/// The in-memory write buffer: every point entry (put, delete, merge, single
/// delete) in an arena skiplist ordered by internal key, and range
/// tombstones in a side list (as RocksDB keeps them in a separate range-del
/// memtable).
///
/// Entries are immutable once added; a memtable only grows until it is
/// frozen and flushed to a level-0 table, then dropped when no reader
/// references it.
///
/// Thread safety: `add` from one thread at a time (the database's write
/// leader); `get`, iterators and the size accessors from any thread,
/// concurrently with the writer and without locks.
package final class MemTable: @unchecked Sendable {
    // @unchecked: the skiplist is single-writer/lock-free-reader by design;
    // the tombstone list is under a mutex; counters are atomics.
    let arena: Arena
    let list: SkipList
    private let entries = Atomic<Int>(0)
    private let tombstones = Locked<[(begin: [UInt8], end: [UInt8])]>([])
    private let tombstoneCount = Atomic<Int>(0)
    private let tombstoneBytes = Atomic<Int>(0)
    /// The tombstones fragmented, as of the first `count` of them: rebuilt
    /// only when a tombstone was added since (readers would otherwise
    /// fragment the whole list on every lookup and iterator).
    private let fragmentedCache = Locked<(count: Int, list: RangeTombstoneList)?>(nil)
    /// Whole-key bloom over the point entries' user keys; nil when off.
    private let bloom: MemTableBloom?

    /// An empty memtable whose arena grows `arenaBlockSize` bytes at a
    /// time (clamped to 4 KiB…1 MiB). Every arena block is added to
    /// `charge` (nil: not accounted), and to `activeCharge` until
    /// `markImmutable()`; both get the memory back when the memtable is freed.
    /// `bloomBytes` > 0 adds a whole-key bloom filter of that size (in the
    /// arena's memory, not counted toward `approximateMemoryUsage`), which
    /// lets `get` skip the skiplist for keys the memtable does not hold.
    package init(arenaBlockSize: Int = 256 << 10, charge: MemoryCharge? = nil, activeCharge: MemoryCharge? = nil,
                bloomBytes: Int = 0) {
        arena = Arena(blockSize: arenaBlockSize, charge: charge, activeCharge: activeCharge)
        list = SkipList(arena: arena)
        if bloomBytes > 0 {
            let memory = arena.allocateAside(MemTableBloom.footprint(bloomBytes), alignment: MemTableBloom.lineBytes)
            bloom = MemTableBloom(memory: memory, bytes: bloomBytes)
        } else {
            bloom = nil
        }
    }

    /// Bytes of memory the memtable holds: its arena blocks (what a memory
    /// budget is charged), which is at least `approximateMemoryUsage`
    /// less the tombstones.
    package var arenaMemoryUsage: Int { arena.memoryUsage }

    /// Marks the memtable as no longer taking writes: its memory leaves the
    /// active charge. Call from the writer (or with writes excluded).
    package func markImmutable() { arena.deactivate() }

    /// Adds an entry. Range deletions (`key` = begin, `value` = end user
    /// key) go to the tombstone list; an empty or inverted one (begin ≥
    /// end) deletes nothing and is dropped — `WriteBatch` never records one,
    /// but a WAL written elsewhere may hold it, and a flushed table would
    /// get a smallest key after its largest. Sequence numbers must be unique.
    package func add(sequence: UInt64, type: ValueType, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if type == .rangeDeletion {
            guard Bytewise.compare(key, value) < 0 else { return }
            var begin = Array(key)
            begin.appendFixed64(packSequenceAndType(sequence, type.rawValue))
            let end = Array(value)
            tombstones.withLock { $0.append((begin, end)) }
            tombstoneBytes.add(begin.count + end.count + 32, ordering: .relaxed)
            tombstoneCount.add(1, ordering: .relaxed)
            return
        }
        // The bloom line is fetched while the skiplist is searched; its bits
        // are set before the entry's sequence is published, which is all a
        // reader needs (see `MemTableBloom`).
        let hash = bloom.map { bloom in
            let hash = MemTableBloom.hash(key)
            bloom.prefetch(hash)
            return hash
        }
        list.insert(userKey: key, trailer: packSequenceAndType(sequence, type.rawValue), value: value)
        if let bloom, let hash { bloom.add(hash) }
        entries.add(1, ordering: .releasing)
    }

    /// Adds an entry from arrays (convenience for tests and tools).
    package func add(sequence: UInt64, type: ValueType, key: [UInt8], value: [UInt8]) {
        key.withUnsafeBytes { k in value.withUnsafeBytes { v in add(sequence: sequence, type: type, key: k, value: v) } }
    }

    /// Bytes the entries take in the arena plus the tombstones: what the
    /// database compares with `writeBufferSize`.
    package var approximateMemoryUsage: Int {
        arena.allocatedBytes + tombstoneBytes.load(ordering: .relaxed)
    }

    /// Number of point entries.
    package var entryCount: Int { entries.load(ordering: .acquiring) }

    /// Number of range tombstones.
    package var rangeTombstoneCount: Int { tombstoneCount.load(ordering: .acquiring) }

    /// True if nothing was added.
    package var isEmpty: Bool { entryCount == 0 && rangeTombstoneCount == 0 }

    /// The range tombstones: begin as an internal key (begin user key,
    /// sequence, 0x0F), end as an exclusive user key, in insertion order.
    package func rangeTombstones() -> [(begin: [UInt8], end: [UInt8])] {
        tombstones.withLock { $0 }
    }

    /// The range tombstones fragmented for lookups (cached until the next
    /// range deletion is added). Thread-safe.
    package var fragmentedRangeTombstones: RangeTombstoneList {
        guard tombstoneCount.load(ordering: .acquiring) > 0 else { return .empty }
        let all = tombstones.withLock { $0 }
        if let cached = fragmentedCache.withLock({ $0 }), cached.count == all.count { return cached.list }
        let list = RangeTombstoneList(internalTombstones: all)
        fragmentedCache.withLock { cache in
            if cache == nil || cache!.count < all.count { cache = (all.count, list) }
        }
        return list
    }

    /// Visits the point entries of `userKey` with sequence ≤ `sequence`,
    /// newest first, calling `body(key, value)` until it returns false.
    /// Range tombstones are not applied (see `rangeTombstones`).
    package func get(userKey: UnsafeRawBufferPointer, sequence: UInt64 = maxSequenceNumber,
                    _ body: (ParsedInternalKey, UnsafeRawBufferPointer) throws -> Bool) rethrows {
        if let bloom, !bloom.mayContain(MemTableBloom.hash(userKey)) { return }
        // The seek key: user key ‖ (sequence, highest type), on the stack
        // for short keys.
        let n = userKey.count + 8
        try withUnsafeTemporaryAllocation(byteCount: n, alignment: 8) { target in
            if userKey.count > 0 { target.baseAddress!.copyMemory(from: userKey.baseAddress!, byteCount: userKey.count) }
            storeFixed64(target.baseAddress! + userKey.count, packSequenceAndType(sequence, ValueType.forSeekCode))
            var node = list.findGreaterOrEqual(UnsafeRawBufferPointer(target))
            while let x = node {
                let key = SkipList.key(x)
                guard let parsed = ParsedInternalKey(key), Bytewise.compare(parsed.userKey, userKey) == 0 else { return }
                if try !body(parsed, SkipList.value(x)) { return }
                node = SkipList.next(x, 0)
            }
        }
    }

    /// An iterator over the point entries (not the range tombstones). It
    /// keeps this memtable alive; it sees entries added after it was
    /// created as it moves (callers filter by sequence number).
    package func makeIterator() -> MemTableIterator {
        MemTableIterator(self)
    }
}

/// Iterator over a memtable's point entries in internal-key order.
/// Thread safety: one thread at a time; safe against the memtable's writer.
package final class MemTableIterator: InternalIterator {
    let table: MemTable
    @exclusivity(unchecked)
    private var node: UnsafeRawPointer? = nil

    init(_ table: MemTable) { self.table = table }

    package var isValid: Bool { node != nil }
    package var key: UnsafeRawBufferPointer { SkipList.key(node!) }
    package var value: UnsafeRawBufferPointer { SkipList.value(node!) }
    package var error: StrataError? { nil }

    package func seekToFirst() { node = SkipList.next(table.list.head, 0) }
    package func seekToLast() { node = table.list.findLast() }
    package func seek(_ target: UnsafeRawBufferPointer) { node = table.list.findGreaterOrEqual(target) }

    package func seekForPrev(_ target: UnsafeRawBufferPointer) {
        seek(target)
        if let n = node {
            if InternalKey.compare(SkipList.key(n), target) > 0 { node = table.list.findLessThan(SkipList.key(n)) }
        } else {
            seekToLast()
        }
    }

    package func next() {
        guard let n = node else { return }
        node = SkipList.next(n, 0)
    }

    package func prev() {
        guard let n = node else { return }
        node = table.list.findLessThan(SkipList.key(n))
    }
}
