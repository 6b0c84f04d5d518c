import Foundation
import Testing
@testable import Strata
import ToolSupport

/// checkpoint-bench and table-bench (issue 24): they delete only what they
/// created, and an engine or file error is a message on standard error and
/// exit status 1, never a trap.
@Suite("checkpoint-bench and table-bench: own files only, errors as exit statuses")
struct BenchToolTests {
    static func names(_ path: String) throws -> [String] { try PosixFileSystem().listDirectory(path) }
    static func write(_ path: String, _ text: String = "precious") throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
    static let marker = ".checkpoint-bench"
    static func isRun(_ name: String) -> Bool { name.hasSuffix("mb") }

    @Test("claimWorkDirectory: creates and marks; a marked directory loses only run entries; a foreign one is refused, or with force left untouched")
    func claimWorkDirectory() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        // Absent: created and marked; finish removes it once empty.
        let created = try FreshDirectory.claimWorkDirectory(at: dir.file("new/work"), marker: Self.marker,
                                                            isRunEntry: Self.isRun, force: false, forceFlag: "--fresh")
        #expect(created.created)
        #expect(try Self.names(dir.file("new/work")) == [Self.marker])
        let run = try created.makeRunDirectory("8mb")
        try Self.write(Path.join(run, "data"))
        #expect(throws: ToolError.self) { try created.makeRunDirectory("8mb") }
        try created.removeRunDirectory("8mb")
        created.finish()
        #expect(!FileManager.default.fileExists(atPath: dir.file("new/work")))

        // Marked, from an earlier run (kept with --keep), with a user's file beside it.
        let marked = dir.file("marked")
        try FileManager.default.createDirectory(atPath: Path.join(marked, "32mb/db"), withIntermediateDirectories: true)
        try Self.write(Path.join(marked, Self.marker))
        try Self.write(Path.join(marked, "notes.txt"))
        let again = try FreshDirectory.claimWorkDirectory(at: marked, marker: Self.marker, isRunEntry: Self.isRun,
                                                          force: false, forceFlag: "--fresh")
        #expect(!again.created)
        #expect(try Self.names(marked) == [Self.marker, "notes.txt"])
        again.finish()
        #expect(try Self.names(marked) == ["notes.txt"])

