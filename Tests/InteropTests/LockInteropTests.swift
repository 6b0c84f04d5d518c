import Foundation
import Glibc
import Testing
@testable import Strata

/// Strata and RocksDB take the database's LOCK the same way (an `fcntl`
/// write lock on the whole file), so a Strata process and an `ldb` process
/// exclude each other in both directions — before, Strata used `flock`,
/// which does not conflict with `fcntl` locks on Linux, and both could
/// write the same directory at once (issue 24).
@Suite("LOCK interop with RocksDB 7.8.3", .serialized)
struct LockInteropTests {
    /// The pid of another process holding a write lock on `path`, via
    /// `F_GETLK` (which reports conflicting locks of other processes only).
    static func lockHolder(_ path: String) -> pid_t? {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var probe = flock()
        probe.l_type = Int16(F_WRLCK)
        probe.l_whence = Int16(SEEK_SET)
        guard fcntl(fd, F_GETLK, &probe) == 0, probe.l_type != Int16(F_UNLCK) else { return nil }
        return probe.l_pid
    }

    @Test("while ldb holds the database open, Strata's open fails with .busy; after ldb exits it opens and sees ldb's write")
    func ldbHoldsStrataWaits() throws {
        guard let ldb = RocksDBTools.path("ldb") else {
            Issue.record("ldb not found: run tools/install-deps.sh (apt package rocksdb-tools)")
            return
        }
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        do {
            var options = Options()
            options.createIfMissing = true
            let db = try Database.open(at: path, options: options)
            try db.put(Array("strata".utf8), Array("1".utf8))
            try db.close()
        }
        // `ldb load` opens the database, then reads `key ==> value` lines
        // from stdin until it ends: while the pipe stays open, ldb holds the
        // database (and its LOCK).
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ldb)
        process.arguments = ["--db=\(path)", "--try_load_options=false", "load"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        var stdinOpen = true
        defer {
            if stdinOpen { try? input.fileHandleForWriting.close() }
            process.waitUntilExit()
        }
        // Readiness: the LOCK is held by ldb's pid. Bounded poll (the lock
        // is taken within milliseconds; the bound only guards a broken ldb).
        let lockPath = Path.join(path, DBFileName.lock)
        var holder: pid_t?
        for _ in 0..<30_000 {
            holder = Self.lockHolder(lockPath)
            if holder != nil || !process.isRunning { break }
            usleep(1000)
        }
        #expect(holder == process.processIdentifier, "ldb did not take the LOCK (holder \(String(describing: holder)))")
        #expect(throws: StrataError.self) { _ = try Database.open(at: path, options: Options()) }
        do {
            _ = try Database.open(at: path, options: Options())
        } catch let error as StrataError {
            #expect(error.kind == .busy, "\(error)")
            #expect(error.file == lockPath)
        }
        input.fileHandleForWriting.write(Data("ldb ==> 2\n".utf8))
        try input.fileHandleForWriting.close()
        stdinOpen = false
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "ldb load failed: \(text)")
        let db = try Database.open(at: path, options: Options())
        #expect(try db.get(Array("ldb".utf8)) == Array("2".utf8))
        #expect(try db.get(Array("strata".utf8)) == Array("1".utf8))
        try db.close()
    }

    /// ldb's read-only commands (`get`, `scan`) use `DB::OpenForReadOnly`,
    /// which takes no lock in RocksDB either; its writing commands lock.
    @Test("while Strata holds the database open, ldb's writing commands (put, delete, compact) fail with RocksDB's lock error; after close they work")
    func strataHoldsLdbFails() throws {
        let dir = InteropDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        var options = Options()
        options.createIfMissing = true
        let db = try Database.open(at: path, options: options)
        try db.put(Array("k".utf8), Array("v".utf8))
        try db.flush()
        for args in [["put", "k", "ldb"], ["delete", "k"], ["compact"]] {
            let out = try RocksDBTools.run("ldb", ["--db=\(path)", "--try_load_options=false"] + args)
            #expect(out.status != 0, "ldb \(args) opened a database Strata holds: \(out.all)")
            #expect(out.all.contains("lock"), "expected RocksDB's lock error, got: \(out.all)")
        }
        #expect(try db.get(Array("k".utf8)) == Array("v".utf8))
        try db.close()
        let put = try RocksDBTools.run("ldb", ["--db=\(path)", "--try_load_options=false", "put", "k", "ldb"])
        #expect(put.status == 0, "\(put.all)")
        let out = try RocksDBTools.run("ldb", ["--db=\(path)", "--try_load_options=false", "get", "k"])
        #expect(out.status == 0, "\(out.all)")
        #expect(out.stdout == "ldb\n")
    }
}
