/// RocksDB's `Random` (util/random.h): the Park–Miller "minimal standard"
/// generator, seed * 16807 mod (2^31 − 1). db_bench builds its value buffer
/// with `Random(301)`, so using the same generator makes our values the
/// same bytes as db_bench's.
struct ParkMillerRandom {
    private var seed: UInt32

    init(_ s: UInt32) {
        seed = s & 0x7fff_ffff
        if seed == 0 || seed == 2_147_483_647 { seed = 1 }
    }

    mutating func next() -> UInt32 {
        let m: UInt64 = 2_147_483_647
        let product = UInt64(seed) * 16807
        var s = UInt32(truncatingIfNeeded: (product >> 31) + (product & m))
        if UInt64(s) > m { s -= UInt32(m) }
        seed = s
        return s
    }

    mutating func uniform(_ n: Int) -> Int { Int(next() % UInt32(n)) }
}

/// db_bench's per-thread generator: RocksDB's `Random64`, which is the
/// standard 64-bit Mersenne Twister (MT19937-64, Matsumoto & Nishimura; the
/// parameters below are the published ones). db_bench seeds each benchmark
/// thread with `--seed` + a count of the threads started so far in the run
/// (`Workloads.threadSeeds`), so with the same flags strata-bench draws the
/// same key numbers as db_bench, operation for operation.
struct Mersenne64 {
    private static let size = 312
    private static let middle = 156
    private var state: [UInt64]
    private var index: Int

    init(seed: UInt64) {
        state = [UInt64](repeating: 0, count: Self.size)
        state[0] = seed
        for i in 1..<Self.size {
            let previous = state[i - 1]
            state[i] = 6_364_136_223_846_793_005 &* (previous ^ (previous >> 62)) &+ UInt64(i)
        }
        index = Self.size
    }

    mutating func next() -> UInt64 {
        if index == Self.size { twist() }
        var y = state[index]
        index += 1
        y ^= (y >> 29) & 0x5555_5555_5555_5555
        y ^= (y << 17) & 0x71D6_7FFF_EDA6_0000
        y ^= (y << 37) & 0xFFF7_EEE0_0000_0000
        y ^= y >> 43
        return y
    }

    /// db_bench's `rand.Next() % n`.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    private mutating func twist() {
        for k in 0..<Self.size {
            let x = (state[k] & 0xFFFF_FFFF_8000_0000) | (state[(k + 1) % Self.size] & 0x7FFF_FFFF)
            var shifted = x >> 1
            if x & 1 != 0 { shifted ^= 0xB502_6F5A_A966_19E9 }
            state[k] = state[(k + Self.middle) % Self.size] ^ shifted
        }
        index = 0
    }
}

/// db_bench's value source (`RandomGenerator`): a 1 MiB buffer of pieces
/// that compress to `compressionRatio` of their size — each 100-byte piece
/// is `ratio`·100 random printable bytes repeated — handed out as
/// consecutive slices.
struct ValueGenerator {
    private var data: [UInt8] = []
    private var position = 0

    init(compressionRatio: Double, valueSize: Int) {
        var rnd = ParkMillerRandom(301)
        while data.count < max(1_048_576, valueSize) {
            var raw = Int(100 * compressionRatio)
            if raw < 1 { raw = 1 }
            let randomPart = (0..<raw).map { _ in UInt8(32 + rnd.uniform(95)) }
            var piece: [UInt8] = []
            while piece.count < 100 { piece.append(contentsOf: randomPart) }
            data.append(contentsOf: piece.prefix(100))
        }
    }

    /// The next `count` bytes of the buffer, copied into `out`.
    mutating func next(_ count: Int, into out: inout [UInt8]) {
        if position + count > data.count { position = 0 }
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: data[position..<(position + count)])
        position += count
    }
}

/// db_bench's key format (`GenerateKeyFromInt` without prefixes): the number
/// as 8 big-endian bytes (fewer if the key is shorter), then '0' padding to
/// `keySize`. `missing` makes the key one byte longer, as db_bench's
/// `readmissing` does (`key_size + 1`, so one more '0' of padding): a key
/// that is never written.
@inline(__always)
func makeKey(_ n: Int, keySize: Int, missing: Bool = false, into out: inout [UInt8]) {
    out.removeAll(keepingCapacity: true)
    let size = missing ? keySize + 1 : keySize
    let bytes = min(size, 8)
    let v = UInt64(n)
    for i in 0..<bytes { out.append(UInt8(truncatingIfNeeded: v >> UInt64((bytes - i - 1) * 8))) }
    while out.count < size { out.append(UInt8(ascii: "0")) }
}
