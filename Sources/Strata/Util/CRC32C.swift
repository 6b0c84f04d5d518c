import CCRC32C

/// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and
/// final XOR 0xFFFFFFFF. RocksDB uses it for log records and for kCRC32c block
/// checksums, always "masked" (see `mask`).
///
/// Where the CPU has a CRC32 instruction (x86-64 with SSE4.2, checked once
/// at run time) it computes the CRC, 8 bytes per instruction (`CCRC32C`);
/// elsewhere software slicing-by-8: eight 256-entry tables let the loop
/// consume eight bytes per step with eight table lookups, about 1
/// byte/cycle. Both give the same values (CRC32CTests compares them).
/// Check value: `value("123456789") == 0xE3069283`.
///
/// Thread safety: stateless; the tables are immutable globals.
package enum CRC32C {
    /// The reflected Castagnoli polynomial.
    static let polynomial: UInt32 = 0x82F6_3B78
    /// RocksDB's mask delta (util/crc32c.h `kMaskDelta`).
    static let maskDelta: UInt32 = 0xA282_EAD8

    /// `tables[k][b]` is the CRC of byte `b` followed by `k` zero bytes,
    /// flattened to one array of 8 × 256 entries.
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ polynomial : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    /// True when `extend` uses the CPU's CRC32 instruction.
    package static let usesHardware: Bool = strata_crc32c_hw_available() != 0

    /// Extends `crc` (a finished CRC-32C of some prefix) with `bytes`, so
    /// `extend(value(a), b) == value(a ‖ b)`.
    package static func extend(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard usesHardware, let base = bytes.baseAddress else { return extendSoftware(crc, bytes) }
        return ~strata_crc32c_hw_update(~crc, base, bytes.count)
    }

    /// `extend` in software (slicing-by-8), whatever the CPU has.
    package static func extendSoftware(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        guard var p = bytes.baseAddress else { return crc }
        var n = bytes.count
        tables.withUnsafeBufferPointer { tp in
            let t = tp.baseAddress!
            while n >= 8 {
                let lo = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)) ^ c
                let hi = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = (c >> 8) ^ t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
                p += 1
                n -= 1
            }
        }
        return ~c
    }

    /// CRC-32C of `bytes`.
    package static func value(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        extend(0, bytes)
    }

    /// CRC-32C of `bytes`.
    package static func value(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { extend(0, $0) }
    }

    /// RocksDB's masked form, stored wherever a CRC is stored next to the
    /// data it covers (a CRC of data containing CRCs is otherwise weak):
    /// rotate right by 15 and add 0xA282EAD8.
    package static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ maskDelta
    }

    /// Inverse of `mask`.
    package static func unmask(_ masked: UInt32) -> UInt32 {
        let rot = masked &- maskDelta
        return (rot >> 17) | (rot << 15)
    }
}
