import Foundation
import Strata

/// A stream partitioned by key (after `SourceStream.keyBy`): its elements
/// are `Event`s carrying the key, the event timestamp and the payload.
/// Keyed operators keep their state per key; their outputs carry the key on.
public struct KeyedStream<KeyCodec: StateCodec, Element> {
    /// The key type.
    public typealias Key = KeyCodec.Value
    let graph: JobGraph
    let keyCodec: KeyCodec
    let id: Int
    let build: (JobPartition) throws -> Port<Event<Key, Element>>

    init(graph: JobGraph, keyCodec: KeyCodec, id: Int,
         build: @escaping (JobPartition) throws -> Port<Event<Key, Element>>) {
        self.graph = graph
        self.keyCodec = keyCodec
        self.id = id
        self.build = build
    }

    func port(in partition: JobPartition) throws -> Port<Event<Key, Element>> {
        try partition.port(id) { try build(partition) }
    }

    /// A keyed stream whose port is `make(partition, upstream port)`.
    func derived<T>(
        _ make: @escaping (JobPartition, Port<Event<Key, Element>>) throws -> Port<Event<Key, T>>
    ) -> KeyedStream<KeyCodec, T> {
        let upstream = self
        return KeyedStream<KeyCodec, T>(graph: graph, keyCodec: keyCodec, id: graph.newID()) { partition in
            try make(partition, try upstream.port(in: partition))
        }
    }

    /// Keeps the events `isIncluded` accepts; the key stays.
    public func filter(_ isIncluded: @escaping (Element) throws -> Bool) -> KeyedStream<KeyCodec, Element> {
        derived { _, upstream in
            let port = Port<Event<Key, Element>>()
            upstream.subscribe(elements: { event, ts in
                if try isIncluded(event.payload) { try port.push(event, timestamp: ts) }
            }, watermark: { try port.watermark($0) })
            return port
        }
    }

    /// Transforms each payload; the key and timestamp stay (Kafka Streams'
    /// `mapValues`).
    public func mapValues<T>(_ transform: @escaping (Element) throws -> T) -> KeyedStream<KeyCodec, T> {
        derived { _, upstream in
            let port = Port<Event<Key, T>>()
            upstream.subscribe(elements: { event, ts in
                try port.push(Event(key: event.key, timestamp: event.timestamp, payload: transform(event.payload)),
                              timestamp: ts)
            }, watermark: { try port.watermark($0) })
            return port
        }
    }

    /// The events as a plain stream of `Event` values (key, timestamp, payload).
    public func events() -> DataStream<Event<Key, Element>> {
        let upstream = self
        return DataStream(graph: graph, id: graph.newID()) { try upstream.port(in: $0) }
    }

    /// Deduplicates per key (Flink SQL's deduplication): `.first` emits the
    /// first event of a key and drops the rest until `ttl` has passed since
    /// it (keep-first); `.last` emits every event not older than the last
    /// one kept for its key, each replacing the previous (keep-last, upsert
    /// semantics: a sink keyed by the dedup key ends with the last event);
    /// older ones are dropped as stale. The TTL runs on event time.
    /// `mode` is `.exact` (default) or adds a Bloom filter in front of the
    /// engine lookups (`DedupMode`). `name` names the operator's state
    /// (default `dedup-<n>`); a name must stay the same across restarts for
    /// the state to be found. Counters: `<name>.duplicates`, `<name>.stale`,
    /// `<name>.lookupsSkipped` (see `StreamJob`).
    public func dedup(keep: DedupKeep = .first, ttl: Duration, mode: DedupMode = .exact,
                      name: String? = nil) -> KeyedStream<KeyCodec, Element> {
        dedupStage(keep: keep, ttl: ttl, mode: mode, name: name) { op, event, _ in try op.processElement(event) }
    }

