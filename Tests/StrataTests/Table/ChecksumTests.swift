import Testing
@testable import Strata

/// Checks `blockChecksum`, the block-trailer checksum of every RocksDB
/// checksum type, against values computed independently (libxxhash from C,
/// a bit-wise CRC-32C): the input is the stored block followed by its
/// compression-type byte. Also checks how each type depends on that last
/// byte, kXXH3's "hash the block, then fold the type byte in" definition,
/// and the names RocksDB prints.
@Suite("Block checksums")
struct ChecksumTests {
    static func checksum(_ type: ChecksumType, _ block: String, typeByte: UInt8) -> UInt32 {
        (Array(block.utf8) + [typeByte]).withUnsafeBytes { blockChecksum(type, blockAndType: $0) }
    }

    @Test("block \"hello\" with type byte 0 and 1 gives the reference checksum of every type")
    func helloVectors() {
        let expected: [(ChecksumType, UInt32, UInt32)] = [
            (.crc32c, 0x838f_a897, 0x898e_4440),
            (.xxHash, 0x76c3_f8e8, 0xa1fd_d613),
            (.xxHash64, 0x2fec_4e26, 0x6d66_dbe3),
            (.xxh3, 0x5c62_dcfd, 0x37f2_5f24),
            (.none, 0, 0),
        ]
        for (type, zero, one) in expected {
            let c0 = Self.checksum(type, "hello", typeByte: 0)
            let c1 = Self.checksum(type, "hello", typeByte: 1)
            #expect(c0 == zero, "\(type.rocksDBName) type byte 0: got \(String(c0, radix: 16))")
            #expect(c1 == one, "\(type.rocksDBName) type byte 1: got \(String(c1, radix: 16))")
        }
    }

    @Test("kCRC32c is the masked CRC-32C of block and type byte")
    func crc32cIsMasked() {
        var rng = TestRandom(seed: 31)
        print("checksum crc seed 31")
        for _ in 0..<50 {
            let blockAndType = rng.bytes(rng.int(1..<200))
            let sum = blockAndType.withUnsafeBytes { blockChecksum(.crc32c, blockAndType: $0) }
            #expect(sum == CRC32C.mask(CRC32C.value(blockAndType)))
            #expect(CRC32C.unmask(sum) == CRC32C.value(blockAndType))
        }
    }

    @Test("kXXH3 is the low 32 bits of XXH3(block) XOR type byte × 0x6B9083D9")
    func xxh3FoldsTypeByte() {
        var rng = TestRandom(seed: 33)
        print("checksum xxh3 seed 33")
        for _ in 0..<50 {
            let block = rng.bytes(rng.int(0..<300))
            let h = block.withUnsafeBytes { UInt32(truncatingIfNeeded: XXHash.xxh3($0)) }
            for typeByte: UInt8 in [0, 1, 7, 0xFF] {
                let sum = (block + [typeByte]).withUnsafeBytes { blockChecksum(.xxh3, blockAndType: $0) }
                #expect(sum == h ^ (UInt32(typeByte) &* 0x6B90_83D9), "length \(block.count) type \(typeByte)")
            }
        }
    }

    @Test("every real checksum type depends on the block bytes and on the type byte; kNoChecksum is always 0")
    func sensitivity() {
        var rng = TestRandom(seed: 35)
        print("checksum sensitivity seed 35")
        let block = rng.bytes(100)
        for type in ChecksumType.allCases {
            let base = (block + [1]).withUnsafeBytes { blockChecksum(type, blockAndType: $0) }
            let otherType = (block + [0]).withUnsafeBytes { blockChecksum(type, blockAndType: $0) }
            var flipped = block
            flipped[50] ^= 0x10
            let otherBlock = (flipped + [1]).withUnsafeBytes { blockChecksum(type, blockAndType: $0) }
            if type == .none {
                #expect(base == 0 && otherType == 0 && otherBlock == 0)
            } else {
                #expect(base != otherType, "\(type.rocksDBName): type byte ignored")
                #expect(base != otherBlock, "\(type.rocksDBName): block byte ignored")
            }
        }
    }

    @Test("the checksum types have RocksDB's numbers and names")
    func namesAndNumbers() {
        let expected: [(ChecksumType, UInt8, String)] = [
            (.none, 0, "kNoChecksum"), (.crc32c, 1, "kCRC32c"), (.xxHash, 2, "kxxHash"),
            (.xxHash64, 3, "kxxHash64"), (.xxh3, 4, "kXXH3"),
        ]
        for (type, raw, name) in expected {
            #expect(type.rawValue == raw)
            #expect(type.rocksDBName == name)
            #expect(ChecksumType(rawValue: raw) == type)
        }
        #expect(ChecksumType(rawValue: 5) == nil)
        #expect(ChecksumType.allCases.count == 5)
    }
}
