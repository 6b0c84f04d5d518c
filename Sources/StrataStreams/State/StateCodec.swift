import Foundation
import Strata

/// A stable byte encoding for keys, values, map keys and accumulators kept
/// in the engine.
///
/// Contract: `decode(encode(v)) == v`, and the bytes for a value never
/// change between releases (they are on disk and in checkpoints). A codec
/// with a `fixedWidth` always writes exactly that many bytes; the key
/// layout then stores keys without a length prefix. Codecs are values
/// with no shared state, so they are `Sendable` and usable from any thread.
public protocol StateCodec<Value>: Sendable {
    associatedtype Value
    /// The number of bytes every encoding has, or nil if it varies.
    var fixedWidth: Int? { get }
    /// Appends the encoding of `value` to `out`.
    func encode(_ value: Value, into out: inout [UInt8])
    /// Decodes a value from exactly `bytes` (the whole buffer is the value).
    /// Throws `.corruption` when the bytes are not an encoding of this codec.
    func decode(_ bytes: UnsafeRawBufferPointer) throws -> Value
}

extension StateCodec {
    /// The encoding of `value` as a new array.
    @inlinable
    public func encoded(_ value: Value) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(fixedWidth ?? 16)
        encode(value, into: &out)
        return out
    }

    /// Decodes a value from an array.
    @inlinable
    public func decode(_ bytes: [UInt8]) throws -> Value {
        try bytes.withUnsafeBytes { try decode($0) }
    }
}

@usableFromInline
func codecError(_ codec: String, expected: String, got: Int) -> StrataError {
    StrataError(.corruption, "\(codec): expected \(expected), got \(got) bytes")
}

/// Int64 as 8 bytes big-endian with the sign bit flipped, so the byte order
/// of encodings is the numeric order (useful for keys and map keys).
public struct Int64Codec: StateCodec {
    @inlinable public init() {}
    @inlinable public var fixedWidth: Int? { 8 }
    @inlinable public func encode(_ value: Int64, into out: inout [UInt8]) {
        let bits = UInt64(bitPattern: value) ^ (1 << 63)
        withUnsafeBytes(of: bits.bigEndian) { out.append(contentsOf: $0) }
    }
    @inlinable
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Int64 {
        guard bytes.count == 8 else { throw codecError("Int64Codec", expected: "8 bytes", got: bytes.count) }
        let bits = UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self))
        return Int64(bitPattern: bits ^ (1 << 63))
    }
}

/// UInt64 as 8 bytes big-endian (byte order = numeric order).
public struct UInt64Codec: StateCodec {
    @inlinable public init() {}
    @inlinable public var fixedWidth: Int? { 8 }
    @inlinable public func encode(_ value: UInt64, into out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }
    @inlinable
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> UInt64 {
        guard bytes.count == 8 else { throw codecError("UInt64Codec", expected: "8 bytes", got: bytes.count) }
        return UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self))
    }
}

/// Int32 as 4 bytes big-endian with the sign bit flipped (byte order = numeric order).
public struct Int32Codec: StateCodec {
    @inlinable public init() {}
    @inlinable public var fixedWidth: Int? { 4 }
    @inlinable public func encode(_ value: Int32, into out: inout [UInt8]) {
        let bits = UInt32(bitPattern: value) ^ (1 << 31)
        withUnsafeBytes(of: bits.bigEndian) { out.append(contentsOf: $0) }
    }
    @inlinable
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Int32 {
        guard bytes.count == 4 else { throw codecError("Int32Codec", expected: "4 bytes", got: bytes.count) }
        return Int32(bitPattern: UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self)) ^ (1 << 31))
    }
}

/// Double as its IEEE-754 bits, 8 bytes little-endian (not order-preserving).
public struct DoubleCodec: StateCodec {
    @inlinable public init() {}
    @inlinable public var fixedWidth: Int? { 8 }
    @inlinable public func encode(_ value: Double, into out: inout [UInt8]) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { out.append(contentsOf: $0) }
    }
    @inlinable
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Double {
        guard bytes.count == 8 else { throw codecError("DoubleCodec", expected: "8 bytes", got: bytes.count) }
        return Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)))
    }
}

/// Bool as one byte, 0 or 1.
public struct BoolCodec: StateCodec {
    @inlinable public init() {}
    @inlinable public var fixedWidth: Int? { 1 }
    public func encode(_ value: Bool, into out: inout [UInt8]) { out.append(value ? 1 : 0) }
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        guard bytes.count == 1, bytes[0] <= 1 else {
            throw codecError("BoolCodec", expected: "one byte 0 or 1", got: bytes.count)
        }
        return bytes[0] == 1
    }
}

/// A String as its UTF-8 bytes (variable width; byte order = code point order).
public struct StringCodec: StateCodec {
    @inlinable public init() {}
    public var fixedWidth: Int? { nil }
    public func encode(_ value: String, into out: inout [UInt8]) { out.append(contentsOf: value.utf8) }
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw StrataError(.corruption, "StringCodec: \(bytes.count) bytes are not valid UTF-8")
        }
        return s
    }
}

/// Raw bytes, as they are (variable width).
public struct BytesCodec: StateCodec {
    @inlinable public init() {}
    public var fixedWidth: Int? { nil }
    public func encode(_ value: [UInt8], into out: inout [UInt8]) { out.append(contentsOf: value) }
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] { Array(bytes) }
}

/// Any `Codable` type as JSON with sorted keys (stable across runs and
/// releases of Foundation's encoder for the same type definition). The
/// default for user types; prefer a fixed-width codec on hot paths.
public struct CodableCodec<T: Codable & Sendable>: StateCodec {
    @inlinable public init() {}
    public var fixedWidth: Int? { nil }
    public func encode(_ value: T, into out: inout [UInt8]) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "+inf", negativeInfinity: "-inf", nan: "nan")
        // With non-finite floats spelled out, encoding fails only when the
        // type's own encode(to:) throws: a programming error in that type.
        guard let data = try? encoder.encode(value) else {
            preconditionFailure("CodableCodec: \(T.self) cannot be encoded as JSON")
        }
        out.append(contentsOf: data)
    }
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> T {
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(
                positiveInfinity: "+inf", negativeInfinity: "-inf", nan: "nan")
            return try decoder.decode(T.self, from: Data(bytes))
        } catch {
            throw StrataError(.corruption, "CodableCodec<\(T.self)>: \(bytes.count) bytes are not its JSON: \(error)")
        }
    }
}
