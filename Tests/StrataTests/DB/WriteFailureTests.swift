import Testing
@testable import Strata

/// A failed WAL append or fsync stops writes until reopen (testing.md: "a
/// failed fsync poisons the WAL"), so the log never gets a hole: nothing
/// written after the failure can survive while the failed write is lost.
@Suite("WAL write failures")
struct WriteFailureTests {
    static func options(_ fs: MemoryFileSystem) -> Options {
        var options = Options()
        options.fileSystem = fs
        options.writeBufferSize = 64 << 10
        return options
    }

    @Test("a failed WAL append or fsync fails that write and every later one, until reopen", arguments: [FaultCase.sync, .append])
    func failurePoisonsWrites(_ fault: FaultCase) throws {
        let fs = MemoryFileSystem()
        let db = try Database.open(at: "/db", options: Self.options(fs))
        try db.put(Array("before".utf8), Array("1".utf8), options: WriteOptions(sync: true))
        fs.failNext(fault.operation, pathSuffix: ".log")
        #expect(throws: StrataError.self) {
            try db.put(Array("failed".utf8), Array("2".utf8), options: WriteOptions(sync: true))
        }
        // Later writes fail too — with or without sync, single or batched —
        // even though the file system works again.
        var error: StrataError?
        do {
            try db.put(Array("after".utf8), Array("3".utf8))
        } catch let e as StrataError {
            error = e
        }
        #expect(error?.kind == .ioError, "a write after a WAL failure must fail, got \(String(describing: error))")
        var batch = WriteBatch()
        batch.put(Array("after-batch".utf8), Array("4".utf8))
        #expect(throws: StrataError.self) { try db.write(batch) }
        #expect(db.property("strata.background-error")?.isEmpty == false)
        // Reads still work, and nothing after the failure is visible.
        #expect(try db.get(Array("before".utf8)) == Array("1".utf8))
        #expect(try db.get(Array("after".utf8)) == nil)
        try? db.close()

        // After reopening, writes work again; the state holds the acknowledged
        // write, never a later one.
        let reopened = try Database.open(at: "/db", options: Self.options(fs))
        #expect(try reopened.get(Array("before".utf8)) == Array("1".utf8))
        #expect(try reopened.get(Array("after".utf8)) == nil)
        #expect(try reopened.get(Array("after-batch".utf8)) == nil)
        try reopened.put(Array("after-reopen".utf8), Array("5".utf8), options: WriteOptions(sync: true))
        #expect(try reopened.get(Array("after-reopen".utf8)) == Array("5".utf8))
        try reopened.close()
    }

    enum FaultCase: CustomTestStringConvertible, Sendable {
        case sync, append
        var operation: MemoryFileSystem.FaultOperation { self == .sync ? .sync : .append }
        var testDescription: String { self == .sync ? "fsync" : "append" }
    }
}
