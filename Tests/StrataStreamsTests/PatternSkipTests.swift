import Foundation
import Strata
import Testing
@testable import StrataStreams

/// The after-match skip strategies and looping stages, pinned to the
/// results Flink documents ("After Match Skip Strategy" in Flink's CEP
/// docs) and tests (`AfterMatchSkipITCase`, `NFAITCase`). Events are names
/// such as "b1"; a condition looks at the letters in the name, as Flink's
/// tests do.
@Suite struct PatternSkipTests {
    /// Runs `events` (timestamps 1, 2, …, one key) through `pattern` with
    /// `skip`, returns the matches as lists of event names, in emission order.
    private func run(_ pattern: Pattern<String>, _ skip: AfterMatchSkip, _ events: [String],
                     restartAfter: Int? = nil) throws -> [[String]] {
        let h = try OperatorTestHarness(options: .testing()) { backend in
            try PatternOperator(backend: backend, name: "p", keyCodec: Int64Codec(), payloadCodec: StringCodec(),
                                pattern: pattern, afterMatch: skip)
        }
        defer { try? h.close() }
        for (i, name) in events.enumerated() {
            try h.processElement(key: 7, timestamp: Int64(i + 1), name)
            // One watermark per event: the automaton runs event by event.
            try h.processWatermark(Int64(i + 1))
            if i + 1 == restartAfter { try h.restartFromCheckpoint() }
        }
        try h.processWatermark(.max - 1)
        return h.outputs.compactMap(\.match).map { $0.events.map(\.event.payload) }
    }

    private static func has(_ letters: String) -> @Sendable (String) -> Bool {
        { name in name.contains { letters.contains($0) } }
    }

    /// Flink's docs example `b+ c` on `b1 b2 b3 c` (Flink's test:
    /// `oneOrMore().consecutive().greedy().next(...)`).
    private var bPlusC: Pattern<String> {
        Pattern<String>.begin("b", where: Self.has("b")).oneOrMore().consecutive().greedy()
            .next("c", where: Self.has("c"))
    }
    private let bbbc = ["b1", "b2", "b3", "c"]

    @Test func docsExampleBPlusCNoSkip() throws {
        #expect(try run(bPlusC, .noSkip, bbbc) == [["b1", "b2", "b3", "c"], ["b2", "b3", "c"], ["b3", "c"]])
    }

    @Test func docsExampleBPlusCSkipToNext() throws {
        #expect(try run(bPlusC, .skipToNext, bbbc) == [["b1", "b2", "b3", "c"], ["b2", "b3", "c"], ["b3", "c"]])
    }

    @Test func docsExampleBPlusCSkipPastLastEvent() throws {
        #expect(try run(bPlusC, .skipPastLastEvent, bbbc) == [["b1", "b2", "b3", "c"]])
    }

    @Test func docsExampleBPlusCSkipToFirst() throws {
        #expect(try run(bPlusC, .skipToFirst("b"), bbbc) == [["b1", "b2", "b3", "c"], ["b2", "b3", "c"], ["b3", "c"]])
    }

    @Test func docsExampleBPlusCSkipToLast() throws {
        #expect(try run(bPlusC, .skipToLast("b"), bbbc) == [["b1", "b2", "b3", "c"], ["b3", "c"]])
    }

    /// `(a | b | c) (b | c) c+.greedy d` on `a b c1 c2 c3 d`.
    private var abcPattern: Pattern<String> {
        Pattern<String>.begin("a|b|c", where: Self.has("abc"))
            .followedBy("b|c", where: Self.has("bc"))
            .followedBy("c*", where: Self.has("c")).oneOrMore().greedy()
            .followedBy("d", where: Self.has("d"))
    }
    private let abcccd = ["a", "b", "c1", "c2", "c3", "d"]

