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

    /// This match moved to `stage` with none of its events taken there yet.
    func entering(_ stage: Int) -> PartialMatch {
        var moved = self
        moved.stage = stage
        moved.count = 0
        moved.ignoring = false
        return moved
    }
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
    /// completed matches they held back. A match waiting in a final
    /// `notFollowedBy` stage completes instead: its window ended without
    /// the event it must not see (Flink 1.16+).
    private func expire(_ current: inout [PartialMatch<Payload>], before timestamp: Int64, key: Key) {
        guard let window = pattern.window else { return }
        let completedStage = pattern.stages.count
        var changed = false
        var kept: [PartialMatch<Payload>] = []
        kept.reserveCapacity(current.count)
        for var match in current {
            guard match.stage < completedStage, timestamp &- match.start >= window else {
                kept.append(match)
                continue
            }
            changed = true
            if isPendingCompletion(match) {
                match.stage = completedStage
                match.count = 0
                kept.append(match)
                continue
            }
            timeouts += 1
            if emitTimeouts { output.append(.timeout(report(match, key: key))) }
        }
        guard changed else { return }
        current = kept
        release(&current, key: key)
    }

    /// Whether `match` waits in a final `notFollowedBy` stage: it completes
    /// when its window ends.
    private func isPendingCompletion(_ match: PartialMatch<Payload>) -> Bool {
        let stages = pattern.stages
        return match.stage == stages.count - 1 && stages[match.stage].negative && stages[match.stage].contiguity == .relaxed
    }

    /// One event (sequence number `seq` in the key's processing order)
    /// through the automaton: every partial match takes, ignores or drops
    /// it, and a new partial match starts if the first stage takes it
    /// (or a later one, past optional first stages).
    ///
    /// Per partial match in stage `s` having taken `c` events of it
    /// ("takes" = the condition holds and `until`, if any, does not):
    /// - `c == 0` (waiting for the stage's first event): take it if the
    ///   stage takes it; else wait (relaxed contiguity) or end (strict).
    ///   An optional stage was also skipped when the match got here (a
    ///   copy waits in the next stage).
    /// - `c < times`: take it if the stage takes it; else wait (the
    ///   default relaxed contiguity inside a stage) or end (`consecutive()`,
    ///   or the event satisfies `until`).
    /// - `c ≥ times` in a looping stage: take it if the stage takes it;
    ///   and, unless greedy and taken, also try the next stage on the same
    ///   event (take it there, or wait for the next stage if its contiguity
    ///   is relaxed; past optional stages too); an event the loop does not
    ///   take leaves a copy that waits for the next event of the loop
    ///   (relaxed only, and not after an `until` event) and cannot move on
    ///   without one.
    /// Negative stages take nothing: a match waiting at a `notNext` stage
    /// ends if the event satisfies it and otherwise goes on with the next
    /// stage on the same event (or completes, if it is the last stage); a
    /// `notFollowedBy` stage's condition ends every match that waits for the
    /// stage after it, or loops in the stage before it, or waits in it as
    /// the last stage (see `expire`). When such a condition ends a match,
    /// nothing it would have done with the event happens (Flink's stop state).
    /// A match completes when the last stage has taken `times` events (or
    /// only optional stages remain); a looping stage keeps a copy that may
    /// take more.
    private func step(_ current: inout [PartialMatch<Payload>], seq: UInt64, timestamp: Int64, payload: Payload, key: Key) {
        let stages = pattern.stages
        let completedStage = stages.count
        var next: [PartialMatch<Payload>] = []
        var held: [PartialMatch<Payload>] = []
        var completed: [PartialMatch<Payload>] = []
        func takes(_ stage: Pattern<Payload>.Stage) -> Bool { stage.condition(payload) && !(stage.until?(payload) ?? false) }
        /// `match` has finished the stage before `stage`: it waits at
        /// `stage`, and past it if `stage` is optional or a non-final
        /// `notFollowedBy`; completes at the end.
        func land(_ match: PartialMatch<Payload>, at stage: Int) {
            let moved = match.entering(stage)
            guard stage < completedStage else {
                completed.append(moved)
                return
            }
            let s = stages[stage]
            if s.negative && s.contiguity == .relaxed && stage + 1 < completedStage {
                land(match, at: stage + 1)
                return
            }
            next.append(moved)
            if s.optional { land(match, at: stage + 1) }
        }
        /// A looping stage before `stage` has taken enough events: the
        /// completions (or final `notFollowedBy` waits) reachable without
        /// another event.
        func finishEagerly(_ match: PartialMatch<Payload>, at stage: Int) {
            let moved = match.entering(stage)
            guard stage < completedStage else {
                completed.append(moved)
                return
            }
            let s = stages[stage]
            if s.negative {
                if s.contiguity == .relaxed {
                    if stage + 1 < completedStage { finishEagerly(match, at: stage + 1) } else { next.append(moved) }
                }
            } else if s.optional {
                finishEagerly(match, at: stage + 1)
            }
        }
        func take(_ match: PartialMatch<Payload>) {
            var taken = match
            taken.ignoring = false
            taken.events.append((taken.stage, seq, timestamp, payload))
            taken.count += 1
            let stage = stages[taken.stage]
            guard taken.count >= stage.times else {
                next.append(taken)
                return
            }
            if stage.looping {
                next.append(taken)
                finishEagerly(taken, at: taken.stage + 1)
            } else {
                land(taken, at: taken.stage + 1)
            }
        }
        /// `match` reaches `stage` with this event (it proceeds from a loop
        /// or a `notNext`): false if a negative condition ends the match.
        func enter(_ match: PartialMatch<Payload>, at stage: Int) -> Bool {
            guard stage < completedStage else { return true }
            var moved = match.entering(stage)
            let s = stages[stage]
            if s.negative {
                if s.contiguity == .strict {
                    if s.condition(payload) { return false }
                    if stage + 1 == completedStage {
                        moved.stage = completedStage
                        completed.append(moved)
                        return true
                    }
                }
                // A final notFollowedBy waits already (finishEagerly).
                return stage + 1 == completedStage ? true : enter(match, at: stage + 1)
            }
            if takes(s) {
                take(moved)
            } else if s.contiguity == .relaxed {
                next.append(moved)
            }
            if s.optional && stage + 1 < completedStage { return enter(match, at: stage + 1) }
            return true
        }
        /// Whether a `notFollowedBy` condition ends `match` at this event.
        func stopped(_ match: PartialMatch<Payload>) -> Bool {
            let s = stages[match.stage]
            if s.negative { return s.contiguity == .relaxed && s.condition(payload) }
            if match.count == 0 {
                // Negative stages passed since the match's last event.
                let last = match.events.last?.stage ?? -1
                var k = match.stage - 1
                while k > last {
                    if stages[k].negative && stages[k].contiguity == .relaxed && stages[k].condition(payload) { return true }
                    k -= 1
                }
                return false
            }
            if s.looping && match.count >= s.times && match.stage + 1 < completedStage {
                let following = stages[match.stage + 1]
                return following.negative && following.contiguity == .relaxed && following.condition(payload)
            }
            return false
        }
        for match in current {
            guard match.stage < completedStage else {
                held.append(match)
                continue
            }
            if stopped(match) { continue }
            let stage = stages[match.stage]
            // What this match adds, undone if a notNext ends it.
            let nextMark = next.count, completedMark = completed.count
            var alive = true
            defer {
                if !alive {
                    next.removeSubrange(nextMark...)
                    completed.removeSubrange(completedMark...)
                }
            }
            if stage.negative {
                // Waiting at a notNext (a final notFollowedBy was stopped above or waits on).
                if stage.contiguity == .strict { alive = enter(match, at: match.stage) } else { next.append(match) }
                continue
            }
            let taking = takes(stage)
            let untilHit = stage.until?(payload) ?? false
            if match.count == 0 {
                if taking {
                    take(match)
                } else if stage.contiguity == .relaxed {
                    next.append(match)
                }
                continue
            }
            if match.ignoring {
                if taking { take(match) } else if !untilHit { next.append(match) }
                continue
            }
            if match.count < stage.times {
                if taking { take(match) } else if !stage.consecutive && !untilHit { next.append(match) }
                continue
            }
            // A looping stage that has taken enough events.
            if taking { take(match) }
            if !(stage.greedy && taking), match.stage + 1 < completedStage {
                alive = enter(match, at: match.stage + 1)
                if !alive { continue }
            }
            if !taking && !stage.consecutive && !untilHit {
                var waiting = match
                waiting.ignoring = true
                next.append(waiting)
            }
        }
        // New partial matches: at the first stage, or past optional ones.
        var first = 0
        while first < completedStage {
            let stage = stages[first]
            if takes(stage) { take(PartialMatch(stage: first, count: 0, start: timestamp, events: [])) }
            guard stage.optional else { break }
            first += 1
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
