/// Capturing the state a checkpoint holds: the live tables of every column
/// family at one sequence number, pinned so nothing deletes them, plus (in
/// WAL mode) the WALs still needed, opened with their sizes at that moment.
extension Database {
    /// Takes the consistent cut a checkpoint is built from.
    ///
    /// Flush mode (`flushMemtable`): in the writer queue (no write in
    /// flight), read the last sequence S, take a snapshot at S and switch the
    /// memtable of every column family that has data; each family's version
    /// is pinned the moment its memtables holding writes ≤ S are flushed
    /// (CheckpointCut.swift), so it holds every write ≤ S and nothing newer.
    ///
    /// WAL mode: in the writer queue, read S, take the snapshot, pin the
    /// versions with their log numbers, and open every WAL at or above the
    /// smallest log number any family still needs; an open file's size is fixed at this moment and
    /// ends at a record boundary (every write flushes its record), so the
    /// WAL prefixes hold exactly the writes ≤ S not yet in tables. Writes
    /// made with `disableWAL` and not yet flushed are not in a WAL-mode
    /// checkpoint. Open descriptors keep the WALs readable even if the
    /// database deletes them meanwhile.
    func captureCheckpoint(flushMemtable: Bool) throws -> CheckpointCapture {
        try checkOpen()
        for _ in 0..<1000 {
            if let capture = try (flushMemtable ? tryCaptureFlushed() : captureWithWALs()) {
                return capture
            }
        }
        throw StrataError(.busy, "checkpoint of \(path): could not take a consistent cut; later memtables kept being flushed first")
    }

    private func newSnapshot(at sequence: UInt64) -> Snapshot {
        snapshots.add(sequence)
        return Snapshot(sequence: sequence, list: snapshots)
    }

    /// Flush mode: the two steps of CheckpointCut.swift, back to back.
    private func tryCaptureFlushed() throws -> CheckpointCapture? {
        try finishCheckpointCut(try beginCheckpointCut())
    }

    private func captureWithWALs() throws -> CheckpointCapture? {
        try monitor.withLock {
            try atWriterQueueHead {
                let snapshot = newSnapshot(at: versions.lastSequence)
                let families = versions.columnFamilies
                // Every WAL some live family may still need (in-memory log
                // numbers: WALs below them may be gone already). WALs at or
                // above this are never deleted while it holds, so listing
                // the directory under the monitor is safe.
                let minLog = familyList.map(\.logNumber).min() ?? 0
                var numbers: [UInt64] = []
                for name in try fileSystem.listDirectory(path) {
                    if case .wal(let n) = DBFileName.parse(name), n >= minLog, n <= walNumber { numbers.append(n) }
                }
                numbers.sort()
                try wal?.flush()
                var wals: [(number: UInt64, file: any RandomAccessFile)] = []
                do {
                    for n in numbers {
                        let file = try fileSystem.openRandomAccess(Path.join(path, DBFileName.wal(n)))
                        wals.append((n, file))
                    }
                } catch {
                    for w in wals { w.file.close() }
                    throw error
                }
                return CheckpointCapture(database: self, sequence: snapshot.sequence, snapshot: snapshot,
                                         families: families, wals: wals, manifestNumber: versions.newFileNumber(),
                                         nextFileNumber: versions.nextFileNumber,
                                         maxColumnFamily: versions.newColumnFamilyID() - 1)
            }
        }
    }
}

/// A consistent cut of a database, pinned: the versions' tables cannot be
/// deleted and the snapshot keeps compaction from dropping what the cut
/// sees, until this object goes away.
///
/// Thread safety: used by one thread (the one taking the checkpoint).
final class CheckpointCapture {
    let database: Database
    /// Every write ≤ this is in the cut; none after it.
    let sequence: UInt64
    /// A snapshot at `sequence` (pins entries against compaction).
    let snapshot: Snapshot
    /// Versions and log numbers of every column family, default first.
    let families: [ColumnFamilyState]
    /// WAL mode: the WALs to copy, each up to its size at the cut.
    let wals: [(number: UInt64, file: any RandomAccessFile)]
    /// The number of the checkpoint's MANIFEST (allocated from the database).
    let manifestNumber: UInt64
    /// The next file number the checkpoint's MANIFEST records (above every
    /// file in the cut and the MANIFEST itself).
    let nextFileNumber: UInt64
    /// The highest column family id ever used (dropped ones included), so a
    /// database opened on the checkpoint never reuses an id.
    let maxColumnFamily: UInt32

    init(database: Database, sequence: UInt64, snapshot: Snapshot, families: [ColumnFamilyState],
         wals: [(number: UInt64, file: any RandomAccessFile)], manifestNumber: UInt64, nextFileNumber: UInt64,
         maxColumnFamily: UInt32) {
        self.database = database
        self.sequence = sequence
        self.snapshot = snapshot
        self.families = families
        self.wals = wals
        self.manifestNumber = manifestNumber
        self.nextFileNumber = nextFileNumber
        self.maxColumnFamily = maxColumnFamily
    }

    deinit {
        for w in wals { w.file.close() }
    }

    /// Every table of every family, in family then level order.
    var tables: [FileMetaData] { families.flatMap { $0.version.allFiles.map(\.meta) } }

