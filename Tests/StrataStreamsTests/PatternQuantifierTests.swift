import Foundation
import Strata
import Testing
@testable import StrataStreams
import StrataStreamsSQLite

/// `optional()`, `until(...)`, `notNext`/`notFollowedBy` and timed-out
/// partial matches, pinned to the semantics Flink's CEP documents (the
/// quantifier table, "Combining Patterns", `until`, and Flink 1.16's
/// `notFollowedBy` at the end with `within`). Events are names such as
/// "b1"; a condition looks at the letters in the name, as Flink's tests do.
@Suite struct PatternQuantifierTests {
    /// Runs `events` (timestamps 1, 2, … unless given, one key) through
    /// `pattern`, one watermark per event, then a final watermark; returns
    /// the matches and the timed-out partial matches as lists of event names.
    private func run(_ pattern: Pattern<String>, _ events: [String], timestamps: [Int64]? = nil,
                     skip: AfterMatchSkip = .noSkip, restartAfter: Set<Int> = [])
        throws -> (matches: [[String]], timeouts: [[String]]) {
        let h = try OperatorTestHarness(options: .testing()) { backend in
            try PatternOperator(backend: backend, name: "p", keyCodec: Int64Codec(), payloadCodec: StringCodec(),
                                pattern: pattern, afterMatch: skip)
        }
        defer { try? h.close() }
        for (i, name) in events.enumerated() {
            let ts = timestamps?[i] ?? Int64(i + 1)
            try h.processElement(key: 7, timestamp: ts, name)
            try h.processWatermark(ts)
            if restartAfter.contains(i + 1) { try h.restartFromCheckpoint() }
        }
        try h.processWatermark(.max - 1)
        var matches: [[String]] = [], timeouts: [[String]] = []
        for out in h.outputs {
            switch out {
            case .match(let m): matches.append(m.events.map(\.event.payload))
            case .timeout(let m): timeouts.append(m.events.map(\.event.payload))
            case .late: break
            }
        }
        return (matches, timeouts)
    }

    private func matches(_ pattern: Pattern<String>, _ events: [String], skip: AfterMatchSkip = .noSkip)
        throws -> [[String]] {
        try run(pattern, events, skip: skip).matches
    }

    /// Matches as a set: for results whose order among matches with the
    /// same first event Flink does not specify.
    private func unordered(_ list: [[String]]) -> Set<[String]> { Set(list) }

    private static func has(_ letters: String) -> @Sendable (String) -> Bool {
        { name in name.contains { letters.contains($0) } }
    }

    // MARK: optional()

    /// Flink's `start.times(4).optional()` ("expecting 0 or 4
    /// occurrences"), with 2: one `a` is not enough, none or two are.
    @Test func timesOptionalTakesNoneOrExactlyN() throws {
        let pattern = Pattern<String>.begin("c", where: Self.has("c"))
            .followedBy("a", where: Self.has("a")).times(2).optional()
            .followedBy("b", where: Self.has("b"))
        #expect(try matches(pattern, ["c", "a1", "b"]) == [["c", "b"]])
        #expect(try unordered(matches(pattern, ["c", "a1", "a2", "b"])) == [["c", "a1", "a2", "b"], ["c", "b"]])
    }

