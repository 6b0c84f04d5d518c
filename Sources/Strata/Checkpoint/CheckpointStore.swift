import Foundation

/// Options of a `CheckpointStore`.
///
/// Thread safety: a value type, `Sendable`.
public struct CheckpointStoreOptions: Sendable {
    /// The file system holding the store. Tables are hard-linked from a
    /// database on the same file system (copied otherwise).
    public var fileSystem: any FileSystem = PosixFileSystem.shared
    /// Retention applied after every `create`: keep only the newest N
    /// checkpoints (nil = keep all). See `CheckpointStore.keepLast(_:)`.
    public var keepLast: Int? = nil

    /// The defaults above.
    public init() {}
}

/// A directory holding a series of checkpoints of one or more databases,
/// with each table stored once however many checkpoints use it (RocksDB
/// BackupEngine's `shared/` folder):
///
/// ```
/// STORE/LOCK
/// STORE/shared/000012_<xxh3>_<size>.sst   tables, named by number, checksum, size
/// STORE/private/<id>/MANIFEST-…, CURRENT, IDENTITY, [NNNNNN.log]
/// STORE/meta/<id>.json                     the checkpoint's manifest
/// ```
///
/// A checkpoint exists once its `meta/<id>.json` does: it is written last,
/// through a temp file, fsync, rename and directory fsync, after every file
/// it names is durable. A crash at any moment therefore leaves complete
/// checkpoints and debris; opening the store removes the debris (private
/// directories and shared files no manifest names, temp files). Deleting a
/// checkpoint removes its manifest first, then what only it used.
///
/// Ids are "1", "2", …: one more than the largest id present.
///
/// Thread safety: `Sendable`; operations are serialized by an internal lock
/// and do blocking I/O on the caller's thread. One process at a time (a
/// `LOCK` file).
public final class CheckpointStore: Sendable {
    /// The store's root directory.
    public let path: String
    let fileSystem: any FileSystem
    let options: CheckpointStoreOptions
    private let lockFile: any FileLock
    /// Visible checkpoints, ascending id; the lock also serializes operations.
    let state: Locked<[CheckpointManifest]>

    static let sharedDir = "shared"
    static let privateDir = "private"
    static let metaDir = "meta"

    private init(path: String, options: CheckpointStoreOptions, lock: any FileLock, manifests: [CheckpointManifest]) {
        self.path = path
        self.fileSystem = options.fileSystem
        self.options = options
        self.lockFile = lock
        self.state = Locked(manifests)
    }

    deinit { lockFile.unlock() }

    /// Opens (creating if needed) the store at `path`, and cleans up what a
    /// crash may have left: half-written checkpoints (no manifest), temp
    /// files, and shared files no checkpoint uses.
    ///
    /// Throws `.ioError` if another process holds the store, `.corruption`
    /// naming the file if a checkpoint manifest cannot be decoded (then
    /// nothing is deleted).
    public static func open(at path: String, options: CheckpointStoreOptions = CheckpointStoreOptions()) throws
        -> CheckpointStore {
        let fs = options.fileSystem
        for dir in [path, Path.join(path, sharedDir), Path.join(path, privateDir), Path.join(path, metaDir)] {
            try fs.createDirectory(dir)
        }
        let lock = try fs.lock(Path.join(path, "LOCK"))
        do {
            let manifests = try recover(path, fs)
            return CheckpointStore(path: path, options: options, lock: lock, manifests: manifests)
        } catch {
            lock.unlock()
            throw error
        }
    }

    /// Reads the visible manifests and removes debris.
    private static func recover(_ path: String, _ fs: any FileSystem) throws -> [CheckpointManifest] {
        let metaPath = Path.join(path, metaDir)
        var manifests: [CheckpointManifest] = []
        for name in try fs.listDirectory(metaPath) {
            let file = Path.join(metaPath, name)
            if name.hasSuffix(".json"), UInt64(name.dropLast(5)) != nil {
                manifests.append(try CheckpointManifest.decode(try FileTransfer.readFile(file, in: fs), file: file))
            } else {
                try fs.removeFile(file)
            }
        }
        manifests.sort { idNumber($0.id) < idNumber($1.id) }
        let ids = Set(manifests.map(\.id))
        let privatePath = Path.join(path, privateDir)
        for name in try fs.listDirectory(privatePath) where !ids.contains(name) {
            try FileTransfer.removeTree(Path.join(privatePath, name), in: fs)
        }
        try collectGarbage(path, fs, manifests)
        try fs.syncDirectory(metaPath)
        try fs.syncDirectory(privatePath)
        return manifests
    }

