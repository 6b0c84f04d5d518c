import Foundation
import Strata
import Testing
@testable import StrataStreams

struct Login: Codable, Sendable, Equatable {
    var success: Bool
}

private typealias LoginPatterns = PatternOperator<StringCodec, CodableCodec<Login>>

/// Per start event, a greedy walk forward (each partial match is decided
/// alone: skip-till-next never branches), instead of the operator's
/// simultaneous automaton.
private func referenceMatches(_ events: [Event<Int64, Int64>], pattern: Pattern<Int64>) -> [[Int64]] {
    var results: [[Int64]] = []
    let stages = pattern.stages
    for start in events.indices where stages[0].condition(events[start].payload) {
        var taken: [Int64] = [events[start].timestamp]
        var stage = 0, count = 1
        if count == stages[0].times { stage = 1; count = 0 }
        var i = start + 1
        while stage < stages.count && i < events.count {
            let e = events[i]
            if let window = pattern.window, e.timestamp - events[start].timestamp >= window { break }
            if stages[stage].condition(e.payload) {
                taken.append(e.timestamp)
                count += 1
                if count == stages[stage].times { stage += 1; count = 0 }
            } else if count == 0 && stages[stage].contiguity == .strict {
                break
            }
            i += 1
        }
        if stage == stages.count { results.append(taken) }
    }
    return results
}

@Suite struct PatternTests {
    private func loginHarness() throws -> OperatorTestHarness<LoginPatterns> {
        let pattern = Pattern<Login>.begin("fail") { !$0.success }.times(3)
            .followedBy("success") { $0.success }
            .within(60_000)
        return try OperatorTestHarness(options: .testing()) { backend in
            try LoginPatterns(backend: backend, name: "logins", keyCodec: StringCodec(), payloadCodec: CodableCodec(),
                              pattern: pattern)
        }
    }

    @Test func threeFailedLoginsFollowedByASuccessWithinOneMinute() throws {
        let h = try loginHarness()
        defer { try? h.close() }
        let fail = Login(success: false), ok = Login(success: true)
        // alice: three failures and a success within a minute, the success arriving out of order.
        try h.processElement(key: "alice", timestamp: 1_000, fail)
        try h.processElement(key: "alice", timestamp: 2_000, fail)
        try h.processElement(key: "alice", timestamp: 30_000, ok)
        try h.processElement(key: "alice", timestamp: 20_000, fail)
        // bob: only two failures before his success.
        try h.processElement(key: "bob", timestamp: 1_000, fail)
        try h.processElement(key: "bob", timestamp: 5_000, fail)
        try h.processElement(key: "bob", timestamp: 6_000, ok)
        // carol: three failures, but the success comes 70 s after the first.
        for ts: Int64 in [0, 10_000, 20_000] { try h.processElement(key: "carol", timestamp: ts, fail) }
        try h.processElement(key: "carol", timestamp: 70_000, ok)
        #expect(try h.processWatermark(25_000).isEmpty)            // nothing until the watermark passes the events
        let out = try h.processWatermark(100_000)
        let matches = out.compactMap(\.match)
        #expect(matches.count == 1)
        #expect(matches.first?.key == "alice")
        #expect(matches.first?.events(of: "fail").map(\.timestamp) == [1_000, 2_000, 20_000])
        #expect(matches.first?.events(of: "success").map(\.timestamp) == [30_000])
        let timedOut = out.compactMap { if case .timeout(let m) = $0 { return m } else { return nil } }
        #expect(timedOut.contains { $0.key == "carol" && $0.events.count == 3 })
        // A late event goes to the late output.
        let late = try h.processElement(key: "alice", timestamp: 50_000, fail)
        if case .late(let e)? = late.first { #expect(e.timestamp == 50_000) } else { Issue.record("expected a late event") }
        try h.processWatermark(1_000_000)
        #expect(try h.stateEntryCount() == 0)
    }

    @Test func strictContiguityBreaksOnAnInterveningEvent() throws {
        let pattern = Pattern<Int64>.begin("a") { $0 == 1 }.next("b") { $0 == 2 }
        let h = try OperatorTestHarness(options: .testing()) { backend in
            try PatternOperator(backend: backend, name: "p", keyCodec: Int64Codec(), payloadCodec: Int64Codec(), pattern: pattern)
        }
        defer { try? h.close() }
        for (ts, v) in [(1, 1), (2, 2), (3, 1), (4, 3), (5, 2)] as [(Int64, Int64)] {
            try h.processElement(key: 0, timestamp: ts, v)
        }
        let out = try h.processWatermark(10)
        #expect(out.compactMap(\.match).map { $0.events.map(\.event.timestamp) } == [[1, 2]])
    }

    @Test func matchesTheGreedyReferenceOnRandomStreams() throws {
        for seed: UInt64 in 1...10 {
            print("seed \(seed)")
            var random = StateTestRandom(seed: seed)
            let pattern = Pattern<Int64>.begin("a") { $0 % 3 == 0 }.times(Int.random(in: 1...3, using: &random))
                .followedBy("b") { $0 % 3 == 1 }
                .next("c") { $0 % 2 == 0 }
                .within(Int64.random(in: 50...400, using: &random))
            let skip: AfterMatchSkip = .noSkip
            let h = try OperatorTestHarness(options: .testing(cacheEntries: 64)) { backend in
                try PatternOperator(backend: backend, name: "p", keyCodec: Int64Codec(), payloadCodec: Int64Codec(),
                                    pattern: pattern, afterMatch: skip)
            }
            defer { try? h.close() }
            var accepted: [Int64: [(Int64, Int, Int64)]] = [:]   // key → (ts, arrival, payload)
            var maxSeen: Int64 = 0
            var watermark = Int64.min
            var ts = Set<Int64>()
            for step in 0..<1_500 {
                var t = maxSeen - Int64.random(in: 0...30, using: &random) + Int64.random(in: 0...6, using: &random)
                while ts.contains(t) { t += 1 }                    // distinct timestamps: one order
                ts.insert(t)
                maxSeen = max(maxSeen, t)
                let key = Int64.random(in: 0..<5, using: &random)
                let value = Int64.random(in: 0..<6, using: &random)
                if t > watermark { accepted[key, default: []].append((t, step, value)) }
                try h.processElement(key: key, timestamp: t, value)
                if Int.random(in: 0..<20, using: &random) == 0 {
                    watermark = max(watermark, maxSeen - 35)
                    try h.processWatermark(maxSeen - 35)
                }
                if step == 750 { try h.restartFromCheckpoint() }
            }
            try h.processWatermark(.max - 1)
            var expected: [[Int64]] = []
            for (key, events) in accepted {
                let sortedEvents = events.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
                    .map { Event(key: key, timestamp: $0.0, payload: $0.2) }
                expected += referenceMatches(sortedEvents, pattern: pattern).map { [key] + $0 }
            }
            let got = h.outputs.compactMap(\.match).map { [$0.key] + $0.events.map(\.event.timestamp) }
            #expect(got.sorted { $0.lexicographicallyPrecedes($1) } == expected.sorted { $0.lexicographicallyPrecedes($1) },
                    "seed \(seed)")
            #expect(try h.stateEntryCount() == 0)
        }
    }
}
