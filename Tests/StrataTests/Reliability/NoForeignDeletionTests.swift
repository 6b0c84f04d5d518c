import Foundation
import Testing
@testable import Strata
import ToolSupport

/// Tools never delete what they did not create (issue 24): the benchmarks'
/// `--db`/`--dir` (through `FreshDirectory`) and `checkpoint`'s stale
/// `DEST.tmp` remove only files they can identify as their own.
@Suite("Tools never delete what they did not create")
struct NoForeignDeletionTests {
    static func write(_ path: String, _ text: String = "precious") throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static func names(_ path: String) throws -> [String] { try PosixFileSystem().listDirectory(path) }

    @Test("clearDatabase: absent and empty directories pass; a foreign non-empty one is refused unless forced, and then only database files go")
    func clearDatabase() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        try FreshDirectory.clearDatabase(at: dir.file("absent"), force: false, forceFlag: "--destroy_db")
        try FileManager.default.createDirectory(atPath: dir.file("empty"), withIntermediateDirectories: true)
        try FreshDirectory.clearDatabase(at: dir.file("empty"), force: false, forceFlag: "--destroy_db")

        let foreign = dir.file("foreign")
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try Self.write(Path.join(foreign, "notes.txt"))
        try Self.write(Path.join(foreign, "000001.sst"), "not even a table")
        #expect { try FreshDirectory.clearDatabase(at: foreign, force: false, forceFlag: "--destroy_db") } throws: { error in
            "\(error)".contains("--destroy_db") && "\(error)".contains("notes.txt")
        }
        #expect(try Self.names(foreign) == ["000001.sst", "notes.txt"])
        try FreshDirectory.clearDatabase(at: foreign, force: true, forceFlag: "--destroy_db")
        #expect(try Self.names(foreign) == ["notes.txt"])

        // A database with an unrelated file and a subdirectory beside it.
        let path = dir.file("db")
        let db = try Database.open(at: path)
        try db.put([1], [2])
        try db.flush()
        try db.close()
        try Self.write(Path.join(path, "README"))
        try FileManager.default.createDirectory(atPath: Path.join(path, "lost"), withIntermediateDirectories: true)
        try FreshDirectory.clearDatabase(at: path, force: false, forceFlag: "--destroy_db")
        #expect(try Self.names(path) == ["README", "lost"])
        let reopened = try Database.open(at: path)
        #expect(try reopened.get([1]) == nil)
        try reopened.close()
    }

    @Test("clearDatabase refuses a database another open holds")
    func clearDatabaseRefusesOpen() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"))
        defer { try? db.close() }
        #expect(throws: ToolError.self) { try FreshDirectory.clearDatabase(at: dir.file("db"), force: true, forceFlag: "--destroy_db") }
        #expect(try Self.names(dir.file("db")).contains(DBFileName.current))
    }

    @Test("clearPipeline removes only state/, checkpoints/ and outputs/, and refuses a foreign directory unless forced")
    func clearPipeline() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let root = dir.file("run")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try Self.write(Path.join(root, "keep"))
        #expect(throws: ToolError.self) { try FreshDirectory.clearPipeline(at: root, force: false, forceFlag: "--fresh") }
        for sub in ["state/part-0", "checkpoints", "outputs/part-0"] {
            try FileManager.default.createDirectory(atPath: Path.join(root, sub), withIntermediateDirectories: true)
        }
        try Self.write(Path.join(root, "state/part-0/CURRENT"))
        try FreshDirectory.clearPipeline(at: root, force: false, forceFlag: "--fresh")
        #expect(try Self.names(root) == ["keep"])
    }

    @Test("checkpoint removes a stale DEST.tmp of database files, and refuses one holding anything else")
    func checkpointTemp() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"))
        defer { try? db.close() }
        try db.put([1], [2])
        // What an interrupted checkpoint leaves: database files and CHECKPOINT.json.
        let dest = dir.file("ckpt")
        try FileManager.default.createDirectory(atPath: dest + ".tmp", withIntermediateDirectories: true)
        for name in ["000009.sst", "MANIFEST-000001", "CURRENT", Database.checkpointManifestName] {
            try Self.write(Path.join(dest + ".tmp", name))
        }
        _ = try db.checkpoint(to: dest)
        #expect(!FileManager.default.fileExists(atPath: dest + ".tmp"))
        // Something else in the way: refused, untouched.
        let other = dir.file("other")
        try FileManager.default.createDirectory(atPath: other + ".tmp", withIntermediateDirectories: true)
        try Self.write(Path.join(other + ".tmp", "thesis.tex"))
        try Self.write(Path.join(other + ".tmp", "CURRENT"))
        #expect { try db.checkpoint(to: other) } throws: { error in
            (error as? StrataError)?.kind == .invalidArgument && "\(error)".contains("thesis.tex")
        }
        #expect(try Self.names(other + ".tmp") == ["CURRENT", "thesis.tex"])
        #expect(!FileManager.default.fileExists(atPath: other))
        // A plain file named DEST.tmp: refused too.
        try Self.write(dir.file("third.tmp"))
        #expect(throws: StrataError.self) { try db.checkpoint(to: dir.file("third")) }
        #expect(FileManager.default.fileExists(atPath: dir.file("third.tmp")))
    }
}
