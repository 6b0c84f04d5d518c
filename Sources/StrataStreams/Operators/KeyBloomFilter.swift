import Foundation
import Strata

/// A Bloom filter over key bytes: `m` bits, `k` probes by double hashing
/// of one 64-bit XXPH3 hash (Kirsch–Mitzenmacher: probe i is h1 + i·h2).
///
/// False-positive rate after `n` distinct keys: (1 − e^(−kn/m))^k;
/// no false negatives. Thread safety: a value type, one owner.
struct KeyBloomFilter {
    private(set) var bits: [UInt64]
    let bitCount: Int
    let probes: Int
    /// Keys inserted (with repeats).
    private(set) var insertions = 0

    /// A filter for `expectedKeys` keys at `bitsPerKey` bits each; k = round(bitsPerKey · ln 2), 1...30.
    init(expectedKeys: Int, bitsPerKey: Double) {
        let m = max(64, Int((Double(max(expectedKeys, 1)) * bitsPerKey).rounded(.up)))
        bits = [UInt64](repeating: 0, count: (m + 63) / 64)
        bitCount = bits.count * 64
        probes = min(30, max(1, Int((bitsPerKey * 0.6931471805599453).rounded())))
    }

    /// Restores a filter from `words` (as `bits` gave them) with `probes` probes.
    init(words: [UInt64], probes: Int, insertions: Int) {
        bits = words
        bitCount = words.count * 64
        self.probes = probes
        self.insertions = insertions
    }

    @inline(__always)
    private static func hashes(_ key: [UInt8]) -> (UInt64, UInt64) {
        let h = XXPH3.hash64(key)
        // The high half rotated in, forced odd, is the step: every probe differs.
        return (h, (h >> 32 | h << 32) | 1)
    }

    mutating func insert(_ key: [UInt8]) {
        let (h1, h2) = Self.hashes(key)
        var h = h1
        for _ in 0..<probes {
            let bit = Int(h % UInt64(bitCount))
            bits[bit >> 6] |= 1 << UInt64(bit & 63)
            h &+= h2
        }
        insertions += 1
    }

    func mayContain(_ key: [UInt8]) -> Bool {
        let (h1, h2) = Self.hashes(key)
        var h = h1
        for _ in 0..<probes {
            let bit = Int(h % UInt64(bitCount))
            if bits[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
            h &+= h2
        }
        return true
    }

    /// The textbook false-positive rate (1 − e^(−kn/m))^k of a filter of
    /// `bitsPerKey` bits per key holding as many keys as it was sized for.
    static func falsePositiveRate(bitsPerKey: Double) -> Double {
        let k = Double(min(30, max(1, Int((bitsPerKey * 0.6931471805599453).rounded()))))
        return pow(1 - exp(-k / bitsPerKey), k)
    }
}

/// Bloom filters in generations, so a filter forgets keys whose state has
/// expired: each generation remembers the latest expiry time of the keys
/// inserted into it and is dropped once time (watermark or processing
/// time) passes it. A new generation starts when the current one holds its
/// expected number of keys, so each generation stays at its design
/// false-positive rate p and a lookup across g generations is false
/// positive with probability 1 − (1 − p)^g. Memory: `bitsPerKey` bits per
/// key inserted and not yet expired, rounded up to whole generations.
struct GenerationalBloom {
    struct Generation {
        var filter: KeyBloomFilter
        var maxExpiry: Int64
    }

    let keysPerGeneration: Int
    let bitsPerKey: Double
    private(set) var generations: [Generation] = []

    init(keysPerGeneration: Int, bitsPerKey: Double, generations: [Generation] = []) {
        self.keysPerGeneration = max(1, keysPerGeneration)
        self.bitsPerKey = bitsPerKey
        self.generations = generations
    }

    /// Records `key`, live until `expiry`.
    mutating func insert(_ key: [UInt8], expiry: Int64) {
        if generations.isEmpty || generations[generations.count - 1].filter.insertions >= keysPerGeneration {
            generations.append(Generation(filter: KeyBloomFilter(expectedKeys: keysPerGeneration, bitsPerKey: bitsPerKey),
                                          maxExpiry: expiry))
        }
        generations[generations.count - 1].filter.insert(key)
        generations[generations.count - 1].maxExpiry = max(generations[generations.count - 1].maxExpiry, expiry)
    }

    /// False only if `key` was surely not inserted (among generations still kept).
    func mayContain(_ key: [UInt8]) -> Bool {
        for generation in generations.reversed() where generation.filter.mayContain(key) { return true }
        return false
    }

    /// Drops every generation whose keys all expired by `time`.
    mutating func expire(upTo time: Int64) {
        generations.removeAll { $0.maxExpiry <= time }
    }

    /// Bits held, for memory accounting.
    var memoryBytes: Int { generations.reduce(0) { $0 + $1.filter.bits.count * 8 } }
}
