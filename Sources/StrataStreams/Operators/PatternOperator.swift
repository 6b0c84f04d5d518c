import Strata

/// A partial match: the stage it is in, how many events that stage has
/// taken, whether it is inside a loop after an ignored event, when it
/// started, and the events so far (stage index, per-key sequence number,
/// timestamp, payload). `stage == stages.count` marks a completed match
/// that waits to be emitted (see `AfterMatchSkip`).
struct PartialMatch<P> {
    var stage: Int
    var count: Int
    /// In a looping stage after an event it ignored: it may take another
    /// event of the stage, but not proceed to the next stage (Flink's
    /// looping state's ignore branch).
    var ignoring: Bool = false
    var start: Int64
    var events: [(stage: Int, seq: UInt64, timestamp: Int64, payload: P)]

    /// The sequence number of the first event: matches are ordered by it.
    var startSeq: UInt64 { events.first?.seq ?? 0 }
}

/// Everything the pattern operator keeps per key besides the event buffer:
/// the next sequence number for the key's events in processing order, and
/// its partial and completed-but-held matches.
struct PatternKeyState<P> {
    var nextSeq: UInt64 = 0
    var matches: [PartialMatch<P>] = []
}

/// The pattern state of one key: `[next seq 8 BE][n varint]` then per match
/// `[stage 2 BE][count 4 BE][flags 1][start 8][m varint]` and per event
/// `[stage 2 BE][seq 8 BE][timestamp 8][length varint][payload]`.
struct PatternKeyStateCodec<P: StateCodec>: StateCodec {
    let payload: P
    var fixedWidth: Int? { nil }

    func encode(_ value: PatternKeyState<P.Value>, into out: inout [UInt8]) {
        UInt64Codec().encode(value.nextSeq, into: &out)
        KeyLengthPrefix.append(value.matches.count, into: &out)
        var scratch: [UInt8] = []
        for match in value.matches {
            out.append(UInt8(match.stage >> 8)); out.append(UInt8(match.stage & 0xFF))
            withUnsafeBytes(of: UInt32(match.count).bigEndian) { out.append(contentsOf: $0) }
            out.append(match.ignoring ? 1 : 0)
            Int64Codec().encode(match.start, into: &out)
            KeyLengthPrefix.append(match.events.count, into: &out)
            for event in match.events {
                out.append(UInt8(event.stage >> 8)); out.append(UInt8(event.stage & 0xFF))
                UInt64Codec().encode(event.seq, into: &out)
                Int64Codec().encode(event.timestamp, into: &out)
                scratch.removeAll(keepingCapacity: true)
                payload.encode(event.payload, into: &scratch)
                scratch.withUnsafeBytes { MergeEncoding.appendElement($0, into: &out) }
            }
        }
    }

    func decode(_ bytes: UnsafeRawBufferPointer) throws -> PatternKeyState<P.Value> {
        var offset = 0
        func need(_ n: Int) throws {
            guard offset + n <= bytes.count else {
                throw StrataError(.corruption, "pattern state: partial matches truncated at offset \(offset) of \(bytes.count)")
            }
        }
        func varint() throws -> Int {
            let (v, used) = try KeyLengthPrefix.read(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            offset += used
            return v
        }
        func u16() throws -> Int {
            try need(2)
            defer { offset += 2 }
            return Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
        }
        func i64() throws -> Int64 {
            try need(8)
            defer { offset += 8 }
            return try Int64Codec().decode(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + 8)]))
        }
        func u64() throws -> UInt64 {
            try need(8)
            defer { offset += 8 }
            return try UInt64Codec().decode(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + 8)]))
        }
        var result = PatternKeyState<P.Value>()
        result.nextSeq = try u64()
        for _ in 0..<(try varint()) {
            let stage = try u16()
            try need(5)
            let count = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            offset += 4
            let flags = bytes[offset]
            offset += 1
            guard flags <= 1 else {
                throw StrataError(.corruption, "pattern state: match flags \(flags) at offset \(offset - 1), expected 0 or 1")
            }
            let start = try i64()
            var events: [(stage: Int, seq: UInt64, timestamp: Int64, payload: P.Value)] = []
            for _ in 0..<(try varint()) {
                let eventStage = try u16()
                let seq = try u64()
                let ts = try i64()
                let length = try varint()
                try need(length)
                events.append((eventStage, seq, ts,
                               try payload.decode(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]))))
                offset += length
            }
            result.matches.append(PartialMatch(stage: stage, count: count, ignoring: flags == 1, start: start, events: events))
        }
        guard offset == bytes.count else {
            throw StrataError(.corruption, "pattern state: \(bytes.count - offset) bytes after the partial matches")
        }
        return result
    }
}

