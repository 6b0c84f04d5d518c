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
