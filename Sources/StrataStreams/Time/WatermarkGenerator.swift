import Strata

/// Produces watermarks for one input from the timestamps it observes.
///
/// A watermark `w` is a promise that no more events with timestamp ≤ `w`
/// are expected; an event that arrives with timestamp ≤ the current
/// watermark is *late*. Generators are driven by the caller: `observe` for
/// every event, `currentWatermark(now:)` whenever the caller wants to emit
/// (after each event, every N events, or periodically in processing time, as
/// Flink's `autoWatermarkInterval`). `now` is processing time in
/// milliseconds, supplied by the caller so that tests and replays are
/// deterministic (the generators never read a clock).
///
/// Contract: `currentWatermark` never decreases from one call to the next;
/// it is `Int64.min` until the generator knows anything.
///
/// Thread safety: value types, used by one thread (the input's reader).
/// Flink: `WatermarkGenerator` (`onEvent`, `onPeriodicEmit`).
public protocol WatermarkGenerator {
    /// Observes one event's timestamp, at processing time `now`.
    mutating func observe(eventTimestamp: Int64, now: Int64)
    /// The watermark as of processing time `now`; non-decreasing.
    mutating func currentWatermark(now: Int64) -> Int64
    /// Whether the input counts as idle at `now`: a combiner
    /// (`WatermarkCombiner`) then leaves it out of the minimum so that a
    /// silent input does not hold back every window. Default: never idle;
    /// wrap a generator in `IdleDetectingWatermarks` to detect idleness.
    mutating func isIdle(now: Int64) -> Bool
}

extension WatermarkGenerator {
    /// Never idle.
    public mutating func isIdle(now: Int64) -> Bool { false }
}

/// Bounded out-of-orderness: events arrive at most `maxOutOfOrderness` ms
/// behind the largest timestamp seen so far, so the watermark is
/// `maxSeen − maxOutOfOrderness − 1`.
///
/// The `− 1` makes an event exactly `maxOutOfOrderness` behind still on
/// time (the watermark promises timestamps ≤ w will not come; an event at
/// `maxSeen − δ` is within the bound). Flink does the same
/// (`BoundedOutOfOrdernessWatermarks`); the design note writes the rule as
/// `maxSeen − δ`, see docs/operators.md.
///
/// Processing time is ignored: the watermark moves only with events.
public struct BoundedOutOfOrdernessWatermarks: WatermarkGenerator, Sendable {
    /// The largest lateness (ms) an event may have relative to the largest
    /// timestamp seen before it without being late. Non-negative.
    public let maxOutOfOrderness: Int64
    /// The largest timestamp observed, `nil` before the first event.
    public private(set) var maxTimestamp: Int64?

    /// Creates a generator. `maxOutOfOrderness` must be in 0...2^62
    /// (`StrataError.invalidArgument` otherwise).
    public init(maxOutOfOrderness: Int64) throws {
        guard (0...(1 << 62)).contains(maxOutOfOrderness) else {
            throw StrataError.invalidArgument(
                "watermarks: maxOutOfOrderness \(maxOutOfOrderness) ms is out of range; expected 0...2^62")
        }
        self.maxOutOfOrderness = maxOutOfOrderness
    }

    /// Records `eventTimestamp` as the maximum if it is larger.
    public mutating func observe(eventTimestamp: Int64, now: Int64) {
        if let current = maxTimestamp, current >= eventTimestamp { return }
        maxTimestamp = eventTimestamp
    }

    /// `maxSeen − maxOutOfOrderness − 1`, or `Int64.min` before any event
    /// (saturating: never wraps below `Int64.min`).
    public func currentWatermark(now: Int64) -> Int64 {
        guard let maxTimestamp else { return .min }
        let (w, overflow) = maxTimestamp.subtractingReportingOverflow(maxOutOfOrderness &+ 1)
        return overflow ? .min : w
    }
}

/// Marks an input idle when it has produced no event for `idleTimeout` ms of
/// processing time, so that a combiner stops waiting for it.
///
/// While idle the wrapped generator's watermark is still reported (it does
/// not move without events). The idleness clock starts at the first call
/// that passes a `now` (an input that never produces anything becomes idle
/// `idleTimeout` after it was first asked). Flink: `WatermarksWithIdleness`.
public struct IdleDetectingWatermarks<Base: WatermarkGenerator>: WatermarkGenerator {
    /// The wrapped generator.
    public private(set) var base: Base
    /// Processing time (ms) without events after which the input is idle. Positive.
    public let idleTimeout: Int64
    private var lastActivity: Int64?

    /// Wraps `base`. `idleTimeout` must be positive (`StrataError.invalidArgument` otherwise).
    public init(_ base: Base, idleTimeout: Int64) throws {
        guard idleTimeout > 0 else {
            throw StrataError.invalidArgument("watermarks: idleTimeout \(idleTimeout) ms must be positive")
        }
        self.base = base
        self.idleTimeout = idleTimeout
    }

    /// Forwards to the base generator and restarts the idleness clock.
    public mutating func observe(eventTimestamp: Int64, now: Int64) {
        base.observe(eventTimestamp: eventTimestamp, now: now)
        lastActivity = now
    }

    /// The base generator's watermark.
    public mutating func currentWatermark(now: Int64) -> Int64 {
        if lastActivity == nil { lastActivity = now }
        return base.currentWatermark(now: now)
    }

    /// True when `now − lastEvent ≥ idleTimeout`.
    public mutating func isIdle(now: Int64) -> Bool {
        guard let lastActivity else {
            self.lastActivity = now
            return false
        }
        return now &- lastActivity >= idleTimeout
    }
}
