/// A histogram of non-negative integer values (latencies in nanoseconds in
/// the benchmarks) with a bounded relative error, in the HDR-histogram
/// style: log-linear buckets, so any value from 0 to `highestTrackableValue`
/// is counted with `significantDigits` decimal digits of precision in a
/// fixed, preallocated counts array.
///
/// Layout. `subBucketCount` is the smallest power of two at least
/// 2·10^significantDigits (2048 for 3 digits). Bucket 0 counts the values
/// `0..<subBucketCount` one per slot. Bucket k ≥ 1 counts the values in
/// `[subBucketCount·2^(k-1), subBucketCount·2^k)` in `subBucketCount/2`
/// slots 2^k wide. A value's bucket is the position of its highest set bit
/// (of `value | (subBucketCount - 1)`) minus log2(subBucketCount/2); its
/// slot in the flat array is `k·subBucketCount/2 + (value >> k)`. A slot 2^k
/// wide starts at a value of at least 2^k·subBucketCount/2, so every value
/// in it lies within 2/subBucketCount ≤ 10^-significantDigits of the slot's
/// highest value: that bound is the relative error of every percentile.
///
/// Memory: `counts` has one `UInt64` per slot up to the slot of
/// `highestTrackableValue`; with the defaults (1 hour in ns, 3 digits)
/// 33,421 slots, about 267 KB. Each added significant digit multiplies
/// it by about ten.
///
/// `record` does not allocate (it updates the array in place; the first
/// `record` after copying a histogram copies its array once, as any Swift
/// array). The statistics `min`, `max`, `totalCount` and `mean` are exact;
/// `stdDeviation` comes from running sums, not from the buckets.
///
/// Thread safety: a value type; a histogram is used by one thread at a
/// time (each benchmark thread keeps its own and they are `add`ed up).
public struct LatencyHistogram: Sendable {
    /// The highest value counted as itself; larger values are counted as
    /// this value (see `record`).
    public let highestTrackableValue: UInt64
    /// The decimal digits of precision (0...5): every reported percentile
    /// is within a relative error of 10^-significantDigits of the exact one.
    public let significantDigits: Int

    // The stored state is `@usableFromInline` so that `record` can be
    // `@inlinable`: it runs once per operation on the benchmarks' hot paths.

    /// log2(subBucketCount / 2): the slots per bucket k ≥ 1 as a shift.
    @usableFromInline let halfCountShift: Int
    /// subBucketCount - 1: OR-ed into a value so that every value below
    /// subBucketCount has its highest set bit where bucket 0's top is.
    @usableFromInline let subBucketMask: UInt64
    /// One count per slot (see the type's layout).
    @usableFromInline var counts: [UInt64]
    /// See `totalCount`.
    @usableFromInline var recorded: UInt64 = 0
    /// See `clampedCount`.
    @usableFromInline var clamped: UInt64 = 0
    /// The smallest value recorded; `UInt64.max` while empty (`min` reports 0).
    @usableFromInline var smallest: UInt64 = .max
    /// The largest value recorded (after clamping); 0 while empty.
    @usableFromInline var largest: UInt64 = 0
    /// The exact sum of the recorded values (after clamping), 128 bits wide
    /// (it cannot overflow: `totalCount` and every value fit in 64 bits).
    @usableFromInline var sumHigh: UInt64 = 0
    @usableFromInline var sumLow: UInt64 = 0
    /// The first value recorded: the sums below are of deviations from it,
    /// so the variance does not come from the difference of two large,
    /// nearly equal numbers (shifted-data algorithm).
    @usableFromInline var shift: Double = 0
    /// Σ count·(value − shift).
    @usableFromInline var shiftedSum: Double = 0
    /// Σ count·(value − shift)².
    @usableFromInline var shiftedSquares: Double = 0

    /// An empty histogram counting values up to `highestTrackableValue`
    /// (default one hour in nanoseconds) with `significantDigits` digits
    /// of precision (default 3: within 0.1%). The counts array is
    /// allocated here, sized from both (see the type's memory note).
    ///
    /// `significantDigits` outside 0...5 is a programming error (these are
    /// the tools' own settings, never user input) and stops the process.
    public init(highestTrackableValue: UInt64 = 3_600_000_000_000, significantDigits: Int = 3) {
        precondition((0...5).contains(significantDigits),
                      "LatencyHistogram: significantDigits must be in 0...5, got \(significantDigits)")
        self.highestTrackableValue = highestTrackableValue
        self.significantDigits = significantDigits
        var largestSingleUnit = 2
        for _ in 0..<significantDigits { largestSingleUnit *= 10 }
        var subBucketBits = 1
        while 1 << subBucketBits < largestSingleUnit { subBucketBits += 1 }
        halfCountShift = subBucketBits - 1
        subBucketMask = (1 << UInt64(subBucketBits)) - 1
        counts = [UInt64](repeating: 0, count: Self.slot(of: highestTrackableValue, halfCountShift: halfCountShift,
                                                          subBucketMask: subBucketMask) + 1)
    }

    /// The number of values recorded (a value recorded with `count: n`
    /// counts n times), clamped ones included.
    public var totalCount: UInt64 { recorded }

    /// How many of `totalCount` were above `highestTrackableValue` and
    /// counted as it.
    public var clampedCount: UInt64 { clamped }

    /// The smallest value recorded, exact; 0 when the histogram is empty.
    public var min: UInt64 { recorded == 0 ? 0 : smallest }

    /// The largest value recorded (after clamping), exact; 0 when the
    /// histogram is empty.
    public var max: UInt64 { largest }

    /// The arithmetic mean of the recorded values (after clamping), from
    /// their exact sum; 0 when empty.
    public var mean: Double {
        guard totalCount > 0 else { return 0 }
        return (Double(sumHigh) * 0x1p64 + Double(sumLow)) / Double(totalCount)
    }

