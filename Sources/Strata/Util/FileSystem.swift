/// The file-system boundary. Every file the engine touches goes through a
/// `FileSystem`, so tests can substitute one that loses unsynced data or
/// injects errors (testing.md, layer 4).
///
/// Paths are plain strings. All calls block: run them on dedicated threads,
/// never on the Swift concurrency cooperative pool.
public protocol FileSystem: Sendable {
    /// Opens an existing file for positional reads.
    /// Throws `.ioError` if it does not exist or cannot be opened.
    func openRandomAccess(_ path: String) throws -> any RandomAccessFile

    /// Creates (or truncates) a file for appending.
    func createWritable(_ path: String) throws -> any WritableFile

    /// Opens an existing file for appending at its end (creating it if absent).
    func openAppendable(_ path: String) throws -> any WritableFile

    /// True if `path` names an existing file or directory.
    func exists(_ path: String) -> Bool

    /// Size in bytes of the file at `path`.
    func fileSize(_ path: String) throws -> UInt64

    /// Names (not paths) of the entries of a directory, excluding `.` and `..`.
    func listDirectory(_ path: String) throws -> [String]

    /// Creates a directory and any missing parents; succeeds if it exists.
    func createDirectory(_ path: String) throws

    /// Removes a file. Throws `.ioError` if it does not exist.
    func removeFile(_ path: String) throws

    /// Removes an empty directory.
    func removeDirectory(_ path: String) throws

    /// Atomically renames `from` to `to`, replacing `to` if it exists.
    /// Durable only after `syncDirectory` of the containing directory.
    func rename(_ from: String, to: String) throws

    /// Creates a hard link `to` for the existing file `from`.
    func link(_ from: String, to: String) throws

    /// Makes the directory's entries (creations, renames, removals) durable.
    func syncDirectory(_ path: String) throws

    /// Takes an exclusive advisory lock on `path` (creating the file), so a
    /// second opener (in this or another process, Strata or RocksDB) cannot
    /// open the same database. Released by `unlock` on the returned lock or
    /// when the process exits. Throws `.busy` if the lock is held.
    func lock(_ path: String) throws -> any FileLock
    /// Opens an existing file for positional reads served from a read-only
    /// memory mapping where the file system can map files (RocksDB:
    /// `allow_mmap_reads`); `RandomAccessFile.mappedBytes` then hands out
    /// the bytes without a copy. Default: `openRandomAccess` (no mapping).
    func openMappedRandomAccess(_ path: String) throws -> any RandomAccessFile
}

extension FileSystem {
    /// Default: an ordinary file (`openRandomAccess`); reads copy.
    public func openMappedRandomAccess(_ path: String) throws -> any RandomAccessFile {
        try openRandomAccess(path)
    }
}

/// A file opened for positional reads.
///
/// Thread safety: reads may run concurrently from any thread.
public protocol RandomAccessFile: Sendable {
    /// The path it was opened with (used in error messages).
    var path: String { get }
    /// The file's size when it was opened.
    var size: UInt64 { get }
    /// Reads exactly `buffer.count` bytes at `offset` into `buffer`.
    /// Throws `.corruption` if the file ends before that, `.ioError` on failure.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws
    /// The `count` bytes at `offset` in place, for a memory-mapped file: valid
    /// until this file object is freed (not merely closed), read-only. nil
    /// for a file that is not mapped: use `read(at:into:)`. Throws as `read`
    /// does for a range past the end or a closed file.
    func mappedBytes(at offset: UInt64, count: Int) throws -> UnsafeRawBufferPointer?
    /// Releases the descriptor. Later reads throw `.closed`.
    func close()
}

extension RandomAccessFile {
    /// Default: not mapped.
    public func mappedBytes(at offset: UInt64, count: Int) throws -> UnsafeRawBufferPointer? { nil }

    /// Reads exactly `count` bytes at `offset` into a new array.
    public func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try read(at: offset, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }
}

/// A file being written sequentially.
///
/// Thread safety: one owner at a time (not `Sendable`); the engine serializes
/// access (e.g. the WAL writer is only used by the group-commit leader).
public protocol WritableFile: AnyObject {
    /// The path it was opened with.
    var path: String { get }
    /// Bytes appended so far (including any the file had when opened).
    var size: UInt64 { get }
    /// Appends bytes (possibly buffered in memory until `flush` or `sync`).
    func append(_ bytes: UnsafeRawBufferPointer) throws
    /// Hands buffered bytes to the operating system (survives a process
    /// crash, not a power loss).
    func flush() throws
    /// Flushes and makes the contents durable (fsync/fdatasync).
    func sync() throws
    /// Flushes and closes. Does not sync.
    func close() throws
}

extension WritableFile {
    /// Appends the bytes of an array.
    public func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }
}

/// An exclusive lock on a database directory's LOCK file.
public protocol FileLock: AnyObject, Sendable {
    /// Releases the lock. Idempotent.
    func unlock()
}

/// Path helpers (no normalisation beyond joining with one slash).
public enum Path {
    /// `dir/name`.
    public static func join(_ dir: String, _ name: String) -> String {
        if dir.isEmpty { return name }
        return dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    /// The last component of a path.
    public static func basename(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Everything before the last component ("." if none).
    public static func dirname(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}
