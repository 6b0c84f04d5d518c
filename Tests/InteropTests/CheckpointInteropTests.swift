import Foundation
import Testing
@testable import Strata

/// Checkpoint directories and restored store checkpoints are RocksDB
/// directories: `rocksdb-check.sh` (sst_dump verify, ldb scan against the
/// expected contents, ldb bloom lookups) passes on each.
@Suite("Checkpoint interop with RocksDB 7.8.3", .serialized)
struct CheckpointInteropTests {
    static func scan(_ db: Database, snapshot: Snapshot?) throws -> [[UInt8]: [UInt8]] {
        try db.makeIterator(options: ReadOptions(snapshot: snapshot)).contents()
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

    @Test("strata checkpoint and checkpoint_store commands; ldb reads what they make")
    func toolCommands() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let db = dir.file("db")
        let store = "--store=\(dir.file("store"))"
        let load = try StrataTools.run("strata", ["--db=\(db)", "--create_if_missing", "load"],
                                       input: "a ==> 1\nb ==> 2\nc ==> 3\n")
        #expect(load.status == 0, "\(load.all)")
        let one = try StrataTools.run("strata", ["--db=\(db)", "checkpoint", dir.file("c1")])
        #expect(one.status == 0 && one.stdout.hasPrefix("Created checkpoint"), "\(one.all)")
        #expect(try DatabaseInteropTests.ldbScan(dir.file("c1")) == ["0x61 : 0x31", "0x62 : 0x32", "0x63 : 0x33"])
        var out = try StrataTools.run("strata", ["checkpoint_store", store, "create", "--db=\(db)"])
        #expect(out.stdout.hasPrefix("Created checkpoint 1:"), "\(out.all)")
        _ = try StrataTools.run("strata", ["--db=\(db)", "put", "d", "4"])
        out = try StrataTools.run("strata", ["checkpoint_store", store, "create", "--db=\(db)", "--wal", "--json"])
        let m = try CheckpointManifest.decode(Array(out.stdout.utf8), file: "stdout")
        #expect(m.id == "2" && m.parentID == "1" && m.walCopied)
        out = try StrataTools.run("strata", ["checkpoint_store", store, "list"])
        #expect(out.stdout.split(separator: "\n").count == 2, "\(out.all)")
        out = try StrataTools.run("strata", ["checkpoint_store", store, "delta", "1", "2", "--json"])
        let delta = try JSONDecoder().decode([CheckpointFile].self, from: Data(out.stdout.utf8))
        #expect(Set(delta.map(\.name)) == Set(m.newFiles))
        out = try StrataTools.run("strata", ["checkpoint_store", store, "verify"])
        #expect(out.status == 0 && out.stdout.contains(": OK"), "\(out.all)")
        out = try StrataTools.run("strata", ["checkpoint_store", store, "restore", "2", dir.file("restored")])
        #expect(out.status == 0, "\(out.all)")
        #expect(try DatabaseInteropTests.ldbScan(dir.file("restored"))
            == ["0x61 : 0x31", "0x62 : 0x32", "0x63 : 0x33", "0x64 : 0x34"])
        out = try StrataTools.run("strata", ["checkpoint_store", store, "keep_last", "1"])
        #expect(out.stdout.contains("Deleted checkpoints 1"), "\(out.all)")
    }
}
