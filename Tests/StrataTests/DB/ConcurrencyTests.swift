import Foundation
import Synchronization
import Testing
@testable import Strata

/// Several writer and reader threads on one database (run under
/// `swift test --sanitize=thread` too). Writers update pairs of keys in one
/// batch; readers check that every snapshot and iterator sees both halves of
/// a pair at the same version, and that values only move forward.
@Suite("Concurrency")
struct ConcurrencyTests {
    static func key(_ writer: Int, _ slot: Int, _ half: Character) -> [UInt8] {
        Array("w\(writer)/s\(slot)/\(half)".utf8)
    }

    static func value(_ version: Int) -> [UInt8] {
        Array(String(version).utf8)
    }

    @Test("writers, readers, flushes and compactions agree")
    func writersAndReaders() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        options.writeBufferSize = 32 << 10
        options.level0FileNumCompactionTrigger = 2
        options.maxBytesForLevelBase = 128 << 10
        options.targetFileSizeBase = 32 << 10
        let db = try Database.open(at: dir.path, options: options)
        // STRATA_CONCURRENCY_ROUNDS raises the rounds for longer soak runs.
        let rounds = ProcessInfo.processInfo.environment["STRATA_CONCURRENCY_ROUNDS"].flatMap { Int($0) } ?? 2000
        let writers = 3, readers = 3, slots = 20
        print("rounds per writer: \(rounds)")
        print("seed: none (thread interleaving varies; invariants are checked, not exact values)")
        let failures = Locked<[String]>([])
        let writersDone = Atomic<Int>(0)
        let group = DispatchGroup()
        for w in 0..<writers {
            group.enter()
            Thread.detachNewThread {
                defer { writersDone.add(1, ordering: .releasing); group.leave() }
                do {
                    for round in 1...rounds {
                        var batch = WriteBatch()
                        let slot = (round * 7 + w) % slots
                        batch.put(Self.key(w, slot, "a"), Self.value(round))
                        batch.put(Self.key(w, slot, "b"), Self.value(round))
                        try db.write(batch, options: WriteOptions(sync: round % 100 == 0))
                        if w == 0 && round % 500 == 0 { try db.flush() }
                    }
                } catch {
                    failures.withLock { $0.append("writer \(w): \(error)") }
                }
            }
        }
        for r in 0..<readers {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var lastSeen: [[UInt8]: Int] = [:]
                do {
                    repeat {
                        let snapshot = db.snapshot()
                        var readOptions = ReadOptions()
                        readOptions.snapshot = snapshot
                        for w in 0..<writers {
                            let slot = (r + w) % slots
                            let a = try db.get(Self.key(w, slot, "a"), options: readOptions)
                            let b = try db.get(Self.key(w, slot, "b"), options: readOptions)
                            if a != b {
                                failures.withLock { $0.append("reader \(r): torn pair w\(w)/s\(slot): \(String(describing: a)) vs \(String(describing: b))") }
                            }
                            if let a, let version = Int(String(decoding: a, as: UTF8.self)) {
                                let k = Self.key(w, slot, "a")
                                if let previous = lastSeen[k], previous > version {
                                    failures.withLock { $0.append("reader \(r): w\(w)/s\(slot) went back from \(previous) to \(version)") }
                                }
                                lastSeen[k] = version
                            }
                        }
                        let it = try db.makeIterator(options: readOptions)
                        it.seekToFirst()
                        var previous: [UInt8]? = nil
                        var pairs: [[UInt8]: [UInt8]] = [:]
                        while it.isValid {
                            if let previous, Bytewise.compare(previous, it.key) >= 0 {
                                failures.withLock { $0.append("reader \(r): iterator out of order") }
                            }
                            previous = it.key
                            pairs[it.key] = it.value
                            it.next()
                        }
                        try it.status()
                        for (k, v) in pairs where k.last == UInt8(ascii: "a") {
                            let other = Array(k.dropLast()) + [UInt8(ascii: "b")]
                            if pairs[other] != v { failures.withLock { $0.append("reader \(r): iterator saw a torn pair") } }
                        }
                        snapshot.release()
                    } while writersDone.load(ordering: .acquiring) < writers
                } catch {
                    failures.withLock { $0.append("reader \(r): \(error)") }
                }
            }
        }
        group.wait()
        try db.compactRange()
        for w in 0..<writers {
            for slot in 0..<slots {
                #expect(try db.get(Self.key(w, slot, "a")) == db.get(Self.key(w, slot, "b")))
            }
        }
        try db.close()
        let found = failures.withLock { $0 }
        #expect(found.isEmpty, "\(found.prefix(5))")
    }
}
