/// Size of the metadata trailer every built-in RocksDB filter ends with
/// (spec §7.1).
let filterMetadataLength = 5

/// Milli-bits per key as RocksDB rounds them
/// (`BloomFilterPolicy`: `millibits_per_key_ = bits_per_key * 1000 + 0.500001`).
func filterMillibits(bitsPerKey: Double) -> Int {
    Int((bitsPerKey * 1000 + 0.500001).rounded(.down))
}

/// Builds a FastLocalBloom full filter (table format_version 5, RocksDB's
/// `FastLocalBloomBitsBuilder`): 64-byte cache lines, one line per key chosen
/// by the low half of XXPH3, probes within the line by the high half.
///
/// Adjacent identical hashes are added once, as RocksDB does, so the filter
/// is byte-identical to RocksDB's for the same keys.
package struct FastLocalBloomBuilder {
    let millibits: Int
    var hashes: [UInt64] = []

    /// `bitsPerKey` > 0 (RocksDB's `NewBloomFilterPolicy(bits_per_key)`).
    package init(bitsPerKey: Double) {
        millibits = max(1, filterMillibits(bitsPerKey: bitsPerKey))
    }

    /// Number of distinct (adjacent-deduplicated) hashes added so far.
    package var count: Int { hashes.count }

    /// Adds a user key.
    package mutating func addKey(_ userKey: UnsafeRawBufferPointer) {
        let h = XXPH3.hash64(userKey)
        if hashes.last != h { hashes.append(h) }
    }

    /// Probes per key for `millibits` per key (`FastLocalBloomImpl::ChooseNumProbes`).
    package static func numProbes(millibits: Int) -> Int {
        if millibits <= 2080 { return 1 }
        if millibits <= 3580 { return 2 }
        if millibits <= 5100 { return 3 }
        if millibits <= 6640 { return 4 }
        if millibits <= 8300 { return 5 }
        if millibits <= 10070 { return 6 }
        if millibits <= 11720 { return 7 }
        if millibits <= 14001 { return 8 }
        if millibits <= 16050 { return 9 }
        if millibits <= 18300 { return 10 }
        if millibits <= 22001 { return 11 }
        if millibits <= 25501 { return 12 }
        if millibits > 50000 { return 24 }
        return (millibits - 1) / 2000 - 1
    }

    /// The finished filter block (bit array + 5-byte metadata). Resets the
    /// builder.
    package mutating func finish() -> [UInt8] {
        let n = hashes.count
        var rawLength = (UInt64(n) * UInt64(millibits) + 7999) / 8000
        rawLength = min(rawLength, 0xFFFF_FFC0)
        let length = Int((rawLength + 63) & ~UInt64(63))
        let probes = Self.numProbes(millibits: millibits)
        var out = [UInt8](repeating: 0, count: length + filterMetadataLength)
        if length > 0 {
            let lines = UInt64(length / 64)
            out.withUnsafeMutableBufferPointer { bits in
                for h in hashes {
                    let line = Int((UInt64(UInt32(truncatingIfNeeded: h)) &* lines) >> 32)
                    let base = line * 64
                    var h2 = UInt32(truncatingIfNeeded: h >> 32)
                    for _ in 0..<probes {
                        let bit = Int(h2 >> 23)
                        bits[base + (bit >> 3)] |= UInt8(1) << UInt8(bit & 7)
                        h2 = h2 &* 0x9E37_79B9
                    }
                }
            }
        }
        out[length] = 0xFF  // -1: a "new" Bloom implementation
        out[length + 1] = 0  // sub-implementation 0: FastLocalBloom
        out[length + 2] = UInt8(probes)  // upper bits 0: 64-byte cache lines
        hashes.removeAll(keepingCapacity: true)
        return out
    }
}

/// Builds the legacy Bloom full filter that RocksDB writes for table
/// format_version ≤ 4 (`LegacyBloomBitsBuilder`): odd number of 512-bit
/// lines, LevelDB's Hash32, probes by double hashing within the line.
package struct LegacyBloomBuilder {
    let bitsPerKey: Int
    let probes: Int
    var hashes: [UInt32] = []

    /// `bitsPerKey` > 0; rounded to an integer as RocksDB does.
    package init(bitsPerKey: Double) {
        let millibits = filterMillibits(bitsPerKey: bitsPerKey)
        self.bitsPerKey = max(1, (millibits + 500) / 1000)
        probes = min(30, max(1, Int(Double(self.bitsPerKey) * 0.69)))
    }

    /// Number of distinct (adjacent-deduplicated) hashes added so far.
    package var count: Int { hashes.count }

    /// Adds a user key.
    package mutating func addKey(_ userKey: UnsafeRawBufferPointer) {
        let h = LegacyBloomHash.hash(userKey)
        if hashes.last != h { hashes.append(h) }
    }

    /// The finished filter block. Resets the builder.
    package mutating func finish() -> [UInt8] {
        let lineBits = 512  // CACHE_LINE_SIZE 64 bytes × 8 on x86-64
        var totalBits = 0
        var lines = 0
        if !hashes.isEmpty {
            let raw = min(hashes.count * bitsPerKey, 0xFFFF_0000)
            lines = (raw + lineBits - 1) / lineBits
            if lines % 2 == 0 { lines += 1 }  // odd, so more hash bits choose the line
            totalBits = lines * lineBits
        }
        let length = totalBits / 8
        var out = [UInt8](repeating: 0, count: length + filterMetadataLength)
        if lines > 0 {
            out.withUnsafeMutableBufferPointer { bits in
                for hash in hashes {
                    var h = hash
                    let delta = (h >> 17) | (h << 15)
                    let base = Int(h % UInt32(lines)) * 64
                    for _ in 0..<probes {
                        let bit = Int(h & 511)
                        bits[base + bit / 8] |= UInt8(1) << UInt8(bit % 8)
                        h = h &+ delta
                    }
                }
            }
        }
        out[length] = UInt8(probes)
        out.withUnsafeMutableBytes { storeFixed32($0.baseAddress! + length + 1, UInt32(lines)) }
        hashes.removeAll(keepingCapacity: true)
        return out
    }
}
