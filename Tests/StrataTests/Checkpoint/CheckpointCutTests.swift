import Foundation
import Testing
@testable import Strata

/// Checkpoints begun and finished apart (`CheckpointStore.beginCreate` /
/// `finishCreate`): the writer goes on between the two steps, memtables
/// fill and flush meanwhile, and each checkpoint still holds exactly the
/// writes made before its begin.
@Suite("Checkpoint cuts")
struct CheckpointCutTests {
    typealias S = CheckpointTestSupport

    @Test("writes after beginCreate are not in the checkpoint, however many memtables flush meanwhile")
    func writesAfterTheCutStayOut() throws {
        let seed: UInt64 = 77
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory("cut")
        defer { dir.remove() }
        let options = S.smallOptions()       // 32 KiB memtables: the writes below switch and flush many
        let db = try Database.open(at: dir.file("db"), options: options)
        let store = try CheckpointStore.open(at: dir.file("store"))
        var model: [[UInt8]: [UInt8]] = [:]
        var pending: [(PendingCheckpoint, [[UInt8]: [UInt8]])] = []
        for round in 0..<4 {
            try S.randomWrites(db, &model, &rng, count: 300 + 400 * round)
            pending.append((try store.beginCreate(from: db), model))
        }
        // More writes than several memtables hold, with flushes and
        // compactions, before any checkpoint is finished.
        try S.randomWrites(db, &model, &rng, count: 3_000)
        try db.flush()
        var ids: [String] = []
        for (p, _) in pending { ids.append(try store.finishCreate(p).id) }
        #expect(ids == ["1", "2", "3", "4"])
        #expect(throws: StrataError.self) { try store.finishCreate(pending[0].0) }
        for (i, id) in ids.enumerated() {
            let target = dir.file("restored-\(id)")
            try store.restore(id: id, to: target)
            let restored = try Database.open(at: target, options: options)
            #expect(try S.scan(restored) == pending[i].1, "checkpoint \(id)")
            try restored.close()
        }
        #expect(try S.scan(db) == model)
        try db.close()
    }

    @Test("a cut of a database with nothing in its memtable finishes at once, and in WAL mode too")
    func emptyMemtableAndWALMode() throws {
        let seed: UInt64 = 78
        print("seed \(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory("cut-empty")
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"), options: S.smallOptions())
        let store = try CheckpointStore.open(at: dir.file("store"))
        var model: [[UInt8]: [UInt8]] = [:]
        try S.randomWrites(db, &model, &rng, count: 200)
        try db.flush()
        let afterFlush = model
        let flushed = try store.beginCreate(from: db)
        var walOptions = CheckpointOptions()
        walOptions.flushMemtable = false
        try S.randomWrites(db, &model, &rng, count: 50)
        let wal = try store.beginCreate(from: db, options: walOptions)
        let afterWAL = model
        try S.randomWrites(db, &model, &rng, count: 50)
        let first = try store.finishCreate(flushed)
        let second = try store.finishCreate(wal)
        #expect(second.walCopied)
        for (m, expected) in [(first, afterFlush), (second, afterWAL)] {
            let target = dir.file("restored-\(m.id)")
            try store.restore(id: m.id, to: target)
            let restored = try Database.open(at: target, options: S.smallOptions())
            #expect(try S.scan(restored) == expected, "checkpoint \(m.id)")
            try restored.close()
        }
        try db.close()
    }
}
