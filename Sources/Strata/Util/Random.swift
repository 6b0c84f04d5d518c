/// SplitMix64: a tiny, full-period generator used to seed others and for
/// deterministic test data. Not cryptographic.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    package private(set) var state: UInt64

    /// A generator whose output is fully determined by `seed`.
    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman and Vigna): fast, statistically strong, seeded
/// deterministically through SplitMix64. Used by benchmarks and tools that
/// must produce the same keys for the same `--seed`. Not cryptographic.
package struct Xoshiro256: RandomNumberGenerator, Sendable {
    var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose output is fully determined by `seed`.
    package init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
    }

    @inline(__always)
    package mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform value in `0..<bound` (`bound` > 0), by Lemire's
    /// multiply-shift (bias below 2^-64 · bound, irrelevant here).
    @inline(__always)
    package mutating func uniform(_ bound: UInt64) -> UInt64 {
        next().multipliedFullWidth(by: bound).high
    }

    /// `count` random bytes.
    package mutating func bytes(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var x = next()
            for _ in 0..<min(8, count - i) {
                out[i] = UInt8(truncatingIfNeeded: x)
                x >>= 8
                i += 1
            }
        }
        return out
    }
}
