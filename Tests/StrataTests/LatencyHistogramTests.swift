import Foundation
import Testing
import ToolSupport

/// LatencyHistogram (tools/ToolSupport): percentiles within the relative
/// error bound of the exact ones from sorted values, exact statistics,
/// add, reset, clamping and the edge cases of the percentile contract.
@Suite("LatencyHistogram: HDR-style percentiles, exact statistics")
struct LatencyHistogramTests {
    /// Values spread log-uniformly over 0...limit (so every bucket size
    /// occurs), each with a count of 1 or, one time in eight, 2...5.
    static func randomValues(count: Int, limit: UInt64, rng: inout TestRandom) -> [(value: UInt64, count: UInt64)] {
        let bits = 64 - limit.leadingZeroBitCount
        return (0..<count).map { _ in
            let width = Int.random(in: 0...bits, using: &rng)
            let cap = width == 64 ? UInt64.max : (UInt64(1) << UInt64(width)) - 1
            let value = UInt64.random(in: 0...Swift.min(cap, limit), using: &rng)
            let count: UInt64 = Int.random(in: 0..<8, using: &rng) == 0 ? UInt64.random(in: 2...5, using: &rng) : 1
            return (value, count)
        }
    }

    /// The values expanded by their counts, sorted.
    static func sorted(_ records: [(value: UInt64, count: UInt64)]) -> [UInt64] {
        records.flatMap { repeatElement($0.value, count: Int($0.count)) }.sorted()
    }

    /// The exact percentile under the histogram's rank rule:
    /// the value of rank max(1, ceil(p·n/100)) in sorted order.
    static func exactPercentile(_ p: Double, _ sorted: [UInt64]) -> UInt64 {
        let target = (p * Double(sorted.count) / 100).rounded(.up)
        let rank = Swift.min(sorted.count, Swift.max(1, Int(target)))
        return sorted[rank - 1]
    }

    static func record(_ records: [(value: UInt64, count: UInt64)], into h: inout LatencyHistogram) {
        for r in records { h.record(r.value, count: r.count) }
    }

    static let percentiles: [Double] = [0.001, 0.1, 1, 5, 10, 25, 33.3, 50, 66.7, 75, 90, 95, 99, 99.9, 99.99, 99.999]

