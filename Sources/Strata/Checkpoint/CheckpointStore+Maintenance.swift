import Foundation

/// What `CheckpointStore.verify` checked.
///
/// Thread safety: a value type, `Sendable`.
public struct CheckpointVerification: Sendable, Equatable {
    /// Ids of the checkpoints verified.
    public var checkpoints: [String] = []
    /// Distinct stored files checked (a shared table counts once).
    public var files = 0
    /// Of those, tables whose every block checksum was verified.
    public var tables = 0
    /// Bytes read.
    public var bytes: UInt64 = 0
}

/// Options of `CheckpointStore.restore`.
///
/// Thread safety: a value type, `Sendable`.
public struct RestoreOptions: Sendable {
    /// Hard-link tables from the store instead of copying them (default
    /// false, as RocksDB's BackupEngine copies). Links are faster and safe
    /// as far as Strata goes (it never modifies a table), but the restored
    /// database then shares inodes with the store. Falls back to copies
    /// across file systems.
    public var hardLinkTables = false
    /// Check every file's XXH3-64 against the manifest while restoring
    /// (default true; linked tables are read once for it).
    public var verifyChecksums = true

    /// The defaults above.
    public init() {}
}

extension CheckpointStore {
    // MARK: Verify

    /// Verifies checkpoint `id` (nil = every checkpoint): each stored file
    /// exists with its recorded size and XXH3-64, and each table opens and
    /// passes a check of every block's checksum (`TableReader.verifyAll`).
    /// A file shared by several checkpoints is checked once.
    ///
    /// Throws the first problem as a `StrataError` naming the stored file:
    /// `.corruption` for a wrong size, checksum or block, `.ioError` for a
    /// missing or unreadable file, `.invalidArgument` for an unknown id.
    @discardableResult
    public func verify(id: String? = nil) throws -> CheckpointVerification {
        try state.withLock { all in
            let manifests = try id.map { id in [try CheckpointStore.find(id, in: all, store: path)] } ?? all
            return try verify(manifests)
        }
    }

    private func verify(_ manifests: [CheckpointManifest]) throws -> CheckpointVerification {
        var report = CheckpointVerification()
        var seen = Set<String>()
        for m in manifests {
            for f in m.files {
                let path = storedPath(f)
                guard seen.insert(path).inserted else { continue }
                try verifyFile(f, at: path, checkpoint: m.id)
                report.files += 1
                report.bytes += f.size
                if f.kind == .table { report.tables += 1 }
            }
            report.checkpoints.append(m.id)
        }
        return report
    }

    private func verifyFile(_ f: CheckpointFile, at path: String, checkpoint: String) throws {
        guard fileSystem.exists(path) else {
            throw StrataError.ioError("file \(f.name) of checkpoint \(checkpoint) is missing", file: path)
        }
        let file = try fileSystem.openRandomAccess(path)
        defer { file.close() }
        guard file.size == f.size else {
            throw StrataError.corruption(
                "file \(f.name) of checkpoint \(checkpoint) has \(file.size) bytes, expected \(f.size)", file: path)
        }
        let checksum = try FileChecksum.of(file: file, length: file.size)
        guard checksum == f.checksum else {
            throw StrataError.corruption(
                "checksum mismatch for \(f.name) of checkpoint \(checkpoint): computed \(checksum), expected \(f.checksum) (\(FileChecksum.algorithm))",
                file: path)
        }
        if f.kind == .table {
            var options = TableReaderOptions()
            options.verifyChecksums = true
            let reader = try TableReader.open(path: path, fileSystem: fileSystem, options: options)
            do {
                try reader.verifyAll()
            } catch let error as StrataError {
                throw error.located(file: path)
            }
        }
    }

    // MARK: Restore

    /// Restores checkpoint `id` into the new database directory
    /// `destination` (which must not exist; its parent must): the tables
    /// and the checkpoint's MANIFEST, CURRENT and WALs, plus a fresh
    /// IDENTITY. The result opens with Strata and RocksDB's `ldb` and holds
    /// exactly the checkpoint's writes. Written into `destination + ".tmp"`
    /// (a stale one is removed), fsynced, then renamed into place, so after
    /// a crash `destination` is absent or complete.
    ///
    /// Throws `.invalidArgument` for an unknown id or an existing
    /// destination, `.corruption` naming the stored file if a checksum does
    /// not match (with `verifyChecksums`), `.ioError` for file errors; the
    /// temp directory is then removed.
    public func restore(id: String, to destination: String, options: RestoreOptions = RestoreOptions()) throws {
        // Under the lock, so no delete removes files meanwhile.
        try state.withLock { all in
            try restore(try CheckpointStore.find(id, in: all, store: path), to: destination, options: options)
        }
    }

