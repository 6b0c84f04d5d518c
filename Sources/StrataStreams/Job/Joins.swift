import Foundation
import Strata

extension KeyedStream {
    /// Joins this stream (left) with `other` (right, same key) on event
    /// time: pairs with `left.ts + lower ≤ right.ts ≤ left.ts + upper`,
    /// emitted as soon as both are present (Flink's `intervalJoin(...)
    /// .between(lower, upper)`); with `.leftOuter`, also left events that
    /// found no partner once none can come. Both sides are kept in the
    /// engine with their codecs and pruned by the watermark (the minimum of
    /// both inputs'). Outputs are `JoinOutput`s, timestamped with the later
    /// event of a pair (the left event for unmatched and late-left
    /// outputs, the right event for late-right ones).
    public func intervalJoin<Right, LeftCodec: StateCodec, RightCodec: StateCodec>(
        _ other: KeyedStream<KeyCodec, Right>, between lower: Duration, and upper: Duration,
        leftCodec: LeftCodec, rightCodec: RightCodec, joinType: JoinType = .inner, name: String? = nil
    ) -> DataStream<JoinOutput<Key, Element, Right>> where LeftCodec.Value == Element, RightCodec.Value == Right {
        let operatorName = graph.operatorName(name, kind: "interval-join", id: graph.newID())
        let keyCodec = self.keyCodec
        let (lowerMs, upperMs) = (lower.wholeMilliseconds, upper.wholeMilliseconds)
        return join(other, name: operatorName) { backend in
            try IntervalJoinOperator(backend: backend, name: operatorName, keyCodec: keyCodec, leftCodec: leftCodec,
                                     rightCodec: rightCodec, lower: lowerMs, upper: upperMs, joinType: joinType)
        }
    }

    /// Joins this stream (left) with `other` (right, same key) per window:
    /// every pair of a key's events in the same window, emitted when the
    /// window fires (Flink's `join(...).where(...).equalTo(...).window(...)`);
    /// with `.leftOuter`, also left events without a partner in their
    /// window. Tumbling and sliding windows only (sessions fail `run` with
    /// `.notSupported`). Outputs as for `intervalJoin`.
    public func windowJoin<Right, LeftCodec: StateCodec, RightCodec: StateCodec>(
        _ other: KeyedStream<KeyCodec, Right>, windows: Windows,
        leftCodec: LeftCodec, rightCodec: RightCodec, joinType: JoinType = .inner, name: String? = nil
    ) -> DataStream<JoinOutput<Key, Element, Right>> where LeftCodec.Value == Element, RightCodec.Value == Right {
        let operatorName = graph.operatorName(name, kind: "window-join", id: graph.newID())
        let keyCodec = self.keyCodec
        return join(other, name: operatorName) { backend in
            try WindowJoinOperator(backend: backend, name: operatorName, keyCodec: keyCodec, leftCodec: leftCodec,
                                   rightCodec: rightCodec, assigner: windows.make(), joinType: joinType)
        }
    }

    /// Wires a two-input operator: both inputs' events in, the minimum of
    /// their watermarks (so outputs one input produces at a watermark are
    /// never late for the join), outputs on; counts late events of both
    /// sides in `<name>.late`.
    private func join<Right, Op: TwoInputStreamOperator>(
        _ other: KeyedStream<KeyCodec, Right>, name: String, _ make: @escaping (StateBackend) throws -> Op
    ) -> DataStream<JoinOutput<Key, Element, Right>>
    where Op.Key == Key, Op.Left == Element, Op.Right == Right, Op.Output == JoinOutput<Key, Element, Right> {
        if other.graph !== graph { graph.fail("a join's inputs must come from the same job") }
        let left = self
        return DataStream(graph: graph, id: graph.newID()) { partition in
            let leftPort = try left.port(in: partition)
            let rightPort = try other.port(in: partition)
            let op = try make(partition.backend)
            let port = Port<JoinOutput<Key, Element, Right>>()
            var watermarks: (left: Int64, right: Int64, joined: Int64) = (.min, .min, .min)
            let late = RunningCount()
            partition.counters["\(name).late"] = { late.value }
            func drain() throws {
                for output in op.takeOutput() {
                    let timestamp: Int64
                    switch output {
                    case .joined(let l, let r, _): timestamp = max(l.timestamp, r.timestamp)
                    case .unmatchedLeft(let l, _): timestamp = l.timestamp
                    case .lateLeft(let l):
                        timestamp = l.timestamp
                        late.value += 1
                    case .lateRight(let r):
                        timestamp = r.timestamp
                        late.value += 1
                    }
                    try port.push(output, timestamp: timestamp)
                }
            }
            func advance() throws {
                let w = min(watermarks.left, watermarks.right)
                guard w > watermarks.joined else { return }
                watermarks.joined = w
                try op.processWatermark(w)
                try drain()
                try port.watermark(w)
            }
            leftPort.subscribe(elements: { event, _ in
                try op.processLeft(event)
                try drain()
            }, watermark: { w in
                watermarks.left = max(watermarks.left, w)
                try advance()
            })
            rightPort.subscribe(elements: { event, _ in
                try op.processRight(event)
                try drain()
            }, watermark: { w in
                watermarks.right = max(watermarks.right, w)
                try advance()
            })
            return port
        }
    }
}
