import Foundation
import Strata
import Testing
@testable import StrataStreams

/// The straightforward in-memory dedup the operator must agree with.
private struct ReferenceDedup {
    let options: DedupOptions
    var stored: [Int64: Int64] = [:]
    var watermark = Int64.min
    var output: [DedupOutput<Int64, Int>] = []

    mutating func process(_ e: Event<Int64, Int>) {
        let previous = stored[e.key]
        switch options.keep {
        case .first:
            if previous != nil { return }
        case .last:
            if let previous, e.timestamp < previous { return }
        }
        stored[e.key] = e.timestamp
        output.append(DedupOutput(event: e, replacesTimestamp: previous))
    }

    mutating func advance(_ w: Int64) {
        guard w > watermark else { return }
        watermark = w
        stored = stored.filter { $0.value &+ options.ttl > w }
    }
}

@Suite struct DedupTests {
    private func harness(_ options: DedupOptions, backend: StateBackendOptions = .testing())
        throws -> OperatorTestHarness<DedupOperator<Int64Codec, Int>>
    {
        try OperatorTestHarness(options: backend) { backend in
            try DedupOperator(backend: backend, name: "dedup", keyCodec: Int64Codec(), options: options)
        }
    }

    @Test func keepFirstDropsDuplicatesUntilTheWatermarkPassesTheTTL() throws {
        let h = try harness(DedupOptions(ttl: 1_000))
        defer { try? h.close() }
        #expect(try h.processElement(key: 7, timestamp: 100, 1).map(\.event.payload) == [1])
        #expect(try h.processElement(key: 7, timestamp: 900, 2).isEmpty)          // duplicate
        #expect(try h.processElement(key: 7, timestamp: 50, 3).isEmpty)           // duplicate, out of order
        #expect(try h.processElement(key: 8, timestamp: 120, 4).map(\.event.payload) == [4])
        try h.processWatermark(1_099)                                              // 100 + 1000 not yet passed
        #expect(try h.processElement(key: 7, timestamp: 1_050, 5).isEmpty)
        try h.processWatermark(1_100)                                              // key 7 forgotten
        #expect(try h.processElement(key: 7, timestamp: 1_200, 6).map(\.event.payload) == [6])
        #expect(h.op.statistics.duplicates == 3)
        try h.processWatermark(10_000)
        #expect(try h.stateEntryCount() == 0)
        #expect(h.op.statistics.expired == 3)
    }

    @Test func keepLastEmitsUpdatesAndDropsStaleEvents() throws {
        let h = try harness(DedupOptions(ttl: 1_000, keep: .last))
        defer { try? h.close() }
        let first = try h.processElement(key: 1, timestamp: 100, 1)
        #expect(first.map(\.replacesTimestamp) == [nil])
        let update = try h.processElement(key: 1, timestamp: 300, 2)
        #expect(update.map(\.replacesTimestamp) == [100])
        #expect(try h.processElement(key: 1, timestamp: 200, 3).isEmpty)         // older than the kept one
        #expect(h.op.statistics.stale == 1)
        try h.processWatermark(1_150)               // 100 + 1000 passed, but the key was kept again at 300
        #expect(try h.processElement(key: 1, timestamp: 250, 4).isEmpty)
        try h.processWatermark(1_300)               // 300 + 1000 passed
        #expect(try h.processElement(key: 1, timestamp: 250, 5).map(\.replacesTimestamp) == [nil])
        try h.processWatermark(5_000)
        #expect(try h.stateEntryCount() == 0)
    }

    @Test func processingTimeTTLUsesTheBackendClock() throws {
        let clock = TestClock(0)
        let h = try harness(DedupOptions(ttl: 1_000, timeDomain: .processingTime), backend: .testing(clock: clock))
        defer { try? h.close() }
        #expect(try h.processElement(key: 1, timestamp: 5, 1).count == 1)
        clock.now = 999
        #expect(try h.processElement(key: 1, timestamp: 6, 2).isEmpty)
        clock.now = 1_000
        #expect(try h.processElement(key: 1, timestamp: 7, 3).count == 1)
        clock.now = 5_000
        try h.backend.flush()
        try h.backend.database.flush()
        try h.backend.database.compactRange(from: nil, to: nil)
        #expect(try h.stateEntryCount() == 0)       // the TTL filter removed the expired entry
    }

