import CPrefetch
import Synchronization

/// A bloom filter over the user keys of one memtable, so a point lookup of a
/// key the memtable does not hold skips the skiplist search (a chain of
/// ~20 cache misses at a few hundred thousand entries) for one cache-line
/// probe. RocksDB's memtable bloom (`DynamicBloom`) with
/// `memtable_whole_key_filtering`; sized by
/// `ColumnFamilyOptions.memtableBloomSizeRatio`.
///
/// Layout: `lines` 64-byte cache lines. A key's 64-bit hash picks one line
/// from its upper half (multiply-shift, no modulo) and six bits in it from
/// its lower half: each probe takes the top 9 bits of a 32-bit value that
/// is multiplied by the golden-ratio constant 0x9E3779B9 between probes
/// (the cache-local scheme of RocksDB's FastLocalBloom). Six probes in 512
/// bits: about 1% false positives at 10 bits per key, 0.1% at 20.
///
/// Thread safety: `add` from the memtable's single writer; `mayContain`
/// from any thread at the same time. A reader only looks for an entry
/// whose sequence number was published (release by the writer after the
/// whole memtable insert, acquire by the reader), so it never misses the
/// bits of an entry it may see; an older snapshot may see bits of entries
/// it ignores anyway (a false positive, never a false negative).
struct MemTableBloom {
    /// Probes per key. Six is optimal near 9 bits per key and costs only
    /// shifts and multiplies: every probe stays in the one cache line.
    static let probes = 6
    static let lineBytes = 64

    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private let lines: UInt64

    /// A filter over `footprint(bytes)` bytes of memory at `memory`, which
    /// it zeroes. The caller owns the memory and keeps it alive as long as
    /// the filter.
    init(memory: UnsafeMutableRawPointer, bytes: Int) {
        let size = Self.footprint(bytes)
        memory.initializeMemory(as: UInt64.self, repeating: 0, count: size / 8)
        words = memory.assumingMemoryBound(to: Atomic<UInt64>.self)
        lines = UInt64(size / Self.lineBytes)
    }

    /// Bytes of memory a filter of `bytes` uses (whole lines).
    static func footprint(_ bytes: Int) -> Int { max(1, bytes / lineBytes) * lineBytes }

    /// The hash `add` and `mayContain` take.
    @inline(__always)
    static func hash(_ userKey: UnsafeRawBufferPointer) -> UInt64 { XXPH3.hash64(userKey) }

    /// The first word of the cache line of `hash`: its upper 32 bits scaled
    /// to [0, lines) by multiply-shift.
    @inline(__always)
    private func line(_ hash: UInt64) -> UnsafeMutablePointer<Atomic<UInt64>> {
        words + Int(((hash >> 32) &* lines) >> 32) * (Self.lineBytes / 8)
    }

    /// Starts loading the cache line `add(hash)` will write.
    @inline(__always)
    func prefetch(_ hash: UInt64) { strata_prefetch_read(UnsafeRawPointer(line(hash))) }

    /// Records a key's hash. Single writer: a load and a store per word
    /// (no read-modify-write instruction needed).
    @inline(__always)
    func add(_ hash: UInt64) {
        let line = line(hash)
        var h = UInt32(truncatingIfNeeded: hash)
        for _ in 0..<Self.probes {
            let bit = Int(h >> 23)
            let word = line + (bit >> 6)
            let mask = UInt64(1) << UInt64(bit & 63)
            let old = word.pointee.load(ordering: .relaxed)
            if old & mask == 0 { word.pointee.store(old | mask, ordering: .relaxed) }
            h = h &* 0x9E37_79B9
        }
    }

    /// False only if no key with this hash was added.
    @inline(__always)
    func mayContain(_ hash: UInt64) -> Bool {
        let line = line(hash)
        var h = UInt32(truncatingIfNeeded: hash)
        for _ in 0..<Self.probes {
            let bit = Int(h >> 23)
            let mask = UInt64(1) << UInt64(bit & 63)
            if (line + (bit >> 6)).pointee.load(ordering: .relaxed) & mask == 0 { return false }
            h = h &* 0x9E37_79B9
        }
        return true
    }
}
