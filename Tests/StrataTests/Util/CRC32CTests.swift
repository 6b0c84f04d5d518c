import Testing
@testable import Strata

/// Checks CRC-32C (Castagnoli) as RocksDB uses it: the published check values
/// (RFC 3720 / iSCSI vectors), agreement of the slicing-by-8 implementation
/// with a bit-by-bit reference over random data and random splits
/// (`extend(value(a), b) == value(a ‖ b)`), and the mask/unmask pair RocksDB
/// stores CRCs under.
@Suite("CRC32C")
struct CRC32CTests {
    /// Bit-at-a-time CRC-32C with the reflected polynomial 0x82F63B78: the
    /// reference the table-driven implementation must agree with.
    static func reference(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 {
                c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1
            }
        }
        return ~c
    }

    @Test("the standard check value: crc32c(\"123456789\") is 0xE3069283")
    func checkValue() {
        let data = Array("123456789".utf8)
        #expect(CRC32C.value(data) == 0xE306_9283)
        #expect(data.withUnsafeBytes { CRC32C.value($0) } == 0xE306_9283)
        #expect(Self.reference(data) == 0xE306_9283)
    }

    @Test("the RFC 3720 vectors: 32 zero bytes, 32 0xFF bytes, ascending and descending 0...31")
    func rfc3720Vectors() {
        let zeros = [UInt8](repeating: 0, count: 32)
        let ones = [UInt8](repeating: 0xFF, count: 32)
        let ascending = [UInt8](0..<32)
        let descending = [UInt8]((0..<32).reversed())
        #expect(CRC32C.value(zeros) == 0x8A91_36AA)
        #expect(CRC32C.value(ones) == 0x62A8_AB43)
        #expect(CRC32C.value(ascending) == 0x46DD_794E)
        #expect(CRC32C.value(descending) == 0x113F_DB5C)
    }

    @Test("the empty input has CRC 0, and extending by nothing changes nothing")
    func empty() {
        #expect(CRC32C.value([]) == 0)
        let crc = CRC32C.value(Array("abc".utf8))
        #expect([UInt8]().withUnsafeBytes { CRC32C.extend(crc, $0) } == crc)
        #expect(CRC32C.extend(crc, UnsafeRawBufferPointer(start: nil, count: 0)) == crc)
    }

    @Test("the slicing-by-8 value agrees with a bit-by-bit reference for every length 0...300")
    func matchesReference() {
        let seed: UInt64 = 0xC3C3_2C00
        print("CRC32C reference seed \(seed)")
        var rng = TestRandom(seed: seed)
        for length in 0...300 {
            let data = rng.bytes(length)
            #expect(CRC32C.value(data) == Self.reference(data), "length \(length)")
        }
    }

    @Test("the result does not depend on the buffer's alignment")
    func unalignedStarts() {
        var rng = TestRandom(seed: 77)
        print("CRC32C alignment seed 77")
        let data = rng.bytes(200)
        let expected = Self.reference(Array(data[3..<150]))
        for start in 0..<8 {
            let shifted = [UInt8](repeating: 0xA5, count: start) + Array(data[3..<150])
            let crc = shifted.withUnsafeBytes { CRC32C.value(UnsafeRawBufferPointer(rebasing: $0[start...])) }
            #expect(crc == expected, "start \(start)")
        }
    }

    @Test("extend(value(a), b) equals value(a + b) for random data and random split points")
    func extendComposes() {
        let seed: UInt64 = 20_240_601
        print("CRC32C extend seed \(seed)")
        var rng = TestRandom(seed: seed)
        for _ in 0..<400 {
            let data = rng.bytes(rng.int(0..<301))
            let split = rng.int(0..<(data.count + 1))
            let a = Array(data[..<split])
            let b = Array(data[split...])
            let whole = CRC32C.value(data)
            let extended = b.withUnsafeBytes { CRC32C.extend(CRC32C.value(a), $0) }
            #expect(extended == whole, "length \(data.count) split \(split)")
            #expect(whole == Self.reference(data), "length \(data.count)")
        }
    }

    @Test("extending in many small pieces equals one pass over the whole")
    func extendManyPieces() {
        var rng = TestRandom(seed: 9)
        print("CRC32C pieces seed 9")
        let data = rng.bytes(1000)
        var crc = CRC32C.value([])
        var position = 0
        while position < data.count {
            let end = min(data.count, position + rng.int(0..<20))
            crc = data.withUnsafeBytes { CRC32C.extend(crc, UnsafeRawBufferPointer(rebasing: $0[position..<end])) }
            position = end
        }
        #expect(crc == CRC32C.value(data))
        #expect(crc == Self.reference(data))
    }

    @Test("mask is ((c >> 15) | (c << 17)) + 0xA282EAD8 and unmask inverts it")
    func maskAndUnmask() {
        var rng = TestRandom(seed: 515)
        print("CRC32C mask seed 515")
        var samples: [UInt32] = [0, 1, 0xFFFF_FFFF, 0x8000_0000, 0xA282_EAD8, 0xE306_9283]
        for _ in 0..<1000 { samples.append(UInt32(truncatingIfNeeded: rng.next())) }
        for c in samples {
            let expected = ((c >> 15) | (c << 17)) &+ 0xA282_EAD8
            #expect(CRC32C.mask(c) == expected)
            #expect(CRC32C.unmask(CRC32C.mask(c)) == c)
            #expect(CRC32C.mask(CRC32C.unmask(c)) == c)
        }
        // Masking changes the value, so a CRC of data containing CRCs is not trivially related.
        #expect(CRC32C.mask(0xE306_9283) != 0xE306_9283)
        #expect(CRC32C.mask(0) == 0xA282_EAD8)
    }

    @Test("the hardware path (when the CPU has one) and the software path agree at every length, alignment and split")
    func hardwareMatchesSoftware() {
        let seed: UInt64 = 0x5EE4_2C32
        print("CRC32C hardware/software seed \(seed), hardware in use: \(CRC32C.usesHardware)")
        var rng = TestRandom(seed: seed)
        let data = rng.bytes(4096 + 16)
        data.withUnsafeBytes { all in
            for length in Array(0...80) + [255, 256, 1000, 4096] {
                for start in 0..<9 {  // every alignment of the start
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    let software = CRC32C.extendSoftware(0, slice)
                    #expect(CRC32C.extend(0, slice) == software, "length \(length), start \(start)")
                    #expect(software == Self.reference(Array(slice)), "length \(length), start \(start)")
                    let cut = length / 3
                    let first = UnsafeRawBufferPointer(rebasing: slice[0..<cut])
                    let rest = UnsafeRawBufferPointer(rebasing: slice[cut...])
                    #expect(CRC32C.extend(CRC32C.extend(0, first), rest) == software)
                }
            }
        }
    }
}
