/// Bytes after every block: 1 compression-type byte + fixed32 checksum
/// (spec §3).
package let blockTrailerSize = 5

/// Where a block lies in a table: offset and size of the stored block, not
/// counting its 5-byte trailer. Encoded as two varint64s (at most 20 bytes).
package struct BlockHandle: Sendable, Equatable, Hashable {
    /// Offset of the block's first byte in the file.
    package var offset: UInt64
    /// Stored (possibly compressed) size, trailer excluded.
    package var size: UInt64

    /// Largest encoding: two 10-byte varints.
    package static let maxEncodedLength = 20

    package init(offset: UInt64, size: UInt64) {
        self.offset = offset
        self.size = size
    }

    /// Appends the varint encoding to `out`.
    package func encode(to out: inout [UInt8]) {
        out.appendVarint64(offset)
        out.appendVarint64(size)
    }

    /// Reads a handle at the cursor, or nil if the bytes are not two varints.
    package static func decode(from cursor: inout ByteCursor) -> BlockHandle? {
        guard let offset = cursor.readVarint64(), let size = cursor.readVarint64() else { return nil }
        return BlockHandle(offset: offset, size: size)
    }
}
