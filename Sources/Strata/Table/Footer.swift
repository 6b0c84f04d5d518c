/// The fixed-size tail of a block-based table (spec §11): checksum type,
/// metaindex and index handles, format_version and magic number.
///
/// format_version ≥ 1 uses the 53-byte footer; format_version 0 (LevelDB's
/// layout) the 48-byte one with its own magic and implied kCRC32c.
public struct Footer: Sendable, Equatable {
    /// Checksum type byte (0...4), kept raw so the reader can report an
    /// unknown value with its location.
    public var checksumType: UInt8
    /// Handle of the metaindex block.
    public var metaindexHandle: BlockHandle
    /// Handle of the index block.
    public var indexHandle: BlockHandle
    /// Table format_version (0...5).
    public var formatVersion: UInt32

    /// Footer length for format_version ≥ 1.
    public static let encodedLength = 53
    /// Footer length for format_version 0.
    public static let legacyEncodedLength = 48
    /// Space for the two handles plus padding, in both layouts.
    static let handlesLength = 40
    /// kBlockBasedTableMagicNumber.
    public static let blockBasedMagic: UInt64 = 0x88E2_41B7_85F4_CFF7
    /// kLegacyBlockBasedTableMagicNumber (LevelDB's table magic).
    public static let legacyBlockBasedMagic: UInt64 = 0xDB47_7524_8B80_FB57
    /// Newest format_version any RocksDB release writes (6 from 8.6, 7
    /// from 10.x): a larger one is a damaged footer, not a newer format.
    public static let newestKnownFormatVersion: UInt32 = 7
    /// Newest format_version RocksDB 7.8.3 reads.
    public static let newestFormatVersion: UInt32 = 5

    public init(checksumType: UInt8, metaindexHandle: BlockHandle, indexHandle: BlockHandle, formatVersion: UInt32) {
        self.checksumType = checksumType
        self.metaindexHandle = metaindexHandle
        self.indexHandle = indexHandle
        self.formatVersion = formatVersion
    }

    /// The encoded footer (53 bytes; 48 for format_version 0).
    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        if formatVersion == 0 {
            metaindexHandle.encode(to: &out)
            indexHandle.encode(to: &out)
            out.append(contentsOf: repeatElement(0, count: Footer.handlesLength - out.count))
            out.appendFixed64(Footer.legacyBlockBasedMagic)
            return out
        }
        out.append(checksumType)
        metaindexHandle.encode(to: &out)
        indexHandle.encode(to: &out)
        out.append(contentsOf: repeatElement(0, count: 1 + Footer.handlesLength - out.count))
        out.appendFixed32(formatVersion)
        out.appendFixed64(Footer.blockBasedMagic)
        return out
    }

    /// Decodes the footer from the last bytes of a file (`tail`: the last
    /// 53 bytes, or the whole file if it is shorter but at least 48 bytes).
    /// Offsets in errors are relative to the start of `tail`.
    public static func decode(_ tail: UnsafeRawBufferPointer) throws(StrataError) -> Footer {
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
        guard version >= 1, version <= newestFormatVersion else {
            // 6 and 7 are what newer RocksDB releases write: valid files
            // Strata cannot read. Anything else is no format at all — a
            // damaged footer (RocksDB: "Corrupt or unsupported format_version").
            if version > newestFormatVersion && version <= newestKnownFormatVersion {
                throw .notSupported("table format_version \(version): Strata reads 0...\(newestFormatVersion) (RocksDB 7.8.3's range)",
                                    offset: UInt64(tail.count - 12))
            }
            throw .corruption(
                "corrupt table format_version \(version): expected 1...\(newestFormatVersion) with this magic number (\(newestKnownFormatVersion) at most in any RocksDB)",
                offset: UInt64(tail.count - 12))
        }
        let checksum = tail[start]
        var cursor = ByteCursor(UnsafeRawBufferPointer(rebasing: tail[(start + 1)..<(start + 1 + handlesLength)]))
        guard let meta = BlockHandle.decode(from: &cursor), let index = BlockHandle.decode(from: &cursor) else {
            throw .corruption("bad block handles in table footer", offset: UInt64(start + 1))
        }
        return Footer(checksumType: checksum, metaindexHandle: meta, indexHandle: index, formatVersion: version)
    }
}
