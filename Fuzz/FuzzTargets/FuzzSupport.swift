import Glibc
import Strata

/// The decoders under fuzzing, by target name (the libFuzzer executables
/// are `fuzz-NAME`). Each body takes one input and must return normally for
/// every input: a decoder rejects bad bytes by throwing a `StrataError`;
/// a crash, a trap or a failed `fuzzCheck` is a bug.
///
/// Thread safety: each body is called from one thread at a time (libFuzzer
/// runs inputs sequentially); the bodies keep no state between inputs.
public enum FuzzTargets {
    /// Target names → bodies, in the order the CI run takes them.
    public static let all: [(name: String, body: @Sendable (UnsafeRawBufferPointer) -> Void)] = [
        ("block", block),
        ("table", table),
        ("filter", filter),
        ("log", log),
        ("writebatch", writeBatch),
        ("versionedit", versionEdit),
        ("manifest", manifest),
        ("dbtable", dbTable),
    ]

    /// The body of target `name`, or nil.
    public static func named(_ name: String) -> (@Sendable (UnsafeRawBufferPointer) -> Void)? {
        all.first { $0.name == name }?.body
    }
}

/// Stops the run (a finding) when a property the decoders promise fails.
/// Unlike `assert`, stays in release builds, which is how the fuzzers run.
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
               file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError("fuzz property violated: \(message())", file: file, line: line) }
}

/// A read-only in-memory file over the fuzz input, so a decoder that reads
/// through `RandomAccessFile` sees exactly the input's bytes.
///
/// Thread safety: immutable.
struct BytesFile: RandomAccessFile {
    let path: String
    let bytes: [UInt8]
    var size: UInt64 { UInt64(bytes.count) }

    init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard offset <= size, UInt64(buffer.count) <= size - offset else {
            throw StrataError.corruption("read of \(buffer.count) bytes past the end of \(size)", file: path, offset: offset)
        }
        guard buffer.count > 0 else { return }
        bytes.withUnsafeBytes { raw in
            buffer.baseAddress!.copyMemory(from: raw.baseAddress! + Int(offset), byteCount: buffer.count)
        }
    }

    func close() {}
}

/// A cheap deterministic byte source derived from the input (keys to probe
/// with, choices), so a finding reproduces from the input alone.
struct InputRandom {
    private var state: UInt64

    init(_ data: UnsafeRawBufferPointer) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in data.prefix(64) { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        state = h | 1
    }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}

/// A writable in-memory file that only collects what is appended (the
/// log round trip's output), without a file system around it.
///
/// Thread safety: one owner.
final class BytesSink: WritableFile {
    let path: String
    private(set) var bytes: [UInt8] = []
    var size: UInt64 { UInt64(bytes.count) }

    init(path: String) {
        self.path = path
        bytes.reserveCapacity(1 << 17)
    }

    func append(_ data: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: data) }
    func flush() throws {}
    func sync() throws {}
    func close() throws {}
}

/// `a == b` through memcmp: `Array ==` is specialised into the target and
/// instrumented per byte, which made comparing a 128 KiB round trip cost
/// more than writing it.
func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    return a.withUnsafeBytes { x in b.withUnsafeBytes { y in a.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 } }
}
