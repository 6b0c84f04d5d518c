import Strata

/// Keyed event-time windows over engine-backed state: tumbling, sliding
/// (per-pane partial aggregates) and session windows (merging), with an
/// incremental `AggregateFunction` or a full-window function over the
/// window's elements; results fire when the watermark passes a window's end;
/// allowed lateness re-fires; events beyond it go to the late output.
///
/// Semantics (pinned by WindowOperatorTests and compared with an in-memory
/// reference on random streams):
/// - A window `[start, end)` fires `.onTime` when a watermark ≥ `end − 1`
///   arrives, if it holds anything; results carry (key, window, value).
/// - A window is *late* once the watermark ≥ `end − 1 + allowedLateness`; its
///   state is then removed (by a timer: nothing stays behind).
/// - An event whose windows are all late goes to the late output
///   (`takeLateEvents()`, counted in `statistics.lateEventsDropped`). Any
///   other event is added to its non-late windows; each of those that already
///   fired (end − 1 ≤ watermark) fires again at once as `.lateUpdate`.
/// - Sessions: an event opens `[t, t + gap)` and merges with every session
///   of its key it overlaps or touches; the merged window fires when the
///   watermark passes its end (again, if it had fired before and grew).
///
/// State layout (names for `StateBackend.entryCount(ofStateNamed:)` in
/// `stateNames`): `NAME/contents` — an `AggregatingState` or `ListState`,
/// namespace = the window (sliding: the pane; session: the session's state
/// window); `NAME/timers` — one end-of-window timer per (key, window) and one
/// cleanup timer at `end − 1 + allowedLateness` when the lateness is positive
/// (the same timer when it is 0); `NAME/sessions` (session windows only) — a
/// `ValueState` holding the key's `SessionWindowSet`. See docs/operators.md.
///
/// Per-event cost of an existing window: one `StateKey` encoding, one add to
/// the contents' write-back cache, one lookup in an in-memory set of
/// (key, pane) whose timers are registered — no engine read or write and no
/// timer registration (that happens once per new (key, pane)). Sessions also
/// read (and, when the session grows, write) the key's session set.
///
/// Outputs accumulate in the operator until taken (`takeResults()`,
/// `takeLateEvents()`), in the order they were produced: deterministic for a
/// given input. The results of one watermark come in window-end order, ties
/// in timer order (key group, key bytes, window).
///
/// Thread safety: none — one operator per partition thread, like its
/// `StateBackend`. Durability: that of the backend (`backend.checkpoint`);
/// the operator keeps no state of its own beyond the set of registered
/// timers, a cache rebuilt on demand (registrations are idempotent), and
/// its current watermark, which a restored operator gets from its input
/// again (Flink does the same: watermarks are not checkpointed).
public final class WindowOperator<KeyCodec: StateCodec, Input, Value> {
    /// The key type.
    public typealias Key = KeyCodec.Value

    /// The operator's name, the prefix of its state names.
    public let name: String
    /// How events are assigned to windows.
    public let assigner: WindowAssigner
    /// How long (ms) after a window's end it still accepts events and
    /// re-fires. Flink: `WindowedStream.allowedLateness`. Default 0.
    public let allowedLateness: Int64
    /// The largest watermark processed; `Int64.min` before the first.
    @inlinable public var currentWatermark: Int64 { storedWatermark }
    /// Counters since creation.
    @inlinable public var statistics: WindowOperatorStatistics { storedStatistics }
    /// Storage of `currentWatermark` (settable by the inlinable paths).
    @usableFromInline var storedWatermark: Int64 = .min
    /// Storage of `statistics`.
    @usableFromInline var storedStatistics = WindowOperatorStatistics()
    /// Bound on the in-memory set of (key, pane) whose timers are known to
    /// be registered. When it is full it is emptied (registering again is
    /// idempotent, so this costs timer writes, never correctness). Each entry
    /// is about 80 bytes plus the key. Default 2^20.
    public var maxCachedPanes: Int = 1 << 20