    /// Removes every shared file no manifest in `manifests` names (and
    /// temp files), then fsyncs `shared/`. Returns the names removed.
    @discardableResult
    static func collectGarbage(_ path: String, _ fs: any FileSystem, _ manifests: [CheckpointManifest]) throws -> [String] {
        var referenced = Set<String>()
        for m in manifests {
            for f in m.files { if let s = f.storedAs { referenced.insert(s) } }
        }
        let sharedPath = Path.join(path, sharedDir)
        var removed: [String] = []
        for name in try fs.listDirectory(sharedPath) where !referenced.contains(sharedDir + "/" + name) {
            try fs.removeFile(Path.join(sharedPath, name))
            removed.append(name)
        }
        try fs.syncDirectory(sharedPath)
        return removed
    }

    static func idNumber(_ id: String) -> UInt64 { UInt64(id) ?? 0 }

    /// Releases the store's lock. Later operations still work in this
    /// process but are no longer protected from another process. Idempotent.
    public func close() {
        lockFile.unlock()
    }

    // MARK: Reading

    /// The visible checkpoints, oldest (smallest id) first.
    public func list() -> [CheckpointManifest] {
        state.withLock { $0 }
    }

    /// The manifest of checkpoint `id`. Throws `.invalidArgument` if there is none.
    public func manifest(id: String) throws -> CheckpointManifest {
        try state.withLock { try CheckpointStore.find(id, in: $0, store: path) }
    }

    static func find(_ id: String, in manifests: [CheckpointManifest], store: String) throws -> CheckpointManifest {
        guard let m = manifests.first(where: { $0.id == id }) else {
            throw StrataError.invalidArgument("checkpoint \(id) is not in store \(store)")
        }
        return m
    }

    /// The files of checkpoint `to` that checkpoint `from` does not hold
    /// (with nil, all of `to`'s files): what a runtime that already shipped
    /// `from` must upload for `to`. Throws `.invalidArgument` for unknown ids.
    public func delta(from: String?, to: String) throws -> [CheckpointFile] {
        let target = try manifest(id: to)
        return target.delta(since: try from.map { try manifest(id: $0) })
    }

    /// Absolute path of a stored file.
    func storedPath(_ file: CheckpointFile) -> String {
        Path.join(path, file.storedAs ?? file.name)
    }

    // MARK: Create

    /// Takes a checkpoint of `database` into the store and returns its
    /// manifest (its `newFiles` are relative to the store's newest
    /// checkpoint). Options: `flushMemtable` (default true; false copies
    /// WALs instead) and `allowHardLinks`; `id` and `parent` are ignored
    /// (the store assigns ids; the parent is its newest checkpoint).
    ///
    /// Tables the store already holds (same name, checksum and size) are
    /// not stored again; new ones are hard-linked from the database (copied
    /// across file systems) into `shared/`. Table checksums recorded by
    /// earlier checkpoints of the same database are reused, so the cost is
    /// proportional to the new tables, not the database. The checkpoint
    /// becomes visible when its manifest is durable; then `keepLast`
    /// retention runs. On error nothing becomes visible (debris is removed
    /// at once, or by the next open after a crash).
    @discardableResult
    public func create(from database: Database, options: CheckpointOptions = CheckpointOptions()) throws
        -> CheckpointManifest {
        try state.withLock { manifests in
            let capture = try database.captureCheckpoint(flushMemtable: options.flushMemtable)
            return try store(capture, options: options, manifests: &manifests)
        }
    }

    /// The first step of `create` for a writer that must not wait for a
    /// memtable flush (a stream partition at a barrier): fixes the cut —
    /// every write to `database` before this call is in the checkpoint,
    /// none after — and returns at once; the memtables flush in the
    /// background. Finish with `finishCreate` (on any thread; in the order
    /// begun). In WAL mode (`flushMemtable` false) the cut is taken whole
    /// here. Throws what `create` throws for the cut.
    package func beginCreate(from database: Database, options: CheckpointOptions = CheckpointOptions()) throws
        -> PendingCheckpoint {
        if options.flushMemtable {
            return PendingCheckpoint(database: database, options: options, cut: try database.beginCheckpointCut())
        }
        return PendingCheckpoint(database: database, options: options,
                                 capture: try database.captureCheckpoint(flushMemtable: false))
    }