/// Pattern detection (CEP) per key (operators.md "Patterns").
///
/// Events wait in a buffer per key (`<name>/buffer`, one value per key: a
/// list ordered by timestamp and arrival, served by the write-back cache)
/// until the watermark passes them, then run through
/// the pattern's automaton in timestamp order — one timer per event
/// timestamp and per partial match's `within` deadline (`<name>/timers`)
/// drives it. Partial matches live in `<name>/partial` (one value per key).
/// Every event that satisfies the first stage starts a partial match;
/// completed matches are emitted in the order of their first events and
/// the `AfterMatchSkip` strategy discards overlapping ones as Flink's does.
/// Partial matches that run out of `within` are emitted as
/// timeouts when `emitTimeouts` is set. Events at or below the watermark
/// are late (late output). After the last watermark the state is empty when
/// the pattern has a `within` bound (unbounded partial matches wait forever).
///
/// Thread safety: one thread (the backend's).
public final class PatternOperator<KeyCodec: StateCodec, PayloadCodec: StateCodec> {
    public typealias Key = KeyCodec.Value
    public typealias Payload = PayloadCodec.Value

    private let backend: StateBackend
    private let keyCodec: KeyCodec
    /// The operator's name (prefix of its state names).
    public let name: String
    /// The pattern.
    public let pattern: Pattern<Payload>
    /// After a match: keep or drop the other partial matches.
    public let afterMatch: AfterMatchSkip
    /// Whether timed-out partial matches are emitted.
    public let emitTimeouts: Bool
    private let buffer: ValueState<TimestampedListCodec<PayloadCodec>>
    private let partials: ValueState<PatternKeyStateCodec<PayloadCodec>>
    private let timers: TimerService
    private var output: [PatternOutput<Key, Payload>] = []
    /// The current watermark (`Int64.min` before the first).
    public private(set) var watermark: Int64 = .min
    /// Matches, timeouts and late events so far.
    public private(set) var matches = 0, timeouts = 0, lateEvents = 0

    /// Builds the operator. Throws `.invalidArgument` for an invalid pattern
    /// or a skip strategy naming a stage the pattern does not have.
    public init(backend: StateBackend, name: String, keyCodec: KeyCodec, payloadCodec: PayloadCodec,
                pattern: Pattern<Payload>, afterMatch: AfterMatchSkip = .noSkip, emitTimeouts: Bool = true) throws {
        try pattern.validate()
        switch afterMatch {
        case .skipToFirst(let stage), .skipToLast(let stage):
            guard pattern.stages.contains(where: { $0.name == stage }) else {
                throw StrataError(.invalidArgument, "pattern '\(name)': after-match strategy names stage '\(stage)',"
                                  + " which the pattern does not have")
            }
        case .noSkip, .skipToNext, .skipPastLastEvent: break
        }
        self.backend = backend
        self.keyCodec = keyCodec
        self.name = name
        self.pattern = pattern
        self.afterMatch = afterMatch
        self.emitTimeouts = emitTimeouts
        buffer = try backend.valueState(StateDescriptor("\(name)/buffer"), valueCodec: TimestampedListCodec(payload: payloadCodec))
        partials = try backend.valueState(StateDescriptor("\(name)/partial"),
                                          valueCodec: PatternKeyStateCodec(payload: payloadCodec))
        timers = try backend.timerService(named: "\(name)/timers")
    }

    /// The names of the operator's per-key states.
    public var stateNames: [String] { ["\(name)/buffer", "\(name)/partial", "\(name)/timers"] }

    /// Buffers an event until the watermark passes it (late if it already has).
    public func processElement(_ event: Event<Key, Payload>) throws {
        guard Event<Int, Int>.validTimestamps.contains(event.timestamp) else {
            throw StrataError(.invalidArgument, "pattern '\(name)': timestamp \(event.timestamp) outside ±2^61 ms")
        }
        if event.timestamp <= watermark {
            lateEvents += 1
            output.append(.late(event))
            return
        }
        let key = backend.stateKey(event.key, codec: keyCodec)
        var pending = try buffer.value(for: key) ?? []
        pending.insertByTimestamp((event.timestamp, event.payload)) { $0.0 }
        try buffer.update(pending, for: key)
        try timers.register(KeyedTimer(timestamp: event.timestamp, key: key))
    }

