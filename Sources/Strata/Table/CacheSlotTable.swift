/// A key of the block cache with a cheap, well-mixed 64-bit hash. The cache
/// keeps its own open-addressing table over these hashes instead of a
/// `Dictionary`, whose per-lookup SipHash was ~3% of a random seek
/// (perf, strata-bench seekrandom at 2M keys with an 8 MiB cache).
///
/// `cacheHash` must be equal for equal keys; its bits should all depend on
/// the whole key (the cache takes the shard from the top bits and the table
/// position from the low bits).
package protocol CacheKey: Hashable, Sendable {
    /// The key's 64-bit hash.
    var cacheHash: UInt64 { get }
}

/// One round of the SplitMix64 finalizer: every output bit depends on every
/// input bit (Steele, Lea, Flood: "Fast splittable pseudorandom number
/// generators", 2014).
@inline(__always)
func mixBits(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

extension BlockCacheKey: CacheKey {
    /// The file id and the block offset mixed together.
    package var cacheHash: UInt64 { mixBits(fileID &* 0x9E37_79B9_7F4A_7C15 ^ offset) }
}

extension Int: CacheKey {
    /// The value's bits mixed (for caches keyed by integers).
    package var cacheHash: UInt64 { mixBits(UInt64(bitPattern: Int64(self))) }
}

/// Open-addressing hash table from a key's hash to a node slot of one
/// cache shard, with linear probing and backward-shift deletion (no
/// tombstones). Each entry keeps the full hash beside the slot, so a probe
/// touches a node only when the hashes are equal, and growth and deletion
/// need nothing from the nodes. The table doubles when three quarters full.
///
/// Keys are compared by the caller (`find`'s `matches`), which owns the
/// nodes; the table never sees them.
struct CacheSlotTable {
    struct Entry {
        var hash: UInt64
        /// The node slot; -1 marks an empty entry.
        var slot: Int32
    }

    private static let empty = Entry(hash: 0, slot: -1)
    private var entries: [Entry] = Array(repeating: CacheSlotTable.empty, count: 16)
    private var mask = 15
    /// Entries held.
    private(set) var count = 0

    @inline(__always)
    private func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash) & mask }

    /// The slot of the entry with `hash` for which `matches(slot)` is true, or nil.
    @inline(__always)
    func find(_ hash: UInt64, matches: (Int32) -> Bool) -> Int32? {
        var i = home(hash)
        while true {
            let e = entries[i]
            if e.slot < 0 { return nil }
            if e.hash == hash && matches(e.slot) { return e.slot }
            i = (i + 1) & mask
        }
    }

    /// Adds `slot` under `hash` (the caller guarantees its key is absent).
    mutating func insert(_ hash: UInt64, slot: Int32) {
        if (count + 1) * 4 > entries.count * 3 { grow() }
        place(Entry(hash: hash, slot: slot))
        count += 1
    }

    private mutating func place(_ entry: Entry) {
        var i = home(entry.hash)
        while entries[i].slot >= 0 { i = (i + 1) & mask }
        entries[i] = entry
    }

    private mutating func grow() {
        let old = entries
        entries = Array(repeating: Self.empty, count: old.count * 2)
        mask = entries.count - 1
        for e in old where e.slot >= 0 { place(e) }
    }

    /// Removes the entry of `slot` (held under `hash`); later entries of
    /// its probe run move back so that no lookup meets a gap too early.
    mutating func remove(_ hash: UInt64, slot: Int32) {
        var hole = home(hash)
        while entries[hole].slot != slot {
            if entries[hole].slot < 0 { return }  // not held
            hole = (hole + 1) & mask
        }
        var j = (hole + 1) & mask
        while entries[j].slot >= 0 {
            let h = home(entries[j].hash)
            // The entry may fill the hole unless its home lies cyclically
            // in (hole, j]: then it would sit before its home.
            if (j - h) & mask >= (j - hole) & mask {
                entries[hole] = entries[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        entries[hole] = Self.empty
        count -= 1
    }
}