    /// Deduplicates by `id(element)` within each key: as `dedup(keep:ttl:)`
    /// with the pair (key, id) as the dedup key (Flink SQL's deduplication
    /// `PARTITION BY key, id`), without re-keying the stream: events keep
    /// their key, and the pair's state lives in the key's key group (the
    /// state key is the key's stored encoding followed by the id's). Use it
    /// for ids unique within a key, e.g. request ids of a user's retried
    /// requests. `idCodec` encodes the id in the state.
    public func dedup<IDCodec: StateCodec>(
        by idCodec: IDCodec, _ id: @escaping (Element) -> IDCodec.Value, keep: DedupKeep = .first, ttl: Duration,
        mode: DedupMode = .exact, name: String? = nil
    ) -> KeyedStream<KeyCodec, Element> {
        let keyCodec = self.keyCodec
        return dedupStage(keep: keep, ttl: ttl, mode: mode, name: name) { op, event, backend in
            let partitionKey = backend.stateKey(event.key, codec: keyCodec)
            let pair = partitionKey.encoded + StateKey.storedEncoding(of: id(event.payload), codec: idCodec)
            try op.processElement(event, stateKey: StateKey(keyGroup: partitionKey.keyGroup, encoded: pair))
        }
    }

    private func dedupStage(
        keep: DedupKeep, ttl: Duration, mode: DedupMode, name: String?,
        _ process: @escaping (DedupOperator<KeyCodec, Element>, Event<Key, Element>, StateBackend) throws -> Void
    ) -> KeyedStream<KeyCodec, Element> {
        let operatorName = graph.operatorName(name, kind: "dedup", id: graph.newID())
        let keyCodec = self.keyCodec
        let ttlMilliseconds = ttl.wholeMilliseconds
        return derived { partition, upstream in
            let op = try DedupOperator<KeyCodec, Element>(backend: partition.backend, name: operatorName,
                                                          keyCodec: keyCodec,
                                                          options: DedupOptions(ttl: ttlMilliseconds, keep: keep,
                                                                                mode: mode))
            partition.counters["\(operatorName).duplicates"] = { op.statistics.duplicates }
            partition.counters["\(operatorName).stale"] = { op.statistics.stale }
            if mode != .exact { partition.counters["\(operatorName).lookupsSkipped"] = { op.statistics.lookupsSkipped } }
            let port = Port<Event<Key, Element>>()
            let backend = partition.backend
            func drain() throws {
                for out in op.takeOutput() { try port.push(out.event, timestamp: out.event.timestamp) }
            }
            upstream.subscribe(elements: { event, _ in
                try process(op, event, backend)
                try drain()
            }, watermark: { w in
                try op.processWatermark(w)
                try drain()
                try port.watermark(w)
            })
            return port
        }
    }

    /// Windows per key: `window(.tumbling(.seconds(60)))`, then `aggregate`
    /// or `process`. A window fires when the watermark passes its end;
    /// an event within `allowedLateness` after that updates the window and
    /// fires it again at once (`WindowFiring.lateUpdate`); later events are
    /// late (see `WindowedStream.sideOutputLateData`). As Flink's windows.
    public func window(_ windows: Windows, allowedLateness: Duration = .zero, name: String? = nil)
        -> WindowedStream<KeyCodec, Element> {
        WindowedStream(keyed: self, windows: windows, allowedLateness: allowedLateness.wholeMilliseconds,
                       name: graph.operatorName(name, kind: "window", id: graph.newID()), lateOutput: nil)
    }