    @usableFromInline let backend: StateBackend
    @usableFromInline let keyCodec: KeyCodec
    @usableFromInline let contents: WindowContents<Key, Input, Value>
    @usableFromInline let timers: TimerService
    let sessions: ValueState<SessionWindowSetCodec>?
    @usableFromInline var knownPanes: Set<WindowPaneKey> = []
    /// Session timers delivered during the current `processWatermark`. A
    /// session timer handler may register a timer that is already due in
    /// the timer service's current scan (range-deleted, not yet delivered);
    /// the service then delivers it twice. The second delivery is skipped.
    @usableFromInline var sessionTimersFired: Set<KeyedTimer> = []
    @usableFromInline var results: [WindowResult<Key, Value>] = []
    @usableFromInline var lateEvents: [Event<Key, Input>] = []


    /// An operator that aggregates incrementally: each window (sliding: each
    /// pane) keeps one `F.Accumulator`, the window's value is
    /// `function.result`. State names start with `name`, which must be unique
    /// in the backend. Throws `StrataError.invalidArgument` for an empty name
    /// or a lateness outside 0...2^61, and what the backend throws.
    @inlinable
    public convenience init<F: AggregateFunction>(
        name: String, backend: StateBackend, keyCodec: KeyCodec, assigner: WindowAssigner,
        allowedLateness: Int64 = 0, aggregate function: F
    ) throws where F.Input == Input, F.Output == Value {
        // Inlinable, so that the contents' closures (the per-event path) are
        // compiled for the caller's concrete types, not generically.
        try Self.validate(name: name, allowedLateness: allowedLateness)
        let contents = try WindowContents<Key, Input, Value>.aggregating(
            function, backend: backend, name: "\(name)/contents")
        try self.init(
            name: name, backend: backend, keyCodec: keyCodec, assigner: assigner,
            allowedLateness: allowedLateness, contents: contents)
    }

    /// An operator that keeps every element of a window (sliding: of a pane)
    /// in a `ListState` and calls `process(key, window, elements)` when the
    /// window fires; elements in arrival order (sliding: pane by pane;
    /// sessions: merged sessions' elements after the survivor's). Flink:
    /// `ProcessWindowFunction`. Same errors as the aggregating initializer.
    public convenience init<C: StateCodec>(
        name: String, backend: StateBackend, keyCodec: KeyCodec, assigner: WindowAssigner,
        allowedLateness: Int64 = 0, elementCodec: C,
        process: @escaping (Key, TimeWindow, [Input]) throws -> Value
    ) throws where C.Value == Input {
        try Self.validate(name: name, allowedLateness: allowedLateness)
        let contents = try WindowContents<Key, Input, Value>.list(
            elementCodec: elementCodec, backend: backend, name: "\(name)/contents", function: process)
        try self.init(
            name: name, backend: backend, keyCodec: keyCodec, assigner: assigner,
            allowedLateness: allowedLateness, contents: contents)
    }

    /// The operator over validated arguments and its contents' state.
    @usableFromInline
    init(
        name: String, backend: StateBackend, keyCodec: KeyCodec, assigner: WindowAssigner,
        allowedLateness: Int64, contents: WindowContents<Key, Input, Value>
    ) throws {
        self.name = name
        self.backend = backend
        self.keyCodec = keyCodec
        self.assigner = assigner
        self.allowedLateness = allowedLateness
        self.contents = contents
        timers = try backend.timerService(named: "\(name)/timers")
        sessions = try Self.sessionState(assigner, backend: backend, name: name)
    }

    @usableFromInline
    static func validate(name: String, allowedLateness: Int64) throws {
        guard !name.isEmpty else { throw StrataError.invalidArgument("window operator: the name is empty") }
        guard allowedLateness >= 0 && allowedLateness <= eventTimestampBound else {
            throw StrataError.invalidArgument(
                "window operator '\(name)': allowedLateness \(allowedLateness) ms; expected 0...2^61")
        }
    }

