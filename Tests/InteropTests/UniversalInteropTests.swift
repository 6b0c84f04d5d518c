import Foundation
import Testing
@testable import Strata

/// Universal compaction writes ordinary RocksDB levels (L0 files and whole
/// levels as sorted runs, the oldest in L6): RocksDB's tools read them.
@Suite("Universal compaction interop with RocksDB 7.8.3", .serialized)
struct UniversalInteropTests {
    @Test("a universal database after an overwrite workload passes rocksdb-check against the model")
    func universalPassesRocksDBCheck() throws {
        let seed: UInt64 = 5
        print("seed: \(seed)")
        var rng = SeededRandom(seed: seed)
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        var options = Options()
        options.compactionStyle = .universal
        options.writeBufferSize = 32 << 10
        options.targetFileSizeBase = 32 << 10
        options.level0FileNumCompactionTrigger = 3
        options.maxBackgroundJobs = 3
        let db = try Database.open(at: path, options: options)
        var model: [[UInt8]: [UInt8]] = [:]
        for _ in 0..<15_000 {
            let key = Array("key\(rng.int(0..<3_000))".utf8)
            if rng.int(0..<8) == 0 {
                try db.delete(key)
                model[key] = nil
            } else {
                let value = rng.bytes(rng.int(1..<120))
                try db.put(key, value)
                model[key] = value
            }
        }
        try db.waitForBackgroundWork()
        let levels = (db.versions.current()?.levels ?? []).enumerated().filter { !$0.element.isEmpty }.map(\.offset)
        print("non-empty levels: \(levels)")
        #expect(levels.contains(Version.levelCount - 1))
        try db.close()
        let expected = dir.file("expected.txt")
        let lines = DatabaseInteropTests.expectedScan(model).joined(separator: "\n") + "\n"
        try lines.write(toFile: expected, atomically: true, encoding: .utf8)
        let check = try RocksDBTools.runExecutable("/bin/bash", [DatabaseInteropTests.sharedTool("rocksdb-check.sh"), path, expected])
        #expect(check.stdout.contains("rocksdb-check: PASS"), "\(check.all)")
    }
}
