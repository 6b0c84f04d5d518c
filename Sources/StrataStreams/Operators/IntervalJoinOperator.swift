import Strata

/// Interval join (operators.md): pairs (a, b) of a left and a right event
/// with the same key and `a.ts + lower ≤ b.ts ≤ a.ts + upper`, emitted as
/// soon as both are present (Flink `KeyedStream.intervalJoin`, bounds
/// inclusive).
///
/// State: each side's buffer is one value per key — the key's buffered
/// events as a time-ordered list (`<name>/left`, with a matched flag per
/// entry; `<name>/right`) — served by the value state's write-back cache,
/// so processing an event costs no engine iterator. A left event is pruned
/// when the watermark reaches `a.ts + upper` (no right partner can arrive
/// any more: it would be late), a right event at `b.ts − lower`, by cleanup
/// timers (`<name>/left-cleanup`, `<name>/right-cleanup`). With
/// `.leftOuter`, a left event pruned without a partner is emitted alone
/// then. Events at or below the watermark are late and go to the late
/// output. After the last watermark the state is empty.
///
/// Thread safety: one thread (the backend's).
public final class IntervalJoinOperator<KeyCodec: StateCodec, LeftCodec: StateCodec, RightCodec: StateCodec> {
    public typealias Key = KeyCodec.Value
    public typealias Left = LeftCodec.Value
    public typealias Right = RightCodec.Value

    private let backend: StateBackend
    private let keyCodec: KeyCodec
    /// The operator's name (prefix of its state names).
    public let name: String
    /// Lower bound of `b.ts − a.ts`, ms (inclusive).
    public let lower: Int64
    /// Upper bound of `b.ts − a.ts`, ms (inclusive).
    public let upper: Int64
    /// Inner or left outer.
    public let joinType: JoinType
    private let left: ValueState<TimestampedListCodec<FlaggedCodec<LeftCodec>>>
    private let right: ValueState<TimestampedListCodec<RightCodec>>
    private let leftCleanup: TimerService
    private let rightCleanup: TimerService
    private var output: [JoinOutput<Key, Left, Right>] = []
    /// The current watermark (`Int64.min` before the first).
    public private(set) var watermark: Int64 = .min
    /// Counters.
    public private(set) var statistics = JoinStatistics()

    /// Builds the join. Throws `.invalidArgument` when `lower > upper` or a
    /// bound is beyond ±2^61 ms.
    public init(backend: StateBackend, name: String, keyCodec: KeyCodec, leftCodec: LeftCodec, rightCodec: RightCodec,
                lower: Int64, upper: Int64, joinType: JoinType = .inner) throws {
        let limit = Event<Int, Int>.maxDuration
        guard lower <= upper, lower.magnitude <= limit.magnitude, upper.magnitude <= limit.magnitude else {
            throw StrataError(.invalidArgument, "interval join '\(name)': bounds [\(lower), \(upper)] ms,"
                              + " expected lower ≤ upper within ±2^61")
        }
        self.backend = backend
        self.keyCodec = keyCodec
        self.name = name
        self.lower = lower
        self.upper = upper
        self.joinType = joinType
        left = try backend.valueState(StateDescriptor("\(name)/left"),
                                      valueCodec: TimestampedListCodec(payload: FlaggedCodec(payload: leftCodec)))
        right = try backend.valueState(StateDescriptor("\(name)/right"), valueCodec: TimestampedListCodec(payload: rightCodec))
        leftCleanup = try backend.timerService(named: "\(name)/left-cleanup")
        rightCleanup = try backend.timerService(named: "\(name)/right-cleanup")
    }

    /// The names of the operator's states.
    public var stateNames: [String] {
        ["\(name)/left", "\(name)/right", "\(name)/left-cleanup", "\(name)/right-cleanup"]
    }

    private func checkTimestamp(_ ts: Int64) throws {
        guard Event<Int, Int>.validTimestamps.contains(ts) else {
            throw StrataError(.invalidArgument, "interval join '\(name)': timestamp \(ts) outside ±2^61 ms")
        }
    }

