import Glibc

/// Queries a full-filter block of any built-in kind RocksDB 7.8.3 writes
/// (spec §7.1): FastLocalBloom, legacy Bloom, and the degenerate "always
/// false" (≤ 5 bytes) and "always true" (unknown or unsupported metadata,
/// e.g. Ribbon) filters. A filter never gives a false negative; anything it
/// cannot interpret answers "may match".
///
/// Thread safety: immutable after init, `Sendable`.
package struct FilterReader: Sendable {
    /// What the metadata says the filter is.
    package enum Kind: String, Sendable, CustomStringConvertible {
        case fastLocalBloom = "FastLocalBloom"
        case legacyBloom = "LegacyBloom"
        case alwaysFalse = "AlwaysFalse"
        case alwaysTrue = "AlwaysTrue"
        package var description: String { rawValue }
    }

    /// The kind of filter.
    package let kind: Kind
    /// Probes per key (0 for the degenerate kinds).
    package let numProbes: Int
    /// Size of the bit array in bits.
    package let bitCount: Int
    let bits: [UInt8]
    let lines: UInt32
    let log2LineBytes: Int

    /// Interprets `block` (the whole filter block, metadata included).
    package init(_ block: [UInt8]) {
        bits = block
        let n = block.count
        guard n > filterMetadataLength else {
            kind = .alwaysFalse; numProbes = 0; bitCount = 0; lines = 0; log2LineBytes = 0
            return
        }
        let length = n - filterMetadataLength
        let marker = Int8(bitPattern: block[length])
        if marker == -1 {
            let probes = Int(block[length + 2] & 31)
            let log2Line = Int((block[length + 2] >> 5) & 7) + 6
            if block[length + 1] == 0, (1...30).contains(probes), log2Line == 6,
               block[length + 3] == 0, block[length + 4] == 0, length >= 64 {
                kind = .fastLocalBloom; numProbes = probes; bitCount = (length / 64) * 512
                lines = UInt32(length / 64); log2LineBytes = 6
                return
            }
        } else if marker >= 1 {
            let storedLines = block.withUnsafeBytes { loadFixed32($0.baseAddress! + length + 1) }
            var log2: Int? = nil
            if storedLines > 0, length % Int(storedLines) == 0 {
                let lineBytes = length / Int(storedLines)
                if lineBytes > 0, lineBytes & (lineBytes - 1) == 0 { log2 = lineBytes.trailingZeroBitCount }
            }
            if let log2 {
                kind = .legacyBloom; numProbes = Int(marker); bitCount = length * 8
                lines = storedLines; log2LineBytes = log2
                return
            }
        }
        kind = .alwaysTrue; numProbes = 0; bitCount = length * 8; lines = 0; log2LineBytes = 0
    }

    /// False only if `userKey` was certainly not added to the filter.
    package func mayMatch(_ userKey: UnsafeRawBufferPointer) -> Bool {
        switch kind {
        case .alwaysFalse: return false
        case .alwaysTrue: return true
        case .fastLocalBloom:
            let h = XXPH3.hash64(userKey)
            let line = Int((UInt64(UInt32(truncatingIfNeeded: h)) &* UInt64(lines)) >> 32)
            return bits.withUnsafeBufferPointer { b in
                let base = line * 64
                var h2 = UInt32(truncatingIfNeeded: h >> 32)
                for _ in 0..<numProbes {
                    let bit = Int(h2 >> 23)
                    if b[base + (bit >> 3)] & (UInt8(1) << UInt8(bit & 7)) == 0 { return false }
                    h2 = h2 &* 0x9E37_79B9
                }
                return true
            }
        case .legacyBloom:
            var h = LegacyBloomHash.hash(userKey)
            let delta = (h >> 17) | (h << 15)
            let base = Int(h % lines) << log2LineBytes
            let mask = UInt32((1 << (log2LineBytes + 3)) - 1)
            return bits.withUnsafeBufferPointer { b in
                for _ in 0..<numProbes {
                    let bit = Int(h & mask)
                    if b[base + bit / 8] & (UInt8(1) << UInt8(bit % 8)) == 0 { return false }
                    h = h &+ delta
                }
                return true
            }
        }
    }

    /// False only if `userKey` was certainly not added to the filter.
    package func mayMatch(_ userKey: [UInt8]) -> Bool {
        userKey.withUnsafeBytes { mayMatch($0) }
    }
}

/// The textbook Bloom false-positive rate (1 − e^(−k/b))^k for `numProbes`
/// = k hash functions and b = `bitsPerKey` (= m/n). Cache-local Blooms are
/// slightly worse than this for the same bits per key.
package func bloomFalsePositiveRate(bitsPerKey: Double, numProbes: Int) -> Double {
    guard bitsPerKey > 0, numProbes > 0 else { return 1 }
    let k = Double(numProbes)
    return pow(1 - exp(-k / bitsPerKey), k)
}
