import Foundation
import Strata
import Testing
@testable import StrataStreams

/// Every window semantic pinned by a readable timeline, through the harness.
@Suite("Window operator semantics")
struct WindowOperatorTests {
    typealias CountOperator = WindowOperator<StringCodec, Int64, Int64>
    typealias Output = WindowOutput<String, Int64, Int64>

    static func harness(
        _ assigner: WindowAssigner, lateness: Int64 = 0
    ) throws -> OperatorTestHarness<CountOperator> {
        try OperatorTestHarness(options: .testing()) { backend in
            try WindowOperator(
                name: "counts", backend: backend, keyCodec: StringCodec(), assigner: assigner,
                allowedLateness: lateness, aggregate: CountAggregate<Int64>())
        }
    }

    static func result(_ key: String, _ start: Int64, _ end: Int64, _ value: Int64, _ firing: WindowFiring = .onTime)
        -> Output
    {
        .result(WindowResult(key: key, window: TimeWindow(start: start, end: end), value: value, firing: firing))
    }

    /// Outputs in a canonical order (key, window) for comparing the results of one watermark.
    static func sorted(_ outputs: [Output]) -> [Output] {
        outputs.sorted { "\($0)" < "\($1)" }
    }

    @Test("tumbling: a window fires when the watermark reaches end − 1, not before")
    func tumblingFiresAtEnd() throws {
        let h = try Self.harness(.tumbling(size: 10))
        defer { try? h.close() }
        try h.processElement(key: "a", timestamp: 1, 0)
        try h.processElement(key: "a", timestamp: 5, 0)
        try h.processElement(key: "b", timestamp: 7, 0)
        try h.processElement(key: "a", timestamp: 12, 0)  // next window
        #expect(try h.processWatermark(8).isEmpty)
        #expect(Self.sorted(try h.processWatermark(9)) == [Self.result("a", 0, 10, 2), Self.result("b", 0, 10, 1)])
        #expect(try h.processWatermark(18).isEmpty)
        #expect(try h.processWatermark(19) == [Self.result("a", 10, 20, 1)])
        #expect(try h.stateEntryCount() == 0)
    }

    @Test("tumbling with an offset and negative timestamps (floor, not truncation)")
    func tumblingOffsetAndNegative() throws {
        let w = try TumblingWindows(size: 10, offset: 3)
        #expect(w.window(containing: 3) == TimeWindow(start: 3, end: 13))
        #expect(w.window(containing: 2) == TimeWindow(start: -7, end: 3))
        #expect(w.window(containing: -8) == TimeWindow(start: -17, end: -7))
        #expect(try TumblingWindows(size: 10, offset: -7) == w)  // same grid
    }

    @Test("out-of-order events before the watermark are on time")
    func outOfOrderOnTime() throws {
        let h = try Self.harness(.tumbling(size: 10))
        defer { try? h.close() }
        for t: Int64 in [15, 3, 12, 7, 19, 0] { try h.processElement(key: "k", timestamp: t, 0) }
        #expect(try h.processWatermark(9) == [Self.result("k", 0, 10, 3)])
        try h.processElement(key: "k", timestamp: 11, 0)  // after w = 9 but in a later window: on time
        #expect(try h.processWatermark(100) == [Self.result("k", 10, 20, 4)])
        #expect(h.op.statistics.lateEventsDropped == 0)
    }

    @Test("an event beyond the allowed lateness goes to the late output and is counted")
    func lateOutput() throws {
        let h = try Self.harness(.tumbling(size: 10))
        defer { try? h.close() }
        try h.processElement(key: "k", timestamp: 4, 0)
        #expect(try h.processWatermark(9) == [Self.result("k", 0, 10, 1)])
        #expect(try h.processElement(key: "k", timestamp: 9, 42) == [.late(Event(key: "k", timestamp: 9, payload: 42))])
        #expect(h.op.statistics.lateEventsDropped == 1)
        #expect(h.op.statistics.eventsAccepted == 1)
        #expect(try h.stateEntryCount() == 0)  // the late event left nothing behind
    }