    private static func sessionState(
        _ assigner: WindowAssigner, backend: StateBackend, name: String
    ) throws -> ValueState<SessionWindowSetCodec>? {
        guard case .session = assigner else { return nil }
        return try backend.valueState(StateDescriptor("\(name)/sessions"), valueCodec: SessionWindowSetCodec())
    }

    /// The names of every state the operator keeps (contents, timers, and
    /// the session sets), for `StateBackend.entryCount(ofStateNamed:)`.
    public var stateNames: [String] {
        [contents.stateName, "\(name)/timers"] + (sessions == nil ? [] : ["\(name)/sessions"])
    }

    /// Everything the operator emitted since the last call, in order:
    /// window results (`.result`), then events beyond the allowed lateness
    /// of all their windows (`.late`, Flink's late-data side output), each
    /// in the order produced; empties both buffers. One call of
    /// `processElement` produces either late updates or a late event,
    /// never both, and `processWatermark` only results, so taking the
    /// output after every call keeps the exact order. This is the output
    /// convention of every operator (`StreamOperator.takeOutput`).
    @inlinable
    public func takeOutput() -> [WindowOutput<Key, Input, Value>] {
        var taken: [WindowOutput<Key, Input, Value>] = []
        taken.reserveCapacity(results.count + lateEvents.count)
        for result in results { taken.append(.result(result)) }
        for event in lateEvents { taken.append(.late(event)) }
        results.removeAll(keepingCapacity: true)
        lateEvents.removeAll(keepingCapacity: true)
        return taken
    }

    /// The results produced since the last call, in order; empties the buffer.
    @available(*, deprecated, message: "use takeOutput(), the output convention of every operator")
    @inlinable
    public func takeResults() -> [WindowResult<Key, Value>] {
        var taken: [WindowResult<Key, Value>] = []
        swap(&taken, &results)
        return taken
    }

    /// The late output since the last call: events beyond the allowed
    /// lateness of all their windows, in arrival order; empties the buffer.
    @available(*, deprecated, message: "use takeOutput(), the output convention of every operator")
    @inlinable
    public func takeLateEvents() -> [Event<Key, Input>] {
        var taken: [Event<Key, Input>] = []
        swap(&taken, &lateEvents)
        return taken
    }

    /// Processes one event (see the type's semantics).
    @inlinable
    public func processElement(_ event: Event<Key, Input>) throws {
        try processElement(key: event.key, timestamp: event.timestamp, value: event.payload)
    }

    /// Processes one event: adds it to its windows, fires those that already
    /// fired (`.lateUpdate`), or hands it to the late output. Throws
    /// `StrataError.invalidArgument` for a timestamp outside
    /// `Event.validTimestamps` (nothing is changed), and what the state throws.
    @inlinable
    public func processElement(key: Key, timestamp: Int64, value: Input) throws {
        guard timestamp >= -eventTimestampBound && timestamp <= eventTimestampBound else {
            throw StrataError.invalidArgument(
                "window operator '\(name)': event timestamp \(timestamp) ms; expected within ±2^61 ms")
        }
        storedStatistics.eventsProcessed += 1
        let stateKey = backend.stateKey(key, codec: keyCodec)
        let accepted: Bool
        switch assigner {
        case .tumbling(let tumbling):
            accepted = try addTumbling(tumbling, key: key, stateKey: stateKey, timestamp: timestamp, value: value)
        case .sliding(let sliding):
            accepted = try addSliding(sliding, key: key, stateKey: stateKey, timestamp: timestamp, value: value)
        case .session(let session):
            accepted = try addSession(session, key: key, stateKey: stateKey, timestamp: timestamp, value: value)
        }
        if accepted {
            storedStatistics.eventsAccepted += 1
        } else {
            storedStatistics.lateEventsDropped += 1
            lateEvents.append(Event(key: key, timestamp: timestamp, payload: value))
        }
    }