    /// Advances event time: runs every buffered event at or below it
    /// through the automaton, in timestamp order, and times out partial matches.
    public func processWatermark(_ watermark: Int64) throws {
        guard watermark > self.watermark else { return }
        self.watermark = watermark
        try timers.fire(upTo: watermark) { timer in try advance(timer.key, to: timer.timestamp) }
    }

    /// Runs `key`'s buffered events with timestamp ≤ `time`, then times out
    /// partial matches whose deadline is ≤ `time`.
    private func advance(_ key: StateKey, to time: Int64) throws {
        // The key's buffered events up to `time`, in timestamp order (ties in arrival order).
        var pending = try buffer.value(for: key) ?? []
        let end = pending.firstIndex { $0.0 > time } ?? pending.count
        let due = Array(pending[..<end])
        if end > 0 {
            pending.removeFirst(end)
            if pending.isEmpty { try buffer.clear(for: key) } else { try buffer.update(pending, for: key) }
        }
        var state = try partials.value(for: key) ?? PatternKeyState()
        if due.isEmpty && state.matches.isEmpty { return }
        let typedKey = try backend.decodeKey(key, codec: keyCodec)
        for (ts, payload) in due {
            expire(&state.matches, before: ts, key: typedKey)
            let seq = state.nextSeq
            state.nextSeq &+= 1
            step(&state.matches, seq: seq, timestamp: ts, payload: payload, key: typedKey)
        }
        expire(&state.matches, before: time &+ 1, key: typedKey)
        if state.matches.isEmpty {
            try partials.clear(for: key)
        } else {
            try partials.update(state, for: key)
            if let window = pattern.window {
                for match in state.matches where match.stage < pattern.stages.count && match.start &+ window > time {
                    try timers.register(KeyedTimer(timestamp: match.start &+ window, key: key))
                }
            }
        }
    }

    /// Removes partial matches that can no longer complete at `timestamp`
    /// (their last event would be ≥ `within` after their first), then emits
    /// completed matches they held back.
    private func expire(_ current: inout [PartialMatch<Payload>], before timestamp: Int64, key: Key) {
        guard let window = pattern.window else { return }
        let completedStage = pattern.stages.count
        var removed = false
        current.removeAll { match in
            guard match.stage < completedStage, timestamp &- match.start >= window else { return false }
            timeouts += 1
            removed = true
            if emitTimeouts { output.append(.timeout(report(match, key: key))) }
            return true
        }
        if removed { release(&current, key: key) }
    }

    /// One event (sequence number `seq` in the key's processing order)
    /// through the automaton: every partial match takes, ignores or drops
    /// it, and a new partial match starts if the first stage takes it.
    ///
    /// Per partial match in stage `s` having taken `c` events of it:
    /// - `c == 0` (waiting for the stage's first event): take it if the
    ///   condition holds; else wait (relaxed contiguity) or end (strict).
    /// - `c < times`: take it if the condition holds; else wait (the
    ///   default relaxed contiguity inside a stage) or end (`consecutive()`).
    /// - `c ≥ times` in a looping stage: take it if the condition holds
    ///   (looping); and, unless greedy and taken, also try the next stage
    ///   on the same event (take it there, or wait for the next stage if its
    ///   contiguity is relaxed); an event the loop does not take leaves a
    ///   copy that waits for the next event of the loop (relaxed only) and
    ///   cannot move on without one.
    /// A match completes when the last stage has taken `times` events; a
    /// looping last stage keeps a copy that may take more.
    private func step(_ current: inout [PartialMatch<Payload>], seq: UInt64, timestamp: Int64, payload: Payload, key: Key) {
        let stages = pattern.stages
        let completedStage = stages.count
        var next: [PartialMatch<Payload>] = []
        var held: [PartialMatch<Payload>] = []
        var completed: [PartialMatch<Payload>] = []
        func take(_ match: PartialMatch<Payload>) {
            var taken = match
            taken.ignoring = false
            taken.events.append((taken.stage, seq, timestamp, payload))
            taken.count += 1
            let stage = stages[taken.stage]
            if taken.count >= stage.times {
                if taken.stage == completedStage - 1 {
                    var done = taken
                    done.stage = completedStage
                    done.count = 0
                    completed.append(done)
                    if stage.looping { next.append(taken) }
                    return
                }
                if !stage.looping {
                    taken.stage += 1
                    taken.count = 0
                }
            }
            next.append(taken)
        }
        for match in current {
            guard match.stage < completedStage else {
                held.append(match)
                continue
            }
            let stage = stages[match.stage]
            let matches = stage.condition(payload)
            if match.count == 0 {
                if matches {
                    take(match)
                } else if stage.contiguity == .relaxed {
                    next.append(match)
                }
                continue
            }
            if match.ignoring {
                if matches { take(match) } else { next.append(match) }
                continue
            }
            if match.count < stage.times {
                if matches { take(match) } else if !stage.consecutive { next.append(match) }
                continue
            }
            // A looping stage that has taken enough events.
            if matches { take(match) }
            if !(stage.greedy && matches), match.stage + 1 < completedStage {
                var proceeding = match
                proceeding.stage += 1
                proceeding.count = 0
                let following = stages[proceeding.stage]
                if following.condition(payload) {
                    take(proceeding)
                } else if following.contiguity == .relaxed {
                    next.append(proceeding)
                }
            }
            if !matches && !stage.consecutive {
                var waiting = match
                waiting.ignoring = true
                next.append(waiting)
            }
        }
        if stages[0].condition(payload) {
            take(PartialMatch(stage: 0, count: 0, start: timestamp, events: []))
        }
        current = held + completed + next
        if !completed.isEmpty || !held.isEmpty { release(&current, key: key) }
    }