    @Test("allowed lateness: late events re-fire the window until end − 1 + lateness, then go to the late output")
    func latenessRefires() throws {
        let h = try Self.harness(.tumbling(size: 10), lateness: 5)
        defer { try? h.close() }
        try h.processElement(key: "k", timestamp: 2, 0)
        #expect(try h.processWatermark(9) == [Self.result("k", 0, 10, 1)])
        #expect(try h.processElement(key: "k", timestamp: 4, 0) == [Self.result("k", 0, 10, 2, .lateUpdate)])
        #expect(try h.processWatermark(13).isEmpty)
        #expect(try h.processElement(key: "k", timestamp: 5, 0) == [Self.result("k", 0, 10, 3, .lateUpdate)])
        #expect(try h.stateEntryCount() > 0)
        #expect(try h.processWatermark(14).isEmpty)  // 9 + 5: the window's state goes
        #expect(try h.stateEntryCount() == 0)
        #expect(try h.processElement(key: "k", timestamp: 6, 0) == [.late(Event(key: "k", timestamp: 6, payload: 0))])
        #expect(h.op.statistics.lateUpdates == 2)
    }

    @Test("a late event within the lateness can open a window that fires at once")
    func lateFirstEvent() throws {
        let h = try Self.harness(.tumbling(size: 10), lateness: 20)
        defer { try? h.close() }
        try h.processWatermark(25)
        #expect(try h.processElement(key: "k", timestamp: 7, 0) == [Self.result("k", 0, 10, 1, .lateUpdate)])
        #expect(try h.processWatermark(28).isEmpty)
        #expect(try h.stateEntryCount() > 0)
        try h.processWatermark(29)  // 9 + 20
        #expect(try h.stateEntryCount() == 0)
    }

    @Test("one timer registration per (key, window), not per event")
    func timerPerWindow() throws {
        let h = try Self.harness(.tumbling(size: 1000))
        defer { try? h.close() }
        for t in 0..<500 { try h.processElement(key: "k", timestamp: Int64(t), 0) }
        #expect(h.op.statistics.timersRegistered == 1)
        #expect(try h.processWatermark(999) == [Self.result("k", 0, 1000, 500)])
    }

    @Test("sliding: each event counts in size/slide windows, combined from panes")
    func slidingPanes() throws {
        let h = try Self.harness(.sliding(size: 10, slide: 5))
        defer { try? h.close() }
        for t: Int64 in [3, 7, 12] { try h.processElement(key: "k", timestamp: t, 0) }
        #expect(try h.processWatermark(4) == [Self.result("k", -5, 5, 1)])
        #expect(try h.processWatermark(9) == [Self.result("k", 0, 10, 2)])
        #expect(try h.processWatermark(14) == [Self.result("k", 5, 15, 2)])
        #expect(try h.processWatermark(19) == [Self.result("k", 10, 20, 1)])
        #expect(try h.stateEntryCount() == 0)
    }

