import Foundation
import Strata

#if canImport(Glibc)
import Glibc
#endif

/// Starting over in a directory a user named (`--db=DIR`, `--dir=DIR`)
/// without deleting anything the tool did not create (issue 24: the
/// benchmarks removed the whole directory, unrelated files included).
public enum FreshDirectory {
    /// Prepares `path` for a new database: nothing to do if it is absent or
    /// empty; if it holds a database (CURRENT, IDENTITY or a MANIFEST),
    /// removes its database files — tables, WALs, MANIFESTs, CURRENT,
    /// IDENTITY, OPTIONS, LOG, LOCK, temp files, as RocksDB's `DestroyDB` —
    /// keeping every other file and the directory. A non-empty directory
    /// without a database is refused unless `force` (the tool's
    /// `forceFlag`, e.g. `--destroy_db`), and even then only database
    /// files go. Takes the database's LOCK first: a database another
    /// process has open is refused. Throws `ToolError` saying why.
    public static func clearDatabase(at path: String, force: Bool, forceFlag: String) throws {
        guard let names = try entries(path) else { return }
        let isDatabase = names.contains(DBFileName.current) || names.contains(DBFileName.identity)
            || names.contains { $0.hasPrefix("MANIFEST-") }
        guard isDatabase || force else {
            throw ToolError("\(path) is not empty and holds no Strata/RocksDB database (no CURRENT, IDENTITY or MANIFEST): "
                + "refusing to delete anything in it (\(sample(names))). Pass \(forceFlag) to remove only the database "
                + "files in it, or choose another directory")
        }
        let fs = PosixFileSystem.shared
        let lock: any FileLock
        do {
            lock = try fs.lock(Path.join(path, DBFileName.lock))
        } catch let error as StrataError where error.kind == .busy {
            throw ToolError("\(path): the database is open in another process (its LOCK is held); not deleting it")
        }
        defer { lock.unlock() }
        for name in names where DBFileName.parse(name) != nil && name != DBFileName.lock && isRegularFile(Path.join(path, name)) {
            try fs.removeFile(Path.join(path, name))
        }
        try? fs.removeFile(Path.join(path, DBFileName.lock))
    }

    /// Removes a database directory a tool made earlier and left behind
    /// (e.g. strata-stress's `DB.checkpoint-N` after a kill, possibly half
    /// deleted): removed if it holds only regular files with database file
    /// names (tables, WALs, MANIFEST, CURRENT, IDENTITY, OPTIONS, LOCK,
    /// temp files — the rule `checkpoint(to:)` applies to a stale
    /// `DEST.tmp`) and the names in `alsoOwned` (`CHECKPOINT.json` of a
    /// checkpoint). Absent: nothing to do. Anything else in it (another
    /// file, a subdirectory) and nothing is removed: `ToolError` naming it;
    /// `what` says whose the directory is, for the message.
    public static func removeStaleDatabase(at path: String, alsoOwned: Set<String> = [], what: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        let names = try entries(path) ?? []
        let foreign = names.filter { name in
            !(DBFileName.parse(name) != nil || alsoOwned.contains(name)) || !isRegularFile(Path.join(path, name))
        }
        guard foreign.isEmpty else {
            throw ToolError("\(path) (\(what)) holds what a database does not (\(sample(foreign))): "
                + "refusing to delete anything in it; move it away")
        }
        for name in names { try PosixFileSystem.shared.removeFile(Path.join(path, name)) }
        try PosixFileSystem.shared.removeDirectory(path)
    }

    /// The subdirectories a stream pipeline writes under its root
    /// (`Pipeline`: state/, checkpoints/, outputs/).
    public static let pipelineEntries: Set<String> = ["state", "checkpoints", "outputs"]

    /// Prepares `path` for a new pipeline run: nothing to do if absent or
    /// empty; if it holds a pipeline's subdirectories, removes those (and
    /// nothing else); a non-empty directory without them is refused unless
    /// `force` (then, again, only those subdirectories would go).
    public static func clearPipeline(at path: String, force: Bool, forceFlag: String) throws {
        guard let names = try entries(path) else { return }
        let ours = names.filter { pipelineEntries.contains($0) }
        guard !ours.isEmpty || force else {
            throw ToolError("\(path) is not empty and holds no pipeline state (no state/, checkpoints/ or outputs/): "
                + "refusing to delete anything in it (\(sample(names))). Pass \(forceFlag) to start over there "
                + "(only those subdirectories are ever removed), or choose another directory")
        }
        for name in ours { try removeTree(Path.join(path, name)) }
    }