    /// `a b? c` (relaxed): with and without the optional stage.
    @Test func optionalMiddleStage() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a"))
            .followedBy("b", where: Self.has("b")).optional()
            .followedBy("c", where: Self.has("c"))
        #expect(try unordered(matches(pattern, ["a", "b", "c"])) == [["a", "b", "c"], ["a", "c"]])
        #expect(try matches(pattern, ["a", "d", "c"]) == [["a", "c"]])
    }

    /// `a b?`: the match completes at once with `a`, and again with `b`.
    @Test func optionalLastStageCompletesWithoutIt() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a")).followedBy("b", where: Self.has("b")).optional()
        #expect(try matches(pattern, ["a1", "b1"]) == [["a1"], ["a1", "b1"]])
    }

    /// `a? next b`: a match may start at `b`; when `a` is taken, `b` must
    /// follow it strictly.
    @Test func optionalFirstStage() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a")).optional().next("b", where: Self.has("b"))
        #expect(try matches(pattern, ["a1", "b1", "x", "b2"]) == [["a1", "b1"], ["b1"], ["b2"]])
        #expect(try matches(pattern, ["a1", "x", "b1"]) == [["b1"]])
    }

    /// `a b* c` (`oneOrMore().optional()`), relaxed: the first `b` after
    /// `a` is taken (skip-till-next), or none.
    @Test func oneOrMoreOptionalIsKleeneStar() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a"))
            .followedBy("b", where: Self.has("b")).oneOrMore().optional()
            .followedBy("c", where: Self.has("c"))
        #expect(try unordered(matches(pattern, ["a", "b1", "b2", "c"]))
                == [["a", "b1", "b2", "c"], ["a", "b1", "c"], ["a", "c"]])
        #expect(try matches(pattern, ["a", "c"]) == [["a", "c"]])
    }

    // MARK: until()

    /// `a+ until x` as the whole pattern: the `x` closes every loop, so no
    /// match spans it; without `until` the loops skip it.
    @Test func untilClosesALoopingLastStage() throws {
        let plus = Pattern<String>.begin("a", where: Self.has("a")).oneOrMore()
        let events = ["a1", "a2", "x", "a3"]
        #expect(try matches(plus.until(Self.has("x")), events) == [["a1"], ["a1", "a2"], ["a2"], ["a3"]])
        #expect(try matches(plus, events) == [["a1"], ["a1", "a2"], ["a2"], ["a1", "a2", "a3"], ["a2", "a3"], ["a3"]])
    }

    /// An event satisfying both the loop's condition and `until` is not
    /// taken (and starts nothing).
    @Test func untilEventIsNeverTaken() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a")).oneOrMore().until(Self.has("x"))
        #expect(try matches(pattern, ["a1", "ax", "a2"]) == [["a1"], ["a2"]])
    }

    /// `a+ until x followedBy c`: after `x` the loop takes no more `a`, the
    /// match waits for `c`.
    @Test func untilHandsOverToTheNextStage() throws {
        let plus = Pattern<String>.begin("a", where: Self.has("a")).oneOrMore()
        let events = ["a1", "x", "a2", "c"]
        let c = Self.has("c")
        #expect(try unordered(matches(plus.until(Self.has("x")).followedBy("c", where: c), events))
                == [["a1", "c"], ["a2", "c"]])
        #expect(try unordered(matches(plus.followedBy("c", where: c), events))
                == [["a1", "c"], ["a1", "a2", "c"], ["a2", "c"]])
    }

    /// `timesOrMore(2).until(x)`: an `x` before the second `a` ends the
    /// partial match.
    @Test func untilBeforeEnoughEventsEndsTheMatch() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a")).timesOrMore(2).until(Self.has("x"))
        #expect(try matches(pattern, ["a1", "x", "a2", "a3"]) == [["a2", "a3"]])
    }

    // MARK: notNext / notFollowedBy

    /// "a, not b next, c": the event right after `a` must not be a `b`.
    @Test func notNextInTheMiddle() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a")).notNext("b", where: Self.has("b"))
            .followedBy("c", where: Self.has("c"))
        #expect(try matches(pattern, ["a1", "c1"]) == [["a1", "c1"]])
        #expect(try matches(pattern, ["a1", "b1", "c1"]) == [])
        #expect(try matches(pattern, ["a1", "d1", "c1"]) == [["a1", "c1"]])
        #expect(try matches(pattern, ["a1", "d1", "b1", "c1"]) == [["a1", "c1"]])
    }

    /// `a notNext(b)` at the end: the match completes with the next event
    /// that is not a `b` (the event is not part of it).
    @Test func notNextAtTheEnd() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a")).notNext("b", where: Self.has("b"))
        #expect(try matches(pattern, ["a1", "a2", "b1", "d1"]) == [["a1"]])
        #expect(try matches(pattern, ["a1"]) == [])
    }

    /// "a, not followed by b, c": no `b` between `a` and `c`.
    @Test func notFollowedByInTheMiddle() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a")).notFollowedBy("b", where: Self.has("b"))
            .followedBy("c", where: Self.has("c"))
        #expect(try matches(pattern, ["a1", "d1", "c1"]) == [["a1", "c1"]])
        #expect(try matches(pattern, ["a1", "d1", "b1", "c1"]) == [])
        #expect(try matches(pattern, ["a1", "c1", "b1"]) == [["a1", "c1"]])
        #expect(try matches(pattern, ["a1", "b1", "a2", "c1"]) == [["a2", "c1"]])
    }

    /// After a loop, a `notFollowedBy` event also ends the loop (Flink's
    /// stop state on the looping state).
    @Test func notFollowedByAfterALoop() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a")).oneOrMore()
            .notFollowedBy("b", where: Self.has("b")).followedBy("c", where: Self.has("c"))
        #expect(try matches(pattern, ["a1", "a2", "b1", "c1"]) == [])
        #expect(try unordered(matches(pattern, ["a1", "a2", "c1"]))
                == [["a1", "a2", "c1"], ["a1", "c1"], ["a2", "c1"]])
    }

    /// `a notFollowedBy(b) within(5)` (Flink 1.16+): the match completes
    /// when the window ends without a `b`; a `b` at or after the end of
    /// the window does not matter.
    @Test func notFollowedByAtTheEndCompletesWhenTheWindowEnds() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a")).notFollowedBy("b", where: Self.has("b")).within(5)
        #expect(try run(pattern, ["a1", "d1"]).matches == [["a1"]])
        #expect(try run(pattern, ["a1", "d1", "b1"]).matches == [])
        #expect(try run(pattern, ["a1", "b1"], timestamps: [1, 5]).matches == [])
        #expect(try run(pattern, ["a1", "b1"], timestamps: [1, 6]).matches == [["a1"]])
        // Neither is a timeout.
        #expect(try run(pattern, ["a1", "d1", "b1"]).timeouts == [])

        // The match comes with the watermark that ends the window, not before.
        let h = try OperatorTestHarness(options: .testing()) { backend in
            try PatternOperator(backend: backend, name: "p", keyCodec: Int64Codec(), payloadCodec: StringCodec(),
                                pattern: pattern)
        }
        defer { try? h.close() }
        try h.processElement(key: 1, timestamp: 10, "a1")
        #expect(try h.processWatermark(14).isEmpty)
        let out = try h.processWatermark(15)
        #expect(out.compactMap(\.match).map { $0.events.map(\.event.payload) } == [["a1"]])
        #expect(try h.stateEntryCount() == 0)
    }

    @Test func timedOutPartialMatchesAreReported() throws {
        let pattern = Pattern<String>.begin("a", where: Self.has("a")).followedBy("c", where: Self.has("c")).within(5)
        let result = try run(pattern, ["a1", "d1", "c1"], timestamps: [1, 2, 9])
        #expect(result.matches == [])
        #expect(result.timeouts == [["a1"]])
    }

    // MARK: validation

    @Test func invalidPatternsAreRejected() throws {
        let a = Pattern<String>.begin("a", where: Self.has("a"))
        let b = Self.has("b"), c = Self.has("c")
        let cases: [(Pattern<String>, String)] = [
            (a.notNext("b", where: b).optional().followedBy("c", where: c), "cannot be optional"),
            (a.notFollowedBy("b", where: b).oneOrMore().followedBy("c", where: c), "quantified"),
            (a.notNext("b", where: b).times(2).followedBy("c", where: c), "quantified"),
            (a.optional().notNext("b", where: b).followedBy("c", where: c), "follows optional stage 'a'"),
            (a.notNext("b", where: b).notFollowedBy("c", where: c).followedBy("d", where: c),
             "follows negative stage 'b'"),
            (a.notFollowedBy("b", where: b), "cannot end with notFollowedBy"),
            (a.until(b), "until needs a looping stage"),
            (a.times(3).until(b).followedBy("c", where: c), "until needs a looping stage"),
        ]
        for (pattern, expected) in cases {
            do {
                try pattern.validate()
                Issue.record("expected '\(expected)' to be rejected")
            } catch let error as StrataError {
                #expect(error.kind == .invalidArgument)
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
        // Allowed: notNext at the end, notFollowedBy at the end with within.
        try a.notNext("b", where: b).validate()
        try a.notFollowedBy("b", where: b).within(.seconds(1)).validate()
        try a.oneOrMore().until(b).optional().followedBy("c", where: c).validate()
    }

    // MARK: restore

    /// Random event sequences through each new construct, with and without
    /// restarts from checkpoints at random points: the same matches and
    /// timeouts, none lost or repeated.
    @Test func restoreFromCheckpointKeepsEveryMatchOnce() throws {
        let seed: UInt64 = 0xC0FFEE_2026
        print("seed \(seed)")
        var random = StateTestRandom(seed: seed)
        let has = Self.has
        let patterns: [(String, Pattern<String>)] = [
            ("optional", Pattern<String>.begin("a", where: has("a")).followedBy("b", where: has("b")).times(2).optional()
                .followedBy("c", where: has("c")).within(6)),
            ("until", Pattern<String>.begin("a", where: has("a")).oneOrMore().until(has("x"))
                .followedBy("c", where: has("c")).within(8)),
            ("notNext", Pattern<String>.begin("a", where: has("a")).notNext("b", where: has("b"))
                .followedBy("c", where: has("c")).within(5)),
            ("notFollowedBy", Pattern<String>.begin("a", where: has("a")).notFollowedBy("b", where: has("b"))
                .followedBy("c", where: has("c")).within(7)),
            ("notFollowedBy-end", Pattern<String>.begin("a", where: has("a")).oneOrMore()
                .notFollowedBy("b", where: has("b")).within(4)),
        ]
        let letters = ["a", "b", "c", "d", "x", "ab"]
        var compared = 0
        for (label, pattern) in patterns {
            for skip in [AfterMatchSkip.noSkip, .skipPastLastEvent] {
                let count = Int.random(in: 20...40, using: &random)
                let events = (0..<count).map { "\(letters[Int.random(in: 0..<letters.count, using: &random)])\($0)" }
                let restarts = Set((0..<3).map { _ in Int.random(in: 1...count, using: &random) })
                let plain = try run(pattern, events, skip: skip)
                let restarted = try run(pattern, events, skip: skip, restartAfter: restarts)
                #expect(plain.matches == restarted.matches, "\(label) \(skip) restarts \(restarts.sorted())")
                #expect(plain.timeouts == restarted.timeouts, "\(label) \(skip) restarts \(restarts.sorted())")
                compared += plain.matches.count + plain.timeouts.count
            }
        }
        print("compared \(compared) matches and timeouts")
        #expect(compared > 20)
    }

    // MARK: job API

    /// `timedOutOutput:` gets each timed-out partial match as a row shaped
    /// like an encoded match; `<pattern>.timeouts` counts them.
    @Test func jobSendsTimedOutPartialMatchesToTheSideOutput() throws {
        let dir = StateTestDirectory("job-pattern-timeouts")
        defer { dir.remove() }
        // Per key 0/1: "a" every 100 ms, a "c" 50 ms after every third "a";
        // the pattern wants a "c" within 60 ms of an "a".
        var records: [(key: Int64, ts: Int64, name: String)] = []
        for i in Int64(0)..<120 {
            records.append((key: i % 2, ts: i * 100, name: "a\(i)"))
            if i % 3 == 0 { records.append((key: i % 2, ts: i * 100 + 50, name: "c\(i)")) }
        }
        func build() -> StreamJob {
            let job = StreamJob()
            let keyed = job.source(GeneratorSource<Int> { $0 < records.count ? Int($0) : nil },
                                   watermarks: .monotonousTimestamps, timestamp: { records[$0].ts })
                .keyBy(Int64Codec()) { records[$0].key }
                .mapValues { records[$0].name }
            let pattern = Pattern<String>.begin("a") { $0.hasPrefix("a") }.followedBy("c") { $0.hasPrefix("c") }
                .within(.milliseconds(60))
            keyed.pattern(pattern, payloadCodec: StringCodec(), afterMatch: .skipPastLastEvent,
                          timedOutOutput: "timed-out", name: "p")
                .map { $0.events.map(\.event.payload) }
                .sink("matches") { "\($0)" }
            return job
        }
        var options = PipelineOptions(directory: dir.path)
        options.partitions = 2
        options.watermarkEveryRecords = 10
        options.checkpointInterval = .records(50)
        options.backend = .testing(cacheEntries: 256)
        options.metricsPrefix = nil
        let summary = try build().run(options)
        let rows = try StreamJob.committedOutput(directory: dir.path).joined()
        let timedOut = rows.filter { $0.stream == "timed-out" }
        #expect(rows.filter { $0.stream == "matches" }.count == 40)
        #expect(timedOut.count == 80)
        #expect(summary.counters["p.timeouts"] == 80)
        #expect(summary.counters["p.matches"] == 40)
        struct Row: Decodable, Equatable {
            struct Taken: Decodable, Equatable {
                var stage: String
                var timestamp: Int64
                var payload: String
            }
            var key: Int64
            var events: [Taken]
        }
        let decoded = try timedOut.map { try JSONDecoder().decode(Row.self, from: Data($0.value.utf8)) }
        #expect(decoded.contains(Row(key: 1, events: [.init(stage: "a", timestamp: 100, payload: "a1")])))
        #expect(Set(timedOut.map(\.key)).count == 80)
        #expect(timedOut.contains { $0.key == "1@100-100" })
    }

    /// A name used twice (timed-out output and a sink) fails the build.
    @Test func timedOutOutputNameIsClaimed() throws {
        let dir = StateTestDirectory("job-pattern-timeouts-name")
        defer { dir.remove() }
        let job = StreamJob()
        let keyed = job.source(GeneratorSource<Int64> { $0 < 10 ? Int64($0) : nil },
                               watermarks: .monotonousTimestamps, timestamp: { $0 })
            .keyBy(Int64Codec()) { $0 % 2 }
        let pattern = Pattern<Int64>.begin("a") { _ in true }.followedBy("b") { _ in true }.within(.milliseconds(5))
        keyed.pattern(pattern, payloadCodec: Int64Codec(), timedOutOutput: "out", name: "p")
            .map { $0.events.count }
            .sink("out") { "\($0)" }
        var options = PipelineOptions(directory: dir.path)
        options.backend = .testing(cacheEntries: 64)
        options.metricsPrefix = nil
        #expect(throws: StrataError.self) { try job.run(options) }
    }
}