    /// Detects `pattern` per key (Flink CEP): events are buffered until the
    /// watermark passes them and run in timestamp order; each match is one
    /// output, timestamped with its last event; `afterMatch` decides which
    /// overlapping matches are kept (see `AfterMatchSkip`). Events at or
    /// below the watermark are late: counted, and sent to `lateOutput` as
    /// JSON rows `{"key", "timestamp", "payload"}` when it is given (then
    /// the key and payload must be `Encodable`, or the run fails). Partial
    /// matches that run out of the pattern's `within` time are counted
    /// (`<name>.timeouts`) and, when `timedOutOutput` is given, written
    /// there as rows shaped like an encoded match (`{"key", "events":
    /// [{"stage", "timestamp", "payload"}]}`, the events taken so far; row
    /// key `<key>@<first timestamp>-<last timestamp>`; Flink's
    /// `TimedOutPartialMatchHandler`), also needing `Encodable` keys and
    /// payloads. Payloads wait in state with `payloadCodec`.
    public func pattern<PayloadCodec: StateCodec>(
        _ pattern: Pattern<Element>, payloadCodec: PayloadCodec, afterMatch: AfterMatchSkip = .noSkip,
        lateOutput: String? = nil, timedOutOutput: String? = nil, name: String? = nil
    ) -> DataStream<PatternMatch<Key, Element>> where PayloadCodec.Value == Element {
        let operatorName = graph.operatorName(name, kind: "pattern", id: graph.newID())
        if let lateOutput { graph.claimOutput(lateOutput) }
        if let timedOutOutput { graph.claimOutput(timedOutOutput) }
        let keyCodec = self.keyCodec
        let upstream = self
        return DataStream(graph: graph, id: graph.newID()) { partition in
            let input = try upstream.port(in: partition)
            let op = try PatternOperator(backend: partition.backend, name: operatorName, keyCodec: keyCodec,
                                         payloadCodec: payloadCodec, pattern: pattern, afterMatch: afterMatch,
                                         emitTimeouts: timedOutOutput != nil)
            partition.counters["\(operatorName).late"] = { op.lateEvents }
            partition.counters["\(operatorName).matches"] = { op.matches }
            partition.counters["\(operatorName).timeouts"] = { op.timeouts }
            let port = Port<PatternMatch<Key, Element>>()
            func drain() throws {
                for out in op.takeOutput() {
                    switch out {
                    case .match(let match):
                        try port.push(match, timestamp: match.events.last?.event.timestamp ?? partition.watermark)
                    case .timeout(let partial):
                        if let timedOutOutput {
                            try TimedOutRow.emit(partial, stream: timedOutOutput, partition: partition)
                        }
                    case .late(let event):
                        if let lateOutput { try LateRow.emit(event, stream: lateOutput, partition: partition) }
                    }
                }
            }
            input.subscribe(elements: { event, _ in
                try op.processElement(event)
                try drain()
            }, watermark: { w in
                try op.processWatermark(w)
                try drain()
                try port.watermark(w)
            })
            return port
        }
    }

    /// `pattern` with payloads kept in state as JSON (`CodableCodec`).
    public func pattern(
        _ pattern: Pattern<Element>, afterMatch: AfterMatchSkip = .noSkip, lateOutput: String? = nil,
        timedOutOutput: String? = nil, name: String? = nil
    ) -> DataStream<PatternMatch<Key, Element>> where Element: Codable & Sendable {
        self.pattern(pattern, payloadCodec: CodableCodec<Element>(), afterMatch: afterMatch,
                     lateOutput: lateOutput, timedOutOutput: timedOutOutput, name: name)
    }
}

/// A timed-out partial match as a side-output row: the match's JSON shape.
enum TimedOutRow {
    static func emit<Key, Payload>(_ partial: PatternMatch<Key, Payload>, stream: String,
                                   partition: JobPartition) throws {
        guard let row = partial as? any Encodable else {
            throw StrataError(.invalidArgument, "job: timed-out output '\(stream)' needs Encodable keys and payloads,"
                              + " got \(Key.self) and \(Payload.self)")
        }
        let first = partial.events.first?.event.timestamp ?? 0
        let last = partial.events.last?.event.timestamp ?? 0
        try emit(row, key: "\(partial.key)@\(first)-\(last)", stream: stream, partition: partition)
    }

    private static func emit<Row: Encodable>(_ row: Row, key: String, stream: String, partition: JobPartition) throws {
        try partition.emitRow(stream: stream, key: key, value: row)
    }
}

/// A late event as a side-output row.
enum LateRow {
    struct Row<Key: Encodable, Payload: Encodable>: Encodable {
        var key: Key
        var timestamp: Int64
        var payload: Payload
    }

    static func emit<Key, Payload>(_ event: Event<Key, Payload>, stream: String, partition: JobPartition) throws {
        guard let key = event.key as? any Encodable, let payload = event.payload as? any Encodable else {
            throw StrataError(.invalidArgument, "job: late output '\(stream)' needs Encodable keys and payloads,"
                              + " got \(Key.self) and \(Payload.self)")
        }
        try emit(key: key, payload: payload, timestamp: event.timestamp, keyText: "\(event.key)", stream: stream,
                 partition: partition)
    }

    private static func emit<K: Encodable, P: Encodable>(key: K, payload: P, timestamp: Int64, keyText: String,
                                                         stream: String, partition: JobPartition) throws {
        try partition.emitRow(stream: stream, key: "\(keyText)@\(timestamp)",
                              value: Row(key: key, timestamp: timestamp, payload: payload))
    }
}