    /// Processes a left event: joins it with the buffered right events in
    /// `[a.ts + lower, a.ts + upper]` and buffers it while a partner can still come.
    public func processLeft(_ event: Event<Key, Left>) throws {
        try checkTimestamp(event.timestamp)
        statistics.leftEvents += 1
        if event.timestamp <= watermark {
            statistics.late += 1
            output.append(.lateLeft(event))
            return
        }
        let key = backend.stateKey(event.key, codec: keyCodec)
        var matched = false
        let first = event.timestamp + lower, last = event.timestamp + upper
        for (ts, payload) in try right.value(for: key) ?? [] where ts >= first && ts <= last {
            output.append(.joined(left: event, right: Event(key: event.key, timestamp: ts, payload: payload), window: nil))
            statistics.joined += 1
            matched = true
        }
        let prune = event.timestamp + upper
        if prune > watermark {
            var buffer = try left.value(for: key) ?? []
            buffer.insertByTimestamp((event.timestamp, (matched, event.payload))) { $0.0 }
            try left.update(buffer, for: key)
            try leftCleanup.register(KeyedTimer(timestamp: prune, key: key))
        } else if !matched && joinType == .leftOuter {
            emitUnmatched(event)
        }
    }

    /// Processes a right event: joins it with the buffered left events in
    /// `[b.ts − upper, b.ts − lower]` and buffers it while a partner can still come.
    public func processRight(_ event: Event<Key, Right>) throws {
        try checkTimestamp(event.timestamp)
        statistics.rightEvents += 1
        if event.timestamp <= watermark {
            statistics.late += 1
            output.append(.lateRight(event))
            return
        }
        let key = backend.stateKey(event.key, codec: keyCodec)
        let first = event.timestamp - upper, last = event.timestamp - lower
        if var buffer = try left.value(for: key) {
            var changed = false
            for i in buffer.indices where buffer[i].0 >= first && buffer[i].0 <= last {
                output.append(.joined(left: Event(key: event.key, timestamp: buffer[i].0, payload: buffer[i].1.1),
                                      right: event, window: nil))
                statistics.joined += 1
                if !buffer[i].1.0 && joinType == .leftOuter {
                    buffer[i].1.0 = true
                    changed = true
                }
            }
            if changed { try left.update(buffer, for: key) }
        }
        let prune = event.timestamp - lower
        if prune > watermark {
            var buffer = try right.value(for: key) ?? []
            buffer.insertByTimestamp((event.timestamp, event.payload)) { $0.0 }
            try right.update(buffer, for: key)
            try rightCleanup.register(KeyedTimer(timestamp: prune, key: key))
        }
    }

    /// Advances event time and prunes buffered events no partner can reach
    /// any more (emitting unmatched left events of an outer join).
    public func processWatermark(_ watermark: Int64) throws {
        guard watermark > self.watermark else { return }
        self.watermark = watermark
        try leftCleanup.fire(upTo: watermark) { timer in
            guard var buffer = try left.value(for: timer.key) else { return }
            let cut = timer.timestamp - upper            // entries at or before it can no longer match
            let end = buffer.firstIndex { $0.0 > cut } ?? buffer.count
            guard end > 0 else { return }
            if joinType == .leftOuter {
                let typedKey = try backend.decodeKey(timer.key, codec: keyCodec)
                for (ts, entry) in buffer[..<end] where !entry.0 {
                    emitUnmatched(Event(key: typedKey, timestamp: ts, payload: entry.1))
                }
            }
            statistics.pruned += end
            buffer.removeFirst(end)
            if buffer.isEmpty { try left.clear(for: timer.key) } else { try left.update(buffer, for: timer.key) }
        }
        try rightCleanup.fire(upTo: watermark) { timer in
            guard var buffer = try right.value(for: timer.key) else { return }
            let cut = timer.timestamp + lower
            let end = buffer.firstIndex { $0.0 > cut } ?? buffer.count
            guard end > 0 else { return }
            statistics.pruned += end
            buffer.removeFirst(end)
            if buffer.isEmpty { try right.clear(for: timer.key) } else { try right.update(buffer, for: timer.key) }
        }
    }

    private func emitUnmatched(_ event: Event<Key, Left>) {
        output.append(.unmatchedLeft(event, window: nil))
        statistics.unmatchedLeft += 1
    }

    /// Outputs since the last call, in order.
    public func takeOutput() -> [JoinOutput<Key, Left, Right>] {
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }
}

extension IntervalJoinOperator: TwoInputStreamOperator {
    public typealias Output = JoinOutput<Key, Left, Right>
}
