import Foundation
@testable import Strata

/// Runs RocksDB 7.8.3's tools (Debian package rocksdb-tools) for the interop
/// tests. `tools/install-deps.sh` installs them; tests that need them fail
/// with a clear message if they are missing.
enum RocksDBTools {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    static func path(_ tool: String) -> String? {
        for dir in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(tool)") {
            return "\(dir)/\(tool)"
        }
        return nil
    }

    /// Runs `tool args`, feeding `input` on stdin; waits for it to exit.
    @discardableResult
    static func run(_ tool: String, _ args: [String], input: String? = nil) throws -> Output {
        guard let executable = path(tool) else {
            throw StrataError(.notSupported, "\(tool) not found: run tools/install-deps.sh (apt package rocksdb-tools)")
        }
        return try runExecutable(executable, args, input: input)
    }

    static func runExecutable(_ executable: String, _ args: [String], input: String? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        let out = Pipe()
        let err = Pipe()
        let inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        // Drain both pipes while the process runs (large outputs would block it).
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            outData = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try inPipe.fileHandleForWriting.close()
        process.waitUntilExit()
        group.wait()
        return Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Lines of `sst_dump --command=scan --output_hex` that are entries.
    static func scanHex(_ file: String) throws -> [String] {
        let out = try run("sst_dump", ["--file=\(file)", "--command=scan", "--output_hex"])
        return out.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("'") }
    }

    /// True if sst_dump's checksum verification passes (its text is checked:
    /// sst_dump exits 0 even on corruption).
    static func verifies(_ file: String) throws -> (Bool, String) {
        let out = try run("sst_dump", ["--file=\(file)", "--command=verify", "--verify_checksum"])
        let ok = out.all.contains("The file is ok") && !out.all.lowercased().contains("corrupt")
        return (ok, out.all)
    }
}

/// Our own built tools (strata, sst-dump), next to the test bundle.
enum StrataTools {
    static func path(_ name: String) -> String? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        // `swift test` runs the bundle from .build/<triple>/debug.
        for base in [".build/debug", ".build/release"] {
            let candidate = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(base).appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    @discardableResult
    static func run(_ name: String, _ args: [String], input: String? = nil) throws -> RocksDBTools.Output {
        guard let executable = path(name) else {
            throw StrataError(.notSupported, "\(name) is not built: run `swift build` first")
        }
        return try RocksDBTools.runExecutable(executable, args, input: input)
    }
}

/// A temporary directory removed by `remove()`.
struct InteropDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "/strata-interop-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A deterministic generator (SplitMix64).
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
    mutating func int(_ r: Range<Int>) -> Int { Int.random(in: r, using: &self) }
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

extension DBIterator {
    /// Every key and value from the first entry on (a full forward scan),
    /// for comparing a database with a model. Throws what `status()` throws.
    func contents() throws -> [[UInt8]: [UInt8]] {
        var result: [[UInt8]: [UInt8]] = [:]
        seekToFirst()
        while isValid {
            result[key] = value
            next()
        }
        try status()
        return result
    }
}
