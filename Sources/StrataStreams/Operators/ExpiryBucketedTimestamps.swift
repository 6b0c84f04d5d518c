import Strata

/// An event-time dedup's state: per key, the timestamp of the kept event,
/// grouped in the engine by *expiry bucket*, so that forgetting keys is one
/// range deletion per bucket instead of a timer, a read and a delete per key.
///
/// Layout (one state, `<dedup name>/kept`):
///
/// ```
/// [state id: 2 BE][bucket: 8 BE, sign bit flipped][key group: 2 BE][key] → [kept: 8 LE] or [kept: 8 LE][expiry: 8 LE]
/// [state id: 2 BE]                                                      → [horizon: 8 LE]
/// ```
///
/// A key kept at `t` expires at `e = t &+ ttl`, or — kept while already
/// past that (a late event) — at the next watermark above the current one,
/// `e = horizon + 1` (written out as the second field): the reference
/// semantics forget a key at the first watermark `w ≥ t + ttl` that comes
/// *after* it was kept. Its bucket is `⌊e / width⌋`. An entry is live while
/// `e > horizon` (the largest watermark processed); a bucket is removed with
/// one range deletion once `horizon` has passed its last expiry, so entries
/// stay physically at most one bucket width past their expiry (reads hide
/// them at once). A key's expiry only grows (keep-last moves it forward,
/// keep-first keeps a key again only after it expired), so the newest bucket
/// holding a key holds its current entry; a key moved to a newer bucket has
/// its old entry deleted when the move was seen through a lookup. The horizon
/// entry is written on flush while any bucket is live, so a restart does not
/// revive entries that expired before the checkpoint (it is deleted when no
/// bucket is left: an empty dedup leaves no entry behind).
///
/// Reads and writes go through a write-back cache of at most
/// `StateBackendOptions.writeBackCacheEntries` keys with a CLOCK eviction
/// order: eviction writes and drops the oldest unreferenced quarter (cost
/// proportional to what is evicted, not to the cache), and a flush writes
/// only the entries changed since the last one.
///
/// Thread safety: owned by the backend's thread.
final class ExpiryBucketedTimestamps: WriteBackBuffer {
    /// A kept event: its timestamp and when it is forgotten.
    struct Entry: Equatable {
        var kept: Int64
        var expiry: Int64
    }

    private struct Slot {
        /// The current entry (nil: known absent).
        var entry: Entry?
        /// The bucket of the engine's entry for this key, when known (nil: none or unknown).
        var engineBucket: Int64?
        var dirty: Bool
        var referenced: Bool
    }

    private unowned let backend: StateBackend
    let name: String
    let id: UInt16
    let ttl: Int64
    /// Expiry milliseconds per bucket: half the TTL (at least 1).
    let width: Int64
    /// The largest watermark processed (`Int64.min` before the first): an
    /// entry with expiry ≤ horizon is expired.
    private(set) var horizon: Int64 = .min
    private var persistedHorizon: Int64? = nil
    /// Per bucket that may hold entries, the keys kept with an expiry in it
    /// and not moved out since (counted as expired when the bucket goes).
    private var counts: [Int64: Int] = [:]
    /// `counts`' buckets, newest first (the probe order of a cache miss).
    private var bucketsNewestFirst: [Int64] = []
    private var cache: [StateKey: Slot] = [:]
    /// Cached keys in insertion order from `orderHead` (CLOCK hand).
    private var order: [StateKey] = []
    private var orderHead = 0
    /// Keys made dirty since the last flush (may repeat or be evicted already).
    private var dirtyKeys: [StateKey] = []
    /// Range deletions of dropped buckets, written with the next batch.
    private var pending = WriteBatch()

    /// Opens the state `name` of `backend` and scans it once: restores the
    /// horizon and the per-bucket counts, and hands every entry (encoded
    /// key, expiry) to `onEntry` (to rebuild a Bloom filter).
    init(backend: StateBackend, name: String, ttl: Int64, onEntry: ([UInt8], Int64) -> Void) throws {
        self.backend = backend
        self.name = name
        self.ttl = ttl
        self.width = max(1, ttl / 2)
        self.id = try backend.declare(StateDescriptor(name), kind: .value).id
        let it = try backend.database.makeIterator(options: ReadOptions(
            lowerBound: StateKeyLayout.stateLowerBound(id), upperBound: StateKeyLayout.stateUpperBound(id)))
        it.seekToFirst()
        while it.isValid {
            let key = it.key
            let value = it.value
            if key.count == 2 {
                guard value.count == 8 else { throw corrupt("horizon of \(value.count) bytes, expected 8") }
                horizon = value.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
                persistedHorizon = horizon
            } else {
                guard key.count >= 12 else { throw corrupt("entry key of \(key.count) bytes, expected ≥ 12") }
                let bucket = try key.withUnsafeBytes { try Int64Codec().decode(UnsafeRawBufferPointer(rebasing: $0[2..<10])) }
                let entry = try decodeEntry(value)
                counts[bucket, default: 0] += 1
                onEntry(Array(key[12...]), entry.expiry)
            }
            it.next()
        }
        try it.status()
        sortBuckets()
    }

