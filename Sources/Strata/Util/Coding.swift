/// Fixed-width little-endian integers, LEB128 varints, zigzag varsigned
/// integers and length-prefixed byte strings: the primitive encodings of
/// every RocksDB format (spec section 0).
///
/// Encoders append to `[UInt8]`; decoders read from raw memory and return
/// `nil` on truncated or over-long input, never trap. Callers turn `nil`
/// into a `StrataError.corruption` that names the file and offset.

extension Array where Element == UInt8 {
    /// Appends `value` as 2 little-endian bytes.
    @inlinable
    package mutating func appendFixed16(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value))
        append(UInt8(truncatingIfNeeded: value >> 8))
    }

    /// Appends `value` as 4 little-endian bytes.
    @inlinable
    package mutating func appendFixed32(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 24))
    }

    /// Appends `value` as 8 little-endian bytes.
    @inlinable
    package mutating func appendFixed64(_ value: UInt64) {
        appendFixed32(UInt32(truncatingIfNeeded: value))
        appendFixed32(UInt32(truncatingIfNeeded: value >> 32))
    }

    /// Appends `value` as a LEB128 varint (1 to 5 bytes).
    @inlinable
    package mutating func appendVarint32(_ value: UInt32) {
        appendVarint64(UInt64(value))
    }

    /// Appends `value` as a LEB128 varint (1 to 10 bytes).
    @inlinable
    package mutating func appendVarint64(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(truncatingIfNeeded: v))
    }

    /// Appends `value` zigzag-encoded as a varint64 (RocksDB `PutVarsignedint64`).
    @inlinable
    package mutating func appendVarsigned64(_ value: Int64) {
        appendVarint64(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Appends a varint32 length followed by the bytes.
    @inlinable
    package mutating func appendLengthPrefixed(_ bytes: [UInt8]) {
        appendVarint32(UInt32(bytes.count))
        append(contentsOf: bytes)
    }

    /// Appends a varint32 length followed by the bytes.
    @inlinable
    package mutating func appendLengthPrefixed(_ bytes: UnsafeRawBufferPointer) {
        appendVarint32(UInt32(bytes.count))
        append(contentsOf: bytes)
    }
}

/// Number of bytes `value` takes as a varint.
@inlinable
package func varintLength(_ value: UInt64) -> Int {
    var v = value
    var n = 1
    while v >= 0x80 { v >>= 7; n += 1 }
    return n
}

/// Reads a little-endian UInt32 at `p` (no alignment needed).
@inlinable
package func loadFixed32(_ p: UnsafeRawPointer) -> UInt32 {
    UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
}

/// Reads a little-endian UInt64 at `p` (no alignment needed).
@inlinable
package func loadFixed64(_ p: UnsafeRawPointer) -> UInt64 {
    UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
}

/// Reads a little-endian UInt16 at `p` (no alignment needed).
@inlinable
package func loadFixed16(_ p: UnsafeRawPointer) -> UInt16 {
    UInt16(littleEndian: p.loadUnaligned(as: UInt16.self))
}

/// Writes `value` little-endian at `p`.
@inlinable
package func storeFixed32(_ p: UnsafeMutableRawPointer, _ value: UInt32) {
    p.storeBytes(of: value.littleEndian, as: UInt32.self)
}

/// Writes `value` little-endian at `p`.
@inlinable
package func storeFixed64(_ p: UnsafeMutableRawPointer, _ value: UInt64) {
    p.storeBytes(of: value.littleEndian, as: UInt64.self)
}

/// Decodes a varint32 from `[p, limit)`. Returns the value and the pointer
/// just past it, or `nil` if the input ends early or the value needs more
/// than 32 bits.
@inlinable
package func decodeVarint32(_ p: UnsafeRawPointer, _ limit: UnsafeRawPointer) -> (UInt32, UnsafeRawPointer)? {
    // Fast path: one byte (lengths in blocks are almost always < 128).
    if p < limit {
        let b = p.load(as: UInt8.self)
        if b < 0x80 { return (UInt32(b), p + 1) }
    }
    guard let (v, next) = decodeVarint64(p, limit), v <= UInt64(UInt32.max) else { return nil }
    return (UInt32(v), next)
}

/// Decodes a varint64 from `[p, limit)`. Returns the value and the pointer
/// just past it, or `nil` if the input ends early or is longer than 10 bytes.
@inlinable
package func decodeVarint64(_ p: UnsafeRawPointer, _ limit: UnsafeRawPointer) -> (UInt64, UnsafeRawPointer)? {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    var q = p
    while shift <= 63 && q < limit {
        let b = q.load(as: UInt8.self)
        q += 1
        if shift == 63 && b > 1 { return nil }  // would overflow 64 bits
        result |= UInt64(b & 0x7F) << shift
        if b < 0x80 { return (result, q) }
        shift += 7
    }
    return nil
}

/// A forward reader over a byte buffer for formats decoded field by field
/// (footers, handles, properties, version edits, write batches).
///
/// Every read returns `nil` when the buffer does not hold a complete field;
/// the cursor does not move in that case. The buffer must outlive the cursor.
package struct ByteCursor {
    /// The bytes being decoded.
    package let buffer: UnsafeRawBufferPointer
    /// Offset of the next unread byte.
    package private(set) var position: Int

    /// A cursor at `position` in `buffer`.
    package init(_ buffer: UnsafeRawBufferPointer, position: Int = 0) {
        self.buffer = buffer
        self.position = position
    }

    /// Bytes not yet read.
    package var remaining: Int { buffer.count - position }
    /// True when every byte has been read.
    package var isAtEnd: Bool { position >= buffer.count }

    @inlinable
    var cursorPointer: UnsafeRawPointer { buffer.baseAddress! + position }
    @inlinable
    var endPointer: UnsafeRawPointer { buffer.baseAddress! + buffer.count }

    /// Reads a varint32.
    package mutating func readVarint32() -> UInt32? {
        guard remaining > 0, let (v, next) = decodeVarint32(cursorPointer, endPointer) else { return nil }
        position = next - buffer.baseAddress!
        return v
    }

    /// Reads a varint64.
    package mutating func readVarint64() -> UInt64? {
        guard remaining > 0, let (v, next) = decodeVarint64(cursorPointer, endPointer) else { return nil }
        position = next - buffer.baseAddress!
        return v
    }

    /// Reads a zigzag varint64 (RocksDB `GetVarsignedint64`).
    package mutating func readVarsigned64() -> Int64? {
        guard let u = readVarint64() else { return nil }
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// Reads one byte.
    package mutating func readByte() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { position += 1 }
        return buffer[position]
    }

    /// Reads a fixed64.
    package mutating func readFixed64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        defer { position += 8 }
        return loadFixed64(cursorPointer)
    }

    /// Reads `count` raw bytes (a view into the buffer, no copy).
    package mutating func readBytes(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, remaining >= count else { return nil }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: buffer[position..<position + count])
    }

    /// Reads a varint32 length and that many bytes (a view, no copy).
    package mutating func readLengthPrefixed() -> UnsafeRawBufferPointer? {
        let saved = position
        guard let n = readVarint32(), let bytes = readBytes(Int(n)) else {
            position = saved
            return nil
        }
        return bytes
    }

    /// Skips `count` bytes.
    package mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, remaining >= count else { return false }
        position += count
        return true
    }
}
