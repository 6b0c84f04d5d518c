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
