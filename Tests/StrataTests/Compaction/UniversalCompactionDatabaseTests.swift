import Foundation
import Testing
@testable import Strata

/// Universal compaction and concurrent compactions on a real database.
@Suite("Universal compaction on a database")
struct UniversalCompactionDatabaseTests {
    static func universalOptions() -> Options {
        var o = Options()
        o.compactionStyle = .universal
        o.writeBufferSize = 16 << 10
        o.targetFileSizeBase = 16 << 10
        o.level0FileNumCompactionTrigger = 4
        o.blockSize = 512
        o.blockCacheCapacity = 1 << 20
        return o
    }

    static func sortedRuns(_ db: Database) -> [SortedRun] {
        SortedRun.runs(of: db.versions.current() ?? .empty, busy: [])
    }

    static func key(_ i: Int) -> [UInt8] { Array("key\(1_000_000 + i)".utf8) }

    static func checkModel(_ db: Database, _ model: [[UInt8]: [UInt8]]) throws {
        for (k, v) in model { #expect(try db.get(k) == v) }
        let it = try db.makeIterator()
        it.seekToFirst()
        var count = 0
        while it.isValid {
            #expect(model[it.key] == it.value)
            count += 1
            it.next()
        }
        try it.status()
        #expect(count == model.count)
    }

    @Test("a seeded overwrite workload matches the model and keeps the sorted-run count bounded")
    func overwriteWorkload() throws {
        let seed: UInt64 = 4242
        print("seed: \(seed)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory()
        defer { dir.remove() }
        let options = Self.universalOptions()
        var db = try Database.open(at: dir.path, options: options)
        var model: [[UInt8]: [UInt8]] = [:]
        var maxRuns = 0
        var maxRunsAfterWait = 0
        for step in 0..<30_000 {
            let k = Self.key(rng.int(0..<3_000))
            if rng.int(0..<10) == 0 {
                try db.delete(k)
                model[k] = nil
            } else {
                let v = rng.bytes(rng.int(10..<100))
                try db.put(k, v)
                model[k] = v
            }
            if step % 500 == 499 {
                maxRuns = max(maxRuns, Self.sortedRuns(db).count)
                try db.waitForBackgroundWork()
                // Idle: no rule applies, so at most `trigger` runs remain.
                let runs = Self.sortedRuns(db).count
                maxRunsAfterWait = max(maxRunsAfterWait, runs)
                #expect(runs <= options.level0FileNumCompactionTrigger, "step \(step): \(runs) sorted runs when idle")
            }
            if step == 15_000 {
                try db.close()
                db = try Database.open(at: dir.path, options: options)
            }
        }
        print("max sorted runs: \(maxRuns) while writing, \(maxRunsAfterWait) when idle")
        // Writes stall at the stop trigger, so runs never exceed it plus the levels.
        #expect(maxRuns <= options.level0StopWritesTrigger + Version.levelCount)
        try Self.checkModel(db, model)
        // Universal uses levels as sorted runs and never leaves an L ≥ 1 run overlapping itself.
        let version = try #require(db.versions.current())
        for level in 1..<version.levels.count {
            let files = version.levels[level]
            for (a, b) in zip(files, files.dropFirst()) {
                #expect(Bytewise.compare(a.meta.largestUserKey, b.meta.smallestUserKey) < 0)
            }
        }
        // A manual compaction leaves one sorted run in the last level.
        try db.compactRange(from: Self.key(10), to: Self.key(20))
        let runs = Self.sortedRuns(db)
        #expect(runs.count == 1)
        #expect(runs.first?.level == Version.levelCount - 1)
        try Self.checkModel(db, model)
        try db.close()
        db = try Database.open(at: dir.path, options: options)
        try Self.checkModel(db, model)
        try db.close()
    }

    @Test("universal keeps snapshots and deletions right through compactions")
    func snapshotsUnderUniversal() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.path, options: Self.universalOptions())
        for i in 0..<2_000 { try db.put(Self.key(i), Array("v1-\(i)".utf8)) }
        let snapshot = db.snapshot()
        for i in 0..<2_000 where i % 2 == 0 { try db.delete(Self.key(i)) }
        for i in 0..<2_000 where i % 2 == 1 { try db.put(Self.key(i), Array("v2-\(i)".utf8)) }
        try db.flush()
        try db.waitForBackgroundWork()
        try db.compactRange()
        for i in stride(from: 0, to: 2_000, by: 97) {
            #expect(try db.get(Self.key(i)) == (i % 2 == 0 ? nil : Array("v2-\(i)".utf8)))
            #expect(try db.get(Self.key(i), options: ReadOptions(snapshot: snapshot)) == Array("v1-\(i)".utf8))
        }
        snapshot.release()
        try db.compactRange()
        // With no snapshot, the bottom run holds only the live values.
        let version = try #require(db.versions.current())
        var entries = 0
        for f in version.allFiles {
            let it = try db.tableCache.table(f.number).makeIterator()
            it.seekToFirst()
            while it.isValid {
                entries += 1
                it.next()
            }
        }
        #expect(entries == 1_000)
        try db.close()
    }