    private func restore(_ m: CheckpointManifest, to destination: String, options: RestoreOptions) throws {
        let id = m.id
        let fs = fileSystem
        guard !fs.exists(destination) else {
            throw StrataError.invalidArgument("restore destination \(destination) already exists (expected a new path)")
        }
        let temp = destination + ".tmp"
        try FileTransfer.removeTree(temp, in: fs)
        try fs.createDirectory(temp)
        do {
            for f in m.files where f.kind != .identity {
                let source = storedPath(f)
                let target = Path.join(temp, f.name)
                var checksum: String? = nil
                if f.kind == .table && options.hardLinkTables {
                    try FileTransfer.linkOrCopy(from: source, in: fs, to: target, in: fs)
                    if options.verifyChecksums { checksum = try FileChecksum.of(path: target, fileSystem: fs) }
                } else {
                    checksum = try FileTransfer.copy(from: source, in: fs, to: target, in: fs)
                }
                let size = try fs.fileSize(target)
                if options.verifyChecksums, let checksum, checksum != f.checksum || size != f.size {
                    throw StrataError.corruption(
                        "stored \(f.name) of checkpoint \(id) has checksum \(checksum) and \(size) bytes, expected \(f.checksum) and \(f.size)",
                        file: source)
                }
            }
            try FileTransfer.writeFile(Array((Identity.uuid() + "\n").utf8), to: Path.join(temp, DBFileName.identity),
                                       in: fs)
            try fs.syncDirectory(temp)
            try fs.rename(temp, to: destination)
            try fs.syncDirectory(Path.dirname(destination))
        } catch {
            try? FileTransfer.removeTree(temp, in: fs)
            throw error
        }
    }

    // MARK: Delete, retention, garbage collection

    /// Deletes checkpoint `id`: its manifest first (durably), then its
    /// private files, then shared files no remaining checkpoint uses.
    /// Throws `.invalidArgument` for an unknown id.
    public func delete(id: String) throws {
        try state.withLock { manifests in
            guard let index = manifests.firstIndex(where: { $0.id == id }) else {
                throw StrataError.invalidArgument("checkpoint \(id) is not in store \(path)")
            }
            try remove(&manifests, at: [index])
            try CheckpointStore.collectGarbage(path, fileSystem, manifests)
        }
    }

    /// Keeps the newest `count` checkpoints (largest ids) and deletes the
    /// rest as `delete(id:)` does, then removes shared files none of the
    /// kept ones use. Never removes a file a kept checkpoint names. Returns
    /// the ids deleted. Throws `.invalidArgument` if `count` < 0.
    @discardableResult
    public func keepLast(_ count: Int) throws -> [String] {
        try state.withLock { manifests in try applyRetention(&manifests, keep: count) }
    }

    /// Retention under the lock (`manifests` is the locked state).
    @discardableResult
    func applyRetention(_ manifests: inout [CheckpointManifest], keep: Int) throws -> [String] {
        guard keep >= 0 else { throw StrataError.invalidArgument("keepLast(\(keep)): expected a count ≥ 0") }
        guard manifests.count > keep else { return [] }
        let doomed = Array(0..<(manifests.count - keep))
        let ids = doomed.map { manifests[$0].id }
        try remove(&manifests, at: doomed)
        try CheckpointStore.collectGarbage(path, fileSystem, manifests)
        return ids
    }

    /// Makes the checkpoints at `indices` invisible (manifests removed, meta
    /// directory fsynced), then removes their private directories.
    private func remove(_ manifests: inout [CheckpointManifest], at indices: [Int]) throws {
        let metaPath = Path.join(path, CheckpointStore.metaDir)
        let ids = indices.map { manifests[$0].id }
        for id in ids { try fileSystem.removeFile(Path.join(metaPath, id + ".json")) }
        try fileSystem.syncDirectory(metaPath)
        manifests.removeAll { ids.contains($0.id) }
        let privatePath = Path.join(path, CheckpointStore.privateDir)
        for id in ids { try FileTransfer.removeTree(Path.join(privatePath, id), in: fileSystem) }
        try fileSystem.syncDirectory(privatePath)
    }

    /// Removes shared files no checkpoint uses (normally done by `delete`,
    /// `keepLast` and `open`). Returns their names.
    @discardableResult
    public func collectGarbage() throws -> [String] {
        try state.withLock { manifests in try CheckpointStore.collectGarbage(path, fileSystem, manifests) }
    }
}