    /// The population standard deviation of the recorded values (after
    /// clamping), from running sums of their deviations from the first
    /// value recorded (exact up to floating-point rounding, independent of
    /// the bucket resolution); 0 when empty.
    public var stdDeviation: Double {
        guard totalCount > 0 else { return 0 }
        let n = Double(totalCount)
        let meanDeviation = shiftedSum / n
        return (Swift.max(0, shiftedSquares / n - meanDeviation * meanDeviation)).squareRoot()
    }

    /// Counts `value` `count` times (`count` 0 does nothing). A value above
    /// `highestTrackableValue` is counted as `highestTrackableValue` (in
    /// the buckets, `max`, `mean` and `stdDeviation`) and added to
    /// `clampedCount`. Does not allocate. A `totalCount` past `UInt64.max`
    /// (unreachable in practice) stops the process.
    @inlinable
    public mutating func record(_ value: UInt64, count: UInt64 = 1) {
        guard count > 0 else { return }
        var value = value
        if value > highestTrackableValue {
            value = highestTrackableValue
            clamped += count
        }
        counts[Self.slot(of: value, halfCountShift: halfCountShift, subBucketMask: subBucketMask)] += count
        if recorded == 0 { shift = Double(value) }
        recorded += count
        if value < smallest { smallest = value }
        if value > largest { largest = value }
        let product = value.multipliedFullWidth(by: count)
        let (low, carry) = sumLow.addingReportingOverflow(product.low)
        sumLow = low
        sumHigh += product.high + (carry ? 1 : 0)
        let deviation = Double(value) - shift
        let weight = Double(count)
        shiftedSum += weight * deviation
        shiftedSquares += weight * deviation * deviation
    }

    /// Adds every value `other` recorded, as if each had been recorded
    /// here. Both must have the same `highestTrackableValue` and
    /// `significantDigits` (the benchmarks make all theirs with the
    /// defaults); a mismatch is a programming error and stops the process.
    public mutating func add(_ other: LatencyHistogram) {
        precondition(highestTrackableValue == other.highestTrackableValue
                     && significantDigits == other.significantDigits,
                     "LatencyHistogram.add: configurations differ (highest trackable value "
                     + "\(highestTrackableValue) vs \(other.highestTrackableValue), significant digits "
                     + "\(significantDigits) vs \(other.significantDigits))")
        guard other.totalCount > 0 else { return }
        guard totalCount > 0 else {
            self = other
            return
        }
        for i in other.counts.indices where other.counts[i] != 0 {
            counts[i] += other.counts[i]
        }
        recorded += other.recorded
        clamped += other.clamped
        smallest = Swift.min(smallest, other.smallest)
        largest = Swift.max(largest, other.largest)
        let (low, carry) = sumLow.addingReportingOverflow(other.sumLow)
        sumLow = low
        sumHigh += other.sumHigh + (carry ? 1 : 0)
        // Re-centre other's sums on this histogram's shift:
        // Σ(x − s) = Σ(x − s') + n'·d and Σ(x − s)² = Σ(x − s')² + 2d·Σ(x − s') + n'·d², d = s' − s.
        let d = other.shift - shift
        let n = Double(other.totalCount)
        shiftedSquares += other.shiftedSquares + 2 * d * other.shiftedSum + n * d * d
        shiftedSum += other.shiftedSum + n * d
    }

    /// Empties the histogram, keeping its counts array (no allocation).
    public mutating func reset() {
        counts.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        recorded = 0
        clamped = 0
        smallest = .max
        largest = 0
        sumHigh = 0
        sumLow = 0
        shift = 0
        shiftedSum = 0
        shiftedSquares = 0
    }

    /// The value at `percentile` (0...100), HDR-histogram style: the
    /// highest value equivalent to (in the same slot as) the value of rank
    /// ceil(percentile·totalCount/100) (at least 1, computed in `Double`)
    /// in sorted order, but never above `max`. So the result is at least
    /// the exact percentile and within a relative error of
    /// 10^-significantDigits above it. `percentile` ≤ 0 (or NaN) gives `min`,
    /// ≥ 100 gives `max`; an empty histogram gives 0. Scans the counts
    /// array: meant for reports, not hot paths.
    public func valueAtPercentile(_ percentile: Double) -> UInt64 {
        guard totalCount > 0 else { return 0 }
        guard percentile > 0 else { return min }
        guard percentile < 100 else { return max }
        let target = (percentile * Double(totalCount) / 100).rounded(.up)
        let rank = target >= Double(totalCount) ? totalCount : Swift.max(1, UInt64(target))
        var cumulative: UInt64 = 0
        for i in counts.indices {
            cumulative += counts[i]
            if cumulative >= rank { return Swift.min(highestValue(inSlot: i), max) }
        }
        return max
    }

    /// The slot counting `value` in a histogram with these layout
    /// parameters (see the type's layout).
    @inlinable @inline(__always)
    static func slot(of value: UInt64, halfCountShift: Int, subBucketMask: UInt64) -> Int {
        let highestBit = 63 - (value | subBucketMask).leadingZeroBitCount
        let bucket = highestBit - halfCountShift
        return (bucket << halfCountShift) + Int(truncatingIfNeeded: value >> UInt64(bucket))
    }

    /// The highest value that `slot(of:)` maps to `slot`.
    private func highestValue(inSlot slot: Int) -> UInt64 {
        let bucket = Swift.max(0, (slot >> halfCountShift) - 1)
        let subBucket = UInt64(slot - (bucket << halfCountShift))
        let lowest = subBucket << UInt64(bucket)
        return lowest + ((1 << UInt64(bucket)) - 1)
    }
}
