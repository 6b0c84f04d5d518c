/// Internal keys: user key ‖ fixed64((sequence << 8) | type) (spec section 1).
///
/// Internal-key order is the user key ascending, then the packed trailer
/// descending, so for one user key the newest entry comes first.

/// The kind of an entry, as stored in the low byte of an internal key's
/// trailer and as the tag of a write-batch record (RocksDB `ValueType`).
package enum ValueType: UInt8, Sendable, CustomStringConvertible {
    /// A deletion marker (kTypeDeletion).
    case deletion = 0x00
    /// A value (kTypeValue).
    case value = 0x01
    /// A merge operand (kTypeMerge).
    case merge = 0x02
    /// A single deletion: deletes one earlier Put (kTypeSingleDeletion).
    case singleDeletion = 0x07
    /// A range tombstone [key, value) (kTypeRangeDeletion); lives in the
    /// `rocksdb.range_del` block, never in data blocks.
    case rangeDeletion = 0x0F

    /// `kValueTypeForSeek` in RocksDB 7.8.3 (kTypeWideColumnEntity, 0x16):
    /// the highest type code, used in seek keys and shortened index
    /// separators so that they sort before every real entry of the user key.
    package static let forSeekCode: UInt8 = 0x16

    package var description: String { String(rawValue) }
}

/// Largest sequence number (56 bits): `kMaxSequenceNumber`.
package let maxSequenceNumber: UInt64 = (1 << 56) - 1

/// Packs a sequence number and a type code into an internal-key trailer.
@inlinable
package func packSequenceAndType(_ sequence: UInt64, _ type: UInt8) -> UInt64 {
    (sequence << 8) | UInt64(type)
}

/// A decoded internal key viewed in place (no copy): user key bytes, sequence
/// number and type code. Valid only while the memory it points into is alive.
package struct ParsedInternalKey {
    /// The user key.
    package var userKey: UnsafeRawBufferPointer
    /// The sequence number (56 bits).
    package var sequence: UInt64
    /// The raw type code (see `ValueType`; other codes are possible in RocksDB files).
    package var typeCode: UInt8

    /// Splits `internalKey`; `nil` if it is shorter than the 8-byte trailer.
    @inlinable @inline(__always)
    package init?(_ internalKey: UnsafeRawBufferPointer) {
        guard internalKey.count >= 8, let base = internalKey.baseAddress else { return nil }
        let n = internalKey.count - 8
        let trailer = loadFixed64(base + n)
        userKey = UnsafeRawBufferPointer(start: base, count: n)
        sequence = trailer >> 8
        typeCode = UInt8(truncatingIfNeeded: trailer)
    }

    /// The type, if it is one Strata knows.
    package var type: ValueType? { ValueType(rawValue: typeCode) }
}

/// Internal-key helpers.
package enum InternalKey {
    /// Builds user key ‖ trailer.
    @inlinable
    package static func make(_ userKey: [UInt8], sequence: UInt64, type: UInt8) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(userKey.count + 8)
        out.append(contentsOf: userKey)
        out.appendFixed64(packSequenceAndType(sequence, type))
        return out
    }

    /// Appends user key ‖ trailer to `out`.
    @inlinable
    package static func append(to out: inout [UInt8], userKey: UnsafeRawBufferPointer, sequence: UInt64, type: UInt8) {
        out.append(contentsOf: userKey)
        out.appendFixed64(packSequenceAndType(sequence, type))
    }

    /// The seek key for `userKey` at `sequence`: sorts before every entry of
    /// `userKey` visible at `sequence` and after every newer one.
    @inlinable
    package static func seekKey(_ userKey: [UInt8], sequence: UInt64 = maxSequenceNumber) -> [UInt8] {
        make(userKey, sequence: sequence, type: ValueType.forSeekCode)
    }

    /// Internal-key order: user key ascending (bytewise), trailer descending.
    /// Keys shorter than 8 bytes (malformed) compare as plain bytes.
    @inlinable @inline(__always)
    package static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        guard a.count >= 8, b.count >= 8 else { return Bytewise.compare(a, b) }
        let ua = UnsafeRawBufferPointer(start: a.baseAddress, count: a.count - 8)
        let ub = UnsafeRawBufferPointer(start: b.baseAddress, count: b.count - 8)
        let r = Bytewise.compare(ua, ub)
        if r != 0 { return r }
        let ta = loadFixed64(a.baseAddress! + a.count - 8)
        let tb = loadFixed64(b.baseAddress! + b.count - 8)
        return ta > tb ? -1 : (ta < tb ? 1 : 0)
    }

    /// Internal-key order on arrays.
    @inlinable
    package static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in compare(pa, pb) } }
    }

    /// The user-key part of an internal key (a view).
    @inlinable @inline(__always)
    package static func userKey(_ internalKey: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: internalKey.baseAddress, count: max(0, internalKey.count - 8))
    }
}

/// Which order a block's keys follow.
package enum KeyOrder: Sendable {
    /// Internal keys (data blocks, internal-key index blocks, range-del blocks).
    case internalKey
    /// Plain bytewise (user-key index blocks, metaindex, properties).
    case bytewise

    /// Three-way comparison in this order.
    @inlinable @inline(__always)
    package func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        switch self {
        case .internalKey: return InternalKey.compare(a, b)
        case .bytewise: return Bytewise.compare(a, b)
        }
    }
}
