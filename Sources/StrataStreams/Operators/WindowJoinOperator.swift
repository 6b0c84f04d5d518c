import Strata

/// Windowed join (operators.md): every pair of a left and a right event
/// with the same key in the same window, emitted when the watermark passes
/// the window's end (Flink `DataStream.join(...).where(...).window(...)`).
/// Tumbling or sliding windows (sessions would need merging buffers; not
/// supported).
///
/// State: each side's events of a (key, window) in a list state in the
/// window's namespace (`<name>/left`, `<name>/right`: appends are merge
/// operands, no reads until the window fires); one timer per (key, window)
/// at its last millisecond (`<name>/fire`). Firing emits the cross product
/// in arrival order (left-major) — with `.leftOuter`, left events of a window
/// without right events are emitted alone — and clears both lists. Events
/// whose windows have all fired are late and go to the late output.
///
/// Thread safety: one thread (the backend's).
public final class WindowJoinOperator<KeyCodec: StateCodec, LeftCodec: StateCodec, RightCodec: StateCodec> {
    public typealias Key = KeyCodec.Value
    public typealias Left = LeftCodec.Value
    public typealias Right = RightCodec.Value

    @usableFromInline let backend: StateBackend
    @usableFromInline let keyCodec: KeyCodec
    /// The operator's name (prefix of its state names).
    public let name: String
    /// Tumbling or sliding.
    public let assigner: WindowAssigner
    /// Inner or left outer.
    public let joinType: JoinType
    @usableFromInline let left: ListState<TimestampedCodec<LeftCodec>>
    @usableFromInline let right: ListState<TimestampedCodec<RightCodec>>
    @usableFromInline let fire: TimerService
    @usableFromInline var output: [JoinOutput<Key, Left, Right>] = []
    /// The current watermark (`Int64.min` before the first).
    @inlinable public var watermark: Int64 { storedWatermark }
    /// Counters.
    @inlinable public var statistics: JoinStatistics { storedStatistics }
    /// Storage of `watermark` (settable by the inlinable paths, which run
    /// specialized for the caller's types).
    @usableFromInline var storedWatermark: Int64 = .min
    /// Storage of `statistics`.
    @usableFromInline var storedStatistics = JoinStatistics()

    /// Builds the join. Throws `.notSupported` for session windows.
    public init(backend: StateBackend, name: String, keyCodec: KeyCodec, leftCodec: LeftCodec, rightCodec: RightCodec,
                assigner: WindowAssigner, joinType: JoinType = .inner) throws {
        if case .session = assigner {
            throw StrataError(.notSupported, "window join '\(name)': session windows are not supported; use tumbling or sliding")
        }
        self.backend = backend
        self.keyCodec = keyCodec
        self.name = name
        self.assigner = assigner
        self.joinType = joinType
        left = try backend.listState(StateDescriptor("\(name)/left"), elementCodec: TimestampedCodec(payload: leftCodec))
        right = try backend.listState(StateDescriptor("\(name)/right"), elementCodec: TimestampedCodec(payload: rightCodec))
        fire = try backend.timerService(named: "\(name)/fire")
    }

    /// The names of the operator's states.
    public var stateNames: [String] { ["\(name)/left", "\(name)/right", "\(name)/fire"] }

    /// The windows holding `t` that have not fired yet.
    @inlinable
    func openWindows(_ t: Int64) throws -> [TimeWindow] {
        guard t >= -eventTimestampBound && t <= eventTimestampBound else {
            throw StrataError(.invalidArgument, "window join '\(name)': timestamp \(t) outside ±2^61 ms")
        }
        let all: [TimeWindow]
        switch assigner {
        case .tumbling(let tumbling): all = [tumbling.window(containing: t)]
        case .sliding(let sliding): all = sliding.windows(containing: t)
        case .session: all = []
        }
        return all.filter { $0.maxTimestamp > watermark }
    }

    /// Buffers a left event in each of its open windows (late if none is open).
    @inlinable
    public func processLeft(_ event: Event<Key, Left>) throws {
        storedStatistics.leftEvents += 1
        try buffer(event, in: left) { .lateLeft($0) }
    }

    /// Buffers a right event in each of its open windows (late if none is open).
    @inlinable
    public func processRight(_ event: Event<Key, Right>) throws {
        storedStatistics.rightEvents += 1
        try buffer(event, in: right) { .lateRight($0) }
    }

    /// Appends `event` to `side`'s list in each of its open windows and
    /// registers their fire timers; no open window: the late output.
    @inlinable
    func buffer<P: StateCodec>(_ event: Event<Key, P.Value>, in side: ListState<TimestampedCodec<P>>,
                                       late: (Event<Key, P.Value>) -> JoinOutput<Key, Left, Right>) throws {
        let windows = try openWindows(event.timestamp)
        guard !windows.isEmpty else {
            storedStatistics.late += 1
            output.append(late(event))
            return
        }
        let key = backend.stateKey(event.key, codec: keyCodec)
        for window in windows {
            try side.add((event.timestamp, event.payload), for: key, in: .window(window))
            try fire.register(KeyedTimer(timestamp: window.maxTimestamp, key: key, namespace: .window(window)))
        }
    }

    /// Advances event time and fires every window whose end it passed.
    @inlinable
    public func processWatermark(_ watermark: Int64) throws {
        guard watermark > self.watermark else { return }
        storedWatermark = watermark
        try fire.fire(upTo: watermark) { timer in
            guard let window = timer.namespace.window else { return }
            let typedKey = try backend.decodeKey(timer.key, codec: keyCodec)
            let lefts = try left.get(for: timer.key, in: timer.namespace)
            let rights = try right.get(for: timer.key, in: timer.namespace)
            for l in lefts {
                let leftEvent = Event(key: typedKey, timestamp: l.0, payload: l.1)
                if rights.isEmpty {
                    if joinType == .leftOuter {
                        output.append(.unmatchedLeft(leftEvent, window: window))
                        storedStatistics.unmatchedLeft += 1
                    }
                    continue
                }
                for r in rights {
                    output.append(.joined(left: leftEvent, right: Event(key: typedKey, timestamp: r.0, payload: r.1),
                                          window: window))
                    storedStatistics.joined += 1
                }
            }
            if !lefts.isEmpty { try left.clear(for: timer.key, in: timer.namespace) }
            if !rights.isEmpty { try right.clear(for: timer.key, in: timer.namespace) }
            storedStatistics.pruned += lefts.count + rights.count
        }
    }

    /// Outputs since the last call, in order.
    @inlinable
    public func takeOutput() -> [JoinOutput<Key, Left, Right>] {
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }
}

extension WindowJoinOperator: TwoInputStreamOperator {
    public typealias Output = JoinOutput<Key, Left, Right>
}