    @Test("percentiles are within 10^-digits above the exact ones from the sorted values",
          arguments: [(1, UInt64(3_600_000_000_000)), (2, 3_600_000_000_000), (3, 3_600_000_000_000),
                      (4, 3_600_000_000_000), (5, 10_000_000_000)])
    func percentilesWithinBound(digits: Int, highest: UInt64) {
        let seed: UInt64 = 0x4844_5221 &+ UInt64(digits)
        print("LatencyHistogram percentiles seed \(seed), digits \(digits)")
        var rng = TestRandom(seed: seed)
        let records = Self.randomValues(count: 20_000, limit: highest, rng: &rng)
        let sorted = Self.sorted(records)
        var h = LatencyHistogram(highestTrackableValue: highest, significantDigits: digits)
        Self.record(records, into: &h)
        let bound = pow(10, -Double(digits))
        var ps = Self.percentiles
        for _ in 0..<40 { ps.append(Double.random(in: 0..<100, using: &rng)) }
        for p in ps {
            let exact = Self.exactPercentile(p, sorted)
            let got = h.valueAtPercentile(p)
            #expect(got >= exact, "p\(p): \(got) below the exact \(exact)")
            #expect(Double(got - Swift.min(got, exact)) <= Double(exact) * bound,
                    "p\(p): \(got) vs exact \(exact), bound \(bound)")
            #expect(got <= h.max)
        }
    }

    @Test("values below the sub-bucket count are reported exactly")
    func smallValuesExact() {
        let seed: UInt64 = 0x5EED_0002
        print("LatencyHistogram small values seed \(seed)")
        var rng = TestRandom(seed: seed)
        let records = (0..<5_000).map { _ in (value: UInt64.random(in: 0..<2048, using: &rng), count: UInt64(1)) }
        let sorted = Self.sorted(records)
        var h = LatencyHistogram()
        Self.record(records, into: &h)
        for p in Self.percentiles { #expect(h.valueAtPercentile(p) == Self.exactPercentile(p, sorted), "p\(p)") }
    }

    @Test("count, min, max and mean are exact; the standard deviation matches a two-pass computation")
    func exactStatistics() {
        let seed: UInt64 = 0x5EED_0003
        print("LatencyHistogram statistics seed \(seed)")
        var rng = TestRandom(seed: seed)
        let records = Self.randomValues(count: 30_000, limit: 50_000_000_000, rng: &rng)
        let values = Self.sorted(records)
        var h = LatencyHistogram()
        Self.record(records, into: &h)
        #expect(h.totalCount == UInt64(values.count))
        #expect(h.min == values.first)
        #expect(h.max == values.last)
        #expect(h.clampedCount == 0)
        let sum = values.reduce(UInt64(0), +)
        #expect(h.mean == Double(sum) / Double(values.count))
        let mean = Double(sum) / Double(values.count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
        let sd = variance.squareRoot()
        #expect(abs(h.stdDeviation - sd) <= sd * 1e-9, "stdDeviation \(h.stdDeviation) vs \(sd)")

        // A tight distribution far from 0: no cancellation in the deviation.
        var tight = LatencyHistogram()
        for i in 0..<10_000 { tight.record(1_000_000_000 + UInt64(i % 3)) }
        let tightMean = 1_000_000_000.0 + (Double(3_333 * 1 + 3_333 * 2) / 10_000)
        let tightSD = ((0..<10_000).reduce(0.0) { acc, i in
            let d = 1_000_000_000.0 + Double(i % 3) - tightMean
            return acc + d * d
        } / 10_000).squareRoot()
        #expect(abs(tight.mean - tightMean) < 1e-6)
        #expect(abs(tight.stdDeviation - tightSD) <= tightSD * 1e-6, "\(tight.stdDeviation) vs \(tightSD)")
    }

    @Test("add gives what recording both sets into one histogram gives")
    func addEqualsRecordingBoth() {
        let seed: UInt64 = 0x5EED_0004
        print("LatencyHistogram add seed \(seed)")
        var rng = TestRandom(seed: seed)
        let first = Self.randomValues(count: 8_000, limit: 3_600_000_000_000, rng: &rng)
        let second = Self.randomValues(count: 12_000, limit: 20_000_000, rng: &rng)
        var a = LatencyHistogram(), b = LatencyHistogram(), both = LatencyHistogram()
        Self.record(first, into: &a)
        Self.record(second, into: &b)
        Self.record(first + second, into: &both)
        var merged = a
        merged.add(b)
        Self.expectSame(merged, both)

        // Into an empty one, and an empty one added.
        var fromEmpty = LatencyHistogram()
        fromEmpty.add(b)
        fromEmpty.add(LatencyHistogram())
        fromEmpty.add(a)
        Self.expectSame(fromEmpty, both)
    }

    static func expectSame(_ x: LatencyHistogram, _ y: LatencyHistogram) {
        #expect(x.totalCount == y.totalCount)
        #expect(x.min == y.min)
        #expect(x.max == y.max)
        #expect(x.clampedCount == y.clampedCount)
        #expect(x.mean == y.mean)
        #expect(abs(x.stdDeviation - y.stdDeviation) <= y.stdDeviation * 1e-9)
        for p in stride(from: 0.0, through: 100.0, by: 0.5) + Self.percentiles {
            #expect(x.valueAtPercentile(p) == y.valueAtPercentile(p), "p\(p)")
        }
    }

    @Test("reset empties the histogram and it records afresh")
    func reset() {
        var h = LatencyHistogram()
        for v: UInt64 in [5, 70_000, 9_000_000_000] { h.record(v, count: 3) }
        h.reset()
        Self.expectEmpty(h)
        h.record(1_234_567)
        h.record(42)
        var fresh = LatencyHistogram()
        fresh.record(1_234_567)
        fresh.record(42)
        Self.expectSame(h, fresh)
    }

    @Test("values above the highest trackable value are counted as it")
    func clamping() {
        var h = LatencyHistogram(highestTrackableValue: 1_000, significantDigits: 3)
        h.record(10)
        h.record(5_000, count: 2)
        #expect(h.totalCount == 3)
        #expect(h.clampedCount == 2)
        #expect(h.max == 1_000)
        #expect(h.mean == 2_010.0 / 3)
        #expect(h.valueAtPercentile(50) == 1_000)
        #expect(h.valueAtPercentile(100) == 1_000)

        // The whole UInt64 range, with no overflow at the top slot.
        var top = LatencyHistogram(highestTrackableValue: .max, significantDigits: 3)
        top.record(.max, count: 2)
        top.record(1)
        #expect(top.clampedCount == 0)
        #expect(top.max == .max)
        #expect(top.valueAtPercentile(50) == .max)
        #expect(top.valueAtPercentile(1) == 1)
        #expect(top.mean == (2 * Double(UInt64.max) + 1) / 3)

        // The default: anything above one hour in ns.
        var hour = LatencyHistogram()
        hour.record(.max)
        #expect(hour.clampedCount == 1)
        #expect(hour.max == 3_600_000_000_000)
        #expect(hour.valueAtPercentile(99) == 3_600_000_000_000)
    }

    static func expectEmpty(_ h: LatencyHistogram) {
        #expect(h.totalCount == 0)
        #expect(h.clampedCount == 0)
        #expect(h.min == 0)
        #expect(h.max == 0)
        #expect(h.mean == 0)
        #expect(h.stdDeviation == 0)
        for p in [0.0, 50, 99.9, 100] { #expect(h.valueAtPercentile(p) == 0) }
    }

    @Test("an empty histogram reports 0 everywhere; a count of 0 records nothing")
    func empty() {
        var h = LatencyHistogram()
        Self.expectEmpty(h)
        h.record(123, count: 0)
        Self.expectEmpty(h)
    }

    @Test("p 0 (or below, or NaN) is the exact min; p 100 (or above) the exact max")
    func percentileEnds() {
        var h = LatencyHistogram()
        // Both outside bucket 0, where slots are wider than one value.
        h.record(1_000_001)
        h.record(987_654_321)
        h.record(50_000_003)
        #expect(h.valueAtPercentile(0) == 1_000_001)
        #expect(h.valueAtPercentile(-5) == 1_000_001)
        #expect(h.valueAtPercentile(.nan) == 1_000_001)
        #expect(h.valueAtPercentile(100) == 987_654_321)
        #expect(h.valueAtPercentile(250) == 987_654_321)
        // Rank 1 is the smallest value's slot: its highest value, within 0.1%.
        let p1 = h.valueAtPercentile(1)
        #expect(p1 >= 1_000_001 && Double(p1 - 1_000_001) <= 1_000_001e-3)
        // The top rank's slot is clamped to the exact max.
        #expect(h.valueAtPercentile(99.99) == 987_654_321)
    }
}
