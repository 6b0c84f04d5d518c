import Strata

/// A half-open event-time window `[start, end)` in milliseconds.
public struct TimeWindow: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// First millisecond in the window.
    public var start: Int64
    /// First millisecond after the window.
    public var end: Int64

    /// A window `[start, end)`; `start < end` is the caller's to keep.
    @inlinable
    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    /// The last timestamp inside the window (`end − 1`): the window fires
    /// when the watermark reaches it.
    @inlinable public var maxTimestamp: Int64 { end - 1 }

    /// Whether the windows share at least one millisecond.
    public func intersects(_ other: TimeWindow) -> Bool { start < other.end && other.start < end }

    /// The smallest window covering both.
    public func cover(_ other: TimeWindow) -> TimeWindow {
        TimeWindow(start: min(start, other.start), end: max(end, other.end))
    }

    /// Ordered by start, then end.
    public static func < (a: TimeWindow, b: TimeWindow) -> Bool {
        a.start != b.start ? a.start < b.start : a.end < b.end
    }

    public var description: String { "[\(start), \(end))" }
}

/// The namespace part of a state key: empty for plain keyed state, a
/// window for window state (16 bytes: start and end, each big-endian with
/// the sign bit flipped, so windows of one key sort by start).
///
/// A state must use one namespace kind throughout (all `.none` or all
/// windows): the layout does not delimit namespaces of mixed kinds.
public struct Namespace: Hashable, Sendable, CustomStringConvertible {
    /// The window, or nil for the empty namespace.
    public let window: TimeWindow?

    @usableFromInline
    init(window: TimeWindow?) { self.window = window }

    /// The empty namespace (plain keyed state).
    public static let none = Namespace(window: nil)

    /// The namespace of one window.
    @inlinable
    public static func window(_ window: TimeWindow) -> Namespace { Namespace(window: window) }

    /// Bytes this namespace takes in a key.
    var encodedCount: Int { window == nil ? 0 : 16 }

    func encode(into out: inout [UInt8]) {
        guard let window else { return }
        Int64Codec().encode(window.start, into: &out)
        Int64Codec().encode(window.end, into: &out)
    }

    /// Decodes a namespace from `bytes` (empty or 16 bytes).
    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> Namespace {
        switch bytes.count {
        case 0: return .none
        case 16:
            let start = try Int64Codec().decode(UnsafeRawBufferPointer(rebasing: bytes[0..<8]))
            let end = try Int64Codec().decode(UnsafeRawBufferPointer(rebasing: bytes[8..<16]))
            return .window(TimeWindow(start: start, end: end))
        default:
            throw StrataError(.corruption, "state key: namespace of \(bytes.count) bytes, expected 0 or 16")
        }
    }

    public var description: String { window.map { "window\($0)" } ?? "none" }
}

/// A key of keyed state as it is stored: its key group and its encoding.
///
/// `encoded` is the key codec's bytes, preceded by their length as a
/// varint when the codec is not fixed-width (so a key is never a prefix of
/// another key's layout). Make one with `StateBackend.stateKey(_:codec:)`
/// once per event and pass it to every state the event touches.
public struct StateKey: Hashable, Sendable {
    /// `stable hash(key bytes) mod maxParallelism`: the unit of rescaling.
    public let keyGroup: UInt16
    /// The key as stored in the layout.
    public let encoded: [UInt8]

    /// A key from its parts; `StateBackend.stateKey(_:codec:)` computes them.
    @inlinable
    public init(keyGroup: UInt16, encoded: [UInt8]) {
        self.keyGroup = keyGroup
        self.encoded = encoded
    }

    /// Hashes the key bytes in one call (an array's own hashing feeds the
    /// hasher byte by byte: the write-back caches hash a key per event).
    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(keyGroup)
        encoded.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    @inlinable
    public static func == (a: StateKey, b: StateKey) -> Bool {
        a.keyGroup == b.keyGroup && a.encoded == b.encoded
    }

