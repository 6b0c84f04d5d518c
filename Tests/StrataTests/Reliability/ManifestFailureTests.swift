import Testing
@testable import Strata
import StrataTestSupport

/// Regression tests for bugs the error sweeps found in MANIFEST and CURRENT
/// handling (docs/durability.md, "Errors").
@Suite("MANIFEST and CURRENT failures")
struct ManifestFailureTests {
    static let manifest = "MANIFEST-000001"  // the first MANIFEST of a new database

    static func key(_ i: Int) -> [UInt8] { Array("key\(1000 + i)".utf8) }

    /// A database with two L0 tables (keys 0..<100) and keys 100..<120 in the WAL.
    static func populated(_ fs: FaultInjectionFileSystem) throws -> Database {
        let db = try Database.open(at: "/db", options: CrashWorkload.options(fs))
        for i in 0..<50 { try db.put(key(i), Array("v\(i)".utf8)) }
        try db.flush()
        for i in 50..<100 { try db.put(key(i), Array("v\(i)".utf8)) }
        try db.flush()
        try db.waitForBackgroundWork()
        for i in 100..<120 { try db.put(key(i), Array("v\(i)".utf8)) }
        return db
    }

    static func expectAllKeys(_ fs: any FileSystem, _ label: String) throws {
        let db = try Database.open(at: "/db", options: CrashWorkload.options(fs))
        defer { try? db.close() }
        #expect(db.property("strata.background-error") == "", "\(label)")
        for i in 0..<120 { #expect(try db.get(key(i)) == Array("v\(i)".utf8), "\(label): key \(i)") }
        try db.put(key(999), [1], options: WriteOptions(sync: true))
        #expect(try db.get(key(999)) == [1])
    }

    @Test("a failed MANIFEST append or sync in a manual compaction stops writes; reopen recovers every acknowledged write",
          arguments: [FaultInjectionFileSystem.OperationClass.write, .sync])
    func manualCompaction(_ operationClass: FaultInjectionFileSystem.OperationClass) throws {
        // Found by ErrorInjectionTests (seed 201, write #152 and sync #9): the
        // failed edit stayed in the MANIFEST (a header without its payload,
        // or a whole unsynced record), the compaction deleted its outputs
        // and the database went on writing. On reopen the next edit was read
        // as part of a torn tail (lost: acknowledged writes vanished) or the
        // failed edit was replayed ("L6 has overlapping ranges", missing tables).
        let memory = MemoryFileSystem()
        let fs = FaultInjectionFileSystem(base: memory)
        let db = try Self.populated(fs)
        try db.flush()  // so compactRange's own flush writes nothing
        try db.waitForBackgroundWork()
        // The payload of the compaction's record (its header is write #1), or its sync.
        fs.inject(operationClass, pathSuffix: Self.manifest, trigger: .nth(operationClass == .write ? 2 : 1))
        do {
            try db.compactRange()
            Issue.record("compactRange succeeded despite the injected \(operationClass.rawValue) failure")
        } catch let error as StrataError {
            #expect(error.kind == .ioError, "\(error)")
        }
        fs.clearFaults()
        // Stopped until reopen, and says why.
        #expect(db.property("strata.background-error")?.contains("injected") == true)
        #expect(throws: StrataError.self) { try db.put(Self.key(500), [1]) }
        #expect(throws: StrataError.self) { try db.flush() }
        // Reads still see everything.
        for i in 0..<120 { #expect(try db.get(Self.key(i)) == Array("v\(i)".utf8)) }
        try? db.close()
        try Self.expectAllKeys(memory.crashClone(keeping: .all), "process kill")
        try Self.expectAllKeys(memory, "reopen")
    }

    @Test("a failed MANIFEST append or sync in a flush keeps the flushed table; reopen recovers every acknowledged write",
          arguments: [FaultInjectionFileSystem.OperationClass.write, .sync])
    func flush(_ operationClass: FaultInjectionFileSystem.OperationClass) throws {
        // Found by ErrorInjectionTests.randomErrors (seed 301) after the
        // column-family merge: a flush removed its table when the MANIFEST
        // write failed, but the edit was in the MANIFEST, so the reopen
        // failed ("table file listed in the MANIFEST is missing").
        let memory = MemoryFileSystem()
        let fs = FaultInjectionFileSystem(base: memory)
        let db = try Self.populated(fs)
        fs.inject(operationClass, pathSuffix: Self.manifest, trigger: .nth(operationClass == .write ? 2 : 1))
        #expect(throws: StrataError.self) { try db.flush() }
        fs.clearFaults()
        #expect(db.property("strata.background-error")?.contains("injected") == true)
        #expect(throws: StrataError.self) { try db.put(Self.key(500), [1]) }
        for i in 0..<120 { #expect(try db.get(Self.key(i)) == Array("v\(i)".utf8)) }
        try? db.close()
        try Self.expectAllKeys(memory.crashClone(keeping: .all), "process kill")
        try Self.expectAllKeys(memory, "reopen")
    }

    @Test("after a failed MANIFEST write no later edit is written until reopen")
    func manifestStaysStopped() throws {
        let memory = MemoryFileSystem()
        let fs = FaultInjectionFileSystem(base: memory)
        try fs.createDirectory("/db")
        let versions = try VersionSet.create(directory: "/db", fileSystem: fs, dbID: nil)
        var first = VersionEdit()
        first.logNumber = 5
        fs.inject(.write, pathSuffix: Self.manifest, trigger: .nth(2))
        #expect(throws: StrataError.self) { try versions.logAndApply([first]) }
        fs.clearFaults()
        var second = VersionEdit()
        second.logNumber = 7
        do {
            try versions.logAndApply([second])
            Issue.record("an edit was appended after a torn MANIFEST record")
        } catch let error as StrataError {
            #expect(error.kind == .ioError)
            #expect(error.message.contains("reopen"), "\(error)")
        }
        try versions.close()
        // Whatever the MANIFEST holds replays cleanly: the failed edit is a torn tail.
        let recovered = try VersionSet.recover(directory: "/db", fileSystem: memory)
        #expect(recovered.minLogNumberToKeep == 0)
        try recovered.close()
    }

    @Test("a failed directory sync after CURRENT was renamed keeps the MANIFEST CURRENT names")
    func currentRenamedThenDirectorySyncFails() throws {
        // Found by ErrorInjectionTests (random errors, seed 317): the open
        // removed the new MANIFEST after CURRENT already named it, and the
        // next open failed ("MANIFEST-000003: no such file").
        let memory = MemoryFileSystem()
        let fs = FaultInjectionFileSystem(base: memory)
        let db = try Self.populated(fs)
        try db.close()
        // The first directory sync of an open is the one after CURRENT's rename.
        fs.inject(.syncDirectory, trigger: .nth(1))
        #expect(throws: StrataError.self) { try Database.open(at: "/db", options: CrashWorkload.options(fs)) }
        #expect(fs.injectedCounts[.syncDirectory] == 1)
        fs.clearFaults()
        try Self.expectAllKeys(memory.crashClone(keeping: .all), "process kill")
        try Self.expectAllKeys(memory.crashClone(), "power loss")
        try Self.expectAllKeys(memory, "reopen")
    }
}

/// The documented state after a background error (docs/durability.md):
/// writes and flushes fail with the error, reads keep working, the
/// `strata.background-error` property names it, and reopening clears it.
@Suite("Background errors")
struct BackgroundErrorTests {
    @Test("a failed background compaction stops writes, shows in the property, and reopen clears it",
          arguments: [FaultInjectionFileSystem.OperationClass.write, .sync, .create])
    func backgroundCompaction(_ operationClass: FaultInjectionFileSystem.OperationClass) throws {
        let memory = MemoryFileSystem()
        let fs = FaultInjectionFileSystem(base: memory)
        var options = CrashWorkload.options(fs)
        options.level0FileNumCompactionTrigger = 2
        // Count the first flush's table operations of this class: the second
        // flush makes as many, and the compaction's come after them.
        let count = Locked(0)
        fs.setHook { op in
            if op.operationClass == operationClass && op.path.hasSuffix(".sst") { count.withLock { $0 += 1 } }
        }
        let db = try Database.open(at: "/db", options: options)
        // Even keys, then odd keys: the two L0 tables overlap, so the
        // compaction merges them (disjoint ones would just move).
        for i in stride(from: 0, to: 100, by: 2) { try db.put(ManifestFailureTests.key(i), Array("v\(i + 100)".utf8)) }
        try db.flush()
        try db.waitForBackgroundWork()
        fs.setHook(nil)
        let perFlush = count.withLock { $0 }
        for i in stride(from: 1, to: 100, by: 2) { try db.put(ManifestFailureTests.key(i), Array("v\(i + 100)".utf8)) }
        fs.inject(operationClass, pathSuffix: ".sst", trigger: .nth(perFlush + 1))
        // The second L0 table: the compaction starts in the background. The
        // flush may already report the compaction's error, or not yet.
        _ = try? db.flush()
        #expect(throws: StrataError.self) { try db.waitForBackgroundWork() }
        let property = db.property("strata.background-error") ?? ""
        #expect(property.contains("injected"), "property: \(property)")
        #expect(throws: StrataError.self) { try db.put(ManifestFailureTests.key(500), [1]) }
        #expect(throws: StrataError.self) { try db.flush() }
        for i in 0..<100 { #expect(try db.get(ManifestFailureTests.key(i)) == Array("v\(i + 100)".utf8)) }
        #expect(fs.injectedTotal == 1)
        try? db.close()
        fs.clearFaults()
        let reopened = try Database.open(at: "/db", options: options)
        defer { try? reopened.close() }
        #expect(reopened.property("strata.background-error") == "")
        for i in 0..<100 { #expect(try reopened.get(ManifestFailureTests.key(i)) == Array("v\(i + 100)".utf8)) }
        try reopened.put(ManifestFailureTests.key(500), [1], options: WriteOptions(sync: true))
        try reopened.waitForBackgroundWork()
    }
}
