import CXXHash

/// The xxHash functions RocksDB's block checksums use, from libxxhash
/// (Debian libxxhash-dev 0.8.x). All with seed 0.
///
/// Not for filters: the filter hash is `XXPH3`, a different function.
/// Thread safety: stateless.
package enum XXHash {
    /// XXH32 (kxxHash block checksums).
    package static func xxh32(_ data: UnsafeRawBufferPointer) -> UInt32 {
        XXH32(data.baseAddress, data.count, 0)
    }

    /// XXH64 (kxxHash64 block checksums use its low 32 bits).
    package static func xxh64(_ data: UnsafeRawBufferPointer) -> UInt64 {
        XXH64(data.baseAddress, data.count, 0)
    }

    /// The final XXH3_64bits (xxHash ≥ 0.8.0), unseeded (kXXH3 checksums).
    package static func xxh3(_ data: UnsafeRawBufferPointer) -> UInt64 {
        XXH3_64bits(data.baseAddress, data.count)
    }
}
