import Foundation

/// How `Database.checkpoint(to:options:)` builds a checkpoint.
///
/// Thread safety: a value type, `Sendable`.
public struct CheckpointOptions: Sendable {
    /// Flush the memtable first, so the checkpoint is tables only (default
    /// true, as RocksDB's `CreateCheckpoint` with `log_size_for_flush = 0`).
    /// With false nothing is flushed: the WALs holding unflushed writes are
    /// copied up to the checkpoint's sequence number and replayed when the
    /// checkpoint is opened. Writes made with `disableWAL` and not yet
    /// flushed are then not in the checkpoint.
    public var flushMemtable = true
    /// The checkpoint's id; nil = a new UUID.
    public var id: String? = nil
    /// An earlier checkpoint of the same database: the new manifest's
    /// `newFiles` lists what is new since it, and table checksums it already
    /// holds are reused instead of read again (tables are immutable; the
    /// open database also remembers checksums of tables it checkpointed).
    public var parent: CheckpointManifest? = nil
    /// Hard-link tables (default true); false copies them. Links fall back
    /// to copies when the destination is on another file system (EXDEV).
    public var allowHardLinks = true
    /// Return a `Snapshot` of the database at exactly the checkpoint's
    /// sequence number in the result (default false), e.g. to compare the
    /// checkpoint with the live database or to read what it holds.
    public var retainSnapshot = false

    /// The defaults above.
    public init() {}
}

/// What `Database.checkpoint(to:options:)` made.
///
/// Thread safety: immutable, `Sendable`.
public struct CheckpointResult: Sendable {
    /// The checkpoint directory.
    public let path: String
    /// Its JSON manifest (also in the directory as `CHECKPOINT.json`).
    public let manifest: CheckpointManifest
    /// With `retainSnapshot`: a snapshot of the source database at
    /// `manifest.sequence` (release it when done); otherwise nil.
    public let snapshot: Snapshot?
    /// Tables hard-linked.
    public let tablesLinked: Int
    /// Tables copied (another file system, or `allowHardLinks` false).
    public let tablesCopied: Int

    /// The sequence number the checkpoint is consistent at.
    public var sequence: UInt64 { manifest.sequence }
}

extension Database {
    /// Name of the JSON manifest inside a checkpoint directory.
    public static let checkpointManifestName = "CHECKPOINT.json"

    /// Writes a checkpoint of the database into the new directory
    /// `destination` (which must not exist; its parent must), with default
    /// options: the memtable is flushed, tables are hard-linked, a fresh
    /// MANIFEST and CURRENT list exactly the live tables. The directory
    /// opens on its own as a Strata database or with RocksDB's `ldb`, and
    /// holds exactly the writes acknowledged before the call started
    /// (writes concurrent with it may or may not be in it, as one prefix).
    /// See `checkpoint(to:options:)`.
    @discardableResult
    public func checkpoint(to destination: String) throws -> CheckpointResult {
        try checkpoint(to: destination, options: CheckpointOptions())
    }

