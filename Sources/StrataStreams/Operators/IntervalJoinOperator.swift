import Strata

/// Interval join (operators.md): pairs (a, b) of a left and a right event
/// with the same key and `a.ts + lower ≤ b.ts ≤ a.ts + upper`, emitted as
/// soon as both are present (Flink `KeyedStream.intervalJoin`, bounds
/// inclusive).
///
/// State: each side's buffer is a map state per key, `(timestamp,
/// sequence) → payload` (`<name>/left` with a matched flag in front,
/// `<name>/right`), so a probe is one range scan of the other side from
/// the first timestamp that can match. A left event is pruned when the
/// watermark reaches `a.ts + upper` (no right partner can arrive any more:
/// it would be late), a right event at `b.ts − lower`, by cleanup timers
/// (`<name>/cleanup`). With `.leftOuter`, a left event pruned without a
/// partner is emitted alone then. Events at or below the watermark are late
/// and go to the late output. After the last watermark the state is empty.
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
    private let left: MapState<TimestampSequenceCodec, FlaggedCodec<LeftCodec>>
    private let right: MapState<TimestampSequenceCodec, RightCodec>
    private let cleanup: TimerService
    private let sequence: ValueState<UInt64Codec>
    private let sequenceKey = StateKey(keyGroup: 0, encoded: [])
    private var nextSequence: UInt64
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
        left = try backend.mapState(StateDescriptor("\(name)/left"), keyCodec: TimestampSequenceCodec(),
                                    valueCodec: FlaggedCodec(payload: leftCodec))
        right = try backend.mapState(StateDescriptor("\(name)/right"), keyCodec: TimestampSequenceCodec(),
                                     valueCodec: rightCodec)
        cleanup = try backend.timerService(named: "\(name)/cleanup")
        sequence = try backend.valueState(StateDescriptor("\(name)/sequence"), valueCodec: UInt64Codec())
        nextSequence = try sequence.value(for: sequenceKey) ?? 0
    }

    /// The names of the operator's buffer and timer states (the sequence
    /// counter, one entry, is left out: it is not per-key state).
    public var stateNames: [String] { ["\(name)/left", "\(name)/right", "\(name)/cleanup"] }

    private func takeSequence() throws -> UInt64 {
        defer { nextSequence &+= 1 }
        try sequence.update(nextSequence &+ 1, for: sequenceKey)
        return nextSequence
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
        let last = event.timestamp + upper
        try right.forEach(for: key, from: (event.timestamp + lower, 0)) { mapKey, payload in
            guard mapKey.0 <= last else { return false }
            output.append(.joined(left: event, right: Event(key: event.key, timestamp: mapKey.0, payload: payload), window: nil))
            statistics.joined += 1
            matched = true
            return true
        }
        let prune = event.timestamp + upper
        if prune > watermark {
            try left.put((event.timestamp, try takeSequence()), (matched, event.payload), for: key)
            try cleanup.register(KeyedTimer(timestamp: prune, key: key))
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
        let last = event.timestamp - lower
        var newlyMatched: [((Int64, UInt64), Left)] = []
        try left.forEach(for: key, from: (event.timestamp - upper, 0)) { mapKey, entry in
            guard mapKey.0 <= last else { return false }
            output.append(.joined(left: Event(key: event.key, timestamp: mapKey.0, payload: entry.1), right: event, window: nil))
            statistics.joined += 1
            if !entry.0 && joinType == .leftOuter { newlyMatched.append((mapKey, entry.1)) }
            return true
        }
        for (mapKey, payload) in newlyMatched { try left.put(mapKey, (true, payload), for: key) }
        let prune = event.timestamp - lower
        if prune > watermark {
            try right.put((event.timestamp, try takeSequence()), event.payload, for: key)
            try cleanup.register(KeyedTimer(timestamp: prune, key: key))
        }
    }

    /// Advances event time and prunes buffered events no partner can reach
    /// any more (emitting unmatched left events of an outer join).
    public func processWatermark(_ watermark: Int64) throws {
        guard watermark > self.watermark else { return }
        self.watermark = watermark
        try cleanup.fire(upTo: watermark) { timer in
            let key = timer.key
            let typedKey = try backend.decodeKey(key, codec: keyCodec)
            var expiredLeft: [((Int64, UInt64), (Bool, Left))] = []
            try left.forEach(for: key) { mapKey, entry in
                guard mapKey.0 + upper <= timer.timestamp else { return false }
                expiredLeft.append((mapKey, entry))
                return true
            }
            for (mapKey, entry) in expiredLeft {
                try left.remove(mapKey, for: key)
                statistics.pruned += 1
                if !entry.0 && joinType == .leftOuter {
                    emitUnmatched(Event(key: typedKey, timestamp: mapKey.0, payload: entry.1))
                }
            }
            var expiredRight: [(Int64, UInt64)] = []
            try right.forEach(for: key) { mapKey, _ in
                guard mapKey.0 - lower <= timer.timestamp else { return false }
                expiredRight.append(mapKey)
                return true
            }
            for mapKey in expiredRight { try right.remove(mapKey, for: key) }
            statistics.pruned += expiredRight.count
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
