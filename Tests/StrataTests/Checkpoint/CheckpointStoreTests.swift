import Foundation
import Testing
@testable import Strata

@Suite("Checkpoint store")
struct CheckpointStoreTests {
    typealias S = CheckpointTestSupport

    static func sharedNames(_ store: CheckpointStore) throws -> Set<String> {
        Set(try store.fileSystem.listDirectory(Path.join(store.path, "shared")))
    }

    static func referenced(_ store: CheckpointStore) -> Set<String> {
        Set(store.list().flatMap { $0.files.compactMap(\.storedAs) }.filter { $0.hasPrefix("shared/") }
            .map { String($0.dropFirst(7)) })
    }

    @Test("create, list, verify, restore, delta; tables are stored once")
    func createListVerifyRestore() throws {
        let seed: UInt64 = 21
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory("store")
        defer { dir.remove() }
        var dbOptions = S.smallOptions()
        dbOptions.level0FileNumCompactionTrigger = 100
        let db = try Database.open(at: dir.file("db"), options: dbOptions)
        let store = try CheckpointStore.open(at: dir.file("store"))
        var model: [[UInt8]: [UInt8]] = [:]
        var models: [String: [[UInt8]: [UInt8]]] = [:]
        for round in 0..<3 {
            try S.randomWrites(db, &model, &rng, count: 600)
            var options = CheckpointOptions()
            options.flushMemtable = round != 1
            let m = try store.create(from: db, options: options)
            models[m.id] = model
            #expect(m.walCopied == (round == 1))
        }
        let list = store.list()
        #expect(list.map(\.id) == ["1", "2", "3"])
        #expect(list[1].parentID == "1")
        // Each table is stored once, and shared/ holds exactly the referenced tables.
        #expect(try Self.sharedNames(store) == Self.referenced(store))
        let tableCount = Set(list.flatMap { $0.tables.map(\.name) }).count
        #expect(try Self.sharedNames(store).count == tableCount)
        let delta = try store.delta(from: "1", to: "3")
        #expect(delta == list[2].delta(since: list[0]))
        #expect(delta.filter { $0.kind == .table }.allSatisfy { t in !list[0].tables.contains(t) })
        let report = try store.verify()
        #expect(report.checkpoints == ["1", "2", "3"] && report.tables == tableCount)
        for m in list {
            let target = dir.file("restored-\(m.id)")
            var restoreOptions = RestoreOptions()
            restoreOptions.hardLinkTables = m.id == "2"
            try store.restore(id: m.id, to: target, options: restoreOptions)
            let restored = try Database.open(at: target, options: dbOptions)
            #expect(try S.scan(restored) == models[m.id]!, "checkpoint \(m.id)")
            #expect(restored.versions.lastSequence == m.sequence)
            try restored.close()
        }
        #expect(throws: StrataError.self) { try store.restore(id: "1", to: dir.file("restored-1")) }
        #expect(throws: StrataError.self) { try store.restore(id: "9", to: dir.file("nowhere")) }
        store.close()
        // Reopening reads the same checkpoints.
        let again = try CheckpointStore.open(at: dir.file("store"))
        #expect(again.list() == list)
        again.close()
        try db.close()
    }

    @Test("retention keeps the newest N and collects unused shared files; every kept checkpoint restores")
    func retentionAndGarbageCollection() throws {
        let seed: UInt64 = 33
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory("store-gc")
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"), options: S.smallOptions())
        var storeOptions = CheckpointStoreOptions()
        storeOptions.keepLast = 3
        let store = try CheckpointStore.open(at: dir.file("store"), options: storeOptions)
        var model: [[UInt8]: [UInt8]] = [:]
        var models: [String: [[UInt8]: [UInt8]]] = [:]
        for cycle in 0..<12 {
            try S.randomWrites(db, &model, &rng, count: 400, keys: 300)
            if cycle % 4 == 3 { try db.compactRange() }
            let m = try store.create(from: db)
            models[m.id] = model
            #expect(store.list().count == min(cycle + 1, 3))
            #expect(try Self.sharedNames(store) == Self.referenced(store), "cycle \(cycle)")
            if cycle == 7 {
                try store.delete(id: store.list()[0].id)
                #expect(try Self.sharedNames(store) == Self.referenced(store))
            }
        }
        #expect(store.list().map(\.id) == ["10", "11", "12"])
        #expect(try store.keepLast(2) == ["10"])
        #expect(try Self.sharedNames(store) == Self.referenced(store))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("store/private")).sorted() == ["11", "12"])
        try store.verify()
        for m in store.list() {
            let target = dir.file("r\(m.id)")
            try store.restore(id: m.id, to: target)
            let restored = try Database.open(at: target, options: S.smallOptions())
            #expect(try S.scan(restored) == models[m.id]!)
            try restored.close()
        }
        store.close()
        try db.close()
    }