    @Test func docsExampleGreedyNoSkip() throws {
        #expect(try run(abcPattern, .noSkip, abcccd)
                == [["a", "b", "c1", "c2", "c3", "d"], ["b", "c1", "c2", "c3", "d"], ["c1", "c2", "c3", "d"]])
    }

    @Test func docsExampleGreedySkipToFirst() throws {
        #expect(try run(abcPattern, .skipToFirst("c*"), abcccd)
                == [["a", "b", "c1", "c2", "c3", "d"], ["c1", "c2", "c3", "d"]])
    }

    /// `a b+` on `a b1 b2 b3`: NO_SKIP and SKIP_TO_NEXT.
    private var aBPlus: Pattern<String> {
        Pattern<String>.begin("a", where: Self.has("a")).next("b", where: Self.has("b")).oneOrMore()
    }

    @Test func docsExampleABPlusNoSkip() throws {
        #expect(try run(aBPlus, .noSkip, ["a", "b1", "b2", "b3"]) == [["a", "b1"], ["a", "b1", "b2"], ["a", "b1", "b2", "b3"]])
    }

    @Test func docsExampleABPlusSkipToNext() throws {
        #expect(try run(aBPlus, .skipToNext, ["a", "b1", "b2", "b3"]) == [["a", "b1"]])
    }

    /// `a{3}` on six a's (Flink's testNoSkip / testSkipPastLast).
    @Test func timesWithNoSkipAndSkipPastLastEvent() throws {
        let a3 = Pattern<String>.begin("start", where: Self.has("a")).times(3)
        let six = ["a1", "a2", "a3", "a4", "a5", "a6"]
        #expect(try run(a3, .noSkip, six)
                == [["a1", "a2", "a3"], ["a2", "a3", "a4"], ["a3", "a4", "a5"], ["a4", "a5", "a6"]])
        #expect(try run(a3, .skipPastLastEvent, six) == [["a1", "a2", "a3"], ["a4", "a5", "a6"]])
    }

    /// Flink's testSkipToFirst / testSkipToLast: `a{2} next b{2}` on "ab" events.
    @Test func skipToFirstAndLastWithTimes() throws {
        let pattern = Pattern<String>.begin("start", where: Self.has("a")).times(2)
            .next("end", where: Self.has("b")).times(2)
        let six = (1...6).map { "ab\($0)" }
        #expect(try run(pattern, .skipToFirst("end"), six) == [["ab1", "ab2", "ab3", "ab4"], ["ab3", "ab4", "ab5", "ab6"]])
        #expect(try run(pattern, .skipToLast("end"), six + ["ab7"])
                == [["ab1", "ab2", "ab3", "ab4"], ["ab4", "ab5", "ab6", "ab7"]])
    }

    /// Flink's testSkipToFirstWithOneOrMore: the match's own continuation is pruned.
    @Test func skipToFirstPrunesTheLoopingContinuation() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a")).next("b", where: Self.has("b")).oneOrMore().consecutive()
        let events = ["a1", "b1", "a2", "b2", "b3", "a3", "b4"]
        #expect(try run(pattern, .skipToFirst("b"), events) == [["a1", "b1"], ["a2", "b2"], ["a3", "b4"]])
        #expect(try run(pattern, .skipToLast("b"), events) == [["a1", "b1"], ["a2", "b2"], ["a3", "b4"]])
    }

    /// Flink's testSkipPastLast3: `a next b` on `a1 c a2 b2`.
    @Test func skipPastLastEventWithStrictContiguity() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a")).next("b", where: Self.has("b"))
        #expect(try run(pattern, .skipPastLastEvent, ["a1", "c", "a2", "b2"]) == [["a2", "b2"]])
    }

    /// Flink's testEagerZeroOrMore without the optional: `c followedBy a+
    /// followedBy b` on `c a1 a2 d a3 b`: a non-greedy relaxed loop hands
    /// each event to the next stage too.
    @Test func nonGreedyLoopBranches() throws {
        let pattern = Pattern<String>.begin("start", where: { $0 == "c" })
            .followedBy("middle", where: Self.has("a")).oneOrMore()
            .followedBy("end", where: Self.has("b"))
        let got = try run(pattern, .noSkip, ["c", "a1", "a2", "d", "a3", "b"])
        #expect(Set(got) == [["c", "a1", "a2", "a3", "b"], ["c", "a1", "a2", "b"], ["c", "a1", "b"]])
        #expect(got.count == 3)
    }

    /// Flink's testStrictContinuityNoResultsAfterZeroOrMore (without the
    /// optional): after an ignored event a loop cannot hand over to a
    /// strict next stage.
    @Test func loopAfterAnIgnoredEventCannotProceedStrictly() throws {
        let pattern = Pattern<String>.begin("start", where: { $0 == "d" })
            .followedBy("middle", where: Self.has("a")).oneOrMore()
            .next("end", where: Self.has("b"))
        #expect(try run(pattern, .noSkip, ["d", "a1", "a2", "c", "b"]).isEmpty)
    }

    /// Three failed logins then a success: `skipPastLastEvent` reports one
    /// alert for a burst of failures, `noSkip` one per window of three.
    @Test func skipPastLastEventEmitsOneMatchPerCompletingEvent() throws {
        let pattern = Pattern<String>.begin("fail", where: { $0.hasPrefix("f") }).times(3)
            .followedBy("success", where: { $0 == "s" })
        let events = ["f1", "f2", "f3", "f4", "f5", "s", "f6", "f7", "f8", "s"]
        #expect(try run(pattern, .skipPastLastEvent, events)
                == [["f1", "f2", "f3", "s"], ["f6", "f7", "f8", "s"]])
        #expect(try run(pattern, .noSkip, events).count == 6)
        // The same across a restart from a checkpoint taken mid-stream.
        #expect(try run(pattern, .skipPastLastEvent, events, restartAfter: 4)
                == [["f1", "f2", "f3", "s"], ["f6", "f7", "f8", "s"]])
    }

    @Test func invalidStrategiesAndGreedyAreRejected() throws {
        let h = try OperatorTestHarness(options: .testing()) { backend in
            try PatternOperator(backend: backend, name: "p", keyCodec: Int64Codec(), payloadCodec: StringCodec(),
                                pattern: Pattern<String>.begin("a", where: { _ in true }))
        }
        defer { try? h.close() }
        #expect(throws: StrataError.self) {
            try PatternOperator(backend: h.backend, name: "q", keyCodec: Int64Codec(), payloadCodec: StringCodec(),
                                pattern: Pattern<String>.begin("a", where: { _ in true }), afterMatch: .skipToFirst("zz"))
        }
        #expect(throws: StrataError.self) {
            try PatternOperator(backend: h.backend, name: "r", keyCodec: Int64Codec(), payloadCodec: StringCodec(),
                                pattern: Pattern<String>.begin("a", where: { _ in true }).oneOrMore().greedy())
        }
    }
}
