import Foundation
import Testing
@testable import Strata

/// Checkpoint directories and restored store checkpoints are RocksDB
/// directories: `rocksdb-check.sh` (sst_dump verify, ldb scan against the
/// expected contents, ldb bloom lookups) passes on each.
@Suite("Checkpoint interop with RocksDB 7.8.3", .serialized)
struct CheckpointInteropTests {
    static func scan(_ db: Database, snapshot: Snapshot?) throws -> [[UInt8]: [UInt8]] {
        var result: [[UInt8]: [UInt8]] = [:]
        let it = try db.makeIterator(options: ReadOptions(snapshot: snapshot))
        it.seekToFirst()
        while it.isValid {
            result[it.key] = it.value
            it.next()
        }
        try it.status()
        return result
    }

    static func check(_ path: String, expected model: [[UInt8]: [UInt8]], in dir: InteropDirectory, label: String) throws {
        let lines = DatabaseInteropTests.expectedScan(model)
        let expectedFile = dir.file("expected-\(label).txt")
        try (lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).write(toFile: expectedFile, atomically: true,
                                                                                 encoding: .utf8)
        let check = try RocksDBTools.runExecutable(
            "/bin/bash", [DatabaseInteropTests.sharedTool("rocksdb-check.sh"), path, expectedFile])
        #expect(check.stdout.contains("rocksdb-check: PASS"), "\(label): \(check.all)")
        #expect(try DatabaseInteropTests.ldbScan(path) == lines, "\(label)")
    }

    @Test("flush-mode and WAL-mode checkpoints and a restored store checkpoint pass rocksdb-check")
    func checkpointsPassRocksDBCheck() throws {
        let seed: UInt64 = 12
        print("seed \(seed)")
        var rng = SeededRandom(seed: seed)
        let dir = InteropDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 64 << 10
        options.targetFileSizeBase = 64 << 10
        options.maxBytesForLevelBase = 256 << 10
        options.level0FileNumCompactionTrigger = 2
        let db = try Database.open(at: dir.file("db"), options: options)
        for _ in 0..<5000 {
            let key = rng.int(0..<15) == 0 ? [0xFF] + rng.bytes(2) : Array("key\(rng.int(0..<2000))".utf8)
            if rng.int(0..<7) == 0 {
                try db.delete(key)
            } else {
                try db.put(key, rng.bytes(rng.int(0..<300)))
            }
        }
        var flushOptions = CheckpointOptions()
        flushOptions.retainSnapshot = true
        let flushed = try db.checkpoint(to: dir.file("ckpt-flush"), options: flushOptions)
        try Self.check(flushed.path, expected: Self.scan(db, snapshot: flushed.snapshot), in: dir, label: "flush")

        for i in 0..<700 { try db.put(Array("wal-\(i)".utf8), rng.bytes(40)) }
        try db.delete(Array("key1".utf8))
        var walOptions = CheckpointOptions()
        walOptions.flushMemtable = false
        walOptions.retainSnapshot = true
        let walCopy = try db.checkpoint(to: dir.file("ckpt-wal"), options: walOptions)
        #expect(walCopy.manifest.files.contains { $0.kind == .wal })
        try Self.check(walCopy.path, expected: Self.scan(db, snapshot: walCopy.snapshot), in: dir, label: "wal")

        let store = try CheckpointStore.open(at: dir.file("store"))
        let m = try store.create(from: db)
        try store.restore(id: m.id, to: dir.file("restored"))
        try Self.check(dir.file("restored"), expected: Self.scan(db, snapshot: nil), in: dir, label: "restored")
        store.close()
        try db.close()
    }
}
