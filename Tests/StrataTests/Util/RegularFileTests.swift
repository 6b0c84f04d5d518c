import Foundation
import Glibc
import Testing
@testable import Strata

/// Only regular files are opened as tables, logs, MANIFEST, CURRENT or
/// OPTIONS: a FIFO in their place used to hang every reader (issue 24),
/// a directory failed late with EISDIR. Each is now refused at open with
/// an `.ioError` naming the file and what it is.
@Suite("Only regular files are database files")
struct RegularFileTests {
    static func isNotRegular(_ error: any Error, _ path: String) -> Bool {
        guard let error = error as? StrataError else { return false }
        return error.file == path && error.message.contains("not a regular file")
    }

    static func makeFIFO(_ path: String) throws {
        guard mkfifo(path, 0o644) == 0 else { throw StrataError.ioError("mkfifo failed", file: path) }
    }

    @Test("PosixFileSystem refuses a FIFO, a directory and a device for reading, writing, appending and sizing")
    func fileSystemRefuses() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let fs = PosixFileSystem()
        let fifo = dir.file("000007.sst")
        try Self.makeFIFO(fifo)
        let sub = dir.file("000008.sst")
        try fs.createDirectory(sub)
        for path in [fifo, sub, "/dev/null"] {
            #expect { try fs.openRandomAccess(path) } throws: { Self.isNotRegular($0, path) }
            #expect { try fs.fileSize(path) } throws: { Self.isNotRegular($0, path) }
        }
        // Writing: a FIFO without a reader, a device (would otherwise accept
        // and drop the bytes), a directory (EISDIR from the open itself).
        for path in [fifo, "/dev/null"] {
            #expect { try fs.createWritable(path) } throws: { Self.isNotRegular($0, path) }
            #expect { try fs.openAppendable(path) } throws: { Self.isNotRegular($0, path) }
        }
        #expect(throws: StrataError.self) { try fs.createWritable(sub) }
        // A regular file still opens, reads and appends.
        let regular = dir.file("000009.log")
        let w = try fs.createWritable(regular)
        try w.append([1, 2, 3])
        try w.close()
        let a = try fs.openAppendable(regular)
        #expect(a.size == 3)
        try a.append([4])
        try a.close()
        let r = try fs.openRandomAccess(regular)
        #expect(try r.read(at: 0, count: 4) == [1, 2, 3, 4])
        r.close()
    }

    /// A database whose `name` is replaced by a FIFO.
    static func databaseWithFIFO(_ dir: TestDirectory, replacing pick: ([String]) -> String) throws -> (String, String) {
        let path = dir.file("db")
        var options = Options()
        options.createIfMissing = true
        let db = try Database.open(at: path, options: options)
        try db.put(Array("a".utf8), Array("1".utf8))
        try db.flush()
        try db.put(Array("b".utf8), Array("2".utf8))
        try db.close()
        let name = pick(try PosixFileSystem().listDirectory(path))
        let victim = Path.join(path, name)
        try PosixFileSystem().removeFile(victim)
        try makeFIFO(victim)
        return (path, victim)
    }

    @Test("a FIFO in place of a table, the WAL, the MANIFEST or CURRENT: open fails, verify reports it damaged, nothing hangs",
          arguments: [".sst", ".log", "MANIFEST-", "CURRENT"])
    func databaseRefuses(_ which: String) throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let (path, victim) = try Self.databaseWithFIFO(dir) { names in names.first { $0.contains(which) }! }
        print("FIFO in place of \(victim)")
        #expect(throws: StrataError.self) {
            let db = try Database.open(at: path, options: Options())
            // A table is only opened on first read.
            _ = try db.get(Array("a".utf8))
            try db.close()
        }
        let report = try Database.verify(at: path)
        #expect(!report.isHealthy)
        #expect(report.damaged.contains { file in
            if case .damaged(let error) = file.status { return error.message.contains("not a regular file") || error.file == victim }
            return false
        }, "\(report)")
    }
}