    @Test(arguments: [DedupKeep.first, .last])
    func matchesTheReferenceOnDisorderedStreamsWithAndWithoutTheBloomFrontEnd(keep: DedupKeep) throws {
        for seed: UInt64 in 1...12 {
            print("seed \(seed)")
            for mode in [DedupMode.exact, .exactWithBloomFrontEnd(expectedKeysPerTTL: 64, bitsPerKey: 10)] {
                var random = StateTestRandom(seed: seed)
                let options = DedupOptions(ttl: Int64.random(in: 50...2_000, using: &random), keep: keep, mode: mode)
                let h = try harness(options, backend: .testing(cacheEntries: 32))
                defer { try? h.close() }
                var reference = ReferenceDedup(options: options)
                var maxSeen: Int64 = 0
                for step in 0..<1_500 {
                    let ts = maxSeen - Int64.random(in: 0...300, using: &random) + Int64.random(in: 0...20, using: &random)
                    maxSeen = max(maxSeen, ts)
                    let event = Event(key: Int64.random(in: 0..<200, using: &random), timestamp: ts, payload: step)
                    try h.processElement(event)
                    reference.process(event)
                    if Int.random(in: 0..<10, using: &random) == 0 {
                        let w = maxSeen - 150
                        try h.processWatermark(w)
                        reference.advance(w)
                    }
                    if step == 700 { try h.restartFromCheckpoint() }
                }
                try h.processWatermark(.max - 1)
                reference.advance(.max - 1)
                #expect(h.outputs == reference.output, "seed \(seed) \(mode)")
                #expect(try h.stateEntryCount() == 0)
                if case .exactWithBloomFrontEnd = mode { #expect(h.op.statistics.lookupsSkipped > 0) }
            }
        }
    }

    @Test func approximateModeDropsNewKeysAtAboutTheFormulaRateAndSurvivesRestart() throws {
        let n = 20_000
        let bits = 10.0
        let h = try harness(DedupOptions(ttl: 1 << 40, mode: .approximateBloomOnly(expectedKeysPerTTL: n, bitsPerKey: bits)))
        defer { try? h.close() }
        for key in 0..<Int64(n) { try h.processElement(key: key, timestamp: key, 0) }
        let falseDrops = h.op.statistics.duplicates
        let formula = KeyBloomFilter.falsePositiveRate(bitsPerKey: bits)
        print("approximate dedup: \(falseDrops) of \(n) new keys dropped (\(Double(falseDrops) / Double(n))), formula \(formula) at full load")
        // Keys arrive into a filter filling up, so the rate is below the full-load formula.
        #expect(Double(falseDrops) / Double(n) < formula * 1.5)
        // Every key seen is a duplicate, also after a restart (the filter is in the checkpoint).
        try h.restartFromCheckpoint()
        for key in stride(from: Int64(0), to: Int64(n), by: 97) {
            #expect(try h.processElement(key: key, timestamp: key, 1).isEmpty)
        }
        #expect(throws: StrataError.self) {
            _ = try DedupOperator<Int64Codec, Int>(backend: h.backend, name: "x", keyCodec: Int64Codec(),
                                                   options: DedupOptions(ttl: 10, keep: .last, mode: .approximateBloomOnly(expectedKeysPerTTL: 10, bitsPerKey: 10)))
        }
    }

    @Test func aKeyKeptAfterItsTTLPassedIsForgottenAtTheNextWatermark() throws {
        // Late events: kept at 100 with TTL 1,000 while the watermark is
        // already 5,000. The reference forgets the key at the next watermark
        // above 5,000, not at once.
        for keep in [DedupKeep.first, .last] {
            let h = try harness(DedupOptions(ttl: 1_000, keep: keep))
            defer { try? h.close() }
            try h.processWatermark(5_000)
            #expect(try h.processElement(key: 1, timestamp: 100, 1).count == 1)
            #expect(try h.processElement(key: 1, timestamp: 100, 2).count == (keep == .first ? 0 : 1))
            try h.restartFromCheckpoint()                   // re-sends 5,000: not a new watermark
            #expect(try h.processElement(key: 1, timestamp: 90, 3).isEmpty)
            try h.processWatermark(5_001)
            #expect(try h.processElement(key: 1, timestamp: 90, 4).map(\.replacesTimestamp) == [nil])
            try h.processWatermark(.max - 1)
            #expect(try h.stateEntryCount() == 0)
        }
    }

