/// RocksDB's `StringAppendOperator`: each operand is appended to the
/// existing value with a separator between them.
///
/// * `fullMerge`: `existing + separator + op1 + separator + op2 …`; with no
///   existing value (absent or deleted) the result starts at the first
///   operand, without a leading separator.
/// * `partialMerge`: `left + separator + right` (the operator is associative,
///   as RocksDB's, which derives it from `AssociativeMergeOperator`).
///
/// Its `name` is `"StringAppendOperator"`, as RocksDB writes to the
/// `rocksdb.merge.operator` table property. RocksDB's `ldb` opens databases
/// with a `':'` string-append operator, so operands written with the default
/// `separator` of `":"` read the same in `ldb` as in Strata.
///
/// Thread safety: immutable; `Sendable`.
public struct StringAppendOperator: MergeOperator {
    /// The bytes put between two values (may be empty or longer than one byte).
    public let separator: [UInt8]

    /// An operator that joins values with `separator` (default `":"`, the
    /// separator `ldb` uses).
    public init(separator: String = ":") {
        self.separator = Array(separator.utf8)
    }

    /// An operator that joins values with the raw bytes `separator`.
    public init(separatorBytes: [UInt8]) {
        self.separator = separatorBytes
    }

    /// `"StringAppendOperator"` (RocksDB's name).
    public var name: String { "StringAppendOperator" }

    /// Joins `existing` (if any) and the operands, oldest first. Never fails.
    public func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) -> [UInt8]? {
        var result: [UInt8] = existing ?? []
        var first = existing == nil
        let total = operands.reduce(result.count) { $0 + $1.count + separator.count }
        result.reserveCapacity(total)
        for operand in operands {
            if !first { result.append(contentsOf: separator) }
            result.append(contentsOf: operand)
            first = false
        }
        return result
    }

    /// `left + separator + right`. Never fails.
    public func partialMerge(key: [UInt8], left: [UInt8], right: [UInt8]) -> [UInt8]? {
        left + separator + right
    }
}

/// RocksDB's `UInt64AddOperator` (`uint64add`): values and operands are
/// 8-byte little-endian integers, and merging adds them.
///
/// * Arithmetic wraps on overflow (two's complement, as RocksDB's unsigned
///   addition does): `Int64.max + 1` reads as `Int64.min`, and read as
///   unsigned the result equals RocksDB's.
/// * An operand or existing value that is not exactly 8 bytes counts as 0
///   (RocksDB logs an error and does the same); an absent or deleted
///   existing value counts as 0.
/// * The result is always 8 bytes.
///
/// Its `name` is `"UInt64AddOperator"`, RocksDB's. Encode operands with
/// `Int64AddOperator.encode(_:)` and read results with `decode(_:)`.
///
/// Thread safety: immutable; `Sendable`.
public struct Int64AddOperator: MergeOperator {
    /// An adding operator.
    public init() {}

    /// `"UInt64AddOperator"` (RocksDB's name).
    public var name: String { "UInt64AddOperator" }

    /// The 8-byte little-endian encoding of `value`.
    public static func encode(_ value: Int64) -> [UInt8] {
        let bits = UInt64(bitPattern: value)
        return (0..<8).map { UInt8(truncatingIfNeeded: bits >> (8 * $0)) }
    }

    /// The integer in an 8-byte little-endian value; 0 for any other length
    /// (as RocksDB's operator reads a malformed value).
    public static func decode(_ bytes: [UInt8]) -> Int64 {
        guard bytes.count == 8 else { return 0 }
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(bytes[i]) << (8 * i) }
        return Int64(bitPattern: bits)
    }

    /// The wrapping sum of `existing` (0 if nil) and every operand. Never fails.
    public func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) -> [UInt8]? {
        var sum = existing.map(Self.decode) ?? 0
        for operand in operands { sum = sum &+ Self.decode(operand) }
        return Self.encode(sum)
    }

    /// The wrapping sum of the two operands. Never fails.
    public func partialMerge(key: [UInt8], left: [UInt8], right: [UInt8]) -> [UInt8]? {
        Self.encode(Self.decode(left) &+ Self.decode(right))
    }
}
