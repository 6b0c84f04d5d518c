import Strata

/// One element of a keyed stream: a key, an event timestamp and a payload.
///
/// Timestamps are event time in milliseconds (any epoch; usually Unix
/// milliseconds). Operators that assign windows accept timestamps in
/// `Event.validTimestamps` (±2^61 ms, about ±73 million years) so that
/// window ends and `end + allowedLateness` never overflow `Int64`; anything
/// outside is rejected with `StrataError.invalidArgument`, never wrapped.
///
/// Thread safety: a value type; `Sendable` when its key and payload are.
public struct Event<Key, Payload> {
    /// The key the event is partitioned and aggregated by.
    public var key: Key
    /// Event time in milliseconds.
    public var timestamp: Int64
    /// The event's data.
    public var payload: Payload

    /// Creates an event.
    public init(key: Key, timestamp: Int64, payload: Payload) {
        self.key = key
        self.timestamp = timestamp
        self.payload = payload
    }

    /// The event timestamps windowed operators accept: ±2^61 ms. With window
    /// sizes, gaps and allowed lateness also at most 2^61, a window's end
    /// plus its lateness stays below 2^62 + 2^61 < `Int64.max`: no overflow.
    public static var validTimestamps: ClosedRange<Int64> { -eventTimestampBound...eventTimestampBound }

    /// The largest window size, session gap or allowed lateness: 2^61 ms.
    public static var maxDuration: Int64 { eventTimestampBound }
}

extension Event: Sendable where Key: Sendable, Payload: Sendable {}
extension Event: Equatable where Key: Equatable, Payload: Equatable {}
extension Event: Hashable where Key: Hashable, Payload: Hashable {}

/// 2^61 ms: the bound on event timestamps (±) and on window sizes, gaps and
/// lateness (see `Event.validTimestamps`). A plain constant so that hot
/// paths do not instantiate `Event`'s generic metadata to read it.
@usableFromInline let eventTimestampBound: Int64 = 1 << 61
