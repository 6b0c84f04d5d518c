import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Strata

/// Checkpoints taken while several threads write and compactions run hold
/// exactly the database as of their sequence number: the checkpoint's full
/// scan equals a scan of the source through a snapshot taken at that same
/// sequence number inside the checkpoint's own cut (`retainSnapshot`), which
/// is sound because the snapshot and the checkpoint come from one cut made
/// at the head of the writer queue.
@Suite("Checkpoint consistency under load")
struct CheckpointConsistencyTests {
    typealias S = CheckpointTestSupport

    @Test("checkpoints under concurrent writes and compactions equal snapshot reads at their sequence")
    func consistentUnderLoad() throws {
        let seed: UInt64 = 77
        print("seed \(seed)")
        let dir = TestDirectory("ckpt-load")
        defer { dir.remove() }
        var options = S.smallOptions()
        options.writeBufferSize = 16 << 10
        options.targetFileSizeBase = 16 << 10
        options.maxBytesForLevelBase = 64 << 10
        let db = try Database.open(at: dir.file("db"), options: options)
        let stop = Atomic<Bool>(false)
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        let writers = 3
        for w in 0..<writers {
            group.enter()
            startThread(name: "ckpt-writer-\(w)") {
                var rng = TestRandom(seed: seed &+ UInt64(w) &* 7919)
                while !stop.load(ordering: .relaxed) {
                    do {
                        var batch = WriteBatch()
                        for _ in 0..<rng.int(1..<4) {
                            let key = Array("key\(rng.int(0..<400))".utf8)
                            if rng.int(0..<5) == 0 {
                                batch.delete(key)
                            } else {
                                batch.put(key, Array("w\(w)-".utf8) + rng.bytes(rng.int(1..<60)))
                            }
                        }
                        try db.write(batch)
                    } catch {
                        failures.withLock { $0.append("writer \(w): \(error)") }
                        break
                    }
                }
                group.leave()
            }
        }
        let store = try CheckpointStore.open(at: dir.file("store"))
        var checked = 0
        for round in 0..<8 {
            var ckptOptions = CheckpointOptions()
            ckptOptions.retainSnapshot = true
            ckptOptions.flushMemtable = round % 2 == 0
            let result = try db.checkpoint(to: dir.file("c\(round)"), options: ckptOptions)
            let snapshot = try #require(result.snapshot)
            let expected = try S.scan(db, options: ReadOptions(snapshot: snapshot))
            snapshot.release()
            let copy = try Database.open(at: dir.file("c\(round)"), options: options)
            let actual = try S.scan(copy)
            #expect(actual == expected, "round \(round) at sequence \(result.sequence)")
            #expect(copy.versions.lastSequence == result.sequence)
            try copy.close()
            if round % 3 == 0 { try db.compactRange() }
            // The store's cut is the same mechanism; check it restores equal to a snapshot too.
            let m = try store.create(from: db, options: ckptOptions)
            try store.restore(id: m.id, to: dir.file("r\(round)"))
            let restored = try Database.open(at: dir.file("r\(round)"), options: options)
            #expect(restored.versions.lastSequence == m.sequence)
            try restored.close()
            checked += 1
        }
        stop.store(true, ordering: .relaxed)
        group.wait()
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(checked == 8)
        #expect(db.versions.lastSequence > 0)
        // Quiet now: a store checkpoint restores to exactly the database.
        let last = try store.create(from: db)
        try store.restore(id: last.id, to: dir.file("final"))
        let final = try Database.open(at: dir.file("final"), options: options)
        #expect(try S.scan(final) == S.scan(db))
        try final.close()
        try store.verify()
        store.close()
        try db.close()
    }
}