    /// Writes a checkpoint into the new directory `destination`.
    ///
    /// The checkpoint is consistent at one sequence number S
    /// (`result.sequence`): it holds every write numbered ≤ S and none
    /// after. Tables are hard-linked (copied if `destination` is on another
    /// file system or `allowHardLinks` is false); the MANIFEST, CURRENT and
    /// IDENTITY are written fresh, the WALs (WAL mode) copied up to S, and
    /// `CHECKPOINT.json` lists every file with its size and XXH3-64. All is
    /// written into `destination + ".tmp"`, fsynced, then renamed to
    /// `destination` and the parent directory fsynced: after a crash the
    /// destination either does not exist or is complete (a stale `.tmp`
    /// is removed by the next checkpoint to the same destination — only if
    /// it holds nothing but database files and `CHECKPOINT.json`).
    ///
    /// Cost: hard links plus a small MANIFEST, independent of the data
    /// size: tables Strata wrote carry their XXH3-64 in the MANIFEST
    /// (hashed as they were written); only a table written by another
    /// engine (RocksDB) is read once to checksum it, the first time a
    /// checkpoint of this open database includes it (or not at all if
    /// `options.parent` lists it). Blocking I/O on the caller's thread; other threads
    /// may keep writing (they wait only while the memtable is switched).
    ///
    /// Throws `.invalidArgument` if `destination` exists or `destination.tmp`
    /// holds anything an unfinished checkpoint does not, `.closed` after
    /// `close`, the background error if flushes fail, `.ioError` for file
    /// operations (the temp directory is removed).
    public func checkpoint(to destination: String, options: CheckpointOptions) throws -> CheckpointResult {
        try checkOpen()
        let fs = fileSystem
        let destination = destination.hasSuffix("/") && destination.count > 1 ? String(destination.dropLast()) : destination
        guard !fs.exists(destination) else {
            throw StrataError.invalidArgument("checkpoint directory \(destination) already exists (expected a new path)")
        }
        let temp = destination + ".tmp"
        try removeUnfinishedCheckpoint(temp, fs)
        let capture = try captureCheckpoint(flushMemtable: options.flushMemtable)
        try fs.createDirectory(temp)
        do {
            var linked = 0
            var copied = 0
            for meta in capture.tables {
                let name = DBFileName.table(meta.number)
                let didLink = try FileTransfer.linkOrCopy(from: Path.join(path, name), in: fs, to: Path.join(temp, name),
                                                          in: fs, allowLink: options.allowHardLinks)
                if didLink { linked += 1 } else { copied += 1 }
            }
            let known = KnownChecksums(options.parent.map { [$0] } ?? [], dbID: dbID)
            let files = try capture.tableEntries(known: known).sorted { $0.name < $1.name }
                + capture.writePrivateFiles(into: temp, fileSystem: fs)
            let manifest = CheckpointManifest(
                id: options.id ?? Identity.uuid(), parent: options.parent, createdAt: Date().timeIntervalSince1970,
                sourceDBID: dbID, sequence: capture.sequence, walCopied: !options.flushMemtable, files: files)
            try FileTransfer.writeFile(try manifest.encoded(), to: Path.join(temp, Database.checkpointManifestName), in: fs)
            try fs.syncDirectory(temp)
            try fs.rename(temp, to: destination)
            try fs.syncDirectory(Path.dirname(destination))
            return CheckpointResult(path: destination, manifest: manifest,
                                    snapshot: options.retainSnapshot ? capture.snapshot : nil,
                                    tablesLinked: linked, tablesCopied: copied)
        } catch {
            try? FileTransfer.removeTree(temp, in: fs)
            throw error
        }
    }

    /// Removes `temp` if it is what an interrupted checkpoint leaves: a
    /// directory of database files (tables, WALs, MANIFEST, CURRENT,
    /// IDENTITY, OPTIONS) and `CHECKPOINT.json`, nothing else. Anything else
    /// there is not ours to delete: `.invalidArgument` naming it.
    func removeUnfinishedCheckpoint(_ temp: String, _ fs: any FileSystem) throws {
        guard fs.exists(temp) else { return }
        guard let names = try? fs.listDirectory(temp) else {
            throw StrataError.invalidArgument(
                "\(temp) exists and is not a directory, so not an unfinished checkpoint: remove it or choose another destination")
        }
        let foreign = names.filter { name in
            guard name == Database.checkpointManifestName || DBFileName.parse(name) != nil else { return true }
            return (try? fs.listDirectory(Path.join(temp, name))) != nil  // a subdirectory is never ours
        }
        guard foreign.isEmpty else {
            throw StrataError.invalidArgument(
                "\(temp) exists and holds files an unfinished checkpoint does not (\(foreign.prefix(3).joined(separator: ", "))\(foreign.count > 3 ? ", ..." : "")): "
                    + "not deleting it; remove it or choose another destination")
        }
        try FileTransfer.removeTree(temp, in: fs)
    }

    /// Reads the JSON manifest of the checkpoint directory `directory`
    /// (written by `checkpoint(to:)`). Throws `.ioError` if it is absent,
    /// `.corruption` if it is not a checkpoint manifest.
    public static func checkpointManifest(at directory: String,
                                          fileSystem: any FileSystem = PosixFileSystem.shared) throws -> CheckpointManifest {
        let path = Path.join(directory, checkpointManifestName)
        return try CheckpointManifest.decode(try FileTransfer.readFile(path, in: fileSystem), file: path)
    }

    /// The database's id (its IDENTITY), recorded as `sourceDBID` in
    /// checkpoint manifests.
    public var identity: String { dbID }
}
