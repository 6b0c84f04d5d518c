import Foundation
import Testing
@testable import Strata

/// `verify` tells damage from what a crash leaves behind (issue 24): an
/// unfinished table the MANIFEST does not list, a temp file, an old
/// MANIFEST are leftovers — healthy, counted — not DAMAGED; and a directory
/// with tables but no CURRENT says so instead of "does not exist".
@Suite("verify: leftovers are not damage")
struct VerifyLeftoverTests {
    @Test("an unfinished unlisted table, a temp file and an old MANIFEST are leftovers; a listed table cut short is damage")
    func leftovers() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        let db = try Database.open(at: path)
        for i in 0..<200 { try db.put(Array("key\(i)".utf8), Array(repeating: UInt8(i & 0xFF), count: 100)) }
        try db.flush()
        try db.close()
        let fs = PosixFileSystem()
        let table = try fs.listDirectory(path).first { $0.hasSuffix(".sst") }!
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Path.join(path, table)))
        // What a kill during a flush leaves: the first part of a table no MANIFEST lists.
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: Path.join(path, "000100.sst")))
        try Data("partial".utf8).write(to: URL(fileURLWithPath: Path.join(path, "000101.dbtmp")))
        try Data().write(to: URL(fileURLWithPath: Path.join(path, "MANIFEST-000000")))

        let report = try Database.verify(at: path)
        #expect(report.isHealthy, "\(report)")
        #expect(Set(report.leftovers.map(\.name)) == ["000100.sst", "000101.dbtmp", "MANIFEST-000000"], "\(report)")
        #expect(report.description.contains("0 damaged"))
        #expect(report.description.contains("3 leftovers"))
        #expect(report.description.contains("LEFTOVER 000100.sst"))

        // The next open deletes them, as the report says.
        try Database.open(at: path).close()
        let after = try Database.verify(at: path)
        #expect(after.leftovers.isEmpty && after.isHealthy, "\(after)")

        // A table the MANIFEST lists, cut short: damage.
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: Path.join(path, table)))
        let damaged = try Database.verify(at: path)
        #expect(damaged.damaged.map(\.name) == [table], "\(damaged)")
    }

    @Test("tables without CURRENT: opening without createIfMissing says CURRENT is missing, not that the database does not exist")
    func missingCurrent() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let path = dir.file("db")
        let db = try Database.open(at: path)
        try db.put([1], [2])
        try db.flush()
        try db.close()
        try PosixFileSystem().removeFile(Path.join(path, DBFileName.current))
        var options = Options()
        options.createIfMissing = false
        do {
            _ = try Database.open(at: path, options: options)
            Issue.record("opened without CURRENT")
        } catch let error as StrataError {
            #expect(error.kind == .corruption, "\(error)")
            #expect(error.message.contains("CURRENT is missing"), "\(error)")
            #expect(!error.message.contains("does not exist"), "\(error)")
        }
    }
}
