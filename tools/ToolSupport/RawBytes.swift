#if canImport(Glibc)
import Glibc
#endif

/// Keys and values on the command line and in input lines are bytes, as
/// ldb takes them (issue 24): `CommandLine.arguments` decodes argv as UTF-8
/// and repairs invalid sequences to U+FFFD, so `k\xff` and `k\xfe` became
/// the same key. These read and write the bytes themselves.
public enum RawBytes {
    /// The process's arguments (without the program name) as the bytes the
    /// kernel passed, from `CommandLine.unsafeArgv`.
    public static func arguments() -> [[UInt8]] {
        var result: [[UInt8]] = []
        let argv = CommandLine.unsafeArgv
        for i in 1..<Int(CommandLine.argc) {
            guard let p = argv[i] else { continue }
            let count = strlen(p)
            result.append(p.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) })
        }
        return result
    }

    /// The first of the 256 code points (U+10FF00...U+10FFFF, private use)
    /// that stand for single bytes in `argumentStrings`.
    static let escapeBase: UInt32 = 0x10FF00

    /// The arguments as `String`s for the command-line parser, losslessly:
    /// valid UTF-8 reads as itself; each byte of an invalid sequence (and
    /// of a code point in U+10FF00...U+10FFFF, so the mapping stays
    /// one-to-one) becomes the code point U+10FF00 + byte. `bytes(of:)`
    /// gives the original bytes back; flag names and plain text are
    /// unchanged.
    public static func argumentStrings() -> [String] {
        arguments().map(escapedString)
    }

    /// `bytes` as `argumentStrings` reads one argument.
    public static func escapedString(_ bytes: [UInt8]) -> String {
        var scalars = String.UnicodeScalarView()
        var i = 0
        func escape(_ count: Int) {
            for b in bytes[i..<(i + count)] { scalars.append(Unicode.Scalar(escapeBase + UInt32(b))!) }
        }
        while i < bytes.count {
            let (scalar, length) = decodeScalar(bytes, at: i)
            if let scalar, scalar.value < escapeBase {
                scalars.append(scalar)
                i += length
            } else {
                escape(length)
                i += length
            }
        }
        return String(scalars)
    }

    /// The bytes an argument of `argumentStrings` was given as (its UTF-8
    /// for any other string).
    public static func bytes(of text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar.value >= escapeBase {
                out.append(UInt8(scalar.value - escapeBase))
            } else {
                out.append(contentsOf: String(scalar).utf8)
            }
        }
        return out
    }

    /// The scalar of the well-formed UTF-8 sequence at `i` and its length,
    /// or (nil, 1) when the byte at `i` does not start one.
    static func decodeScalar(_ bytes: [UInt8], at i: Int) -> (Unicode.Scalar?, Int) {
        let lead = bytes[i]
        if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
        let length: Int
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; value = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; value = UInt32(lead & 0x07)
        default: return (nil, 1)
        }
        guard i + length <= bytes.count else { return (nil, 1) }
        for b in bytes[(i + 1)..<(i + length)] {
            guard b & 0xC0 == 0x80 else { return (nil, 1) }
            value = value << 6 | UInt32(b & 0x3F)
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return (nil, 1) }
        return (scalar, length)
    }

    /// Calls `body` with every line of standard input, split at `\n` only:
    /// the bytes of each line are kept as they are (a `\r` before the `\n`
    /// too, as ldb's `getline` keeps it); a last line without `\n` counts.
    /// Streams: one line in memory at a time.
    public static func forEachStandardInputLine(_ body: ([UInt8]) throws -> Void) throws {
        var current: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw ToolError("reading standard input failed: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            var start = 0
            while let newline = buffer[start..<n].firstIndex(of: UInt8(ascii: "\n")) {
                current.append(contentsOf: buffer[start..<newline])
                try body(current)
                current.removeAll(keepingCapacity: true)
                start = newline + 1
            }
            current.append(contentsOf: buffer[start..<n])
        }
        if !current.isEmpty { try body(current) }
    }

    /// Output lines not yet written (main thread only).
    nonisolated(unsafe) static var pending: [UInt8] = []

    /// Queues `bytes` and a newline for standard output, written raw by
    /// `flush` (or when 64 KiB are pending). Swift's `print` output before
    /// the first queued line is flushed first, so the two stay in order;
    /// call `flush` before printing again and before exiting. Main thread only.
    public static func printLine(_ bytes: [UInt8]) {
        if pending.isEmpty { fflush(nil) }
        pending.append(contentsOf: bytes)
        pending.append(UInt8(ascii: "\n"))
        if pending.count >= 1 << 16 { flush() }
    }

    /// Writes the queued lines to file descriptor 1.
    public static func flush() {
        var offset = 0
        while offset < pending.count {
            let n = pending[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
        pending.removeAll(keepingCapacity: true)
    }
}
