import Foundation
import Strata
import Testing
@testable import StrataStreams

@Suite struct TimerServiceTests {
    @Test func firesInTimestampOrderUpToTheWatermarkAndDeletesFiredTimers() throws {
        let dir = StateTestDirectory("timers")
        defer { dir.remove() }
        let backend = try StateBackend.open(at: dir.path, options: .testing())
        let timers = try backend.timerService(named: "event-time")
        let a = backend.stateKey("a", codec: StringCodec())
        let b = backend.stateKey("b", codec: StringCodec())
        let w = Namespace.window(TimeWindow(start: -10, end: 20))
        for (ts, key) in [(30, a), (-5, b), (10, a), (10, b), (20, a), (-5, b)] as [(Int64, StateKey)] {
            try timers.register(KeyedTimer(timestamp: ts, key: key, namespace: w))
        }
        #expect(try timers.count() == 5)          // the duplicate is stored once
        #expect(try timers.nextTimestamp() == -5)
        var fired: [Int64] = []
        try timers.fire(upTo: 10) { timer in
            fired.append(timer.timestamp)
            #expect(timer.namespace == w)
        }
        #expect(fired == [-5, 10, 10])
        #expect(try timers.count() == 2)
        #expect(try timers.nextTimestamp() == 20)
        fired = []
        try timers.fire(upTo: 10) { fired.append($0.timestamp) }
        #expect(fired.isEmpty)
        // A timer registered while firing, at or below the watermark, fires in the same call.
        try timers.delete(KeyedTimer(timestamp: 30, key: a, namespace: w))
        try timers.fire(upTo: 25) { timer in
            fired.append(timer.timestamp)
            if timer.timestamp == 20 { try timers.register(KeyedTimer(timestamp: 15, key: timer.key, namespace: .none)) }
        }
        #expect(fired == [20, 15])
        #expect(try timers.count() == 0)
        try backend.close()
    }

    @Test func aTimerReRegisteredOrDeletedWhileItWaitsInTheScanFiresOnceOrNot() throws {
        let dir = StateTestDirectory("timers-inflight")
        defer { dir.remove() }
        let backend = try StateBackend.open(at: dir.path, options: .testing())
        let timers = try backend.timerService(named: "t")
        let keys = (0..<4).map { backend.stateKey(Int64($0), codec: Int64Codec()) }
        for (i, key) in keys.enumerated() { try timers.register(KeyedTimer(timestamp: Int64(i), key: key)) }
        var fired: [Int64] = []
        try timers.fire(upTo: 10) { timer in
            fired.append(timer.timestamp)
            if timer.timestamp == 0 {
                try timers.register(KeyedTimer(timestamp: 2, key: keys[2]))   // due in this scan already
                try timers.delete(KeyedTimer(timestamp: 3, key: keys[3]))     // waiting in this scan
            }
        }
        #expect(fired == [0, 1, 2])
        #expect(try timers.count() == 0)
        try backend.close()
    }

    @Test func largeRunsAtOneTimestampFireOnceEachIncludingOnesRegisteredMidway() throws {
        let dir = StateTestDirectory("timers-run")
        defer { dir.remove() }
        let backend = try StateBackend.open(at: dir.path, options: .testing())
        let timers = try backend.timerService(named: "t")
        for i in 0..<10_000 {
            try timers.register(KeyedTimer(timestamp: 7, key: backend.stateKey(Int64(i), codec: Int64Codec())))
        }
        var fired = 0
        var late: Set<Int64> = []
        try timers.fire(upTo: 10) { timer in
            fired += 1
            let k = try backend.decodeKey(timer.key, codec: Int64Codec())
            // Midway through: timers below the cursor, at the same and at an earlier timestamp.
            if k == 6_000 {
                for extra: Int64 in [-1, -2] {
                    try timers.register(KeyedTimer(timestamp: 7, key: backend.stateKey(extra, codec: Int64Codec())))
                }
                try timers.register(KeyedTimer(timestamp: 3, key: backend.stateKey(Int64(-3), codec: Int64Codec())))
            }
            if k < 0 { late.insert(k) }
        }
        #expect(fired == 10_003)
        #expect(late == [-1, -2, -3])
        #expect(try timers.count() == 0)
        try backend.close()
    }

    @Test func timersSurviveReopenAndFireManyInOrder() throws {
        let seed: UInt64 = 11
        print("seed \(seed)")
        var random = StateTestRandom(seed: seed)
        let dir = StateTestDirectory("timers-many")
        defer { dir.remove() }
        var expected: [KeyedTimer] = []
        do {
            let backend = try StateBackend.open(at: dir.path, options: .testing())
            let timers = try backend.timerService(named: "t")
            var seen = Set<KeyedTimer>()
            for _ in 0..<10_000 {
                let key = backend.stateKey(Int64.random(in: 0..<1000, using: &random), codec: Int64Codec())
                let timer = KeyedTimer(timestamp: Int64.random(in: -50_000..<50_000, using: &random), key: key)
                try timers.register(timer)
                if seen.insert(timer).inserted { expected.append(timer) }
            }
            try backend.close()
        }
        let backend = try StateBackend.open(at: dir.path, options: .testing())
        let timers = try backend.timerService(named: "t")
        var fired: [KeyedTimer] = []
        for watermark in stride(from: Int64(-60_000), through: 60_000, by: 7_001) {
            try timers.fire(upTo: watermark) { fired.append($0) }
        }
        try timers.fire(upTo: .max) { fired.append($0) }
        #expect(fired.count == expected.count)
        #expect(fired.map(\.timestamp) == fired.map(\.timestamp).sorted())
        #expect(Set(fired) == Set(expected))
        #expect(try timers.count() == 0)
        try backend.close()
    }
}
