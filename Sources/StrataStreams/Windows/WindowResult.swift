/// Why a window produced a result.
public enum WindowFiring: Hashable, Sendable {
    /// The watermark passed the window's end (its `maxTimestamp`): the
    /// regular result. A session window extended after it fired fires on
    /// time again when the watermark passes its new end.
    case onTime
    /// An event arrived after the window fired but within the allowed
    /// lateness: the result again, updated with that event (Flink's
    /// `EventTimeTrigger` firing on a late element). Downstream should treat
    /// it as replacing the earlier result for the same key and window (for
    /// sessions: replacing every result of the windows it covers).
    case lateUpdate
}

/// One result of a window: `(key, window start, window end, value)`.
///
/// Thread safety: a value type; `Sendable` when `Key` and `Value` are.
public struct WindowResult<Key, Value> {
    /// The key the window belongs to.
    public var key: Key
    /// The window, `[start, end)`.
    public var window: TimeWindow
    /// The aggregate (or full-window function result).
    public var value: Value
    /// Why it fired.
    public var firing: WindowFiring

    /// Creates a result.
    public init(key: Key, window: TimeWindow, value: Value, firing: WindowFiring) {
        self.key = key
        self.window = window
        self.value = value
        self.firing = firing
    }
}

extension WindowResult: Sendable where Key: Sendable, Value: Sendable {}
extension WindowResult: Equatable where Key: Equatable, Value: Equatable {}
extension WindowResult: Hashable where Key: Hashable, Value: Hashable {}

/// Counters of a window operator since it was created (not persisted).
///
/// Formulas: `eventsAccepted + lateEventsDropped == eventsProcessed`;
/// `lateEventsDropped` counts the events handed to the late output (every
/// one of them: nothing is dropped silently).
public struct WindowOperatorStatistics: Hashable, Sendable {
    /// Events given to `processElement`.
    public var eventsProcessed: Int = 0
    /// Events added to at least one window.
    public var eventsAccepted: Int = 0
    /// Events beyond the allowed lateness of all their windows, sent to the late output.
    public var lateEventsDropped: Int = 0
    /// Results with `firing == .onTime`.
    public var onTimeResults: Int = 0
    /// Results with `firing == .lateUpdate`.
    public var lateUpdates: Int = 0
    /// Session merges (an event joining two or more existing sessions, or one existing and its own).
    public var sessionMerges: Int = 0
    /// Timer registrations asked of the timer service.
    public var timersRegistered: Int = 0
    /// Timers delivered by the timer service.
    public var timersFired: Int = 0
    /// Windows (or, for sliding windows, groups of panes) whose state was cleared.
    public var windowsCleared: Int = 0

    /// All zero.
    public init() {}
}