    /// The second step: waits for the cut's flushes, then stores the
    /// checkpoint as `create` does and returns its manifest.
    @discardableResult
    package func finishCreate(_ pending: PendingCheckpoint) throws -> CheckpointManifest {
        let capture: CheckpointCapture
        if let taken = pending.capture {
            capture = taken
        } else if let cut = pending.cut {
            capture = try pending.database.finishCheckpointCut(cut)
        } else {
            throw StrataError(.invalidArgument, "checkpoint store \(path): a pending checkpoint finished twice")
        }
        pending.capture = nil
        pending.cut = nil
        return try state.withLock { manifests in try store(capture, options: pending.options, manifests: &manifests) }
    }

    /// Stores a captured cut as the store's next checkpoint (`create`'s
    /// second half). Caller holds `state`.
    private func store(_ capture: CheckpointCapture, options: CheckpointOptions, manifests: inout [CheckpointManifest])
        throws -> CheckpointManifest {
        let database = capture.database
        let id = String((manifests.last.map { CheckpointStore.idNumber($0.id) } ?? 0) + 1)
        let privateRel = CheckpointStore.privateDir + "/" + id
        let privatePath = Path.join(path, privateRel)
        try FileTransfer.removeTree(privatePath, in: fileSystem)
        do {
            let known = KnownChecksums(manifests, dbID: database.dbID)
            var files = try storeTables(capture, known: known, allowLink: options.allowHardLinks)
            try fileSystem.createDirectory(privatePath)
            for var f in try capture.writePrivateFiles(into: privatePath, fileSystem: fileSystem) {
                f.storedAs = privateRel + "/" + f.name
                files.append(f)
            }
            try fileSystem.syncDirectory(privatePath)
            try fileSystem.syncDirectory(Path.join(path, CheckpointStore.privateDir))
            let manifest = CheckpointManifest(
                id: id, parent: manifests.last, createdAt: Date().timeIntervalSince1970,
                sourceDBID: database.dbID, sequence: capture.sequence, walCopied: !options.flushMemtable,
                files: files)
            try FileTransfer.writeFileAtomically(
                try manifest.encoded(), to: Path.join(path, CheckpointStore.metaDir + "/" + id + ".json"),
                in: fileSystem)
            manifests.append(manifest)
            if let keep = self.options.keepLast { try applyRetention(&manifests, keep: keep) }
            return manifest
        } catch {
            // Best effort; a crash here is cleaned up by the next open.
            if !fileSystem.exists(Path.join(path, CheckpointStore.metaDir + "/" + id + ".json")) {
                try? FileTransfer.removeTree(privatePath, in: fileSystem)
                _ = try? CheckpointStore.collectGarbage(path, fileSystem, manifests)
            }
            throw error
        }
    }

    /// Puts every table of the cut into `shared/` (if not there yet) and
    /// returns their entries; fsyncs `shared/`.
    private func storeTables(_ capture: CheckpointCapture, known: KnownChecksums, allowLink: Bool) throws
        -> [CheckpointFile] {
        let db = capture.database
        let sharedPath = Path.join(path, CheckpointStore.sharedDir)
        var files: [CheckpointFile] = []
        for var f in try capture.tableEntries(known: known).sorted(by: { $0.name < $1.name }) {
            let stem = f.name.hasSuffix(".sst") ? String(f.name.dropLast(4)) : f.name
            let sharedName = "\(stem)_\(f.checksum)_\(f.size).sst"
            f.storedAs = CheckpointStore.sharedDir + "/" + sharedName
            let target = Path.join(sharedPath, sharedName)
            if !fileSystem.exists(target) {
                // Into a temp name first: a crash never leaves a partial file
                // under a final (content-addressed) name.
                let temp = target + ".tmp"
                if fileSystem.exists(temp) { try fileSystem.removeFile(temp) }
                try FileTransfer.linkOrCopy(from: Path.join(db.path, f.name), in: db.fileSystem, to: temp,
                                            in: fileSystem, allowLink: allowLink)
                try fileSystem.rename(temp, to: target)
            }
            files.append(f)
        }
        try fileSystem.syncDirectory(sharedPath)
        return files
    }
}

/// A checkpoint begun with `CheckpointStore.beginCreate` and not finished
/// yet: holds the cut (its snapshot keeps compaction from dropping what
/// the cut sees). Thread safety: hand it to one thread, which calls
/// `finishCreate` once.
package final class PendingCheckpoint: @unchecked Sendable {
    // @unchecked: used by one thread at a time (begun on the writer's,
    // finished on another, handed over through a queue).
    let database: Database
    let options: CheckpointOptions
    var cut: CheckpointCut?
    var capture: CheckpointCapture?

    init(database: Database, options: CheckpointOptions, cut: CheckpointCut? = nil, capture: CheckpointCapture? = nil) {
        self.database = database
        self.options = options
        self.cut = cut
        self.capture = capture
    }
}
