/// The fixed-size tail of a block-based table (spec §11): checksum type,
/// where the metaindex (and, before format_version 6, the index) lies,
/// format_version and magic number.
///
/// Three layouts:
/// - format_version 0 (LevelDB's): 48 bytes, two handles, legacy magic,
///   implied kCRC32c.
/// - format_version 1...5: 53 bytes — checksum type byte, metaindex and
///   index handles zero-padded to 40 bytes, fixed32 version, magic.
/// - format_version 6 and 7 (RocksDB 8.6+ / 10.4+): 53 bytes — checksum
///   type byte, extended magic `3E 00 7A 00`, fixed32 footer checksum,
///   fixed32 base context checksum, fixed32 metaindex size, 24 reserved
///   zero bytes, fixed32 version, magic. The metaindex ends right before
///   the footer (its offset is implied by its size); the index handle is in
///   the metaindex under `rocksdb.index`. The footer checksum is the file's
///   checksum type over the 53 bytes with the checksum field zeroed, plus
///   the context modifier for the footer's own offset.
package struct Footer: Sendable, Equatable {
    /// Checksum type byte (0...4), kept raw so the reader can report an
    /// unknown value with its location.
    package var checksumType: UInt8
    /// Handle of the metaindex block.
    package var metaindexHandle: BlockHandle
    /// Handle of the index block. For format_version ≥ 6 the footer does
    /// not hold it: `decode` leaves (0, 0) and the reader takes it from the
    /// metaindex; `encode` ignores it.
    package var indexHandle: BlockHandle
    /// Table format_version (0...7).
    package var formatVersion: UInt32
    /// The per-file base of context checksums (format_version ≥ 6, never 0
    /// there); 0 for older versions, which have no context checksums.
    package var baseContextChecksum: UInt32

    /// Footer length for format_version ≥ 1.
    package static let encodedLength = 53
    /// Footer length for format_version 0.
    package static let legacyEncodedLength = 48
    /// Space for the two handles plus padding, in both layouts.
    static let handlesLength = 40
    /// kBlockBasedTableMagicNumber.
    package static let blockBasedMagic: UInt64 = 0x88E2_41B7_85F4_CFF7
    /// kLegacyBlockBasedTableMagicNumber (LevelDB's table magic).
    package static let legacyBlockBasedMagic: UInt64 = 0xDB47_7524_8B80_FB57
    /// The extended magic that opens part 2 of a format_version ≥ 6 footer
    /// (RocksDB `kExtendedMagic`): read as an older footer it would be two
    /// handles of size 0, so a damaged version number does not get far.
    static let extendedMagic: [UInt8] = [0x3E, 0x00, 0x7A, 0x00]
    /// Newest format_version any RocksDB release writes (6 from 8.6, 7
    /// from 10.4; RocksDB `kLatestBbtFormatVersion`): a larger one is a
    /// damaged footer, not a newer format. Strata reads all of them.
    package static let newestKnownFormatVersion: UInt32 = 7
    /// Newest format_version Strata reads (the same as RocksDB 11's).
    package static let newestFormatVersion: UInt32 = 7
    /// Newest format_version RocksDB 7.8.3 reads: what Strata writes by default.
    package static let newestFormatVersionOfRocksDB7: UInt32 = 5
    /// First format_version with context checksums and the checksummed
    /// footer (RocksDB `FormatVersionUsesContextChecksum`).
    package static let firstContextChecksumVersion: UInt32 = 6
    /// First format_version whose `rocksdb.compression` property names a
    /// compression manager (RocksDB `FormatVersionUsesCompressionManagerName`).
    package static let firstCompressionManagerVersion: UInt32 = 7

    /// A footer; `baseContextChecksum` must be non-zero for format_version ≥ 6.
    package init(checksumType: UInt8, metaindexHandle: BlockHandle, indexHandle: BlockHandle, formatVersion: UInt32,
                baseContextChecksum: UInt32 = 0) {
        self.checksumType = checksumType
        self.metaindexHandle = metaindexHandle
        self.indexHandle = indexHandle
        self.formatVersion = formatVersion
        self.baseContextChecksum = baseContextChecksum
    }

    /// True if blocks carry context checksums (format_version ≥ 6).
    package var usesContextChecksum: Bool { formatVersion >= Footer.firstContextChecksumVersion }

    /// The encoded footer (53 bytes; 48 for format_version 0).
    /// `footerOffset` is where the footer starts in the file: format_version
    /// ≥ 6 folds it into the footer checksum (older layouts ignore it), and
    /// the metaindex must end 5 bytes (its trailer) before it.
    package func encode(footerOffset: UInt64 = 0) -> [UInt8] {
        var out: [UInt8] = []
        if formatVersion == 0 {
            metaindexHandle.encode(to: &out)
            indexHandle.encode(to: &out)
            out.append(contentsOf: repeatElement(0, count: Footer.handlesLength - out.count))
            out.appendFixed64(Footer.legacyBlockBasedMagic)
            return out
        }
        out.append(checksumType)
        if usesContextChecksum {
            out.append(contentsOf: Footer.extendedMagic)
            out.appendFixed32(0)  // footer checksum, filled in below
            out.appendFixed32(baseContextChecksum)
            out.appendFixed32(UInt32(truncatingIfNeeded: metaindexHandle.size))
            out.append(contentsOf: repeatElement(0, count: 24))
        } else {
            metaindexHandle.encode(to: &out)
            indexHandle.encode(to: &out)
            out.append(contentsOf: repeatElement(0, count: 1 + Footer.handlesLength - out.count))
        }
        out.appendFixed32(formatVersion)
        out.appendFixed64(Footer.blockBasedMagic)
        if usesContextChecksum {
            let sum = Footer.checksum(of: out, type: checksumType, base: baseContextChecksum, footerOffset: footerOffset)
            for i in 0..<4 { out[5 + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt32(i))) }
        }
        return out
    }

    /// The footer checksum of a format_version ≥ 6 footer: the checksum
    /// type over all 53 bytes with the checksum field (bytes 5..<9) zeroed,
    /// plus the context modifier of the footer's offset. kNoChecksum (and an
    /// unknown type) checksums to 0, leaving only the modifier.
    static func checksum(of footer: [UInt8], type: UInt8, base: UInt32, footerOffset: UInt64) -> UInt32 {
        var copy = footer
        for i in 5..<9 { copy[i] = 0 }
        let plain = ChecksumType(rawValue: type).map { type in
            copy.withUnsafeBytes { blockChecksum(type, blockAndType: $0) }
        } ?? 0
        return plain &+ contextChecksumModifier(base: base, offset: footerOffset)
    }

    /// Decodes the footer from the last bytes of a file (`tail`: the last
    /// 53 bytes, or the whole file if it is shorter but at least 48 bytes);
    /// `tailOffset` is where `tail` starts in the file (format_version ≥ 6
    /// footers are checksummed with their offset and imply the metaindex
    /// offset). Offsets in errors are relative to the start of `tail`.
    package static func decode(_ tail: UnsafeRawBufferPointer, tailOffset: UInt64 = 0) throws(StrataError) -> Footer {
        guard tail.count >= legacyEncodedLength, let base = tail.baseAddress else {
            throw .corruption("file is too short (\(tail.count) bytes) to hold a table footer of \(legacyEncodedLength) or \(encodedLength) bytes")
        }
        let magic = loadFixed64(base + tail.count - 8)
        if magic == legacyBlockBasedMagic {
            let start = tail.count - legacyEncodedLength
            var cursor = ByteCursor(UnsafeRawBufferPointer(rebasing: tail[start..<(start + handlesLength)]))
            guard let meta = BlockHandle.decode(from: &cursor), let index = BlockHandle.decode(from: &cursor) else {
                throw .corruption("bad block handles in legacy footer", offset: UInt64(start))
            }
            return Footer(checksumType: ChecksumType.crc32c.rawValue, metaindexHandle: meta, indexHandle: index, formatVersion: 0)
        }
        guard magic == blockBasedMagic else {
            throw .corruption(
                "bad table magic number: found 0x\(String(magic, radix: 16)), expected 0x\(String(blockBasedMagic, radix: 16)) (block-based table); not an SST file?",
                offset: UInt64(tail.count - 8))
        }
        guard tail.count >= encodedLength else {
            throw .corruption("file is too short (\(tail.count) bytes) for a \(encodedLength)-byte table footer")
        }
        let start = tail.count - encodedLength
        let version = loadFixed32(base + tail.count - 12)
        guard version >= 1, version <= newestKnownFormatVersion else {
            // RocksDB: "Corrupt or unsupported format_version".
            throw .corruption(
                "corrupt table format_version \(version): expected 1...\(newestKnownFormatVersion) with this magic number (\(newestKnownFormatVersion) at most in any RocksDB)",
                offset: UInt64(tail.count - 12))
        }
        let checksum = tail[start]
        if version < firstContextChecksumVersion {
            var cursor = ByteCursor(UnsafeRawBufferPointer(rebasing: tail[(start + 1)..<(start + 1 + handlesLength)]))
            guard let meta = BlockHandle.decode(from: &cursor), let index = BlockHandle.decode(from: &cursor) else {
                throw .corruption("bad block handles in table footer", offset: UInt64(start + 1))
            }
            return Footer(checksumType: checksum, metaindexHandle: meta, indexHandle: index, formatVersion: version)
        }
        // format_version ≥ 6.
        let bytes = Array(UnsafeRawBufferPointer(rebasing: tail[start...]))
        guard Array(bytes[1..<5]) == extendedMagic else {
            throw .corruption(
                "bad extended magic number in format_version \(version) footer: found \(bytes[1..<5].map { hexByte($0) }.joined()), expected 3E007A00",
                offset: UInt64(start + 1))
        }
        let stored = bytes.withUnsafeBytes { loadFixed32($0.baseAddress! + 5) }
        let contextBase = bytes.withUnsafeBytes { loadFixed32($0.baseAddress! + 9) }
        let metaindexSize = bytes.withUnsafeBytes { loadFixed32($0.baseAddress! + 13) }
        guard contextBase != 0 else {
            throw .corruption("invalid base context checksum 0 in format_version \(version) footer (must be non-zero)",
                              offset: UInt64(start + 9))
        }
        let footerOffset = tailOffset &+ UInt64(start)
        let computed = Footer.checksum(of: bytes, type: checksum, base: contextBase, footerOffset: footerOffset)
        guard computed == stored else {
            throw .corruption(
                "footer checksum mismatch: stored 0x\(hex32(stored)), computed 0x\(hex32(computed)) for a footer at offset \(footerOffset)",
                offset: UInt64(start + 5))
        }
        // The last 8 reserved bytes are checked: non-zero means a feature
        // newer than format_version 7 as RocksDB 11 knows it.
        let reserved = bytes.withUnsafeBytes { loadFixed64($0.baseAddress! + 33) }
        guard reserved == 0 else {
            throw .notSupported(
                "table footer uses a future feature (reserved footer bytes 0x\(String(reserved, radix: 16)) are not zero); Strata reads format_version 6 and 7 as RocksDB 11 writes them",
                offset: UInt64(start + 33))
        }
        let metaEnd = footerOffset &- UInt64(blockTrailerSize)
        guard footerOffset >= UInt64(blockTrailerSize), UInt64(metaindexSize) <= metaEnd else {
            throw .corruption("metaindex size \(metaindexSize) in footer does not fit before the footer at offset \(footerOffset)",
                              offset: UInt64(start + 13))
        }
        return Footer(checksumType: checksum,
                      metaindexHandle: BlockHandle(offset: metaEnd - UInt64(metaindexSize), size: UInt64(metaindexSize)),
                      indexHandle: BlockHandle(offset: 0, size: 0), formatVersion: version, baseContextChecksum: contextBase)
    }
}

/// The amount a format_version ≥ 6 table adds to the checksum of the block
/// (or footer) at `offset` (RocksDB `ChecksumModifierForContext`): the base
/// XOR (low 32 bits of the offset + high 32 bits), wrapping; 0 when the base
/// is 0 (no context checksums). A block copied to another offset of the same
/// file, or into another file, then fails its checksum.
@inline(__always)
func contextChecksumModifier(base: UInt32, offset: UInt64) -> UInt32 {
    guard base != 0 else { return 0 }
    return base ^ (UInt32(truncatingIfNeeded: offset) &+ UInt32(truncatingIfNeeded: offset >> 32))
}
