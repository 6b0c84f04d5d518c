import Foundation
import Synchronization
import Testing
@testable import Strata
import StrataTestSupport

/// Ingestion under failures and crashes, and against a model under
/// universal compaction and snapshot iterators.
@Suite("External file ingestion: crashes, failures, models")
struct IngestCrashTests {
    static func put(_ db: Database, _ k: String, _ v: String) throws { try db.put(Array(k.utf8), Array(v.utf8)) }

    static func get(_ db: Database, _ k: String) throws -> String? {
        try db.get(Array(k.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    static func writeExternal(_ path: String, _ pairs: [(String, String)], fileSystem: any FileSystem) throws {
        let writer = SSTFileWriter(fileSystem: fileSystem)
        try writer.open(path)
        for (k, v) in pairs.sorted(by: { $0.0 < $1.0 }) { try writer.put(Array(k.utf8), Array(v.utf8)) }
        try writer.finish()
    }

    static func tableNumbers(_ fs: any FileSystem, _ dir: String) throws -> Set<UInt64> {
        var numbers = Set<UInt64>()
        for name in try fs.listDirectory(dir) { if case .table(let n) = DBFileName.parse(name) { numbers.insert(n) } }
        return numbers
    }

    @Test("a crash at every file operation of an ingestion: the reopened database has all of it or none, and no stray table")
    func crashAtEveryStep() throws {
        let memory = MemoryFileSystem()
        let fs = FaultInjectionFileSystem(base: memory)
        try fs.createDirectory("/x")
        var options = Options()
        options.fileSystem = fs
        let db = try Database.open(at: "/db", options: options)
        try Self.put(db, "k", "old")
        try db.flush()
        try Self.writeExternal("/x/a.sst", [("a", "1"), ("k", "new")], fileSystem: fs)
        try Self.writeExternal("/x/b.sst", [("m", "2")], fileSystem: fs)
        let images = Mutex<[MemoryFileSystem]>([])
        fs.setHook { op in
            if op.operationClass.isMutation { images.withLock { $0.append(memory.crashClone()) } }
        }
        var ingest = IngestExternalFileOptions()
        ingest.writeGlobalSeqno = true
        try db.ingestExternalFiles(paths: ["/x/a.sst", "/x/b.sst"], options: ingest)
        fs.setHook(nil)
        try db.close()
        let all = images.withLock { $0 } + [memory.crashClone()]
        print("crash images: \(all.count)")
        #expect(all.count > 5)
        var sawBefore = false
        var sawAfter = false
        for image in all {
            var reopen = Options()
            reopen.fileSystem = image
            let again = try Database.open(at: "/db", options: reopen)
            let a = try Self.get(again, "a")
            let k = try Self.get(again, "k")
            let m = try Self.get(again, "m")
            if a == nil {
                #expect(k == "old" && m == nil)
                sawBefore = true
            } else {
                #expect(a == "1" && k == "new" && m == "2")
                sawAfter = true
            }
            let live = Set(again.versions.current()?.allFiles.map(\.number) ?? [])
            #expect(try Self.tableNumbers(image, "/db") == live, "no table outside the MANIFEST stays after reopen")
            try again.close()
        }
        #expect(sawBefore && sawAfter)
    }

    @Test("a failed copy or MANIFEST write leaves nothing behind; the database keeps working or stops cleanly")
    func injectedFailures() throws {
        let memory = MemoryFileSystem()
        let fs = FaultInjectionFileSystem(base: memory)
        try fs.createDirectory("/x")
        var options = Options()
        options.fileSystem = fs
        var db = try Database.open(at: "/db", options: options)
        try Self.put(db, "k", "old")
        try db.flush()
        try Self.writeExternal("/x/a.sst", [("a", "1")], fileSystem: fs)
        try Self.writeExternal("/x/b.sst", [("b", "2")], fileSystem: fs)
        let before = try Self.tableNumbers(fs, "/db")
        // The second copy fails.
        fs.inject(.create, pathSuffix: ".sst", trigger: .nth(2))
        #expect(throws: StrataError.self) { try db.ingestExternalFiles(paths: ["/x/a.sst", "/x/b.sst"]) }
        fs.clearFaults()
        #expect(try Self.tableNumbers(fs, "/db") == before)
        #expect(try Self.get(db, "a") == nil)
        try Self.put(db, "w", "still writable")

        // The MANIFEST sync fails: an I/O error that stops writes until a reopen.
        fs.inject(.sync, pathSuffix: DBFileName.manifest(db.versions.manifestNumber), trigger: .nth(1))
        do {
            try db.ingestExternalFiles(paths: ["/x/a.sst"])
            Issue.record("the MANIFEST sync failure was not reported")
        } catch let error as StrataError {
            #expect(error.kind == .ioError)
        }
        fs.clearFaults()
        #expect(throws: StrataError.self) { try Self.put(db, "z", "after a MANIFEST failure") }
        try? db.close()
        db = try Database.open(at: "/db", options: options)
        let a = try Self.get(db, "a")
        #expect(a == nil || a == "1")
        #expect(try Self.get(db, "k") == "old")
        let live = Set(db.versions.current()?.allFiles.map(\.number) ?? [])
        #expect(try Self.tableNumbers(fs, "/db") == live)
        try db.close()
    }

    @Test("against a model: universal and leveled, ingestions between writes, snapshot iterators, reopen",
          arguments: [CompactionStyle.leveled, .universal])
    func model(style: CompactionStyle) throws {
        let seed: UInt64 = style == .leveled ? 9001 : 9002
        print("seed: \(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.compactionStyle = style
        options.writeBufferSize = 32 << 10
        options.targetFileSizeBase = 32 << 10
        options.level0FileNumCompactionTrigger = 3
        var db = try Database.open(at: dir.file("db"), options: options)
        var model: [String: String] = [:]
        var snapshots: [(Snapshot, [String: String])] = []
        for round in 0..<12 {
            for _ in 0..<rng.int(50..<300) {
                let k = "k\(rng.int(0..<400))"
                let v = "w\(round)-\(rng.int(0..<1000))"
                try Self.put(db, k, v)
                model[k] = v
            }
            var pairs: [String: String] = [:]
            let base = rng.int(0..<450)
            for _ in 0..<rng.int(1..<60) { pairs["k\(base + rng.int(0..<40))"] = "i\(round)-\(rng.int(0..<1000))" }
            let file = dir.file("e\(round).sst")
            try Self.writeExternal(file, pairs.map { ($0.key, $0.value) }, fileSystem: PosixFileSystem.shared)
            if rng.int(0..<3) == 0 { snapshots.append((db.snapshot(), model)) }
            var ingest = IngestExternalFileOptions()
            ingest.moveFiles = rng.int(0..<2) == 0
            try db.ingestExternalFiles(paths: [file], options: ingest)
            model.merge(pairs) { _, new in new }
            if round == 6 {
                try db.close()
                snapshots.removeAll()
                db = try Database.open(at: dir.file("db"), options: options)
            }
        }
        let expected = Dictionary(uniqueKeysWithValues: model.map { (Array($0.key.utf8), Array($0.value.utf8)) })
        #expect(try db.makeIterator().contents() == expected)
        for (snapshot, seen) in snapshots {
            var read = ReadOptions()
            read.snapshot = snapshot
            let it = try db.makeIterator(options: read)
            let view = Dictionary(uniqueKeysWithValues: seen.map { (Array($0.key.utf8), Array($0.value.utf8)) })
            #expect(try it.contents() == view)
            // Backwards, too: the global sequence numbers keep each table sorted.
            var backwards: [[UInt8]] = []
            it.seekToLast()
            while it.isValid {
                backwards.append(it.key)
                it.prev()
            }
            #expect(backwards == view.keys.sorted { Bytewise.compare($0, $1) > 0 })
            snapshot.release()
        }
        try db.compactRange()
        #expect(try db.makeIterator().contents() == expected)
        try db.close()
        db = try Database.open(at: dir.file("db"), options: options)
        #expect(try db.makeIterator().contents() == expected)
        try db.close()
    }
}
