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

/// SplitMix64-seeded xorshift for key choice: fast and reproducible from
/// `--seed` (db_bench uses its own 64-bit generator; the keys differ, the
/// distribution — uniform over [0, num) — is the same).
struct KeyRandom {
    private var state: UInt64

    init(seed: UInt64) {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        state = (z ^ (z >> 31)) | 1
    }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
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
/// `keySize`. `missing` appends one more byte, for keys that are never written.
@inline(__always)
func makeKey(_ n: Int, keySize: Int, missing: Bool = false, into out: inout [UInt8]) {
    out.removeAll(keepingCapacity: true)
    let bytes = min(keySize, 8)
    let v = UInt64(n)
    for i in 0..<bytes { out.append(UInt8(truncatingIfNeeded: v >> UInt64((bytes - i - 1) * 8))) }
    while out.count < keySize { out.append(UInt8(ascii: "0")) }
    if missing { out.append(UInt8(ascii: ".")) }
}
