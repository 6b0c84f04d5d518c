import Strata
import Testing
@testable import StrataStreams

@Suite("Watermark generators")
struct WatermarkTests {
    @Test("bounded out-of-orderness: maxSeen − δ − 1, monotonic, Int64.min before any event")
    func bounded() throws {
        var g = try BoundedOutOfOrdernessWatermarks(maxOutOfOrderness: 5)
        #expect(g.currentWatermark(now: 0) == .min)
        g.observe(eventTimestamp: 100, now: 0)
        #expect(g.currentWatermark(now: 0) == 94)
        g.observe(eventTimestamp: 90, now: 0)  // out of order: the maximum stays
        #expect(g.currentWatermark(now: 0) == 94)
        g.observe(eventTimestamp: 120, now: 0)
        #expect(g.currentWatermark(now: 0) == 114)
        // An event exactly δ behind the maximum is not late.
        #expect(115 > g.currentWatermark(now: 0))
        g.observe(eventTimestamp: .min, now: 0)
        #expect(g.currentWatermark(now: 0) == 114)
        #expect(throws: StrataError.self) { try BoundedOutOfOrdernessWatermarks(maxOutOfOrderness: -1) }
    }

    @Test("bounded out-of-orderness saturates instead of wrapping")
    func boundedSaturates() throws {
        var g = try BoundedOutOfOrdernessWatermarks(maxOutOfOrderness: 10)
        g.observe(eventTimestamp: .min + 3, now: 0)
        #expect(g.currentWatermark(now: 0) == .min)
    }

    @Test("skew histogram: bucket bounds cover every value with ≤ 1/64 relative error")
    func histogramBuckets() throws {
        var random = StateTestRandom(seed: 11)
        print("WatermarkTests.histogramBuckets seed 11")
        for _ in 0..<20_000 {
            let v = Int64.random(in: 0...(1 << 40) - 1, using: &random) >> Int64.random(in: 0...40, using: &random)
            let bucket = SlidingSkewHistogram.bucket(of: v)
            let upper = SlidingSkewHistogram.upperBound(ofBucket: bucket)
            #expect(upper >= v)
            #expect(bucket == 0 || SlidingSkewHistogram.upperBound(ofBucket: bucket - 1) < v)
            #expect(Double(upper - v) <= Double(max(v, 1)) / 64)
        }
        #expect(SlidingSkewHistogram.bucket(of: -5) == 0)
        #expect(SlidingSkewHistogram.bucket(of: .max) == SlidingSkewHistogram.bucketCount - 1)
    }

    @Test("skew histogram: quantiles of a known distribution, and old slots slide out")
    func histogramQuantilesAndSliding() throws {
        var h = try SlidingSkewHistogram(windowLength: 1000, slotCount: 10)
        for v in 1...100 { h.record(Int64(v), now: 0) }
        #expect(h.quantile(0.5) == 50)
        #expect(h.quantile(0.99) == 99)
        #expect(h.quantile(1) == 100)
        // 950 ms later the first slot is still in the window; at 1000 it is out.
        for _ in 0..<100 { h.record(5_000, now: 950) }
        #expect(h.count == 200)
        #expect(h.quantile(0.25) == 50)
        h.advance(to: 1000)
        #expect(h.count == 100)
        let q = try #require(h.quantile(0.5))
        #expect(q >= 5_000 && q <= 5_000 + 5_000 / 64)
        h.advance(to: 5_000)
        #expect(h.count == 0)
        #expect(h.quantile(0.5) == nil)
    }

    @Test("percentile watermark, processing-time reference: now − F⁻¹(p) of arrival delays")
    func percentileProcessingTime() throws {
        var g = try PercentileWatermarks(percentile: 0.9, window: 10_000, slots: 10)
        #expect(g.currentWatermark(now: 0) == .min)
        // Delays 0...99 ms, uniformly: the 0.9-quantile is 89.
        var random = StateTestRandom(seed: 5)
        print("WatermarkTests.percentileProcessingTime seed 5")
        var delays = Array(0...99).map(Int64.init)
        delays.shuffle(using: &random)
        for (i, d) in delays.enumerated() { g.observe(eventTimestamp: 1_000 + Int64(i) - d, now: 1_000 + Int64(i)) }
        #expect(g.currentWatermark(now: 1_099) == 1_099 - 89)
        // Watermarks never go back, even when delays grow.
        for i in 0..<1000 { g.observe(eventTimestamp: 1_100 + Int64(i) - 500, now: 1_100 + Int64(i)) }
        #expect(g.currentWatermark(now: 2_099) >= 1_099 - 89)
    }

