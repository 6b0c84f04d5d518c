import Foundation
import Strata

/// A stream of values with event timestamps: the output of a keyed
/// operator (window results, pattern matches) or `KeyedStream.events()`.
/// Transform it with `map`/`filter`/`flatMap` (stateless, fused into the
/// operator before them) and write it with `sink`.
public struct DataStream<Element> {
    let graph: JobGraph
    let id: Int
    let build: (JobPartition) throws -> Port<Element>

    func port(in partition: JobPartition) throws -> Port<Element> {
        try partition.port(id) { try build(partition) }
    }

    private func derived<T>(
        _ handle: @escaping (Element, Int64, Port<T>) throws -> Void
    ) -> DataStream<T> {
        let upstream = self
        return DataStream<T>(graph: graph, id: graph.newID()) { partition in
            let input = try upstream.port(in: partition)
            let port = Port<T>()
            input.subscribe(elements: { element, ts in try handle(element, ts, port) },
                            watermark: { try port.watermark($0) })
            return port
        }
    }

    /// Transforms each element (timestamp unchanged).
    public func map<T>(_ transform: @escaping (Element) throws -> T) -> DataStream<T> {
        derived { element, ts, port in try port.push(transform(element), timestamp: ts) }
    }

    /// Keeps the elements `isIncluded` accepts.
    public func filter(_ isIncluded: @escaping (Element) throws -> Bool) -> DataStream<Element> {
        derived { element, ts, port in if try isIncluded(element) { try port.push(element, timestamp: ts) } }
    }

    /// Replaces each element by zero or more (each with its timestamp).
    public func flatMap<S: Sequence>(_ transform: @escaping (Element) throws -> S) -> DataStream<S.Element> {
        derived { element, ts, port in for out in try transform(element) { try port.push(out, timestamp: ts) } }
    }

    /// Writes every element as one row of the sink stream `name`: its JSON
    /// encoding (keys sorted) with row key `key(element)`. Rows are
    /// committed exactly once per checkpoint epoch: to the JSON-lines
    /// files of the job's directory and to each `EpochCommitter` of `run`
    /// (which upsert by (stream, row key): give distinct elements distinct
    /// keys). Names must be unique in a job.
    public func sink(_ name: String, key: @escaping (Element) -> String) where Element: Encodable {
        graph.claimOutput(name)
        let upstream = self
        graph.sinks.append { partition in
            try upstream.port(in: partition).subscribe(elements: { element, _ in
                try partition.emitRow(stream: name, key: key(element), value: element)
            }, watermark: { _ in })
        }
    }

    /// Writes window results to the sink stream `name`, row key
    /// `"<key>@<window start>"` (a late update replaces the row of its window).
    public func sink<Key, Value>(_ name: String) where Element == WindowResult<Key, Value>, Key: Encodable,
        Value: Encodable {
        sink(name) { "\($0.key)@\($0.window.start)" }
    }
}

extension TimeWindow: Codable {
    private enum CodingKeys: String, CodingKey { case start, end }

    /// Decodes `{"start": …, "end": …}` (milliseconds).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(start: try container.decode(Int64.self, forKey: .start), end: try container.decode(Int64.self, forKey: .end))
    }

    /// Encodes `{"start": …, "end": …}` (milliseconds).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(start, forKey: .start)
        try container.encode(end, forKey: .end)
    }
}

/// `"onTime"` or `"lateUpdate"`.
extension WindowFiring: Encodable {
    /// Encodes the firing as `"onTime"` or `"lateUpdate"`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self == .onTime ? "onTime" : "lateUpdate")
    }
}

/// `{"key", "window": {"start", "end"}, "value", "firing": "onTime"|"lateUpdate"}`.
extension WindowResult: Encodable where Key: Encodable, Value: Encodable {
    private enum CodingKeys: String, CodingKey { case key, window, value, firing }

    /// Encodes the result as `{"firing", "key", "value", "window"}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        try container.encode(window, forKey: .window)
        try container.encode(value, forKey: .value)
        try container.encode(firing, forKey: .firing)
    }
}

/// `{"key", "timestamp", "payload"}`.
extension Event: Encodable where Key: Encodable, Payload: Encodable {
    private enum CodingKeys: String, CodingKey { case key, timestamp, payload }

    /// Encodes the event as `{"key", "payload", "timestamp"}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        try container.encode(timestamp, forKey: .timestamp)
        try container.encode(payload, forKey: .payload)
    }
}

/// `{"key", "events": [{"stage", "timestamp", "payload"}, …]}`.
extension PatternMatch: Encodable where Key: Encodable, Payload: Encodable {
    private enum CodingKeys: String, CodingKey { case key, events }
    private struct Taken: Encodable {
        var stage: String
        var timestamp: Int64
        var payload: Payload
    }

    /// Encodes the match as `{"events": [{"payload", "stage", "timestamp"}], "key"}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        try container.encode(events.map { Taken(stage: $0.stage, timestamp: $0.event.timestamp, payload: $0.event.payload) },
                             forKey: .events)
    }
}
