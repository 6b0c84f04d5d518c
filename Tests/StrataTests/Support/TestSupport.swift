import Foundation
import Glibc
@testable import Strata

/// A temporary directory for one test, removed by `remove()` (call it in a
/// `defer`).
struct TestDirectory {
    let path: String

    init(_ label: String = "strata-test") {
        var template = Array("\(NSTemporaryDirectory())/\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: made!)
    }

    func file(_ name: String) -> String { Path.join(path, name) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The RocksDB-written reference files (../shared/vectors/rocksdb-7.8.3 beside the repo).
enum Vectors {
    static let directory: String = {
        // #filePath = <repo>/Tests/StrataTests/Support/TestSupport.swift
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        let beside = url.deletingLastPathComponent().appendingPathComponent("shared/vectors/rocksdb-7.8.3").path
        if FileManager.default.fileExists(atPath: beside) { return beside }
        return "/work/shared/vectors/rocksdb-7.8.3"
    }()

    static func path(_ name: String) -> String { Path.join(directory, name) }

    /// The SST vectors with their expected `sst_dump --output_hex` scans.
    static let tables = [
        "snappy_xxh3_bloom_fv5", "snappy_crc32c_bloom_fv5", "uncompressed_xxh3_bloom_fv5",
        "snappy_xxhash64_legacybloom_fv4", "uncompressed_xxhash_fv3", "snappy_crc32c_fv2", "mixed_types",
    ]
}

/// A deterministic generator for tests (SplitMix64): same seed, same bytes.
struct TestRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &self) }
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