        // Foreign: refused, nothing removed; with force, nothing removed and no marker.
        let foreign = dir.file("foreign")
        try FileManager.default.createDirectory(atPath: Path.join(foreign, "8mb"), withIntermediateDirectories: true)
        try Self.write(Path.join(foreign, "8mb/mine"))
        try Self.write(Path.join(foreign, "notes.txt"))
        #expect { try FreshDirectory.claimWorkDirectory(at: foreign, marker: Self.marker, isRunEntry: Self.isRun,
                                                        force: false, forceFlag: "--fresh") } throws: { error in
            "\(error)".contains("--fresh") && "\(error)".contains("notes.txt")
        }
        #expect(try Self.names(foreign) == ["8mb", "notes.txt"])
        let forced = try FreshDirectory.claimWorkDirectory(at: foreign, marker: Self.marker, isRunEntry: Self.isRun,
                                                           force: true, forceFlag: "--fresh")
        #expect(throws: ToolError.self) { try forced.makeRunDirectory("8mb") }
        _ = try forced.makeRunDirectory("1mb")
        try forced.removeRunDirectory("1mb")
        forced.finish()
        #expect(try Self.names(foreign) == ["8mb", "notes.txt"])
        #expect(try Self.names(Path.join(foreign, "8mb")) == ["mine"])

        // Not a directory: refused.
        #expect(throws: ToolError.self) {
            try FreshDirectory.claimWorkDirectory(at: Path.join(foreign, "notes.txt"), marker: Self.marker,
                                                  isRunEntry: Self.isRun, force: true, forceFlag: "--fresh")
        }
    }

    @Test("checkpoint-bench: refuses a foreign --dir, runs and cleans up its own, and reports an error with exit 1")
    func checkpointBench() throws {
        guard let bench = DamagedContentsTests.tool("checkpoint-bench") else {
            Issue.record("checkpoint-bench is not built: run `swift build --product checkpoint-bench` first")
            return
        }
        let dir = TestDirectory()
        defer { dir.remove() }
        let small = ["--sizes_mb=0.05", "--repeats=1", "--value_size=100"]
        // A foreign non-empty directory: refused, untouched.
        let foreign = dir.file("foreign")
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        try Self.write(Path.join(foreign, "notes.txt"))
        let refused = try DamagedContentsTests.run(bench, small + ["--dir=\(foreign)"])
        #expect(refused.exited && refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("--fresh"), "\(refused.output)")
        #expect(try Self.names(foreign) == ["notes.txt"])
        // With --fresh: runs beside the file, removes only what it made.
        let fresh = try DamagedContentsTests.run(bench, small + ["--dir=\(foreign)", "--fresh"])
        #expect(fresh.exited && fresh.status == 0, "\(fresh.output)")
        #expect(try Self.names(foreign) == ["notes.txt"])
        // Its own directory: created, then removed.
        let own = dir.file("own")
        let ran = try DamagedContentsTests.run(bench, small + ["--dir=\(own)"])
        #expect(ran.exited && ran.status == 0, "\(ran.output)")
        #expect(!FileManager.default.fileExists(atPath: own))
        // An error (the directory cannot be made: its parent is a file): a message, exit 1, no trap.
        let failed = try DamagedContentsTests.run(bench, small + ["--dir=\(Path.join(foreign, "notes.txt"))/sub"])
        #expect(failed.exited && failed.status == 1, "\(failed.output)")
        #expect(failed.output.contains("checkpoint-bench:") && !failed.output.contains("Fatal error"), "\(failed.output)")
    }

    @Test("table-bench: an engine error (missing --dir) is a message and exit 1; a run leaves --dir as it was")
    func tableBench() throws {
        guard let bench = DamagedContentsTests.tool("table-bench") else {
            Issue.record("table-bench is not built: run `swift build --product table-bench` first")
            return
        }
        let dir = TestDirectory()
        defer { dir.remove() }
        let small = ["--num=2000", "--reads=2000"]
        let failed = try DamagedContentsTests.run(bench, small + ["--dir=\(dir.file("absent"))"])
        #expect(failed.exited && failed.status == 1, "\(failed.output)")
        #expect(failed.output.contains("table-bench:") && !failed.output.contains("Fatal error"), "\(failed.output)")
        try FileManager.default.createDirectory(atPath: dir.file("work"), withIntermediateDirectories: true)
        try Self.write(dir.file("work/notes.txt"))
        let ran = try DamagedContentsTests.run(bench, small + ["--dir=\(dir.file("work"))"])
        #expect(ran.exited && ran.status == 0, "\(ran.output)")
        #expect(try Self.names(dir.file("work")) == ["notes.txt"])
    }

    @Test("removeStaleDatabase (strata-stress's DB.checkpoint-N): database files go, even half deleted; anything else stays")
    func removeStaleDatabase() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let owned: Set<String> = [Database.checkpointManifestName]
        try FreshDirectory.removeStaleDatabase(at: dir.file("absent"), alsoOwned: owned, what: "test")
        try FileManager.default.createDirectory(atPath: dir.file("empty"), withIntermediateDirectories: true)
        try FreshDirectory.removeStaleDatabase(at: dir.file("empty"), alsoOwned: owned, what: "test")
        #expect(!FileManager.default.fileExists(atPath: dir.file("empty")))

        let source = try Database.open(at: dir.file("db"))
        try source.put([1], [2])
        _ = try source.checkpoint(to: dir.file("stale"))
        _ = try source.checkpoint(to: dir.file("half"))
        _ = try source.checkpoint(to: dir.file("mixed"))
        try source.close()
        // Without CHECKPOINT.json named as its own, a checkpoint is refused whole.
        #expect(throws: ToolError.self) { try FreshDirectory.removeStaleDatabase(at: dir.file("stale"), what: "test") }
        #expect(try Self.names(dir.file("stale")).contains(DBFileName.current))
        try FreshDirectory.removeStaleDatabase(at: dir.file("stale"), alsoOwned: owned, what: "test")
        #expect(!FileManager.default.fileExists(atPath: dir.file("stale")))

        // A kill during the previous removal: only tables left.
        for name in try Self.names(dir.file("half")) where !name.hasSuffix(".sst") {
            try FileManager.default.removeItem(atPath: Path.join(dir.file("half"), name))
        }
        #expect(try !Self.names(dir.file("half")).isEmpty)
        try FreshDirectory.removeStaleDatabase(at: dir.file("half"), alsoOwned: owned, what: "test")
        #expect(!FileManager.default.fileExists(atPath: dir.file("half")))

        // A user's file or subdirectory beside it: nothing removed.
        try Self.write(dir.file("mixed/notes.txt"))
        let before = try Self.names(dir.file("mixed"))
        #expect(throws: ToolError.self) {
            try FreshDirectory.removeStaleDatabase(at: dir.file("mixed"), alsoOwned: owned, what: "test")
        }
        #expect(try Self.names(dir.file("mixed")) == before)
        try FileManager.default.removeItem(atPath: dir.file("mixed/notes.txt"))
        try FileManager.default.createDirectory(atPath: dir.file("mixed/000099.sst"), withIntermediateDirectories: true)
        #expect(throws: ToolError.self) {
            try FreshDirectory.removeStaleDatabase(at: dir.file("mixed"), alsoOwned: owned, what: "test")
        }
        #expect(try Self.names(dir.file("mixed")).contains("000099.sst"))
    }
}