    /// The bytes a key is stored, hashed into its key group and routed by:
    /// the codec's encoding, preceded by its length as a varint when the
    /// codec is not fixed-width. A pipeline must route by exactly these
    /// bytes (`Pipeline(key:keyCodec:…)` does) so that a key's state lies in
    /// the key groups of the partition that receives the key.
    @inlinable
    public static func storedEncoding<C: StateCodec>(of key: C.Value, codec: C) -> [UInt8] {
        var encoded: [UInt8] = []
        if let width = codec.fixedWidth {
            encoded.reserveCapacity(width)
            codec.encode(key, into: &encoded)
        } else {
            var raw: [UInt8] = []
            codec.encode(key, into: &raw)
            encoded.reserveCapacity(raw.count + 2)
            KeyLengthPrefix.append(raw.count, into: &encoded)
            encoded.append(contentsOf: raw)
        }
        return encoded
    }
}

/// The composite key layout of operators.md:
/// `[state id: 2 BE][key group: 2 BE][key][namespace][user key]`.
enum StateKeyLayout {
    /// Bytes of the state id and key group prefix.
    static let headerSize = 4

    /// Appends `[state id][key group][key][namespace]`.
    @inline(__always)
    static func appendPrefix(stateID: UInt16, key: StateKey, namespace: Namespace, into out: inout [UInt8]) {
        out.append(UInt8(stateID >> 8))
        out.append(UInt8(stateID & 0xFF))
        out.append(UInt8(key.keyGroup >> 8))
        out.append(UInt8(key.keyGroup & 0xFF))
        out.append(contentsOf: key.encoded)
        namespace.encode(into: &out)
    }

    static func prefix(stateID: UInt16, key: StateKey, namespace: Namespace) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(headerSize + key.encoded.count + namespace.encodedCount + 8)
        appendPrefix(stateID: stateID, key: key, namespace: namespace, into: &out)
        return out
    }

    /// `[state id]`: the first byte string of the state's key range.
    static func stateLowerBound(_ stateID: UInt16) -> [UInt8] { [UInt8(stateID >> 8), UInt8(stateID & 0xFF)] }

    /// The first byte string after the state's key range.
    static func stateUpperBound(_ stateID: UInt16) -> [UInt8] {
        let next = UInt32(stateID) + 1
        return [UInt8(truncatingIfNeeded: next >> 8), UInt8(truncatingIfNeeded: next)]
            + (next > 0xFFFF ? [0] : [])
    }

    /// The key range `[lower, upper)` of key groups `first...last` of a state.
    static func keyGroupRange(_ stateID: UInt16, first: UInt16, last: UInt16) -> (lower: [UInt8], upper: [UInt8]) {
        let lower = stateLowerBound(stateID) + [UInt8(first >> 8), UInt8(first & 0xFF)]
        let next = UInt32(last) + 1
        let upper = next > 0xFFFF
            ? stateUpperBound(stateID)
            : stateLowerBound(stateID) + [UInt8(next >> 8), UInt8(next & 0xFF)]
        return (lower, upper)
    }

    /// The smallest byte string greater than every string starting with
    /// `prefix`, or nil if there is none (the prefix is all 0xFF).
    static func prefixSuccessor(_ prefix: [UInt8]) -> [UInt8]? {
        var out = prefix
        while let last = out.last {
            if last < 0xFF {
                out[out.count - 1] = last + 1
                return out
            }
            out.removeLast()
        }
        return nil
    }
}

/// Varint (LEB128) length prefix for variable-width keys.
@usableFromInline
enum KeyLengthPrefix {
    @inlinable
    static func append(_ length: Int, into out: inout [UInt8]) {
        var v = UInt32(length)
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Reads a length prefix; returns (length, bytes the prefix took).
    static func read(_ bytes: UnsafeRawBufferPointer) throws -> (Int, Int) {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        for i in 0..<min(bytes.count, 5) {
            let b = bytes[i]
            result |= UInt32(b & 0x7F) << shift
            if b < 0x80 { return (Int(result), i + 1) }
            shift += 7
        }
        throw StrataError(.corruption, "state key: malformed key length prefix")
    }
}
