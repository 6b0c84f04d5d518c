import Strata

/// A histogram of non-negative millisecond values over a sliding window of
/// processing time, answering quantiles with a bounded relative error.
///
/// Buckets are log-linear (as HDR histograms are): values below 128 have a
/// bucket each; above, every power of two is cut into 64 equal buckets, so a
/// bucket's width is at most 1/64 of its lower bound (a quantile is reported
/// as its bucket's upper bound: at most 1.6 % above the true value, never
/// below it). Values are clamped to 0...2^40 ms (about 35 years).
///
/// Sliding: the window of `windowLength` ms is cut into `slotCount` slots;
/// each observation is counted in the slot of its `now`, and a slot is
/// dropped (its counts subtracted from the running total) once it is more
/// than `slotCount − 1` slots behind the newest `now` seen. So the histogram
/// covers between `windowLength − windowLength/slotCount` and `windowLength`
/// ms of processing time. Memory: `slotCount + 1` arrays of 2,240 counters.
///
/// Thread safety: a value type for one thread.
public struct SlidingSkewHistogram: Sendable {
    /// Linear buckets below this value (one per value).
    static let linearLimit: Int64 = 128
    /// Sub-buckets per power of two above `linearLimit`: 2^6 = 64 gives a
    /// relative error ≤ 1/64.
    static let subBucketBits: Int64 = 6
    /// The largest exponent kept: values clamp at 2^40 ms (about 35 years),
    /// far beyond any skew a watermark should tolerate.
    static let maxExponent: Int64 = 40
    /// 128 linear buckets + 64 for each power of two 2^7 ... 2^39.
    static let bucketCount = Int(linearLimit + (maxExponent - 7) * 64)

    /// Length of the sliding window in ms of processing time.
    public let windowLength: Int64
    /// Number of slots the window is cut into.
    public let slotCount: Int
    private let slotLength: Int64
    private var slots: [[UInt32]]
    private var slotNumbers: [Int64]
    private var total: [UInt64]
    /// Observations currently in the window.
    public private(set) var count: UInt64 = 0
    private var newestSlot: Int64 = .min

    /// Creates an empty histogram. `windowLength` must be positive and at
    /// least `slotCount`; `slotCount` in 1...1024 (`StrataError.invalidArgument`).
    public init(windowLength: Int64, slotCount: Int = 10) throws {
        guard (1...1024).contains(slotCount), windowLength >= Int64(slotCount) else {
            throw StrataError.invalidArgument(
                "skew histogram: window \(windowLength) ms with \(slotCount) slots; expected 1...1024 slots and a window of at least one ms per slot")
        }
        self.windowLength = windowLength
        self.slotCount = slotCount
        slotLength = windowLength / Int64(slotCount)
        slots = Array(repeating: [], count: slotCount)
        slotNumbers = Array(repeating: .min, count: slotCount)
        total = Array(repeating: 0, count: Self.bucketCount)
    }

    /// The bucket of `value` (clamped to 0...2^40).
    static func bucket(of value: Int64) -> Int {
        let v = min(max(value, 0), (1 << maxExponent) - 1)
        if v < linearLimit { return Int(v) }
        let exponent = Int64(63 - v.leadingZeroBitCount)  // 7...39
        let mantissa = v >> (exponent - subBucketBits)  // 64...127
        return Int(linearLimit + (exponent - 7) * 64 + (mantissa - 64))
    }

    /// The largest value that falls in bucket `index`.
    static func upperBound(ofBucket index: Int) -> Int64 {
        let i = Int64(index)
        if i < linearLimit { return i }
        let exponent = 7 + (i - linearLimit) / 64
        let mantissa = 64 + (i - linearLimit) % 64
        return ((mantissa + 1) << (exponent - subBucketBits)) - 1
    }

    /// Counts `value` in the slot of processing time `now`.
    public mutating func record(_ value: Int64, now: Int64) {
        let slotNumber = advance(to: now)
        let index = Int(slotNumber.modulo(Int64(slotCount)))
        if slots[index].isEmpty { slots[index] = Array(repeating: 0, count: Self.bucketCount) }
        let bucket = Self.bucket(of: value)
        slots[index][bucket] &+= 1
        total[bucket] &+= 1
        count &+= 1
    }

    /// Drops the slots that fell out of the window at `now`; returns the slot of `now`.
    @discardableResult
    public mutating func advance(to now: Int64) -> Int64 {
        let slotNumber = now.floorDivided(by: slotLength)
        guard slotNumber > newestSlot else { return newestSlot }
        newestSlot = slotNumber
        for index in 0..<slotCount where slotNumbers[index] != .min {
            // A slot older than slotCount − 1 slots behind the newest is out.
            if slotNumbers[index] <= slotNumber - Int64(slotCount) { drop(slot: index) }
        }
        let index = Int(slotNumber.modulo(Int64(slotCount)))
        if slotNumbers[index] != slotNumber {
            if slotNumbers[index] != .min { drop(slot: index) }
            slotNumbers[index] = slotNumber
        }
        return slotNumber
    }

    private mutating func drop(slot index: Int) {
        if !slots[index].isEmpty {
            for bucket in 0..<Self.bucketCount where slots[index][bucket] != 0 {
                let n = UInt64(slots[index][bucket])
                total[bucket] -= n
                count -= n
                slots[index][bucket] = 0
            }
        }
        slotNumbers[index] = .min
    }

    /// The `p`-quantile (0 < p ≤ 1) of the values in the window: the upper
    /// bound of the bucket holding the ⌈p·count⌉-th smallest value; `nil`
    /// when the window is empty.
    public func quantile(_ p: Double) -> Int64? {
        guard count > 0 else { return nil }
        let rank = max(1, UInt64((min(max(p, 0), 1) * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for bucket in 0..<Self.bucketCount {
            seen += total[bucket]
            if seen >= rank { return Self.upperBound(ofBucket: bucket) }
        }
        return Self.upperBound(ofBucket: Self.bucketCount - 1)
    }
}

extension Int64 {
    /// Floor division (rounds toward −∞), for slot and window arithmetic on
    /// negative timestamps. `divisor` must be positive.
    @inlinable
    func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor < 0) ? q - 1 : q
    }

    /// The non-negative remainder of floor division. `divisor` must be positive.
    @inlinable
    func modulo(_ divisor: Int64) -> Int64 {
        let r = self % divisor
        return r < 0 ? r + divisor : r
    }
}
