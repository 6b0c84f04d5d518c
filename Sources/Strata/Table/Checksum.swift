/// Block checksum type, stored in the footer's first byte (RocksDB
/// `ChecksumType`, table/format.cc). One type per file.
public enum ChecksumType: UInt8, Sendable, CaseIterable {
    /// kNoChecksum: the trailer's checksum field is ignored.
    case none = 0
    /// kCRC32c: masked CRC-32C of block ‖ type byte.
    case crc32c = 1
    /// kxxHash: XXH32 of block ‖ type byte.
    case xxHash = 2
    /// kxxHash64: low 32 bits of XXH64 of block ‖ type byte.
    case xxHash64 = 3
    /// kXXH3 (RocksDB 7.8.3's default): low 32 bits of XXH3 of the block,
    /// XOR the type byte times 0x6B9083D9.
    case xxh3 = 4

    /// The name RocksDB prints (`kCRC32c`, `kXXH3`, …).
    public var rocksDBName: String {
        switch self {
        case .none: return "kNoChecksum"
        case .crc32c: return "kCRC32c"
        case .xxHash: return "kxxHash"
        case .xxHash64: return "kxxHash64"
        case .xxh3: return "kXXH3"
        }
    }
}

/// The multiplier RocksDB folds the compression-type byte in with for kXXH3
/// (table/format.cc `ComputeBuiltinChecksumWithLastByte`): XXH3 is computed
/// over the block alone and the last byte mixed in afterwards, so the hash
/// can run over the block buffer without copying the trailer next to it.
let xxh3TypeMultiplier: UInt32 = 0x6B90_83D9

/// The trailer checksum of a stored block: `blockAndType` is the stored
/// (possibly compressed) block bytes followed by the one compression-type
/// byte, exactly as they lie in the file.
public func blockChecksum(_ type: ChecksumType, blockAndType: UnsafeRawBufferPointer) -> UInt32 {
    switch type {
    case .none:
        return 0
    case .crc32c:
        return CRC32C.mask(CRC32C.value(blockAndType))
    case .xxHash:
        return XXHash.xxh32(blockAndType)
    case .xxHash64:
        return UInt32(truncatingIfNeeded: XXHash.xxh64(blockAndType))
    case .xxh3:
        guard blockAndType.count > 0 else { return 0 }
        let n = blockAndType.count - 1
        let last = UInt32(blockAndType[n])
        let h = UInt32(truncatingIfNeeded: XXHash.xxh3(UnsafeRawBufferPointer(rebasing: blockAndType[0..<n])))
        return h ^ (last &* xxh3TypeMultiplier)
    }
}
