import Foundation
import Strata

/// Which windows a keyed stream is cut into, with `Duration`s (Flink's
/// `TumblingEventTimeWindows`, `SlidingEventTimeWindows`,
/// `EventTimeSessionWindows`). Sizes are rounded down to milliseconds;
/// invalid sizes fail `StreamJob.run` with `.invalidArgument`.
public struct Windows: Sendable {
    let make: @Sendable () throws -> WindowAssigner

    /// Fixed windows `[start, start + size)`, starts at `offset` + multiples of `size`.
    public static func tumbling(_ size: Duration, offset: Duration = .zero) -> Windows {
        Windows { try .tumbling(size: size.wholeMilliseconds, offset: offset.wholeMilliseconds) }
    }

    /// Windows of `size` starting every `slide` (slide ≤ size).
    public static func sliding(_ size: Duration, every slide: Duration, offset: Duration = .zero) -> Windows {
        Windows { try .sliding(size: size.wholeMilliseconds, slide: slide.wholeMilliseconds, offset: offset.wholeMilliseconds) }
    }

    /// Sessions: events of a key closer than `gap` share a window.
    public static func session(gap: Duration) -> Windows {
        Windows { try .session(gap: gap.wholeMilliseconds) }
    }
}

/// A keyed stream cut into windows: finish it with `aggregate` or `process`.
public struct WindowedStream<KeyCodec: StateCodec, Element> {
    /// The key type.
    public typealias Key = KeyCodec.Value
    let keyed: KeyedStream<KeyCodec, Element>
    let windows: Windows
    let allowedLateness: Int64
    let name: String
    let lateOutput: String?

    /// Sends events that are late for all their windows (beyond the
    /// allowed lateness) to the side output `name`: JSON rows
    /// `{"key", "timestamp", "payload"}` with row key `key@timestamp`
    /// (Flink's `sideOutputLateData`). Without it, late events are counted
    /// (`PipelineSummary.counters["<window>.late"]`) and dropped, as in Flink.
    public func sideOutputLateData(_ name: String) -> WindowedStream
    where Element: Encodable, KeyCodec.Value: Encodable {
        keyed.graph.claimOutput(name)
        return WindowedStream(keyed: keyed, windows: windows, allowedLateness: allowedLateness, name: self.name,
                              lateOutput: name)
    }

    /// Aggregates each window incrementally with `function` (one
    /// accumulator per key and window in the engine). Each firing is one
    /// `WindowResult`, timestamped `window.end − 1`.
    public func aggregate<F: AggregateFunction>(_ function: F) -> DataStream<WindowResult<Key, F.Output>>
    where F.Input == Element {
        let (name, windows, lateness, keyCodec) = (self.name, self.windows, allowedLateness, keyed.keyCodec)
        return finish { backend in
            try WindowOperator<KeyCodec, Element, F.Output>(name: name, backend: backend, keyCodec: keyCodec,
                                                            assigner: windows.make(), allowedLateness: lateness,
                                                            aggregate: function)
        }
    }

    /// Keeps each window's elements (in the engine, with `elementCodec`)
    /// and calls `function(key, window, elements)` when it fires (Flink's
    /// `ProcessWindowFunction`).
    public func process<C: StateCodec, Value>(
        elementCodec: C, _ function: @escaping (Key, TimeWindow, [Element]) throws -> Value
    ) -> DataStream<WindowResult<Key, Value>> where C.Value == Element {
        let (name, windows, lateness, keyCodec) = (self.name, self.windows, allowedLateness, keyed.keyCodec)
        return finish { backend in
            try WindowOperator<KeyCodec, Element, Value>(name: name, backend: backend, keyCodec: keyCodec,
                                                         assigner: windows.make(), allowedLateness: lateness,
                                                         elementCodec: elementCodec, process: function)
        }
    }

    private func finish<Value>(
        _ make: @escaping (StateBackend) throws -> WindowOperator<KeyCodec, Element, Value>
    ) -> DataStream<WindowResult<Key, Value>> {
        let keyed = self.keyed
        let (name, lateOutput) = (self.name, self.lateOutput)
        return DataStream(graph: keyed.graph, id: keyed.graph.newID()) { partition in
            let input = try keyed.port(in: partition)
            let op = try make(partition.backend)
            partition.counters["\(name).late"] = { op.statistics.lateEventsDropped }
            partition.counters["\(name).fired"] = { op.statistics.onTimeResults + op.statistics.lateUpdates }
            let port = Port<WindowResult<Key, Value>>()
            func drain() throws {
                for output in op.takeOutput() {
                    switch output {
                    case .result(let result):
                        try port.push(result, timestamp: result.window.maxTimestamp)
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
}