    /// Emits the completed matches that no partial match started before
    /// (with `.noSkip`: all of them), earliest first, each followed by the after-match strategy's pruning
    /// of the remaining partial and completed matches (Flink's
    /// `processMatchesAccordingToSkipStrategy`).
    private func release(_ current: inout [PartialMatch<Payload>], key: Key) {
        let completedStage = pattern.stages.count
        // Stable by first event: ties keep the order they completed in.
        var done = current.enumerated().filter { $0.element.stage == completedStage }
            .sorted { ($0.element.startSeq, $0.offset) < ($1.element.startSeq, $1.offset) }.map(\.element)
        guard !done.isEmpty else { return }
        var open = current.filter { $0.stage < completedStage }
        // NO_SKIP prunes nothing, so nothing waits (Flink emits at once when
        // the strategy is not a skip strategy).
        let waits = afterMatch != .noSkip
        while let first = done.first {
            if waits, let earliestOpen = open.lazy.map(\.startSeq).min(), earliestOpen < first.startSeq { break }
            done.removeFirst()
            matches += 1
            output.append(.match(report(first, key: key)))
            if let (pruneID, inclusive) = pruning(after: first) {
                let prune: (PartialMatch<Payload>) -> Bool = {
                    inclusive ? $0.startSeq <= pruneID : $0.startSeq < pruneID
                }
                open.removeAll(where: prune)
                done.removeAll(where: prune)
            }
        }
        current = done + open
    }

    /// The event (sequence number) the strategy prunes against after
    /// `match`, and whether matches starting at it are pruned too; nil:
    /// prune nothing.
    private func pruning(after match: PartialMatch<Payload>) -> (UInt64, Bool)? {
        switch afterMatch {
        case .noSkip:
            return nil
        case .skipToNext:
            return match.events.first.map { ($0.seq, true) }
        case .skipPastLastEvent:
            return match.events.last.map { ($0.seq, true) }
        case .skipToFirst(let name):
            guard let index = pattern.stages.firstIndex(where: { $0.name == name }) else { return nil }
            return match.events.first { $0.stage == index }.map { ($0.seq, false) }
        case .skipToLast(let name):
            guard let index = pattern.stages.firstIndex(where: { $0.name == name }) else { return nil }
            return match.events.last { $0.stage == index }.map { ($0.seq, false) }
        }
    }

    private func report(_ match: PartialMatch<Payload>, key: Key) -> PatternMatch<Key, Payload> {
        PatternMatch(key: key, events: match.events.map {
            (pattern.stages[$0.stage].name, Event(key: key, timestamp: $0.timestamp, payload: $0.payload))
        })
    }

    /// Outputs since the last call, in order.
    public func takeOutput() -> [PatternOutput<Key, Payload>] {
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }
}

extension PatternOperator: StreamOperator {
    public typealias Input = Payload
    public typealias Output = PatternOutput<Key, Payload>
}