    /// Advances event time to `watermark`: fires every window whose end − 1
    /// it reaches and removes the state of every window whose end − 1 +
    /// allowedLateness it reaches, in timer order. A watermark not above the
    /// current one is ignored (watermarks never go back).
    @inlinable
    public func processWatermark(_ watermark: Int64) throws {
        guard watermark > currentWatermark else { return }
        storedWatermark = watermark
        guard case .session = assigner else {
            try timers.fire(upTo: watermark) { timer in try self.onTimer(timer) }
            return
        }
        defer { sessionTimersFired.removeAll(keepingCapacity: true) }
        let first = results.count
        try timers.fire(upTo: watermark) { timer in try self.onTimer(timer) }
        // A session whose end moved fires from a timer registered during
        // this call, after timers of later ends already scanned: restore
        // window-end order (stable: ties keep timer order).
        if results.count - first > 1 {
            let fired = results[first...].enumerated().sorted {
                ($0.element.window.end, $0.offset) < ($1.element.window.end, $1.offset)
            }
            results.replaceSubrange(first..., with: fired.map(\.element))
        }
    }

    // MARK: - Tumbling and sliding windows

    @inlinable
    func addTumbling(
        _ tumbling: TumblingWindows, key: Key, stateKey: StateKey, timestamp: Int64, value: Input
    ) throws -> Bool {
        let window = tumbling.window(containing: timestamp)
        let maxTimestamp = window.maxTimestamp
        if maxTimestamp + allowedLateness <= currentWatermark { return false }
        let namespace = Namespace.window(window)
        try contents.add(value, stateKey, namespace)
        let isNewPane = rememberPane(stateKey, window.start)
        if maxTimestamp > currentWatermark {
            if isNewPane { try register(KeyedTimer(timestamp: maxTimestamp, key: stateKey, namespace: namespace)) }
        } else {
            // Fired already (or a late first event): its cleanup timer, then the update.
            try register(KeyedTimer(timestamp: maxTimestamp + allowedLateness, key: stateKey, namespace: namespace))
            try emit(stateKey, key: key, window: window, panes: [namespace], firing: .lateUpdate)
        }
        return true
    }

    @inlinable
    func addSliding(
        _ sliding: SlidingWindows, key: Key, stateKey: StateKey, timestamp: Int64, value: Input
    ) throws -> Bool {
        let lastStart = sliding.lastWindowStart(containing: timestamp)
        // The window ending last decides: if it is late, all are.
        if lastStart + sliding.size - 1 + allowedLateness <= currentWatermark { return false }
        let pane = sliding.pane(containing: timestamp)
        try contents.add(value, stateKey, .window(pane))
        let isNewPane = rememberPane(stateKey, pane.start)
        // Every window holding this pane but the one starting at it also holds
        // the previous pane: if that one is known, their timers are registered.
        let previousPaneKnown =
            isNewPane && knownPanes.contains(WindowPaneKey(key: stateKey, start: pane.start - sliding.paneSize))
        var start = lastStart
        while start > timestamp - sliding.size {
            let window = TimeWindow(start: start, end: start + sliding.size)
            let maxTimestamp = window.maxTimestamp
            if maxTimestamp + allowedLateness <= currentWatermark { break }  // this and every earlier one
            if maxTimestamp > currentWatermark {
                if isNewPane && !(previousPaneKnown && start < pane.start) {
                    try register(KeyedTimer(timestamp: maxTimestamp, key: stateKey, namespace: .window(window)))
                }
            } else {
                try register(
                    KeyedTimer(timestamp: maxTimestamp + allowedLateness, key: stateKey, namespace: .window(window)))
                try emit(
                    stateKey, key: key, window: window, panes: sliding.panes(of: window).map { .window($0) },
                    firing: .lateUpdate)
            }
            start -= sliding.slide
        }
        return true
    }

