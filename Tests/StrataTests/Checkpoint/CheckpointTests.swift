import Foundation
import Testing
@testable import Strata

/// Shared helpers for the checkpoint tests.
enum CheckpointTestSupport {
    /// Every key/value visible through `options` (default: the latest state).
    static func scan(_ db: Database, options: ReadOptions = ReadOptions()) throws -> [[UInt8]: [UInt8]] {
        try db.makeIterator(options: options).contents()
    }

    static func smallOptions() -> Options {
        var options = Options()
        options.writeBufferSize = 32 << 10
        options.targetFileSizeBase = 32 << 10
        options.maxBytesForLevelBase = 128 << 10
        options.level0FileNumCompactionTrigger = 2
        return options
    }

    /// Applies `count` random puts and deletes to `db` and `model`.
    static func randomWrites(_ db: Database, _ model: inout [[UInt8]: [UInt8]], _ rng: inout TestRandom,
                             count: Int, keys: Int = 500) throws {
        for _ in 0..<count {
            let key = Array("key\(rng.int(0..<keys))".utf8)
            if rng.int(0..<6) == 0 {
                try db.delete(key)
                model[key] = nil
            } else {
                let value = rng.bytes(rng.int(1..<120))
                try db.put(key, value)
                model[key] = value
            }
        }
    }

    static func names(_ dir: String) throws -> [String] {
        try PosixFileSystem.shared.listDirectory(dir).sorted()
    }
}

@Suite("Checkpoints")
struct CheckpointTests {
    typealias S = CheckpointTestSupport

    @Test("a checkpoint opens on its own and equals the database at its sequence number")
    func checkpointEqualsDatabase() throws {
        for seed: UInt64 in 1...3 {
            print("seed \(seed)")
            var rng = TestRandom(seed: seed)
            let dir = TestDirectory("ckpt")
            defer { dir.remove() }
            let db = try Database.open(at: dir.file("db"), options: S.smallOptions())
            var model: [[UInt8]: [UInt8]] = [:]
            try S.randomWrites(db, &model, &rng, count: 3000)
            if seed == 2 { try db.compactRange() }
            try S.randomWrites(db, &model, &rng, count: 200)
            var options = CheckpointOptions()
            options.retainSnapshot = true
            let result = try db.checkpoint(to: dir.file("ckpt"), options: options)
            let snapshot = try #require(result.snapshot)
            #expect(snapshot.sequence == result.sequence)
            #expect(result.tablesCopied == 0 && result.tablesLinked == result.manifest.tables.count)
            // Later writes change the source, not the checkpoint.
            var later = model
            try S.randomWrites(db, &later, &rng, count: 500)
            try db.flush()
            #expect(try S.scan(db, options: ReadOptions(snapshot: snapshot)) == model)
            let names = try S.names(dir.file("ckpt"))
            #expect(names.contains("CURRENT") && names.contains(Database.checkpointManifestName))
            #expect(!names.contains { $0.hasSuffix(".log") })
            #expect(!FileManager.default.fileExists(atPath: dir.file("ckpt.tmp")))
            // The manifest lists exactly the directory's files (besides itself).
            #expect(Set(result.manifest.files.map(\.name)) == Set(names.filter { $0 != Database.checkpointManifestName }))
            for f in result.manifest.files {
                #expect(try FileChecksum.of(path: dir.file("ckpt/\(f.name)"), fileSystem: PosixFileSystem.shared) == f.checksum)
            }
            let copy = try Database.open(at: dir.file("ckpt"), options: S.smallOptions())
            #expect(try S.scan(copy) == model)
            #expect(copy.versions.lastSequence == result.sequence)
            // Writing to the checkpoint leaves the source alone (tables are immutable).
            try copy.put(Array("only-in-copy".utf8), [1])
            try copy.compactRange()
            try copy.close()
            #expect(try S.scan(db) == later)
            #expect(try Database.checkpointManifest(at: dir.file("ckpt")) == result.manifest)
            try db.close()
        }
    }

