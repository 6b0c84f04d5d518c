import Foundation
import Synchronization
import Testing
@testable import Strata

/// Column families under concurrency (also run by tools/run-tsan.sh, whose
/// filter matches "Concurrency"): writers commit batches that update the
/// same key in two families at once, readers check through snapshots that
/// both families always agree, and a third thread keeps creating, filling,
/// flushing, compacting and dropping families while background flushes and
/// compactions of the others run.
@Suite("Column family concurrency")
struct ColumnFamilyConcurrencyTests {
    @Test("cross-family batches stay atomic while families come and go")
    func crossFamilyAtomicity() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 16 << 10
        options.level0FileNumCompactionTrigger = 2
        options.maxBytesForLevelBase = 64 << 10
        options.targetFileSizeBase = 16 << 10
        let db = try Database.open(at: dir.path, options: options)
        let left = try db.createColumnFamily(named: "left")
        let right = try db.createColumnFamily(named: "right")
        let rounds = 4000, writers = 2, slots = 30
        print("rounds per writer: \(rounds); seed: none (interleavings vary; invariants are checked)")
        let failures = Locked<[String]>([])
        let churnCycles = Atomic<Int>(0)
        let writersDone = Atomic<Int>(0)
        let group = DispatchGroup()
        for w in 0..<writers {
            group.enter()
            Thread.detachNewThread {
                defer { writersDone.add(1, ordering: .releasing); group.leave() }
                do {
                    for round in 1...rounds {
                        let key = Array("w\(w)/\(round % slots)".utf8)
                        let value = Array("\(round)".utf8) + [UInt8](repeating: 0x2E, count: 40)
                        var batch = WriteBatch()
                        batch.put(key, value, in: left)
                        batch.put(key, value, in: right)
                        batch.put(key, value)
                        try db.write(batch)
                        if round % 400 == 0 { try (w == 0 ? left : right).flush() }
                    }
                } catch {
                    failures.withLock { $0.append("writer \(w): \(error)") }
                }
            }
        }
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            var cycle = 0
            while writersDone.load(ordering: .acquiring) < writers {
                cycle += 1
                do {
                    let name = "churn-\(cycle)"
                    let family = try db.createColumnFamily(named: name)
                    for i in 0..<300 { try family.put(Array("c\(i)".utf8), [UInt8](repeating: UInt8(cycle & 0xFF), count: 64)) }
                    if cycle % 2 == 0 { try family.flush() }
                    if cycle % 3 == 0 { try family.compactRange() }
                    guard try family.get(Array("c7".utf8)) == [UInt8](repeating: UInt8(cycle & 0xFF), count: 64) else {
                        failures.withLock { $0.append("churn \(cycle): lost a write") }
                        return
                    }
                    try db.dropColumnFamily(named: name)
                    churnCycles.add(1, ordering: .relaxed)
                } catch {
                    failures.withLock { $0.append("churn \(cycle): \(error)") }
                    return
                }
            }
        }
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            while writersDone.load(ordering: .acquiring) < writers {
                let snapshot = db.snapshot()
                defer { snapshot.release() }
                let options = ReadOptions(snapshot: snapshot)
                do {
                    for w in 0..<writers {
                        for slot in 0..<slots {
                            let key = Array("w\(w)/\(slot)".utf8)
                            let a = try left.get(key, options: options)
                            let b = try right.get(key, options: options)
                            let c = try db.get(key, options: options)
                            if a != b || b != c {
                                failures.withLock { $0.append("families disagree on w\(w)/\(slot)") }
                                return
                            }
                        }
                    }
                } catch {
                    failures.withLock { $0.append("reader: \(error)") }
                    return
                }
            }
        }
        group.wait()
        print("families created and dropped meanwhile: \(churnCycles.load(ordering: .relaxed))")
        let found = failures.withLock { $0 }
        #expect(found.isEmpty, "\(found.prefix(5))")
        try db.waitForBackgroundWork()
        #expect(db.columnFamilyNames == ["default", "left", "right"])
        try db.close()
        let reopened = try Database.open(at: dir.path, options: options)
        #expect(reopened.columnFamilyNames == ["default", "left", "right"])
        for w in 0..<writers {
            for slot in 0..<slots {
                let key = Array("w\(w)/\(slot)".utf8)
                let a = try reopened.columnFamily(named: "left")!.get(key)
                let b = try reopened.columnFamily(named: "right")!.get(key)
                let c = try reopened.get(key)
                #expect(a != nil && a == b && b == c)
            }
        }
        try reopened.close()
    }
}
