/// A command-line failure to report to the user (printed, exit status 1).
public struct ToolError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Command-line flags in RocksDB's tool style: `--name=value`, bare
/// `--name` for booleans, anything else a positional argument. Flags may
/// come before or after the command, as with `ldb`.
public struct ParsedFlags {
    /// Non-flag arguments, in order.
    public private(set) var positionals: [String] = []
    /// Flag values by name (without the leading dashes); bare flags map to "".
    public private(set) var values: [String: String] = [:]
    /// Flag names in the order given.
    public private(set) var names: [String] = []
    /// The positionals as the bytes given (keys and values are bytes).
    public private(set) var positionalBytes: [[UInt8]] = []
    /// Flag values as the bytes given, by name.
    public private(set) var valueBytes: [String: [UInt8]] = [:]

    /// Parses `arguments` (without the program name). Throws on `--=x` or
    /// `-x` style arguments, which RocksDB's tools do not take either.
    public init(arguments: [String]) throws {
        try self.init(rawArguments: arguments.map { Array($0.utf8) })
    }

    /// Parses arguments given as bytes (`RawBytes.arguments()`): names are
    /// text; `positionalBytes` and `valueBytes` keep every byte, while
    /// `positionals` and `values` hold their UTF-8 readings (invalid
    /// sequences repaired) for flags that are text.
    public init(rawArguments: [[UInt8]]) throws {
        let dash = UInt8(ascii: "-")
        var onlyPositionals = false
        for argument in rawArguments {
            let text = String(decoding: argument, as: UTF8.self)
            if onlyPositionals || argument.first != dash || argument == [dash] {
                positionals.append(text)
                positionalBytes.append(argument)
                continue
            }
            if argument == [dash, dash] {
                onlyPositionals = true
                continue
            }
            guard argument.count >= 2, argument[1] == dash else {
                throw ToolError("unknown argument \(text): flags look like --name=value")
            }
            let body = argument[2...]
            let nameBytes: ArraySlice<UInt8>
            let value: [UInt8]
            if let eq = body.firstIndex(of: UInt8(ascii: "=")) {
                nameBytes = body[..<eq]
                value = Array(body[(eq + 1)...])
            } else {
                nameBytes = body
                value = []
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard !name.isEmpty else { throw ToolError("bad flag \(text)") }
            if values[name] == nil { names.append(name) }
            values[name] = String(decoding: value, as: UTF8.self)
            valueBytes[name] = value
        }
    }

    /// The flag's value, or nil if it was not given.
    public func string(_ name: String) -> String? { values[name] }

    /// The flag's value as the bytes given, or nil if it was not given.
    public func bytes(_ name: String) -> [UInt8]? { valueBytes[name] }

    /// The flag's value as an integer; nil if absent; throws if not a number.
    public func int(_ name: String) throws -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text) else { throw ToolError("--\(name) must be an integer, got '\(text)'") }
        return value
    }

    /// The flag's value as an unsigned integer; nil if absent; throws if it
    /// is not a number or is negative (a conversion that would trap).
    public func unsigned(_ name: String) throws -> UInt64? {
        guard let text = values[name] else { return nil }
        guard let value = UInt64(text) else {
            throw ToolError("--\(name) must be an integer 0...\(UInt64.max), got '\(text)'")
        }
        return value
    }

    /// The flag's value as an integer in `range`; nil if absent; throws
    /// naming the flag, the value and the range otherwise.
    public func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = try int(name) else { return nil }
        guard range.contains(value) else {
            throw ToolError("--\(name)=\(value): expected \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// True if the flag was given bare or with a true value (1, true, yes).
    public func bool(_ name: String) -> Bool {
        guard let text = values[name] else { return false }
        switch text.lowercased() {
        case "", "1", "true", "yes", "on": return true
        default: return false
        }
    }

    /// Flags given that are not in `allowed`, in the order given.
    public func unknownFlags(allowed: Set<String>) -> [String] {
        names.filter { !allowed.contains($0) }
    }
}

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

#if canImport(Glibc)
import Glibc
#endif

/// Writes `text` to standard error (unbuffered, safe from any thread).
public func printError(_ text: String) {
    var bytes = Array(text.utf8)
    if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(2, raw.baseAddress! + offset, raw.count - offset)
            if n <= 0 { break }
            offset += n
        }
    }
}