    @Test("WAL mode copies the WALs instead of flushing, and recovery replays them")
    func walMode() throws {
        let seed: UInt64 = 11
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory("ckpt-wal")
        defer { dir.remove() }
        var dbOptions = S.smallOptions()
        dbOptions.writeBufferSize = 4 << 20
        let db = try Database.open(at: dir.file("db"), options: dbOptions)
        var model: [[UInt8]: [UInt8]] = [:]
        try S.randomWrites(db, &model, &rng, count: 500)
        try db.flush()
        try S.randomWrites(db, &model, &rng, count: 700)
        let flushesBefore = db.stats.flushes.load(ordering: .relaxed)
        var options = CheckpointOptions()
        options.flushMemtable = false
        options.retainSnapshot = true
        let result = try db.checkpoint(to: dir.file("ckpt"), options: options)
        #expect(db.stats.flushes.load(ordering: .relaxed) == flushesBefore)
        #expect(result.manifest.walCopied)
        let wals = result.manifest.files.filter { $0.kind == .wal }
        #expect(!wals.isEmpty)
        try S.randomWrites(db, &model, &rng, count: 100)  // after the cut: not in the checkpoint
        let expected = try S.scan(db, options: ReadOptions(snapshot: result.snapshot))
        #expect(expected.count > 0)
        let copy = try Database.open(at: dir.file("ckpt"), options: dbOptions)
        #expect(try S.scan(copy) == expected)
        #expect(copy.versions.lastSequence == result.sequence)
        try copy.close()
        try db.close()
    }

    @Test("the delta lists new tables and the private files, reusing checksums of the parent")
    func delta() throws {
        let seed: UInt64 = 5
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory("ckpt-delta")
        defer { dir.remove() }
        var dbOptions = S.smallOptions()
        dbOptions.level0FileNumCompactionTrigger = 100  // keep the first tables in place
        let db = try Database.open(at: dir.file("db"), options: dbOptions)
        var model: [[UInt8]: [UInt8]] = [:]
        try S.randomWrites(db, &model, &rng, count: 1000)
        let first = try db.checkpoint(to: dir.file("c1")).manifest
        #expect(first.parentID == nil && first.newFiles.count == first.files.count)
        try S.randomWrites(db, &model, &rng, count: 300)
        var options = CheckpointOptions()
        options.parent = first
        let second = try db.checkpoint(to: dir.file("c2"), options: options).manifest
        #expect(second.parentID == first.id)
        let oldTables = Set(first.tables.map(\.name))
        let newTables = second.tables.filter { !oldTables.contains($0.name) }
        #expect(!newTables.isEmpty)
        let expectedNew = Set(newTables.map(\.name) + second.files.filter { $0.kind != .table }.map(\.name))
        #expect(Set(second.newFiles) == expectedNew)
        #expect(Set(second.delta(since: first).map(\.name)) == expectedNew)
        #expect(second.sequence > first.sequence)
        // No compaction ran (trigger 100): no table of the first is gone.
        #expect(second.removed(since: first).filter { $0.kind == .table }.isEmpty)
        for f in second.files {
            #expect(try FileChecksum.of(path: dir.file("c2/\(f.name)"), fileSystem: PosixFileSystem.shared) == f.checksum)
        }
        let decoded = try CheckpointManifest.decode(try second.encoded(), file: "mem")
        #expect(decoded == second)
        // A full compaction replaces every table: the third checkpoint has
        // removed exactly the second's tables, and lists none of them.
        try db.compactRange()
        options.parent = second
        let third = try db.checkpoint(to: dir.file("c3"), options: options).manifest
        let removedTables = Set(third.removed(since: second).filter { $0.kind == .table }.map(\.name))
        #expect(!removedTables.isEmpty)
        #expect(removedTables == Set(second.tables.map(\.name)))
        #expect(removedTables.isDisjoint(with: third.tables.map(\.name)))
        try db.close()
    }

