import Glibc

/// A compaction filter that removes values whose expiry time has passed.
///
/// Value layout: the application stores the expiry time in the value's
/// **last 8 bytes**, as a little-endian `Int64` count of milliseconds since
/// the Unix epoch (UTC):
///
/// ```
/// [ payload (any length) ][ expiresAt: Int64 LE, ms since 1970-01-01 ]
/// ```
///
/// `TTLCompactionFilter.encode(_:expiresAt:)` builds such a value and
/// `payload(of:)` / `expiry(of:)` take it apart. During compaction a value is
/// removed when `expiresAt <= now()`; values shorter than 8 bytes are kept
/// (they carry no timestamp). An expiry of `Int64.max` never expires.
///
/// What expiry does and does not promise (as RocksDB's `DBWithTTL`):
/// expired values disappear only when a compaction rewrites them, so a read
/// may still return an expired value until then (check `expiry(of:)` when
/// reading if that matters), and values visible to a live snapshot are kept
/// (Strata never filters what a snapshot can see; see docs/compaction.md).
///
/// The clock is injectable for tests; the default reads `CLOCK_REALTIME`.
///
/// Thread safety: `Sendable`; `now` must be safe to call from any thread.
public struct TTLCompactionFilter: CompactionFilter {
    /// Returns the current time in milliseconds since the Unix epoch.
    public let now: @Sendable () -> Int64

    /// A filter reading the time from `now` (default: the system clock).
    public init(now: @escaping @Sendable () -> Int64 = TTLCompactionFilter.systemMilliseconds) {
        self.now = now
    }

    /// `"TTLCompactionFilter"`.
    public var name: String { "TTLCompactionFilter" }

    /// `.remove` if the value's expiry time is at or before `now()`,
    /// `.keep` otherwise (and for values shorter than 8 bytes).
    public func filter(level: Int, key: [UInt8], value: [UInt8]) -> CompactionDecision {
        guard let expiry = Self.expiry(of: value) else { return .keep }
        return expiry <= now() ? .remove : .keep
    }

    /// `payload` followed by `expiresAt` (ms since the epoch) as 8 bytes little-endian.
    public static func encode(_ payload: [UInt8], expiresAt: Int64) -> [UInt8] {
        payload + Int64AddOperator.encode(expiresAt)
    }

    /// The expiry time stored in the last 8 bytes of `value`, or nil if it is shorter.
    public static func expiry(of value: [UInt8]) -> Int64? {
        guard value.count >= 8 else { return nil }
        return Int64AddOperator.decode(Array(value[(value.count - 8)...]))
    }

    /// `value` without its 8-byte expiry suffix (the whole value if shorter).
    public static func payload(of value: [UInt8]) -> [UInt8] {
        value.count >= 8 ? Array(value[..<(value.count - 8)]) : value
    }

    /// Milliseconds since the Unix epoch from `CLOCK_REALTIME`.
    @Sendable public static func systemMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