    /// A working directory a benchmark writes its runs into (`--dir`), and
    /// what the benchmark may remove from it afterwards.
    public struct WorkDirectory: Sendable {
        /// The directory.
        public let path: String
        /// True if the benchmark created it (then it may remove it when it
        /// is empty again).
        public let created: Bool
        /// The marker file's name (see `claimWorkDirectory`).
        public let marker: String

        /// Creates `path/name` for one run. Throws `ToolError` if it exists
        /// (stale entries of an earlier run were removed when the directory
        /// was claimed, so an existing one is not the benchmark's).
        public func makeRunDirectory(_ name: String) throws -> String {
            let run = Path.join(path, name)
            var st = stat()
            guard lstat(run, &st) != 0 else {
                throw ToolError("\(run) exists and was not created by this run: refusing to write into it or delete it; "
                    + "choose another --dir")
            }
            try PosixFileSystem.shared.createDirectory(run)
            return run
        }

        /// Removes `path/name` (a run directory this run made) and its tree.
        public func removeRunDirectory(_ name: String) throws {
            try FreshDirectory.removeTree(Path.join(path, name))
        }

        /// After the last run: removes the marker, and the directory itself
        /// if the benchmark created it and nothing else is left in it.
        public func finish() {
            try? PosixFileSystem.shared.removeFile(Path.join(path, marker))
            if created, let names = try? PosixFileSystem.shared.listDirectory(path), names.isEmpty {
                try? PosixFileSystem.shared.removeDirectory(path)
            }
        }
    }

    /// Prepares a benchmark's working directory `path` (issue 24: tools
    /// never delete what they did not create). Absent: created, with a
    /// marker file `marker` saying the benchmark owns it. Empty: the marker
    /// is written. Holding the marker (an earlier run's directory): the
    /// entries `isRunEntry` accepts are removed as that run's leftovers,
    /// nothing else. Non-empty without the marker: refused unless `force`
    /// (the tool's `forceFlag`, e.g. `--fresh`), and even then nothing in
    /// it is removed — the runs go beside what is there, and a run whose
    /// directory already exists is refused (`makeRunDirectory`). Throws
    /// `ToolError` saying why.
    public static func claimWorkDirectory(at path: String, marker: String, isRunEntry: (String) -> Bool,
                                          force: Bool, forceFlag: String) throws -> WorkDirectory {
        var st = stat()
        let existed = stat(path, &st) == 0
        if !existed {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw ToolError("cannot create the working directory \(path): \(error)")
            }
        }
        let names = try entries(path) ?? []
        if names.contains(marker) {
            for name in names where name != marker && isRunEntry(name) { try removeTree(Path.join(path, name)) }
        } else if !names.isEmpty && !force {
            throw ToolError("\(path) is not empty and was not made by this benchmark (no \(marker)): refusing to delete "
                + "anything in it (\(sample(names))). Pass \(forceFlag) to run beside what is there (nothing in it is "
                + "removed), or choose another directory")
        }
        // Marked only when the benchmark owns everything in it.
        if names.isEmpty || names.contains(marker) {
            do {
                try Data("written by a benchmark; its run directories here may be removed by its next run\n".utf8)
                    .write(to: URL(fileURLWithPath: Path.join(path, marker)))
            } catch {
                throw ToolError("cannot write \(Path.join(path, marker)): \(error)")
            }
        }
        return WorkDirectory(path: path, created: !existed, marker: marker)
    }

    /// The entries of `path`, nil if it is absent or empty; throws if it is
    /// not a directory.
    static func entries(_ path: String) throws -> [String]? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw ToolError("\(path) exists and is not a directory") }
        let names = try PosixFileSystem.shared.listDirectory(path)
        return names.isEmpty ? nil : names
    }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    static func sample(_ names: [String]) -> String {
        names.prefix(3).joined(separator: ", ") + (names.count > 3 ? ", ... (\(names.count) entries)" : "")
    }

    /// Removes a directory tree (no symbolic links followed).
    static func removeTree(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            for name in try PosixFileSystem.shared.listDirectory(path) { try removeTree(Path.join(path, name)) }
            try PosixFileSystem.shared.removeDirectory(path)
        } else if unlink(path) != 0 {
            throw ToolError("cannot remove \(path)")
        }
    }
}
