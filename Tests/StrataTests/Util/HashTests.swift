import Testing
@testable import Strata

/// Checks the three hash functions RocksDB files depend on against the test
/// values of spec §7.4: XXPH3_64 (the frozen xxHash 0.7.2 preview RocksDB
/// uses for FastLocalBloom filters), libxxhash's final XXH3_64bits (kXXH3
/// block checksums), and LevelDB's Hash32 with the Bloom seed (legacy Bloom
/// filters), including its sign-extended tail bytes. Also checks that the
/// array and raw-buffer entry points agree, that alignment does not matter,
/// and that every input byte influences XXPH3 across all its length classes.
@Suite("Hashes: XXPH3, XXH3, legacy Bloom hash")
struct HashTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Inputs of spec §7.4's table, shared by the XXPH3 and Hash32 vectors.
    static let inputs: [(name: String, data: [UInt8])] = [
        ("\"\"", []),
        ("\"a\"", bytes("a")),
        ("\"abc\"", bytes("abc")),
        ("\"abcd\"", bytes("abcd")),
        ("\"key000000\"", bytes("key000000")),
        ("\"0123456789abcdef\"", bytes("0123456789abcdef")),
        ("\"0123456789abcdefg\"", bytes("0123456789abcdefg")),
        ("bytes 0..99", [UInt8](0..<100)),
        ("bytes 0..199", [UInt8](0..<200)),
        ("bytes i&255, i<300", (0..<300).map { UInt8($0 & 255) }),
        ("bytes i&255, i<2000", (0..<2000).map { UInt8($0 & 255) }),
    ]

    static let xxph3Expected: [UInt64] = [
        0x5342_c301_0fe1_dd04, 0x88d8_68bf_6076_81c7, 0xd39e_eb71_bb53_42e8, 0x97a5_ba1d_02e8_378c,
        0xc42d_c166_a6dd_1c90, 0x402c_83c1_955d_056d, 0x1de5_bab5_896c_d852, 0xb625_9f52_ac0f_6ddc,
        0xd860_7562_8129_a666, 0x5095_a23a_4df1_cad4, 0xe5e5_0ea1_a945_4292,
    ]

    static let legacyExpected: [UInt32] = [
        0xbc9f_1d34, 0x286e_9db0, 0x855d_012f, 0xb9c8_3353, 0x4b91_6297, 0x11f9_9dc7, 0x0d88_6072,
        0xe7aa_26c1, 0xe08e_60da, 0xced1_b692, 0x9a9e_b023,
    ]

    @Test("XXPH3.hash64 reproduces the spec's test values for every length class")
    func xxph3Vectors() {
        for (i, input) in Self.inputs.enumerated() {
            let h = XXPH3.hash64(input.data)
            #expect(h == Self.xxph3Expected[i], "XXPH3 of \(input.name): got \(String(h, radix: 16))")
        }
    }

    @Test("XXPH3's array and raw-buffer overloads agree, at any alignment")
    func xxph3OverloadsAndAlignment() {
        for input in Self.inputs {
            let viaArray = XXPH3.hash64(input.data)
            #expect(input.data.withUnsafeBytes { XXPH3.hash64($0) } == viaArray, "\(input.name)")
            for shift in 1..<8 {
                let padded = [UInt8](repeating: 0xEE, count: shift) + input.data + [0xEE]
                let h = padded.withUnsafeBytes {
                    XXPH3.hash64(UnsafeRawBufferPointer(rebasing: $0[shift..<(shift + input.data.count)]))
                }
                #expect(h == viaArray, "\(input.name) at offset \(shift)")
            }
        }
        #expect(XXPH3.hash64(UnsafeRawBufferPointer(start: nil, count: 0)) == 0x5342_c301_0fe1_dd04)
    }

    @Test("XXPH3 is not the final XXH3: the two differ on every test input")
    func xxph3DiffersFromFinalXXH3() {
        for input in Self.inputs {
            let final = input.data.withUnsafeBytes { XXHash.xxh3($0) }
            #expect(XXPH3.hash64(input.data) != final, "\(input.name)")
        }
    }

    @Test("changing any single byte changes XXPH3, for lengths 1...300 and around the 1024-byte block size")
    func xxph3EveryByteMatters() {
        let seed: UInt64 = 0x7870_6833
        print("XXPH3 sensitivity seed \(seed)")
        var rng = TestRandom(seed: seed)
        var lengths = Array(1...300)
        lengths += [511, 512, 513, 1023, 1024, 1025, 1087, 1088, 1089, 2048, 2049]
        for n in lengths {
            var data = rng.bytes(n)
            let base = XXPH3.hash64(data)
            // Every position for short inputs; a spread of positions plus both ends for long ones.
            let positions: [Int] = n <= 300 ? Array(0..<n) : [0, 1, 63, 64, n / 2, n - 65, n - 64, n - 2, n - 1]
            for p in positions {
                data[p] ^= 0x01
                #expect(XXPH3.hash64(data) != base, "length \(n), byte \(p)")
                data[p] ^= 0x01
            }
            // A different length with the same prefix hashes differently too.
            #expect(XXPH3.hash64(Array(data.dropLast())) != base, "length \(n) vs \(n - 1)")
        }
    }

    @Test("XXHash.xxh3 is libxxhash's final XXH3_64bits")
    func finalXXH3Vectors() {
        let cases: [(String, UInt64)] = [
            ("", 0x2d06_8005_38d3_94c2), ("a", 0xe6c6_32b6_1e96_4e1f), ("abc", 0x78af_5f94_892f_3950),
            ("abcd", 0x6497_a96f_53a8_9890), ("key000000", 0x06d7_e177_f1f7_aba7),
        ]
        for (text, expected) in cases {
            let h = Self.bytes(text).withUnsafeBytes { XXHash.xxh3($0) }
            #expect(h == expected, "XXH3 of \"\(text)\": got \(String(h, radix: 16))")
        }
        #expect(XXHash.xxh3(UnsafeRawBufferPointer(start: nil, count: 0)) == 0x2d06_8005_38d3_94c2)
    }

    @Test("LegacyBloomHash.hash reproduces the spec's Hash32 test values")
    func legacyVectors() {
        for (i, input) in Self.inputs.enumerated() {
            let h = LegacyBloomHash.hash(input.data)
            #expect(h == Self.legacyExpected[i], "Hash32 of \(input.name): got \(String(h, radix: 16))")
            #expect(input.data.withUnsafeBytes { LegacyBloomHash.hash($0) } == h)
            #expect(input.data.withUnsafeBytes { LegacyBloomHash.hash($0, seed: LegacyBloomHash.seed) } == h)
        }
    }

    @Test("Hash32 sign-extends tail bytes >= 0x80 as RocksDB's int8 casts do")
    func legacySignedTail() {
        // Values computed with a C transcription of RocksDB util/hash.cc Hash()
        // (static_cast<int8_t> on the tail bytes).
        let cases: [([UInt8], UInt32)] = [
            ([0x80], 0x91b7_55f4),
            ([0x61, 0xFF], 0x8cde_ca85),
            ([0xFE, 0x7F, 0x80], 0xc352_da12),
            ([1, 2, 3, 4, 0x90, 0xA0, 0xB0], 0x32c3_88ad),
        ]
        for (data, expected) in cases {
            let h = LegacyBloomHash.hash(data)
            #expect(h == expected, "Hash32 of \(data): got \(String(h, radix: 16))")
        }
    }

    @Test("the seed parameter changes Hash32, and the default is 0xBC9F1D34")
    func legacySeed() {
        let data = Self.bytes("key000000")
        #expect(LegacyBloomHash.seed == 0xBC9F_1D34)
        #expect(data.withUnsafeBytes { LegacyBloomHash.hash($0, seed: 0) } != LegacyBloomHash.hash(data))
        // The empty input hashes to the seed itself: seed ^ (0 * m).
        #expect([UInt8]().withUnsafeBytes { LegacyBloomHash.hash($0, seed: 12345) } == 12345)
    }
}
