/// Hex as RocksDB's tools print and read it: upper-case digits, `0x` prefix
/// on input optional.
public enum HexCodec {
    static let upper = Array("0123456789ABCDEF".utf8)
    static let lower = Array("0123456789abcdef".utf8)

    /// The hex digits of `bytes` (no prefix).
    public static func encode<C: Collection>(_ bytes: C, uppercase: Bool = true) -> String where C.Element == UInt8 {
        let digits = uppercase ? upper : lower
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex digits (either case), with or without a leading `0x`;
    /// nil on an odd count or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        var digits = Array(text.utf8)
        if digits.count >= 2, digits[0] == UInt8(ascii: "0"), digits[1] | 0x20 == UInt8(ascii: "x") {
            digits.removeFirst(2)
        }
        guard digits.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let hi = nibble(digits[i]), let lo = nibble(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

/// ldb's `load` input format: one `KEY ==> VALUE` per line, split at the
/// first ` ==> `; with `--hex` both sides are hex (with or without `0x`).
public enum LoadFormat {
    static let separator = Array(" ==> ".utf8)

    /// The key and value of `line`, or nil if the line is malformed (no
    /// separator, or bad hex): ldb counts such lines and skips them.
    public static func parseLine(_ line: String, hex: Bool) -> ([UInt8], [UInt8])? {
        parseLine(bytes: Array(line.utf8), hex: hex)
    }

    /// `parseLine` on the bytes of a line (without its `\n`). Every byte of
    /// the value is kept — a trailing `\r` too, as ldb keeps it — except
    /// with `hex`, where a trailing `\r` (a CRLF file) cannot be a digit
    /// and is dropped.
    public static func parseLine(bytes line: [UInt8], hex: Bool) -> ([UInt8], [UInt8])? {
        var bytes = line
        if hex && bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        let n = separator.count
        guard bytes.count >= n else { return nil }
        var split: Int? = nil
        var i = 0
        while i + n <= bytes.count {
            if bytes[i] == separator[0], Array(bytes[i..<(i + n)]) == separator {
                split = i
                break
            }
            i += 1
        }
        guard let split else { return nil }
        let key = Array(bytes[..<split])
        let value = Array(bytes[(split + n)...])
        if !hex { return (key, value) }
        guard let k = HexCodec.decode(String(decoding: key, as: UTF8.self)),
              let v = HexCodec.decode(String(decoding: value, as: UTF8.self))
        else { return nil }
        return (k, v)
    }
}