    /// The MANIFEST a database opened on the checkpoint starts from: the
    /// comparator, per family an add record (not for the default family;
    /// RocksDB ignores files in an add record) and an edit with all its
    /// files and its log number, then the counters (RocksDB's layout for a
    /// fresh MANIFEST).
    func manifestRecords() -> [[UInt8]] {
        var records: [[UInt8]] = []
        var header = VersionEdit()
        header.comparator = Bytewise.name
        records.append(header.encode())
        for family in families {
            if family.id != 0 {
                var add = VersionEdit()
                add.columnFamily = family.id
                add.columnFamilyAdd = family.name
                add.comparator = Bytewise.name
                records.append(add.encode())
            }
            var edit = VersionEdit()
            edit.columnFamily = family.id
            for (level, files) in family.version.levels.enumerated() {
                for file in files { edit.newFiles.append((level, file.meta)) }
            }
            edit.logNumber = family.logNumber
            records.append(edit.encode())
        }
        var counters = VersionEdit()
        counters.nextFileNumber = nextFileNumber
        counters.lastSequence = sequence
        counters.maxColumnFamily = max(maxColumnFamily, families.map(\.id).max() ?? 0)
        counters.minLogNumberToKeep = families.map(\.logNumber).min() ?? 0
        counters.prevLogNumber = 0
        records.append(counters.encode())
        return records
    }

    /// Writes the checkpoint's own files into `directory` (which exists):
    /// MANIFEST, CURRENT, a fresh IDENTITY and, in WAL mode, the WAL
    /// prefixes; each fsynced. Returns their entries with checksums.
    func writePrivateFiles(into directory: String, fileSystem: any FileSystem) throws -> [CheckpointFile] {
        var entries: [CheckpointFile] = []
        let manifestName = DBFileName.manifest(manifestNumber)
        let manifestPath = Path.join(directory, manifestName)
        let file = try fileSystem.createWritable(manifestPath)
        let writer = LogWriter(file: file)
        do {
            for record in manifestRecords() { try writer.addRecord(record) }
            try writer.sync()
            try writer.close()
        } catch {
            try? writer.close()
            throw error
        }
        entries.append(try entry(manifestName, .manifest, directory, fileSystem))
        for (number, wal) in wals {
            let name = DBFileName.wal(number)
            try FileTransfer.copy(file: wal, length: wal.size, to: Path.join(directory, name), in: fileSystem)
            entries.append(try entry(name, .wal, directory, fileSystem))
        }
        try FileTransfer.writeFile(Array((Identity.uuid() + "\n").utf8), to: Path.join(directory, DBFileName.identity),
                                   in: fileSystem)
        entries.append(try entry(DBFileName.identity, .identity, directory, fileSystem))
        // CURRENT last: a directory is a database only once it names the MANIFEST.
        try FileTransfer.writeFile(Array((manifestName + "\n").utf8), to: Path.join(directory, DBFileName.current),
                                   in: fileSystem)
        entries.append(try entry(DBFileName.current, .current, directory, fileSystem))
        return entries
    }

    private func entry(_ name: String, _ kind: CheckpointFile.Kind, _ directory: String,
                       _ fileSystem: any FileSystem) throws -> CheckpointFile {
        let path = Path.join(directory, name)
        let file = try fileSystem.openRandomAccess(path)
        defer { file.close() }
        return CheckpointFile(name: name, kind: kind, size: file.size,
                              checksum: try FileChecksum.of(file: file, length: file.size))
    }

    /// The entry of every table, with its checksum: reused from `known`
    /// (tables of the same database with the same name and size, from
    /// earlier checkpoint manifests) or from the database's cache of tables
    /// hashed by earlier checkpoints, else computed by reading the file.
    /// Leaves the cache holding the live tables' checksums.
    func tableEntries(known: KnownChecksums) throws -> [CheckpointFile] {
        let cached = database.checkpointChecksums.withLock { $0 }
        let entries = try tables.map { meta in
            let name = DBFileName.table(meta.number)
            let checksum: String
            if let c = known.checksum(name: name, size: meta.fileSize) {
                checksum = c
            } else if let c = cached[meta.number], c.size == meta.fileSize {
                checksum = c.checksum
            } else if meta.fileChecksumFunctionName == HashingWritableFile.functionName, meta.fileChecksum.count == 8 {
                // Hashed as it was written (flush and compaction outputs).
                checksum = FileChecksum.hex(meta.fileChecksum.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            } else {
                let path = Path.join(database.path, name)
                let file = try database.fileSystem.openRandomAccess(path)
                defer { file.close() }
                guard file.size == meta.fileSize else {
                    throw StrataError.corruption("table size \(file.size) differs from the MANIFEST's \(meta.fileSize)",
                                                 file: path)
                }
                checksum = try FileChecksum.of(file: file, length: meta.fileSize)
            }
            return CheckpointFile(name: name, kind: .table, size: meta.fileSize, checksum: checksum)
        }
        // Keep the checksums of the tables live now (older ones are gone for good).
        var fresh: [UInt64: TableChecksum] = [:]
        for (meta, entry) in zip(tables, entries) { fresh[meta.number] = TableChecksum(size: entry.size, checksum: entry.checksum) }
        database.checkpointChecksums.withLock { cache in
            cache = cache.filter { number, _ in fresh[number] == nil && number > (fresh.keys.max() ?? 0) }
            cache.merge(fresh) { _, new in new }
        }
        return entries
    }
}

/// A table's size and XXH3-64 (hex), as checkpoints record them.
struct TableChecksum: Sendable {
    var size: UInt64
    var checksum: String
}

/// Table checksums already computed by earlier checkpoints of one database,
/// by file name and size.
struct KnownChecksums {
    private var byName: [String: (size: UInt64, checksum: String)] = [:]

    /// The tables `manifests` list that came from database `dbID`.
    init(_ manifests: [CheckpointManifest], dbID: String) {
        for m in manifests where m.sourceDBID == dbID {
            for f in m.files where f.kind == .table { byName[f.name] = (f.size, f.checksum) }
        }
    }

    func checksum(name: String, size: UInt64) -> String? {
        guard let known = byName[name], known.size == size else { return nil }
        return known.checksum
    }
}