    @Test("half-written checkpoints are ignored and removed on open; a corrupted shared file fails verify by name")
    func debrisAndCorruption() throws {
        let seed: UInt64 = 8
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory("store-debris")
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"), options: S.smallOptions())
        var model: [[UInt8]: [UInt8]] = [:]
        try S.randomWrites(db, &model, &rng, count: 800)
        var store = try CheckpointStore.open(at: dir.file("store"))
        let good = try store.create(from: db)
        store.close()
        // A crash after the files but before the manifest: private/2, new shared tables, a temp manifest.
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir.file("store/private/2"), withIntermediateDirectories: true)
        _ = fm.createFile(atPath: dir.file("store/private/2/CURRENT"), contents: Data("MANIFEST-000009\n".utf8))
        _ = fm.createFile(atPath: dir.file("store/shared/000099_0123456789abcdef_10.sst"), contents: Data(count: 10))
        _ = fm.createFile(atPath: dir.file("store/shared/000098_0123456789abcdef_10.sst.tmp"), contents: Data(count: 3))
        _ = fm.createFile(atPath: dir.file("store/meta/2.json.tmp"), contents: Data("{\"id\":".utf8))
        store = try CheckpointStore.open(at: dir.file("store"))
        #expect(store.list() == [good])
        #expect(try fm.contentsOfDirectory(atPath: dir.file("store/private")) == ["1"])
        #expect(try fm.contentsOfDirectory(atPath: dir.file("store/meta")) == ["1.json"])
        #expect(try Self.sharedNames(store) == Self.referenced(store))
        // The next checkpoint gets id 2 as if nothing had happened.
        try S.randomWrites(db, &model, &rng, count: 100)
        #expect(try store.create(from: db).id == "2")
        try store.verify()

        // Flip one byte in the middle of a shared table.
        let victim = try #require(good.tables.first?.storedAs)
        let victimPath = dir.file("store/\(victim)")
        let handle = try #require(FileHandle(forUpdatingAtPath: victimPath))
        try handle.seek(toOffset: 20)
        let byte = try #require(try handle.read(upToCount: 1)).first!
        try handle.seek(toOffset: 20)
        try handle.write(contentsOf: Data([byte ^ 0x5A]))
        try handle.close()
        do {
            try store.verify(id: "1")
            Issue.record("verify passed on a corrupted table")
        } catch let error as StrataError {
            #expect(error.kind == .corruption)
            #expect(error.file == victimPath)
            #expect(error.description.contains(victim))
        }
        #expect(throws: StrataError.self) { try store.restore(id: "1", to: dir.file("r1")) }
        #expect(!fm.fileExists(atPath: dir.file("r1")) && !fm.fileExists(atPath: dir.file("r1.tmp")))
        // A missing shared file is reported too.
        try fm.removeItem(atPath: victimPath)
        #expect(throws: StrataError.self) { try store.verify() }
        store.close()
        try db.close()
    }

    @Test("a second open of the same store is refused")
    func lock() throws {
        let dir = TestDirectory("store-lock")
        defer { dir.remove() }
        let store = try CheckpointStore.open(at: dir.file("store"))
        #expect(throws: StrataError.self) { try CheckpointStore.open(at: dir.file("store")) }
        store.close()
        let again = try CheckpointStore.open(at: dir.file("store"))
        again.close()
    }
}