    @Test("copies instead of links when asked; an existing destination is refused; a stale temp of database files is replaced")
    func copiesAndErrors() throws {
        let dir = TestDirectory("ckpt-copy")
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"), options: S.smallOptions())
        var model: [[UInt8]: [UInt8]] = [:]
        var rng = TestRandom(seed: 3)
        print("seed 3")
        try S.randomWrites(db, &model, &rng, count: 800)
        try FileManager.default.createDirectory(atPath: dir.file("c.tmp"), withIntermediateDirectories: true)
        // What an interrupted checkpoint leaves (a foreign file there is
        // refused instead: NoForeignDeletionTests).
        _ = FileManager.default.createFile(atPath: dir.file("c.tmp/000999.sst"), contents: Data([1, 2, 3]))
        var options = CheckpointOptions()
        options.allowHardLinks = false
        let result = try db.checkpoint(to: dir.file("c"), options: options)
        #expect(result.tablesLinked == 0 && result.tablesCopied > 0)
        #expect(!(try S.names(dir.file("c"))).contains("000999.sst"))
        #expect(throws: StrataError.self) { try db.checkpoint(to: dir.file("c")) }
        do {
            try db.checkpoint(to: dir.file("c"))
        } catch let error as StrataError {
            #expect(error.kind == .invalidArgument)
        }
        let copy = try Database.open(at: dir.file("c"), options: S.smallOptions())
        #expect(try S.scan(copy) == model)
        try copy.close()
        try db.close()
        #expect(throws: StrataError.self) { try db.checkpoint(to: dir.file("d")) }
    }

    /// The device of `path` (nil if it cannot be stat'ed).
    static func device(_ path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_dev) : nil
    }

    /// A writable directory on another file system than the test
    /// directories (nil if there is none: the cross-device test is then
    /// reported as skipped, not passed).
    static let secondFileSystem: String? = {
        let other = "/dev/shm"
        let probe = TestDirectory("ckpt-xdev-probe")
        defer { probe.remove() }
        guard let a = device(probe.path), let b = device(other), a != b,
              FileManager.default.isWritableFile(atPath: other) else { return nil }
        return other
    }()

    @Test("across file systems (EXDEV) tables are copied, and the checkpoint opens",
          .enabled(if: secondFileSystem != nil, "no second writable file system at /dev/shm"))
    func crossDevice() throws {
        let dir = TestDirectory("ckpt-xdev")
        defer { dir.remove() }
        let other = try #require(Self.secondFileSystem)
        let target = other + "/strata-ckpt-xdev-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: target) }
        let db = try Database.open(at: dir.file("db"), options: S.smallOptions())
        var rng = TestRandom(seed: 17)
        print("seed 17")
        var model: [[UInt8]: [UInt8]] = [:]
        try S.randomWrites(db, &model, &rng, count: 1000)
        let result = try db.checkpoint(to: target)
        #expect(result.tablesLinked == 0 && result.tablesCopied == result.manifest.tables.count)
        #expect(result.tablesCopied > 0)
        let copy = try Database.open(at: target, options: S.smallOptions())
        #expect(try S.scan(copy) == model)
        try copy.close()
        try db.close()
    }

    @Test("a link refused with EXDEV (and kin) counts as 'links impossible', so the checkpoint copies; other errors do not")
    func linkFailureClassification() {
        for code in [EXDEV, EPERM, EMLINK, EOPNOTSUPP] {
            errno = code
            #expect(FileTransfer.linkUnsupported(posixError("link to /b", "/a")), "errno \(code)")
        }
        for code in [ENOENT, EIO, ENOSPC, EEXIST] {
            errno = code
            #expect(!FileTransfer.linkUnsupported(posixError("link to /b", "/a")), "errno \(code)")
        }
    }
}
