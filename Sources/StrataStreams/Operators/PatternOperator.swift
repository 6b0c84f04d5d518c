import Strata

/// A partial match: the stage it is in, how many events that stage has
/// taken, when it started, and the events so far (stage index, timestamp, payload).
struct PartialMatch<P> {
    var stage: Int
    var count: Int
    var start: Int64
    var events: [(stage: Int, timestamp: Int64, payload: P)]
}

/// The partial matches of one key: `[n varint]` then per match
/// `[stage 2 BE][count 4 BE][start 8][m varint]` and per event
/// `[stage 2 BE][timestamp 8][length varint][payload]`.
struct PartialMatchesCodec<P: StateCodec>: StateCodec {
    let payload: P
    var fixedWidth: Int? { nil }

    func encode(_ value: [PartialMatch<P.Value>], into out: inout [UInt8]) {
        KeyLengthPrefix.append(value.count, into: &out)
        var scratch: [UInt8] = []
        for match in value {
            out.append(UInt8(match.stage >> 8)); out.append(UInt8(match.stage & 0xFF))
            withUnsafeBytes(of: UInt32(match.count).bigEndian) { out.append(contentsOf: $0) }
            Int64Codec().encode(match.start, into: &out)
            KeyLengthPrefix.append(match.events.count, into: &out)
            for event in match.events {
                out.append(UInt8(event.stage >> 8)); out.append(UInt8(event.stage & 0xFF))
                Int64Codec().encode(event.timestamp, into: &out)
                scratch.removeAll(keepingCapacity: true)
                payload.encode(event.payload, into: &scratch)
                scratch.withUnsafeBytes { MergeEncoding.appendElement($0, into: &out) }
            }
        }
    }

    func decode(_ bytes: UnsafeRawBufferPointer) throws -> [PartialMatch<P.Value>] {
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
        var result: [PartialMatch<P.Value>] = []
        for _ in 0..<(try varint()) {
            let stage = try u16()
            try need(4)
            let count = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            offset += 4
            let start = try i64()
            var events: [(stage: Int, timestamp: Int64, payload: P.Value)] = []
            for _ in 0..<(try varint()) {
                let eventStage = try u16()
                let ts = try i64()
                let length = try varint()
                try need(length)
                events.append((eventStage, ts, try payload.decode(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]))))
                offset += length
            }
            result.append(PartialMatch(stage: stage, count: count, start: start, events: events))
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
/// Every event that satisfies the first stage starts a partial match
/// (Flink's NO_SKIP default; `.skipPastLastEvent` drops the others after a
/// match). Partial matches that run out of `within` are emitted as
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
    private let partials: ValueState<PartialMatchesCodec<PayloadCodec>>
    private let timers: TimerService
    private var output: [PatternOutput<Key, Payload>] = []
    /// The current watermark (`Int64.min` before the first).
    public private(set) var watermark: Int64 = .min
    /// Matches, timeouts and late events so far.
    public private(set) var matches = 0, timeouts = 0, lateEvents = 0

    /// Builds the operator. Throws `.invalidArgument` for an invalid pattern.
    public init(backend: StateBackend, name: String, keyCodec: KeyCodec, payloadCodec: PayloadCodec,
                pattern: Pattern<Payload>, afterMatch: AfterMatchSkip = .noSkip, emitTimeouts: Bool = true) throws {
        try pattern.validate()
        self.backend = backend
        self.keyCodec = keyCodec
        self.name = name
        self.pattern = pattern
        self.afterMatch = afterMatch
        self.emitTimeouts = emitTimeouts
        buffer = try backend.valueState(StateDescriptor("\(name)/buffer"), valueCodec: TimestampedListCodec(payload: payloadCodec))
        partials = try backend.valueState(StateDescriptor("\(name)/partial"),
                                          valueCodec: PartialMatchesCodec(payload: payloadCodec))
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
        var current = try partials.value(for: key) ?? []
        if due.isEmpty && current.isEmpty { return }
        let typedKey = try backend.decodeKey(key, codec: keyCodec)
        for (ts, payload) in due {
            expire(&current, before: ts, key: typedKey)
            step(&current, timestamp: ts, payload: payload, key: typedKey)
        }
        expire(&current, before: time &+ 1, key: typedKey)
        if current.isEmpty {
            try partials.clear(for: key)
        } else {
            try partials.update(current, for: key)
            if let window = pattern.window {
                for match in current where match.start &+ window > time {
                    try timers.register(KeyedTimer(timestamp: match.start &+ window, key: key))
                }
            }
        }
    }

    /// Removes partial matches that can no longer complete at `timestamp`
    /// (their last event would be ≥ `within` after their first).
    private func expire(_ current: inout [PartialMatch<Payload>], before timestamp: Int64, key: Key) {
        guard let window = pattern.window else { return }
        current.removeAll { match in
            guard timestamp &- match.start >= window else { return false }
            timeouts += 1
            if emitTimeouts { output.append(.timeout(report(match, key: key))) }
            return true
        }
    }

    /// One event through the automaton (see `Pattern` for the semantics).
    private func step(_ current: inout [PartialMatch<Payload>], timestamp: Int64, payload: Payload, key: Key) {
        let stages = pattern.stages
        var next: [PartialMatch<Payload>] = []
        var completed: [PartialMatch<Payload>] = []
        func take(_ match: PartialMatch<Payload>) {
            var taken = match
            taken.events.append((taken.stage, timestamp, payload))
            taken.count += 1
            if taken.count == stages[taken.stage].times {
                taken.stage += 1
                taken.count = 0
                if taken.stage == stages.count {
                    completed.append(taken)
                    return
                }
            }
            next.append(taken)
        }
        for match in current {
            let stage = stages[match.stage]
            if stage.condition(payload) {
                take(match)
            } else if match.count == 0 && stage.contiguity == .strict {
                continue                      // `next` broken: the partial match ends
            } else {
                next.append(match)
            }
        }
        if stages[0].condition(payload) {
            take(PartialMatch(stage: 0, count: 0, start: timestamp, events: []))
        }
        for match in completed {
            matches += 1
            output.append(.match(report(match, key: key)))
        }
        if !completed.isEmpty && afterMatch == .skipPastLastEvent { next.removeAll() }
        current = next
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
