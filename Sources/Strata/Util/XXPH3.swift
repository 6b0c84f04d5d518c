/// XXPH3_64 with seed 0: the preview of XXH3 from xxHash 0.7.2 that RocksDB
/// froze as its filter hash (util/xxph3.h, reached through `GetSliceHash64`).
///
/// It is **not** libxxhash's final `XXH3_64bits`: short inputs mix
/// differently and the avalanche constants differ, so every FastLocalBloom
/// filter RocksDB reads depends on this exact function. The definition is in
/// ../shared/spec/rocksdb-format.md §7.4; the unit tests check the spec's
/// test values. Length 0 is RocksDB's own special case.
///
/// Thread safety: stateless.
package enum XXPH3 {
    static let p32_1: UInt64 = 0x9E37_79B1
    static let p32_2: UInt64 = 0x85EB_CA77
    static let p32_3: UInt64 = 0xC2B2_AE3D
    static let p64_1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let p64_2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let p64_3: UInt64 = 0x1656_67B1_9E37_79F9
    static let p64_4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let p64_5: UInt64 = 0x27D4_EB2F_1656_67C5

    /// The 192-byte default secret (kSecret of xxHash 0.7.2).
    static let secretBytes: [UInt8] = [
        0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
        0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
        0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
        0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
        0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
        0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
        0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
        0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
        0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
        0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
        0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
        0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
    ]

    /// The secret in memory that lives as long as the process, so the hot
    /// path reads it without going through an array.
    nonisolated(unsafe) static let secret: UnsafeRawPointer = {
        let p = UnsafeMutableRawPointer.allocate(byteCount: secretBytes.count, alignment: 16)
        secretBytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return UnsafeRawPointer(p)
    }()

    @inline(__always) static func r64(_ p: UnsafeRawPointer, _ i: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }

    @inline(__always) static func r32(_ p: UnsafeRawPointer, _ i: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
    }

    /// 64×64→128-bit multiply folded to 64 bits (low XOR high).
    @inline(__always) static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (high, low) = a.multipliedFullWidth(by: b)
        return low ^ high
    }

    @inline(__always) static func avalanche(_ h: UInt64) -> UInt64 {
        var h = h
        h ^= h >> 37
        h = h &* p64_3
        h ^= h >> 32
        return h
    }

    @inline(__always) static func mix16(_ d: UnsafeRawPointer, _ i: Int, _ s: Int) -> UInt64 {
        fold(r64(d, i) ^ r64(secret, s), r64(d, i + 8) ^ r64(secret, s + 8))
    }

    /// XXPH3_64 (seed 0) of `data`.
    package static func hash64(_ data: UnsafeRawBufferPointer) -> UInt64 {
        let n = data.count
        let s = secret
        guard n > 0, let d = data.baseAddress else {
            return fold(r64(s, 0), p64_2)
        }
        switch n {
        case 1...3:
            let b = d.assumingMemoryBound(to: UInt8.self)
            let c = UInt32(b[0]) | UInt32(b[n >> 1]) << 8 | UInt32(b[n - 1]) << 16 | UInt32(n) << 24
            return avalanche((UInt64(c) ^ r32(s, 0)) &* p64_1)
        case 4...8:
            let x = r32(d, 0) | r32(d, n - 4) << 32
            let k = x ^ r64(s, 0)
            let m = UInt64(n) &+ (k ^ (k >> 51)) &* p32_1
            return avalanche((m ^ (m >> 47)) &* p64_2)
        case 9...16:
            let lo = r64(d, 0) ^ r64(s, 0)
            let hi = r64(d, n - 8) ^ r64(s, 8)
            return avalanche(UInt64(n) &+ lo &+ hi &+ fold(lo, hi))
        case 17...128:
            var a = UInt64(n) &* p64_1
            if n > 32 {
                if n > 64 {
                    if n > 96 {
                        a = a &+ mix16(d, 48, 96) &+ mix16(d, n - 64, 112)
                    }
                    a = a &+ mix16(d, 32, 64) &+ mix16(d, n - 48, 80)
                }
                a = a &+ mix16(d, 16, 32) &+ mix16(d, n - 32, 48)
            }
            a = a &+ mix16(d, 0, 0) &+ mix16(d, n - 16, 16)
            return avalanche(a)
        case 129...240:
            var a = UInt64(n) &* p64_1
            for i in 0..<8 { a = a &+ mix16(d, 16 * i, 16 * i) }
            a = avalanche(a)
            var i = 8
            while i < n / 16 {
                a = a &+ mix16(d, 16 * i, 16 * (i - 8) + 3)
                i += 1
            }
            a = a &+ mix16(d, n - 16, 119)
            return avalanche(a)
        default:
            return long(d, n)
        }
    }

    /// XXPH3_64 (seed 0) of `data`.
    package static func hash64(_ data: [UInt8]) -> UInt64 {
        data.withUnsafeBytes { hash64($0) }
    }

    /// Inputs over 240 bytes: eight 64-bit accumulators over 64-byte stripes,
    /// scrambled after every 1024-byte block.
    static func long(_ d: UnsafeRawPointer, _ n: Int) -> UInt64 {
        let s = secret
        var acc: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (p32_3, p64_1, p64_2, p64_3, p64_4, p32_2, p64_5, p32_1)
        withUnsafeMutableBytes(of: &acc) { raw in
            let a = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            @inline(__always) func stripe(_ off: Int, _ so: Int) {
                for j in 0..<8 {
                    let v = r64(d, off + 8 * j)
                    let k = v ^ r64(s, so + 8 * j)
                    a[j] = a[j] &+ v &+ (k & 0xFFFF_FFFF) &* (k >> 32)
                }
            }
            let stripesPerBlock = 16
            let blockLength = 64 * stripesPerBlock
            let blocks = n / blockLength
            for b in 0..<blocks {
                for st in 0..<stripesPerBlock { stripe(blockLength * b + 64 * st, 8 * st) }
                for j in 0..<8 {
                    var x = a[j]
                    x ^= x >> 47
                    x ^= r64(s, 128 + 8 * j)
                    a[j] = x &* p32_1
                }
            }
            let remaining = (n - blockLength * blocks) / 64
            for st in 0..<remaining { stripe(blockLength * blocks + 64 * st, 8 * st) }
            if n % 64 != 0 { stripe(n - 64, 121) }
        }
        var r = UInt64(n) &* p64_1
        r = r &+ fold(acc.0 ^ r64(s, 11), acc.1 ^ r64(s, 19))
        r = r &+ fold(acc.2 ^ r64(s, 27), acc.3 ^ r64(s, 35))
        r = r &+ fold(acc.4 ^ r64(s, 43), acc.5 ^ r64(s, 51))
        r = r &+ fold(acc.6 ^ r64(s, 59), acc.7 ^ r64(s, 67))
        return avalanche(r)
    }
}