    @Test("percentile watermark, max-event-time reference: adaptive bounded disorder")
    func percentileMaxEventTime() throws {
        var g = try PercentileWatermarks(percentile: 0.5, window: 1_000, reference: .maxEventTime, minimumSamples: 4)
        g.observe(eventTimestamp: 100, now: 0)
        g.observe(eventTimestamp: 90, now: 0)
        g.observe(eventTimestamp: 80, now: 0)
        #expect(g.currentWatermark(now: 0) == .min)  // 3 samples < 4
        g.observe(eventTimestamp: 98, now: 0)  // skews 0, 10, 20, 2: median 2
        #expect(g.currentWatermark(now: 0) == 98)
        #expect(throws: StrataError.self) { try PercentileWatermarks(percentile: 0, window: 100) }
        #expect(throws: StrataError.self) { try PercentileWatermarks(percentile: 0.5, window: 5, slots: 10) }
    }

    @Test("idle detection: an input without events for the timeout is idle until its next event")
    func idleness() throws {
        var g = try IdleDetectingWatermarks(BoundedOutOfOrdernessWatermarks(maxOutOfOrderness: 0), idleTimeout: 100)
        #expect(g.isIdle(now: 0) == false)  // the clock starts here
        #expect(g.isIdle(now: 99) == false)
        #expect(g.isIdle(now: 100) == true)
        g.observe(eventTimestamp: 7, now: 150)
        #expect(g.isIdle(now: 200) == false)
        #expect(g.currentWatermark(now: 200) == 6)
        #expect(g.isIdle(now: 250) == true)
        #expect(throws: StrataError.self) { try IdleDetectingWatermarks(g, idleTimeout: 0) }
    }

    @Test("combiner: the minimum of the inputs, never decreasing")
    func combinerMinimum() throws {
        var c = try WatermarkCombiner(inputCount: 3)
        #expect(c.update(input: 0, watermark: 10) == nil)
        #expect(c.update(input: 1, watermark: 20) == nil)
        #expect(c.update(input: 2, watermark: 5) == 5)
        #expect(c.update(input: 2, watermark: 30) == 10)
        #expect(c.update(input: 0, watermark: 3) == nil)  // an input going back is ignored
        #expect(c.watermark(ofInput: 0) == 10)
        #expect(c.update(input: 0, watermark: 25) == 20)
        #expect(c.watermark == 20)
    }

    @Test("combiner: an idle input is left out; when all are idle the output moves to the largest")
    func combinerIdle() throws {
        var c = try WatermarkCombiner(inputCount: 2)
        _ = c.update(input: 0, watermark: 100)
        #expect(c.watermark == .min)  // input 1 has nothing yet
        #expect(c.setIdle(input: 1, true) == 100)  // the silent input no longer holds the output back
        #expect(c.update(input: 0, watermark: 150) == 150)
        #expect(c.setIdle(input: 0, true) == nil)
        #expect(c.isIdle)
        // Input 1 comes back below the output: not aligned, not in the minimum until it catches up.
        #expect(c.update(input: 1, watermark: 120) == nil)
        #expect(c.isIdle == false)
        // Input 0 comes back at 200: aligned (≥ 150); input 1 is not, so it holds nothing back.
        #expect(c.update(input: 0, watermark: 200) == 200)
        #expect(c.update(input: 1, watermark: 160) == nil)  // still behind the output: not aligned
        #expect(c.update(input: 1, watermark: 250) == nil)  // caught up: aligned, min(200, 250) = 200
        #expect(c.update(input: 0, watermark: 300) == 250)  // now input 1 is the minimum
        #expect(throws: StrataError.self) { try WatermarkCombiner(inputCount: 0) }
    }

    @Test("combiner: all idle moves the output to the largest input watermark")
    func combinerAllIdle() throws {
        var c = try WatermarkCombiner(inputCount: 2)
        _ = c.update(input: 0, watermark: 50)
        _ = c.update(input: 1, watermark: 80)
        #expect(c.watermark == 50)
        #expect(c.setIdle(input: 0, true) == 80)
        #expect(c.setIdle(input: 1, true) == nil)
        #expect(c.isIdle && c.watermark == 80)
    }
}
