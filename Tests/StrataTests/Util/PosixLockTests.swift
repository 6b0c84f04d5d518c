import Foundation
import Testing
@testable import Strata

/// The LOCK in one process: `fcntl` locks do not exclude two opens of one
/// process, so `PosixFileSystem.lock` keeps a registry; a second open of
/// the same directory (under any spelling of its path) fails with `.busy`
/// until the first closes.
@Suite("LOCK within one process")
struct PosixLockTests {
    @Test("a second open of an open database fails with .busy, under any path spelling; after close it opens")
    func secondOpenIsBusy() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        var options = Options()
        options.createIfMissing = true
        let db = try Database.open(at: path, options: options)
        for spelling in [path, path + "/", Path.dirname(path) + "/./db", Path.dirname(path) + "/../" + Path.basename(Path.dirname(path)) + "/db"] {
            do {
                _ = try Database.open(at: spelling, options: options)
                Issue.record("second open of \(spelling) succeeded")
            } catch let error as StrataError {
                #expect(error.kind == .busy, "\(spelling): \(error)")
            }
        }
        // The failed attempts must not have released the first open's lock.
        #expect(throws: StrataError.self) { _ = try Database.repair(at: path, options: options) }
        try db.close()
        let again = try Database.open(at: path, options: options)
        try again.close()
    }

    @Test("the file system's lock: busy while held, free after unlock, and unlock is idempotent")
    func lockUnlock() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let fs = PosixFileSystem()
        let lock = try fs.lock(dir.file("LOCK"))
        #expect { try fs.lock(dir.file("LOCK")) } throws: { ($0 as? StrataError)?.kind == .busy }
        lock.unlock()
        lock.unlock()
        let second = try fs.lock(dir.file("LOCK"))
        second.unlock()
    }
}