    private func corrupt(_ what: String) -> StrataError {
        StrataError(.corruption, "dedup state '\(name)': \(what)")
    }

    private func decodeEntry(_ value: [UInt8]) throws -> Entry {
        guard value.count == 8 || value.count == 16 else { throw corrupt("entry of \(value.count) bytes, expected 8 or 16") }
        return value.withUnsafeBytes { raw in
            let kept = Int64(littleEndian: raw.loadUnaligned(as: Int64.self))
            let expiry = raw.count == 16 ? Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: Int64.self)) : kept &+ ttl
            return Entry(kept: kept, expiry: expiry)
        }
    }

    private func encode(_ entry: Entry) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        withUnsafeBytes(of: entry.kept.littleEndian) { out.append(contentsOf: $0) }
        if entry.expiry != entry.kept &+ ttl { withUnsafeBytes(of: entry.expiry.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }

    private func bucketPrefix(_ bucket: Int64) -> [UInt8] {
        var out = StateKeyLayout.stateLowerBound(id)
        Int64Codec().encode(bucket, into: &out)
        return out
    }

    private func engineKey(_ bucket: Int64, _ key: StateKey) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(12 + key.encoded.count)
        out.append(UInt8(id >> 8))
        out.append(UInt8(id & 0xFF))
        Int64Codec().encode(bucket, into: &out)
        out.append(UInt8(key.keyGroup >> 8))
        out.append(UInt8(key.keyGroup & 0xFF))
        out.append(contentsOf: key.encoded)
        return out
    }

    /// ⌊expiry / width⌋.
    @inline(__always)
    func bucket(of expiry: Int64) -> Int64 {
        let q = expiry / width
        return expiry % width < 0 ? q - 1 : q
    }

    /// The largest expiry in `bucket`.
    private func lastExpiry(of bucket: Int64) -> Int64 {
        let (start, o1) = bucket.multipliedReportingOverflow(by: width)
        if o1 { return bucket < 0 ? .min : .max }
        let (last, o2) = start.addingReportingOverflow(width - 1)
        return o2 ? .max : last
    }

    /// Whether every expiry of `bucket` has passed (the bucket is dropped).
    private func isDropped(_ bucket: Int64) -> Bool { lastExpiry(of: bucket) <= horizon }

    private func sortBuckets() { bucketsNewestFirst = counts.keys.sorted(by: >) }

    /// The expiry of a key kept now at `kept`.
    func expiry(keptAt kept: Int64) -> Int64 {
        let natural = kept &+ ttl
        return horizon != .min && natural <= horizon ? horizon + 1 : natural
    }

    /// The live entry for `key` (nil if none or expired), reading the
    /// engine on a cache miss (newest bucket first).
    func live(_ key: StateKey) throws -> Entry? {
        if let i = cache.index(forKey: key) {
            // In place through the index: one hash lookup per read.
            if !cache.values[i].referenced { cache.values[i].referenced = true }
            guard let entry = cache.values[i].entry, entry.expiry > horizon else { return nil }
            return entry
        }
        var found: Entry? = nil
        var foundBucket: Int64? = nil
        for bucket in bucketsNewestFirst where !isDropped(bucket) {
            if let value = try backend.database.get(engineKey(bucket, key)) {
                found = try decodeEntry(value)
                foundBucket = bucket
                break
            }
        }
        try insert(key, Slot(entry: found, engineBucket: foundBucket, dirty: false, referenced: false))
        guard let found, found.expiry > horizon else { return nil }
        return found
    }

    /// Keeps `kept` for `key` with expiry `expiry(keptAt: kept)`. When the
    /// key's previous entry is unknown (not cached: a Bloom filter said it is
    /// new), an expired entry may still sit in an older bucket; it goes with
    /// its bucket and is counted as expired then.
    func keep(_ kept: Int64, for key: StateKey) throws {
        let entry = Entry(kept: kept, expiry: expiry(keptAt: kept))
        let newBucket = bucket(of: entry.expiry)
        if let i = counts.index(forKey: newBucket) {
            counts.values[i] += 1
        } else {
            counts[newBucket] = 1
            sortBuckets()
        }
        if let i = cache.index(forKey: key) {
            var slot = cache.values[i]
            if let old = slot.entry {
                let oldBucket = bucket(of: old.expiry)
                if !isDropped(oldBucket), let j = counts.index(forKey: oldBucket) {
                    counts.values[j] -= 1
                    if old.expiry <= horizon { expired += 1 }
                }
            }
            slot.entry = entry
            let wasDirty = slot.dirty
            slot.dirty = true
            slot.referenced = true
            cache.values[i] = slot
            if !wasDirty { noteDirty(key) }
        } else {
            try insert(key, Slot(entry: entry, engineBucket: nil, dirty: true, referenced: false))
            noteDirty(key)
        }
    }

    /// Lists a key that became dirty. Keys evicted since (written then)
    /// stay listed until the next flush; when the list outgrows twice the
    /// cache it is cut down to the keys still cached and dirty, so memory
    /// stays bounded by the cache size between checkpoints.
    private func noteDirty(_ key: StateKey) {
        dirtyKeys.append(key)
        guard dirtyKeys.count > 2 * max(backend.writeBackCacheEntries, 32) else { return }
        var listed = Set<StateKey>()
        dirtyKeys = dirtyKeys.filter { cache[$0]?.dirty == true && listed.insert($0).inserted }
    }

    /// Keys forgotten so far: those found expired when kept again, and
    /// those of dropped buckets.
    private(set) var expired = 0

    /// Moves the horizon to `watermark` (if higher) and drops the buckets
    /// it passed, counting the keys they held (kept and not moved out) in `expired`.
    func advance(to watermark: Int64) {
        guard watermark > horizon else { return }
        horizon = watermark
        var changed = false
        for (bucket, count) in counts where isDropped(bucket) {
            expired += count
            counts[bucket] = nil
            pending.deleteRange(from: bucketPrefix(bucket), to: bucketPrefix(bucket &+ 1))
            changed = true
        }
        if changed { sortBuckets() }
    }

    private func insert(_ key: StateKey, _ slot: Slot) throws {
        if cache.count >= backend.writeBackCacheEntries { try evict() }
        cache[key] = slot
        order.append(key)
    }

    /// Writes and drops cached keys in CLOCK order (a referenced key gets a
    /// second chance) until the cache is three quarters full.
    private func evict() throws {
        let target = backend.writeBackCacheEntries * 3 / 4
        var batch = WriteBatch()
        batch.append(contentsOf: pending)
        pending.clear()
        while cache.count > target && orderHead < order.count {
            let key = order[orderHead]
            orderHead += 1
            guard var slot = cache[key] else { continue }
            if slot.referenced {
                slot.referenced = false
                cache[key] = slot
                order.append(key)
                continue
            }
            if slot.dirty { write(key, &slot, into: &batch) }
            cache[key] = nil
        }
        if orderHead > 4096 && orderHead * 2 > order.count {
            order.removeFirst(orderHead)
            orderHead = 0
        }
        if !batch.isEmpty { try backend.write(batch) }
    }

    /// Appends the writes of a dirty slot: the new entry (unless its bucket
    /// was dropped: expired before it was written), and the deletion of the
    /// key's entry in another live bucket.
    private func write(_ key: StateKey, _ slot: inout Slot, into batch: inout WriteBatch) {
        var newBucket: Int64? = nil
        if let entry = slot.entry {
            let b = bucket(of: entry.expiry)
            if !isDropped(b) {
                batch.put(engineKey(b, key), encode(entry))
                newBucket = b
            }
        }
        if let old = slot.engineBucket, old != newBucket, !isDropped(old) { batch.delete(engineKey(old, key)) }
        slot.engineBucket = newBucket
        slot.dirty = false
    }

    /// Writes every change since the last flush into `batch` (entries stay
    /// cached, clean), the dropped buckets' range deletions, and the horizon.
    func drain(into batch: inout WriteBatch) throws {
        batch.append(contentsOf: pending)
        pending.clear()
        for key in dirtyKeys {
            guard var slot = cache[key], slot.dirty else { continue }
            write(key, &slot, into: &batch)
            cache[key] = slot
        }
        dirtyKeys.removeAll(keepingCapacity: true)
        let wanted: Int64? = counts.isEmpty || horizon == .min ? nil : horizon
        if wanted != persistedHorizon {
            if let wanted {
                withUnsafeBytes(of: wanted.littleEndian) { batch.put(StateKeyLayout.stateLowerBound(id), Array($0)) }
            } else {
                batch.delete(StateKeyLayout.stateLowerBound(id))
            }
            persistedHorizon = wanted
        }
    }
}