    @Test func expiredKeysStayHiddenAfterARestartBeforeAnyWatermark() throws {
        // A restart without the last watermark re-sent: keys that expired
        // before the checkpoint but whose expiry bucket is still in the
        // engine must not come back (the horizon is in the checkpoint).
        let directory = NSTemporaryDirectory() + "dedup-horizon-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let options = StateBackendOptions.testing(cacheEntries: 4)
        let make = { (backend: StateBackend) in
            try DedupOperator<Int64Codec, Int>(backend: backend, name: "d", keyCodec: Int64Codec(),
                                               options: DedupOptions(ttl: 1_000))
        }
        var backend = try StateBackend.open(at: directory + "/db", options: options)
        var op = try make(backend)
        for key in Int64(0)..<20 { try op.processElement(Event(key: key, timestamp: 1_000 + key * 10, payload: 0)) }
        try op.processWatermark(2_050)                      // keys 0...5 expired (1,000 + 10k + 1,000 ≤ 2,050)
        try backend.checkpoint(to: directory + "/checkpoint")
        try backend.close()
        backend = try StateBackend.open(at: directory + "/checkpoint", options: options)
        defer { try? backend.close() }
        op = try make(backend)
        for key in Int64(0)..<20 { try op.processElement(Event(key: key, timestamp: 2_100, payload: 1)) }
        #expect(op.takeOutput().map(\.event.key) == Array(0...5))
        try op.processWatermark(.max - 1)
        #expect(try backend.entryCount(ofStateNamed: "d/kept") == 0)
    }

    @Test func expiryBucketsAreDroppedOnceTheWatermarkPassesThem() throws {
        let h = try harness(DedupOptions(ttl: 1_000, keep: .last), backend: .testing(cacheEntries: 16))
        defer { try? h.close() }
        for key in Int64(0)..<100 { try h.processElement(key: key, timestamp: key * 10, 0) }
        #expect(try h.stateEntryCount() == 100)                 // no watermark yet: no horizon entry
        try h.processWatermark(1_499)                           // expiries 1,000...1,499 passed: bucket 2 dropped
        #expect(h.op.statistics.expired == 50)
        #expect(try h.stateEntryCount() == 50 + 1)              // 50 entries and the horizon
        try h.processWatermark(1_990)                           // all expired, bucket 3 (≤ 1,999) still there
        #expect(try h.processElement(key: 99, timestamp: 1_995, 1).map(\.replacesTimestamp) == [nil])
        #expect(h.op.statistics.expired == 51)                  // key 99, found expired when kept again
        #expect(try h.processElement(key: 0, timestamp: 1_995, 1).map(\.replacesTimestamp) == [nil])
        #expect(h.op.statistics.expired == 51)                  // key 0 was counted with bucket 2
        try h.processWatermark(1_999)
        #expect(h.op.statistics.expired == 100)
        #expect(try h.stateEntryCount() == 2 + 1)               // keys 0 and 99 (expire at 2,995) and the horizon
        try h.processWatermark(2_995)                           // expired, but bucket 5 (≤ 2,999) stays
        #expect(try h.processElement(key: 0, timestamp: 1_996, 2).map(\.replacesTimestamp) == [nil])
        #expect(h.op.statistics.expired == 101)                 // key 0 again (kept now until 2,996)
        #expect(try h.stateEntryCount() == 2 + 1)
        try h.processWatermark(2_999)
        #expect(h.op.statistics.expired == 103)                 // keys 0 and 99 with bucket 5
        #expect(try h.stateEntryCount() == 0)
    }
}
