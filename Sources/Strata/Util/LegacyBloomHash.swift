/// LevelDB's `Hash` (RocksDB util/hash.cc `Hash`) with seed 0xBC9F1D34: the
/// key hash of the legacy Bloom filter that RocksDB writes for table
/// format_version 0...4.
///
/// Pitfall (spec §7.3): the 1...3 tail bytes are **sign-extended** from int8,
/// as RocksDB's C++ does with `static_cast<int8_t>`; an unsigned tail gives a
/// different hash for any key whose tail has a byte ≥ 0x80.
///
/// Thread safety: stateless.
package enum LegacyBloomHash {
    /// The seed RocksDB's `BloomHash` passes.
    package static let seed: UInt32 = 0xBC9F_1D34
    static let m: UInt32 = 0xC6A4_A793

    /// Hash32 of `data` with `seed`.
    package static func hash(_ data: UnsafeRawBufferPointer, seed: UInt32 = LegacyBloomHash.seed) -> UInt32 {
        let n = data.count
        var h = seed ^ (UInt32(truncatingIfNeeded: n) &* m)
        guard let p = data.baseAddress else { return h }
        var i = 0
        while i + 4 <= n {
            let w = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            h = h &+ w
            h = h &* m
            h ^= h >> 16
            i += 4
        }
        let rest = n - i
        @inline(__always) func signed(_ k: Int) -> UInt32 {
            UInt32(bitPattern: Int32(Int8(bitPattern: p.load(fromByteOffset: i + k, as: UInt8.self))))
        }
        if rest == 3 { h = h &+ (signed(2) << 16) }
        if rest >= 2 { h = h &+ (signed(1) << 8) }
        if rest >= 1 {
            h = h &+ signed(0)
            h = h &* m
            h ^= h >> 24
        }
        return h
    }

    /// Hash32 of `data` with the Bloom seed.
    package static func hash(_ data: [UInt8]) -> UInt32 {
        data.withUnsafeBytes { hash($0) }
    }
}
