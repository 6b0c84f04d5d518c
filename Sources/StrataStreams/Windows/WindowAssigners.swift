import Strata

/// Fixed-size, non-overlapping windows: `[start, start + size)` with
/// `start = t − ((t − offset) mod size)` (floor modulo, so negative
/// timestamps land in the window below them). Each event is in exactly one
/// window. Flink: `TumblingEventTimeWindows.of(size, offset)`.
public struct TumblingWindows: Hashable, Sendable {
    /// Window length in ms, in 1...2^61.
    public let size: Int64
    /// Shift of the window grid in ms, normalized to 0..<size (an offset of
    /// −1 h with 1-day windows is 23 h: the same grid).
    public let offset: Int64

    /// Validates and creates the assigner (`StrataError.invalidArgument` for
    /// a size outside 1...2^61 or |offset| ≥ size).
    public init(size: Int64, offset: Int64 = 0) throws {
        guard size > 0, size <= eventTimestampBound, offset.magnitude < size.magnitude else {
            throw StrataError.invalidArgument(
                "tumbling windows: size \(size) ms, offset \(offset) ms; expected 1 ≤ size ≤ 2^61 and |offset| < size")
        }
        self.size = size
        self.offset = offset.modulo(size)
    }

    /// The window that holds timestamp `t`.
    @inlinable
    public func window(containing t: Int64) -> TimeWindow {
        let start = t - (t - offset).modulo(size)
        return TimeWindow(start: start, end: start + size)
    }
}

/// Overlapping windows of `size` ms starting every `slide` ms:
/// every `[s, s + size)` with `s ≡ offset (mod slide)` and `s ≤ t < s + size`.
/// An event is in `size / slide` windows (when `slide` divides `size`).
///
/// The operator does not update `size / slide` accumulators per event: it
/// keeps one partial aggregate per *pane* — the grid of `gcd(size, slide)` ms
/// cells (for 10 s / 2 s: 2 s panes) — and combines a window's panes when it
/// fires. Flink: `SlidingEventTimeWindows.of(size, slide, offset)` (which
/// does keep one accumulator per window).
public struct SlidingWindows: Hashable, Sendable {
    /// Window length in ms, in 1...2^61.
    public let size: Int64
    /// Distance between window starts in ms, in 1...size.
    public let slide: Int64
    /// Shift of the window grid in ms, normalized to 0..<slide.
    public let offset: Int64
    /// Pane length: `gcd(size, slide)`; every window is a whole number of panes.
    public let paneSize: Int64

    /// Validates and creates the assigner (`StrataError.invalidArgument` for
    /// a size outside 1...2^61, a slide outside 1...size, or |offset| ≥ slide).
    /// A slide larger than the size would leave events in no window (Flink
    /// drops them silently); it is rejected instead.
    public init(size: Int64, slide: Int64, offset: Int64 = 0) throws {
        guard size > 0, size <= eventTimestampBound, slide > 0, slide <= size,
            offset.magnitude < slide.magnitude
        else {
            throw StrataError.invalidArgument(
                "sliding windows: size \(size) ms, slide \(slide) ms, offset \(offset) ms; expected 1 ≤ slide ≤ size ≤ 2^61 and |offset| < slide")
        }
        self.size = size
        self.slide = slide
        self.offset = offset.modulo(slide)
        var (a, b) = (size, slide)
        while b != 0 { (a, b) = (b, a % b) }
        paneSize = a
    }

    /// The pane that holds timestamp `t`.
    @inlinable
    public func pane(containing t: Int64) -> TimeWindow {
        let start = t - (t - offset).modulo(paneSize)
        return TimeWindow(start: start, end: start + paneSize)
    }

    /// The start of the last window (the one ending last) that holds `t`.
    @inlinable
    public func lastWindowStart(containing t: Int64) -> Int64 { t - (t - offset).modulo(slide) }

    /// Every window that holds `t`, the one ending last first. Every
    /// timestamp of a pane is in the same windows.
    public func windows(containing t: Int64) -> [TimeWindow] {
        var result: [TimeWindow] = []
        var start = lastWindowStart(containing: t)
        while start > t - size {
            result.append(TimeWindow(start: start, end: start + size))
            start -= slide
        }
        return result
    }

    /// The panes a window is made of, in time order.
    @inlinable
    public func panes(of window: TimeWindow) -> [TimeWindow] {
        stride(from: window.start, to: window.end, by: Int(paneSize)).map {
            TimeWindow(start: $0, end: $0 + paneSize)
        }
    }
}

/// Windows of activity per key: an event at `t` opens `[t, t + gap)`, and
/// windows of the same key that overlap or touch (`a.start ≤ b.end` and
/// `b.start ≤ a.end`, Flink's `TimeWindow.intersects`) merge into one, so
/// two events exactly `gap` apart are in one session. Flink:
/// `EventTimeSessionWindows.withGap(gap)`.
public struct SessionWindows: Hashable, Sendable {
    /// Inactivity gap in ms, in 1...2^61.
    public let gap: Int64

    /// Validates and creates the assigner (`StrataError.invalidArgument` for a gap outside 1...2^61).
    public init(gap: Int64) throws {
        guard gap > 0, gap <= eventTimestampBound else {
            throw StrataError.invalidArgument("session windows: gap \(gap) ms; expected 1 ≤ gap ≤ 2^61")
        }
        self.gap = gap
    }

    /// The window one event at `t` opens before merging: `[t, t + gap)`.
    @inlinable
    public func window(for t: Int64) -> TimeWindow { TimeWindow(start: t, end: t + gap) }

    /// Whether two session windows merge (they overlap or touch).
    @inlinable
    public static func mergeable(_ a: TimeWindow, _ b: TimeWindow) -> Bool {
        a.start <= b.end && b.start <= a.end
    }
}

/// How a window operator assigns events to windows.
public enum WindowAssigner: Hashable, Sendable {
    /// Fixed, non-overlapping windows.
    case tumbling(TumblingWindows)
    /// Overlapping windows, aggregated per pane.
    case sliding(SlidingWindows)
    /// Per-key sessions that merge.
    case session(SessionWindows)

    /// `.tumbling(TumblingWindows(size:offset:))`.
    public static func tumbling(size: Int64, offset: Int64 = 0) throws -> WindowAssigner {
        .tumbling(try TumblingWindows(size: size, offset: offset))
    }

    /// `.sliding(SlidingWindows(size:slide:offset:))`.
    public static func sliding(size: Int64, slide: Int64, offset: Int64 = 0) throws -> WindowAssigner {
        .sliding(try SlidingWindows(size: size, slide: slide, offset: offset))
    }

    /// `.session(SessionWindows(gap:))`.
    public static func session(gap: Int64) throws -> WindowAssigner {
        .session(try SessionWindows(gap: gap))
    }
}