    /// Notes that (key, pane) has its timers; true when it was not known.
    @inlinable
    func rememberPane(_ key: StateKey, _ start: Int64) -> Bool {
        if knownPanes.count >= maxCachedPanes { knownPanes.removeAll(keepingCapacity: true) }
        return knownPanes.insert(WindowPaneKey(key: key, start: start)).inserted
    }

    @inlinable
    func register(_ timer: KeyedTimer) throws {
        storedStatistics.timersRegistered += 1
        try timers.register(timer)
    }

    /// Appends the window's result, if it holds anything.
    @inlinable
    func emit(
        _ stateKey: StateKey, key: Key? = nil, window: TimeWindow, panes: [Namespace], firing: WindowFiring
    ) throws {
        let decoded = try key ?? backend.decodeKey(stateKey, codec: keyCodec)
        guard let value = try contents.result(stateKey, decoded, window, panes) else { return }
        results.append(WindowResult(key: decoded, window: window, value: value, firing: firing))
        if firing == .onTime { storedStatistics.onTimeResults += 1 } else { storedStatistics.lateUpdates += 1 }
    }

    @inlinable
    func onTimer(_ timer: KeyedTimer) throws {
        storedStatistics.timersFired += 1
        guard let window = timer.namespace.window else { return }
        let at = timer.timestamp
        switch assigner {
        case .tumbling:
            try onWindowTimer(at: at, key: timer.key, window: window, panes: [timer.namespace]) {
                try self.contents.clear(timer.key, timer.namespace)
                self.knownPanes.remove(WindowPaneKey(key: timer.key, start: window.start))
            }
        case .sliding(let sliding):
            try onWindowTimer(
                at: at, key: timer.key, window: window, panes: sliding.panes(of: window).map { .window($0) }
            ) {
                // Panes in [start, start + slide) belong to no later window:
                // every other window holding them ended earlier.
                for pane in sliding.panes(of: TimeWindow(start: window.start, end: window.start + sliding.slide)) {
                    try self.contents.clear(timer.key, .window(pane))
                    self.knownPanes.remove(WindowPaneKey(key: timer.key, start: pane.start))
                }
            }
        case .session:
            guard sessionTimersFired.insert(timer).inserted else { return }
            try onSessionTimer(at: at, key: timer.key, stateWindow: window)
        }
    }

    /// A tumbling or sliding window's timer: the end-of-window timer fires
    /// it (and cleans up when there is no lateness), the cleanup timer at
    /// end − 1 + lateness removes its state.
    @inlinable
    func onWindowTimer(
        at timestamp: Int64, key: StateKey, window: TimeWindow, panes: [Namespace], cleanup: () throws -> Void
    ) throws {
        let maxTimestamp = window.maxTimestamp
        if timestamp == maxTimestamp {
            try emit(key, window: window, panes: panes, firing: .onTime)
            if allowedLateness == 0 {
                try cleanup()
                storedStatistics.windowsCleared += 1
            } else {
                try register(KeyedTimer(timestamp: maxTimestamp + allowedLateness, key: key, namespace: .window(window)))
            }
        } else if timestamp == maxTimestamp + allowedLateness {
            try cleanup()
            storedStatistics.windowsCleared += 1
        }
    }
}

/// A (key, pane start) whose end-of-window timers are registered. Not nested
/// in the generic operator (a nested type would need its generic metadata
/// looked up on every event), and hashed over the key's bytes at once
/// rather than byte by byte.
@usableFromInline
struct WindowPaneKey: Hashable {
    @usableFromInline var key: StateKey
    @usableFromInline var start: Int64

    @inlinable
    init(key: StateKey, start: Int64) {
        self.key = key
        self.start = start
    }

    @inlinable
    func hash(into hasher: inout Hasher) {
        hasher.combine(start)
        hasher.combine(key.keyGroup)
        key.encoded.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    @inlinable
    static func == (a: WindowPaneKey, b: WindowPaneKey) -> Bool {
        a.start == b.start && a.key.keyGroup == b.key.keyGroup && a.key.encoded == b.key.encoded
    }
}