    @Test("sliding with a slide that does not divide the size: panes of gcd(size, slide)")
    func slidingGcdPanes() throws {
        let s = try SlidingWindows(size: 10, slide: 4)
        #expect(s.paneSize == 2)
        #expect(s.windows(containing: 9) == [TimeWindow(start: 8, end: 18), TimeWindow(start: 4, end: 14), TimeWindow(start: 0, end: 10)])
        let h = try Self.harness(.sliding(size: 10, slide: 4))
        defer { try? h.close() }
        for t: Int64 in [1, 5, 9] { try h.processElement(key: "k", timestamp: t, 0) }
        #expect(Self.sorted(try h.processWatermark(100)) == Self.sorted([
            Self.result("k", -8, 2, 1), Self.result("k", -4, 6, 2), Self.result("k", 0, 10, 3),
            Self.result("k", 4, 14, 2), Self.result("k", 8, 18, 1),
        ]))
        #expect(try h.stateEntryCount() == 0)
    }

    @Test("sliding lateness: a late event updates the windows that already fired and waits in the others")
    func slidingLateness() throws {
        let h = try Self.harness(.sliding(size: 10, slide: 5), lateness: 3)
        defer { try? h.close() }
        try h.processElement(key: "k", timestamp: 6, 0)
        #expect(try h.processWatermark(9) == [Self.result("k", 0, 10, 1)])
        // t = 8 is in [0, 10) (fired, within lateness: update) and [5, 15) (not fired yet).
        #expect(try h.processElement(key: "k", timestamp: 8, 0) == [Self.result("k", 0, 10, 2, .lateUpdate)])
        #expect(try h.processWatermark(12).isEmpty)
        // t = 4: [0, 10) is late now (9 + 3 ≤ 12) and [−5, 5) too: the late output.
        #expect(try h.processElement(key: "k", timestamp: 4, 0) == [.late(Event(key: "k", timestamp: 4, payload: 0))])
        #expect(try h.processWatermark(14) == [Self.result("k", 5, 15, 2)])
        try h.processWatermark(17)
        #expect(try h.stateEntryCount() == 0)
    }

    @Test("sessions merge across out-of-order arrivals")
    func sessionMerges() throws {
        let h = try Self.harness(.session(gap: 10))
        defer { try? h.close() }
        try h.processElement(key: "k", timestamp: 0, 0)  // [0, 10)
        try h.processElement(key: "k", timestamp: 25, 0)  // [25, 35)
        try h.processElement(key: "k", timestamp: 12, 0)  // [12, 22): touches neither
        #expect(h.op.statistics.sessionMerges == 0)
        try h.processElement(key: "k", timestamp: 18, 0)  // [18, 28) joins [12, 22) and [25, 35): [12, 35)
        #expect(h.op.statistics.sessionMerges == 1)
        try h.processElement(key: "k", timestamp: 5, 0)  // [5, 15) joins [0, 10) and [12, 35): [0, 35)
        #expect(try h.processWatermark(33).isEmpty)
        #expect(try h.processWatermark(34) == [Self.result("k", 0, 35, 5)])
        #expect(try h.stateEntryCount() == 0)
    }

    @Test("sessions exactly gap apart touch and merge (Flink's intersects)")
    func sessionTouching() throws {
        let h = try Self.harness(.session(gap: 10))
        defer { try? h.close() }
        try h.processElement(key: "k", timestamp: 0, 0)
        try h.processElement(key: "k", timestamp: 10, 0)
        try h.processElement(key: "k", timestamp: 21, 0)
        let out = try h.processWatermark(100)
        #expect(out == [Self.result("k", 0, 20, 2), Self.result("k", 21, 31, 1)])
    }

    @Test("a session that keeps growing fires once, at its final end")
    func sessionGrowsThenFires() throws {
        let h = try Self.harness(.session(gap: 5))
        defer { try? h.close() }
        for t: Int64 in stride(from: 0, through: 40, by: 3) {
            try h.processElement(key: "k", timestamp: t, 0)
        }
        // 14 extensions, one registration: the session's timer stays at its first end (4)...
        #expect(h.op.statistics.timersRegistered == 1)
        // ...and, when it fires, finds the end moved to 43 and registers there (fired in the same call).
        #expect(try h.processWatermark(100) == [Self.result("k", 0, 44, 14)])
        #expect(h.op.statistics.timersRegistered == 2)
        #expect(try h.stateEntryCount() == 0)
    }

    @Test("session lateness: a late event re-fires or extends the fired session; beyond it, the late output")
    func sessionLateness() throws {
        let h = try Self.harness(.session(gap: 10), lateness: 20)
        defer { try? h.close() }
        try h.processElement(key: "k", timestamp: 0, 0)
        #expect(try h.processWatermark(9) == [Self.result("k", 0, 10, 1)])
        // t = 5 extends the fired session to [0, 15): its end is ahead, so it fires again later.
        #expect(try h.processElement(key: "k", timestamp: 5, 0).isEmpty)
        #expect(try h.processWatermark(14) == [Self.result("k", 0, 15, 2)])
        #expect(try h.processElement(key: "k", timestamp: 3, 0) == [Self.result("k", 0, 15, 3, .lateUpdate)])
        #expect(try h.processWatermark(33).isEmpty)
        #expect(try h.stateEntryCount() > 0)
        #expect(try h.processWatermark(34).isEmpty)  // 14 + 20: removed
        #expect(try h.stateEntryCount() == 0)
        #expect(try h.processElement(key: "k", timestamp: 4, 0) == [.late(Event(key: "k", timestamp: 4, payload: 0))])
    }

    @Test("a late event joining two fired sessions fires the merged session at once")
    func sessionLateMerge() throws {
        let h = try Self.harness(.session(gap: 10), lateness: 50)
        defer { try? h.close() }
        try h.processElement(key: "k", timestamp: 0, 0)
        try h.processElement(key: "k", timestamp: 30, 0)
        #expect(try h.processWatermark(45) == [Self.result("k", 0, 10, 1), Self.result("k", 30, 40, 1)])
        // [15, 25): a session of its own, late but within the lateness: fires at once.
        #expect(try h.processElement(key: "k", timestamp: 15, 0) == [Self.result("k", 15, 25, 1, .lateUpdate)])
        #expect(try h.processElement(key: "k", timestamp: 22, 0) == [Self.result("k", 15, 40, 3, .lateUpdate)])
        #expect(try h.processElement(key: "k", timestamp: 8, 0) == [Self.result("k", 0, 40, 5, .lateUpdate)])
        try h.processWatermark(89)  // 39 + 50
        #expect(try h.stateEntryCount() == 0)
    }

    @Test("full-window function: the window's elements, as a list state")
    func fullWindowFunction() throws {
        let h = try OperatorTestHarness(options: .testing()) { backend in
            try WindowOperator(
                name: "lists", backend: backend, keyCodec: StringCodec(), assigner: .tumbling(size: 10),
                elementCodec: StringCodec(),
                process: { key, window, elements in "\(key)@\(window.start): \(elements.joined(separator: ","))" })
        }
        defer { try? h.close() }
        try h.processElement(key: "k", timestamp: 3, "x")
        try h.processElement(key: "k", timestamp: 1, "y")
        try h.processElement(key: "k", timestamp: 12, "z")
        let out = try h.processWatermark(9)
        #expect(out.map(\.result?.value) == ["k@0: x,y"])
        #expect(try h.processWatermark(19).map(\.result?.value) == ["k@10: z"])
        #expect(try h.stateEntryCount() == 0)
    }

    @Test("average and max as incremental aggregates")
    func otherAggregates() throws {
        let h = try OperatorTestHarness(options: .testing()) { backend in
            try WindowOperator(
                name: "avg", backend: backend, keyCodec: Int64Codec(), assigner: .tumbling(size: 10),
                aggregate: AverageAggregate())
        }
        defer { try? h.close() }
        for (t, v) in [(1, 2.0), (2, 4.0), (3, 9.0)] { try h.processElement(key: 7, timestamp: Int64(t), v) }
        #expect(try h.processWatermark(9).map(\.result?.value) == [5.0])
    }

    @Test("a timestamp outside ±2^61 ms is rejected with invalidArgument and changes nothing")
    func invalidTimestamp() throws {
        let h = try Self.harness(.tumbling(size: 10))
        defer { try? h.close() }
        #expect(throws: StrataError.self) { try h.processElement(key: "k", timestamp: .max, 0) }
        do {
            try h.processElement(key: "k", timestamp: .min, 0)
        } catch let error as StrataError {
            #expect(error.kind == .invalidArgument)
            #expect(error.message.contains("±2^61"))
        }
        #expect(h.op.statistics.eventsProcessed == 0)
        #expect(try h.stateEntryCount() == 0)
    }

    @Test("bad parameters are rejected with invalidArgument")
    func badParameters() throws {
        #expect(throws: StrataError.self) { try TumblingWindows(size: 0) }
        #expect(throws: StrataError.self) { try TumblingWindows(size: 10, offset: 10) }
        #expect(throws: StrataError.self) { try SlidingWindows(size: 10, slide: 11) }
        #expect(throws: StrataError.self) { try SessionWindows(gap: 0) }
        #expect(throws: StrataError.self) {
            _ = try Self.harness(.tumbling(size: 10), lateness: -1)
        }
    }

    @Test("state survives a restart from a checkpoint")
    func restart() throws {
        let h = try Self.harness(.session(gap: 10), lateness: 5)
        defer { try? h.close() }
        try h.processElement(key: "k", timestamp: 0, 0)
        try h.processElement(key: "k", timestamp: 8, 0)
        try h.processWatermark(3)
        try h.restartFromCheckpoint()
        try h.processElement(key: "k", timestamp: 15, 0)
        #expect(try h.processWatermark(24) == [Self.result("k", 0, 25, 3)])
        try h.processWatermark(29)
        #expect(try h.stateEntryCount() == 0)
    }

    @Test("a corrupt session set is reported with what was expected")
    func corruptSessionSet() throws {
        var bytes: [UInt8] = []
        SessionWindowSetCodec().encode(
            SessionWindowSet(entries: [.init(window: TimeWindow(start: 5, end: 1), stateWindow: TimeWindow(start: 5, end: 1))]),
            into: &bytes)
        do {
            _ = try bytes.withUnsafeBytes { try SessionWindowSetCodec().decode($0) }
            Issue.record("decoded an inverted window")
        } catch let error as StrataError {
            #expect(error.kind == .corruption)
            #expect(error.message.contains("entry 0 at byte offset 4"))
        }
        do {
            _ = try [UInt8](repeating: 0, count: 7).withUnsafeBytes { try SessionWindowSetCodec().decode($0) }
            Issue.record("decoded a truncated set")
        } catch let error as StrataError {
            #expect(error.message.contains("expected 4"))
        }
    }
}