    /// A compaction filter that holds each compaction until `target`
    /// compactions are inside it at once (or a generous deadline passes),
    /// recording the largest number seen together.
    final class Rendezvous: CompactionFilter, @unchecked Sendable {
        let condition = NSCondition()
        var inside = Set<ObjectIdentifier>()
        var peak = 0
        let target: Int
        init(target: Int) { self.target = target }
        var name: String { "Rendezvous" }
        func filter(level: Int, key: [UInt8], value: [UInt8]) -> CompactionDecision {
            let me = ObjectIdentifier(Thread.current)
            condition.lock()
            defer { condition.unlock() }
            if inside.contains(me) { return .keep }
            inside.insert(me)
            peak = max(peak, inside.count)
            condition.broadcast()
            let deadline = Date().addingTimeInterval(30)
            while inside.count < target && Date() < deadline { _ = condition.wait(until: deadline) }
            return .keep
        }
        func finished() { condition.lock(); inside.removeAll(); condition.unlock() }
        var peakSeen: Int { condition.lock(); defer { condition.unlock() }; return peak }
    }

    @Test("two universal compactions on disjoint runs run at once with maxBackgroundJobs = 3")
    func concurrentUniversalCompactions() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        // Build runs (newest first) 1 KiB, 1 KiB, ~64 KiB, ~60 KiB with compactions off (trigger 100).
        var build = Self.universalOptions()
        build.writeBufferSize = 1 << 20
        build.level0FileNumCompactionTrigger = 100
        var db = try Database.open(at: dir.path, options: build)
        var model: [[UInt8]: [UInt8]] = [:]
        func load(_ range: Range<Int>, _ tag: String) throws {
            for i in range {
                let v = Array("\(tag)-\(i)-".utf8) + [UInt8](repeating: UInt8(i & 0x7F), count: 40)
                try db.put(Self.key(i), v)
                model[Self.key(i)] = v
            }
            try db.flush()
        }
        try load(0..<1_400, "a")
        try load(0..<1_500, "b")
        try load(5_000..<5_020, "c")
        try load(6_000..<6_020, "d")
        try db.close()
        #expect(Self.sortedRuns(db).count == 4)
        var options = Self.universalOptions()
        options.maxBackgroundJobs = 3
        let rendezvous = Rendezvous(target: 2)
        options.compactionFilter = rendezvous
        db = try Database.open(at: dir.path, options: options)
        try db.waitForBackgroundWork()
        print("compactions inside the filter at once: \(rendezvous.peakSeen)")
        #expect(rendezvous.peakSeen == 2)
        try Self.checkModel(db, model)
        try db.close()
    }

    @Test("several compaction jobs (maxBackgroundJobs = 4) match the model", arguments: [CompactionStyle.leveled, .universal])
    func severalJobs(style: CompactionStyle) throws {
        let seed: UInt64 = 77
        print("seed: \(seed), style: \(style)")
        var rng = TestRandom(seed: seed)
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Self.universalOptions()
        options.compactionStyle = style
        options.maxBackgroundJobs = 4
        options.level0FileNumCompactionTrigger = 2
        options.maxBytesForLevelBase = 32 << 10
        options.targetFileSizeBase = 8 << 10
        options.writeBufferSize = 8 << 10
        let db = try Database.open(at: dir.path, options: options)
        var model: [[UInt8]: [UInt8]] = [:]
        // Under ThreadSanitizer (tools/run-tsan.sh builds with STRATA_TSAN)
        // a shorter run: its file I/O is slow there, and a few dozen
        // concurrent compactions already exercise the scheduler.
        #if STRATA_TSAN
        let steps = 5_000
        #else
        let steps = 20_000
        #endif
        for step in 0..<steps {
            let k = Self.key(rng.int(0..<4_000))
            let v = rng.bytes(rng.int(5..<60))
            try db.put(k, v)
            model[k] = v
            if step % 5_000 == 4_999 { try Self.checkModel(db, model) }
        }
        try db.waitForBackgroundWork()
        try Self.checkModel(db, model)
        let version = try #require(db.versions.current())
        for level in 1..<version.levels.count {
            let files = version.levels[level]
            for (a, b) in zip(files, files.dropFirst()) {
                #expect(Bytewise.compare(a.meta.largestUserKey, b.meta.smallestUserKey) < 0, "L\(level) overlaps")
            }
        }
        try db.close()
    }
}
