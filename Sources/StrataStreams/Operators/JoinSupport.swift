import Strata

/// Which rows a join emits.
public enum JoinType: Sendable, Hashable {
    /// Pairs only.
    case inner
    /// Pairs, and every left event that found no right partner (emitted
    /// once no partner can arrive any more).
    case leftOuter
}

/// What a two-input join emits.
public enum JoinOutput<Key, Left, Right> {
    /// A left and a right event that match (same key; same window, or within the interval).
    case joined(left: Event<Key, Left>, right: Event<Key, Right>, window: TimeWindow?)
    /// Left outer join: a left event no right event matched.
    case unmatchedLeft(Event<Key, Left>, window: TimeWindow?)
    /// A left event that arrived after the watermark passed every result it could be part of.
    case lateLeft(Event<Key, Left>)
    /// A right event that arrived after the watermark passed every result it could be part of.
    case lateRight(Event<Key, Right>)
}

extension JoinOutput: Equatable where Key: Equatable, Left: Equatable, Right: Equatable {}
extension JoinOutput: Hashable where Key: Hashable, Left: Hashable, Right: Hashable {}
extension JoinOutput: Sendable where Key: Sendable, Left: Sendable, Right: Sendable {}

/// Counters of a join (since it was built).
public struct JoinStatistics: Sendable, Hashable {
    public var leftEvents = 0
    public var rightEvents = 0
    public var joined = 0
    public var unmatchedLeft = 0
    /// Late events (sent to the late output, never dropped silently).
    public var late = 0
    /// Buffered events removed because the watermark made a match impossible.
    public var pruned = 0
}

/// An operator with two inputs of one key type (a join): events in on
/// either side, watermarks in (the minimum of both inputs', which the
/// caller combines, e.g. with `WatermarkCombiner`), outputs collected.
public protocol TwoInputStreamOperator: AnyObject {
    associatedtype Key
    associatedtype Left
    associatedtype Right
    associatedtype Output
    /// Processes an event of the left input.
    func processLeft(_ event: Event<Key, Left>) throws
    /// Processes an event of the right input.
    func processRight(_ event: Event<Key, Right>) throws
    /// Advances event time; a watermark not above the current one is ignored.
    func processWatermark(_ watermark: Int64) throws
    /// Outputs since the last call, in order; empties the buffer.
    func takeOutput() -> [Output]
    /// The names of the operator's states in its backend.
    var stateNames: [String] { get }
}

/// A payload with a flag in front (1 byte: 1 = matched), for left entries
/// of an outer join.
struct FlaggedCodec<P: StateCodec>: StateCodec {
    let payload: P
    var fixedWidth: Int? { payload.fixedWidth.map { $0 + 1 } }
    func encode(_ value: (Bool, P.Value), into out: inout [UInt8]) {
        out.append(value.0 ? 1 : 0)
        payload.encode(value.1, into: &out)
    }
    func decode(_ bytes: UnsafeRawBufferPointer) throws -> (Bool, P.Value) {
        guard let flag = bytes.first, flag <= 1 else {
            throw StrataError(.corruption, "join buffer: entry of \(bytes.count) bytes without a 0/1 flag byte")
        }
        return (flag == 1, try payload.decode(UnsafeRawBufferPointer(rebasing: bytes[1...])))
    }
}

/// A payload with its event timestamp in front (8 bytes, order-preserving).
@usableFromInline
struct TimestampedCodec<P: StateCodec>: StateCodec {
    @usableFromInline let payload: P
    @inlinable init(payload: P) { self.payload = payload }
    @inlinable var fixedWidth: Int? { payload.fixedWidth.map { $0 + 8 } }
    @inlinable func encode(_ value: (Int64, P.Value), into out: inout [UInt8]) {
        Int64Codec().encode(value.0, into: &out)
        payload.encode(value.1, into: &out)
    }
    @inlinable func decode(_ bytes: UnsafeRawBufferPointer) throws -> (Int64, P.Value) {
        guard bytes.count >= 8 else { throw codecError("TimestampedCodec", expected: "≥ 8 bytes", got: bytes.count) }
        return (try Int64Codec().decode(UnsafeRawBufferPointer(rebasing: bytes[0..<8])),
                try payload.decode(UnsafeRawBufferPointer(rebasing: bytes[8...])))
    }
}

/// A time-ordered list of payloads, `[(timestamp, payload)]`, stored as one
/// value: `[n varint]` then `[timestamp 8, order-preserving][length varint][payload]`
/// per entry. Buffers that are small per key (a key's events within a join
/// interval, a pattern's pending events) live in one value-state entry, so
/// the write-back cache serves them with no engine iterator per event.
struct TimestampedListCodec<P: StateCodec>: StateCodec {
    let payload: P
    var fixedWidth: Int? { nil }

    func encode(_ value: [(Int64, P.Value)], into out: inout [UInt8]) {
        KeyLengthPrefix.append(value.count, into: &out)
        var scratch: [UInt8] = []
        for (ts, p) in value {
            Int64Codec().encode(ts, into: &out)
            scratch.removeAll(keepingCapacity: true)
            payload.encode(p, into: &scratch)
            scratch.withUnsafeBytes { MergeEncoding.appendElement($0, into: &out) }
        }
    }

    func decode(_ bytes: UnsafeRawBufferPointer) throws -> [(Int64, P.Value)] {
        var (count, offset) = try KeyLengthPrefix.read(bytes)
        var out: [(Int64, P.Value)] = []
        out.reserveCapacity(count)
        while count > 0 {
            guard offset + 8 <= bytes.count else {
                throw StrataError(.corruption, "buffer list: entry header at offset \(offset) past the end (\(bytes.count) bytes)")
            }
            let ts = try Int64Codec().decode(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + 8)]))
            offset += 8
            let (length, used) = try KeyLengthPrefix.read(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            offset += used
            guard offset + length <= bytes.count else {
                throw StrataError(.corruption, "buffer list: payload of \(length) bytes at offset \(offset) past the end")
            }
            out.append((ts, try payload.decode(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]))))
            offset += length
            count -= 1
        }
        guard offset == bytes.count else {
            throw StrataError(.corruption, "buffer list: \(bytes.count - offset) bytes after the last entry")
        }
        return out
    }
}

extension Array {
    /// Inserts keeping the array sorted by `timestamp`, after equal timestamps (arrival order).
    mutating func insertByTimestamp(_ element: Element, _ timestamp: (Element) -> Int64) {
        let ts = timestamp(element)
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if timestamp(self[mid]) <= ts { lo = mid + 1 } else { hi = mid }
        }
        insert(element, at: lo)
    }
}
