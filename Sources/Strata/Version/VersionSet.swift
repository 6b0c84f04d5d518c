import Synchronization

/// The state of one column family as the MANIFEST records it.
package struct ColumnFamilyState: Sendable {
    /// Id (0 = default).
    package var id: UInt32
    /// Name ("default" for id 0).
    package var name: String
    /// The current version of its LSM.
    package var version: Version
    /// WALs numbered below this hold nothing this family still needs.
    package var logNumber: UInt64
}

/// The MANIFEST and everything it records: the live files of every column
/// family, the file-number counter, the last sequence number and the WAL
/// numbers still needed (RocksDB `VersionSet`).
///
/// Every change goes through `logAndApply`: the edit is appended to the
/// MANIFEST and synced before the new version becomes current, so a crash
/// at any point leaves either the old or the new state. A new MANIFEST is
/// started on every open (with a snapshot of the state) and published by
/// replacing CURRENT atomically: temp file, fsync, rename, directory fsync.
///
/// Thread safety: all methods may be called from any thread; changes are
/// serialized by an internal lock, reads of the current versions take a
/// short lock. Counters are atomic.
package final class VersionSet: Sendable {
    package let directory: String
    let fileSystem: any FileSystem
    private let state: Locked<State>
    /// The MANIFEST being written; held across each append + sync, which
    /// serializes writers.
    private let manifest = Locked<ManifestWriter>(ManifestWriter())
    private let nextFile: Atomic<UInt64>
    /// Sequence number of the last write made visible to readers.
    private let lastSequenceValue: Atomic<UInt64>
    private let obsolete: Locked<[UInt64]>

    struct State {
        var families: [UInt32: ColumnFamilyState] = [:]
        var maxColumnFamily: UInt32 = 0
        var minLogNumberToKeep: UInt64 = 0
        var prevLogNumber: UInt64 = 0
        var dbID: String?
    }

    struct ManifestWriter {
        var writer: LogWriter?
        var number: UInt64 = 0
        /// The error of a failed append or sync. The MANIFEST may then end
        /// in a partial or unsynced record, and a record appended after it
        /// could be lost on replay (read as part of a torn tail), so no
        /// further edit is written until the database is reopened (which
        /// starts a new MANIFEST).
        var failure: StrataError?
        /// The largest last sequence number an edit recorded: later edits
        /// never record less, even before that number is published (see
        /// `logAndApply(_:recordingLastSequence:)`), since recovery takes
        /// the last record's.
        var recordedLastSequence: UInt64 = 0
    }

    private init(directory: String, fileSystem: any FileSystem) {
        self.directory = directory
        self.fileSystem = fileSystem
        state = Locked(State())
        nextFile = Atomic(2)
        lastSequenceValue = Atomic(0)
        obsolete = Locked([])
    }

    // MARK: Counters

    /// Allocates a new file number (for a WAL, table or MANIFEST).
    package func newFileNumber() -> UInt64 { nextFile.add(1, ordering: .relaxed).oldValue }

    /// The next file number that would be allocated.
    package var nextFileNumber: UInt64 { nextFile.load(ordering: .relaxed) }

    /// The last sequence number visible to readers.
    package var lastSequence: UInt64 { lastSequenceValue.load(ordering: .acquiring) }

    /// Publishes `sequence` as the last visible one (never moves backwards).
    package func setLastSequence(_ sequence: UInt64) {
        var current = lastSequenceValue.load(ordering: .relaxed)
        while sequence > current {
            let (exchanged, original) = lastSequenceValue.compareExchange(
                expected: current, desired: sequence, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }

    /// Makes sure future file numbers are above `number` (used for numbers
    /// found on disk, e.g. WALs being replayed).
    package func markFileNumberUsed(_ number: UInt64) {
        var current = nextFile.load(ordering: .relaxed)
        while number >= current {
            let (exchanged, original) = nextFile.compareExchange(
                expected: current, desired: number + 1, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    // MARK: Reading state

    /// The current version of a column family (nil if it does not exist).
    package func current(columnFamily: UInt32 = 0) -> Version? {
        state.withLock { $0.families[columnFamily]?.version }
    }

    /// All column families, default first, then by id.
    package var columnFamilies: [ColumnFamilyState] {
        state.withLock { s in s.families.values.sorted { $0.id < $1.id } }
    }

    /// The smallest WAL number any column family still needs.
    package var minLogNumberToKeep: UInt64 {
        state.withLock { s in
            max(s.minLogNumberToKeep, s.families.values.map(\.logNumber).min() ?? 0)
        }
    }

    /// The largest column family id ever assigned (RocksDB `max_column_family`):
    /// families above it never existed, dropped ones are at or below it.
    package var maxColumnFamily: UInt32 {
        state.withLock { s in max(s.maxColumnFamily, s.families.keys.max() ?? 0) }
    }

    /// The number of the MANIFEST being written.
    package var manifestNumber: UInt64 { manifest.withLock { $0.number } }

    /// Removes and returns the numbers of table files that are obsolete and
    /// no longer referenced by any version (safe to delete).
    package func takeObsoleteFiles() -> [UInt64] {
        obsolete.withLock { list in
            defer { list.removeAll() }
            return list
        }
    }

    private func tableFile(_ meta: FileMetaData) -> TableFile {
        TableFile(meta: meta) { [weak self] number in
            self?.obsolete.withLock { $0.append(number) }
        }
    }

    // MARK: Create and recover

    /// Creates the MANIFEST and CURRENT of a new, empty database in
    /// `directory` (which must exist and hold no database).
    package static func create(directory: String, fileSystem: any FileSystem, dbID: String?) throws -> VersionSet {
        let set = VersionSet(directory: directory, fileSystem: fileSystem)
        set.state.withLock { s in
            s.families[0] = ColumnFamilyState(id: 0, name: "default", version: .empty, logNumber: 0)
            s.dbID = dbID
        }
        set.nextFile.store(1, ordering: .relaxed)
        try set.startNewManifest()
        return set
    }

    /// Opens the database described by `directory/CURRENT`: replays its
    /// MANIFEST, checks the recorded files exist with their recorded sizes,
    /// then starts a fresh MANIFEST holding a snapshot of the state.
    package static func recover(directory: String, fileSystem: any FileSystem) throws -> VersionSet {
        let set = VersionSet(directory: directory, fileSystem: fileSystem)
        try set.replayManifest()
        try set.checkFilesExist()
        try set.startNewManifest()
        return set
    }

    /// Replays the MANIFEST CURRENT names without writing anything: no
    /// check that the tables exist, no new MANIFEST (for `Database.verify`,
    /// which reports missing tables itself). Throws what `recover` throws
    /// for a damaged CURRENT or MANIFEST.
    static func replayOnly(directory: String, fileSystem: any FileSystem) throws -> VersionSet {
        let set = VersionSet(directory: directory, fileSystem: fileSystem)
        try set.replayManifest()
        return set
    }

    /// An empty set for `Database.repair` that allocates file numbers from
    /// `nextFileNumber` (above every number in the directory) and has no
    /// MANIFEST until `publishRepaired` writes one.
    static func forRepair(directory: String, fileSystem: any FileSystem, nextFileNumber: UInt64) -> VersionSet {
        let set = VersionSet(directory: directory, fileSystem: fileSystem)
        set.nextFile.store(max(nextFileNumber, 2), ordering: .relaxed)
        return set
    }

    /// Installs the state a repair rebuilt — each family with its tables
    /// in L0 and WAL horizon `logNumber` — and publishes it as a new
    /// MANIFEST (synced) named by a new CURRENT (replaced atomically): a
    /// crash leaves either the old CURRENT or the repaired state.
    func publishRepaired(families: [(id: UInt32, name: String, files: [FileMetaData])], logNumber: UInt64,
                         lastSequence: UInt64, dbID: String?) throws {
        var made: [UInt32: ColumnFamilyState] = [:]
        for family in families {
            var edit = VersionEdit()
            edit.newFiles = family.files.map { (0, $0) }
            var builder = VersionBuilder(base: .empty, makeFile: tableFile)
            try builder.apply(edit)
            made[family.id] = ColumnFamilyState(id: family.id, name: family.name, version: try builder.build(),
                                                logNumber: logNumber)
        }
        if made[0] == nil { made[0] = ColumnFamilyState(id: 0, name: "default", version: .empty, logNumber: logNumber) }
        setLastSequence(lastSequence)
        markFileNumberUsed(logNumber)
        let final = made
        state.withLock { s in
            s.families = final
            s.maxColumnFamily = final.keys.max() ?? 0
            s.minLogNumberToKeep = logNumber
            s.dbID = dbID
        }
        try startNewManifest()
    }

    /// The MANIFEST named by CURRENT.
    static func currentManifest(directory: String, fileSystem: any FileSystem) throws -> String {
        let currentPath = Path.join(directory, DBFileName.current)
        let file = try fileSystem.openRandomAccess(currentPath)
        defer { file.close() }
        let text = String(decoding: try file.read(at: 0, count: Int(file.size)), as: UTF8.self)
        guard text.hasSuffix("\n") else {
            throw StrataError.corruption("CURRENT file does not end with newline", file: currentPath)
        }
        let name = String(text.dropLast())
        guard case .manifest = DBFileName.parse(name) else {
            throw StrataError.corruption("CURRENT names \"\(name)\", expected MANIFEST-NNNNNN", file: currentPath)
        }
        return name
    }

    private func replayManifest() throws {
        let name = try VersionSet.currentManifest(directory: directory, fileSystem: fileSystem)
        let path = Path.join(directory, name)
        guard fileSystem.exists(path) else {
            // A damaged CURRENT can name a file that never existed.
            throw StrataError.corruption("CURRENT names \(name), which does not exist",
                                         file: Path.join(directory, DBFileName.current))
        }
        let file = try fileSystem.openRandomAccess(path)
        defer { file.close() }
        let reader = LogReader(file: file, badChecksumAtEndIsTorn: false)

        var builders: [UInt32: VersionBuilder] = [0: VersionBuilder(base: .empty, makeFile: tableFile)]
        var families: [UInt32: ColumnFamilyState] = [
            0: ColumnFamilyState(id: 0, name: "default", version: .empty, logNumber: 0),
        ]
        var logNumber: UInt64? = nil
        var nextFileNumber: UInt64? = nil
        var lastSequence: UInt64? = nil
        var maxCF: UInt32 = 0
        var minLogToKeep: UInt64 = 0
        var prevLog: UInt64 = 0
        var dbID: String? = nil
        var group: [VersionEdit] = []

        func applyEdit(_ edit: VersionEdit) throws {
            if let comparator = edit.comparator, comparator != Bytewise.name {
                throw StrataError.invalidArgument(
                    "\(Bytewise.name): does not match existing comparator \(comparator)", file: path)
            }
            let cf = edit.columnFamily
            if let added = edit.columnFamilyAdd {
                guard families[cf] == nil else {
                    throw StrataError.corruption("MANIFEST adds column family \(cf) (\(added)) twice", file: path)
                }
                families[cf] = ColumnFamilyState(id: cf, name: added, version: .empty, logNumber: 0)
                builders[cf] = VersionBuilder(base: .empty, makeFile: tableFile)
                maxCF = max(maxCF, cf)
            } else if edit.columnFamilyDrop {
                // RocksDB refuses to drop it ("Can't drop default column
                // family"); without it no state could be written back.
                guard cf != 0 else {
                    throw StrataError.corruption("MANIFEST drops the default column family, which cannot be dropped",
                                                 file: path, offset: reader.lastRecordOffset)
                }
                families[cf] = nil
                builders[cf] = nil
            } else if families[cf] == nil {
                // RocksDB ignores edits of dropped families.
                return
            }
            if families[cf] != nil {
                try builders[cf]!.apply(edit)
                if let n = edit.logNumber {
                    families[cf]!.logNumber = n
                    logNumber = n
                }
            }
            if let n = edit.nextFileNumber { nextFileNumber = n }
            if let n = edit.lastSequence { lastSequence = n }
            if let n = edit.maxColumnFamily { maxCF = max(maxCF, n) }
            if let n = edit.minLogNumberToKeep { minLogToKeep = max(minLogToKeep, n) }
            if let n = edit.prevLogNumber { prevLog = n }
            if let id = edit.dbID { dbID = id }
        }

        while let record = try reader.next() {
            let edit: VersionEdit
            do {
                edit = try VersionEdit.decode(record)
            } catch {
                throw error.located(file: path, offset: reader.lastRecordOffset)
            }
            if let remaining = edit.remainingInAtomicGroup {
                group.append(edit)
                if remaining == 0 {
                    for e in group { try applyEdit(e) }
                    group.removeAll()
                }
                continue
            }
            if !group.isEmpty {
                throw StrataError.corruption("MANIFEST atomic group is interrupted by an edit outside it",
                                             file: path, offset: reader.lastRecordOffset)
            }
            try applyEdit(edit)
        }
        // An incomplete atomic group at the end was never acknowledged: ignore it.

        var missing: [String] = []
        if logNumber == nil { missing.append("log_file_number") }
        if nextFileNumber == nil { missing.append("next_file_number") }
        if lastSequence == nil { missing.append("last_sequence") }
        if !missing.isEmpty {
            throw StrataError.corruption("no \(missing.joined(separator: ", ")) entry in MANIFEST", file: path)
        }
        for (id, builder) in builders {
            do {
                families[id]!.version = try builder.build()
            } catch {
                throw error.located(file: path)
            }
        }
        var highest = nextFileNumber!
        highest = max(highest, (families.values.flatMap { $0.version.allFiles.map(\.number) }.max() ?? 0) + 1)
        nextFile.store(highest, ordering: .relaxed)
        lastSequenceValue.store(lastSequence!, ordering: .relaxed)
        let finalFamilies = families
        state.withLock { s in
            s.families = finalFamilies
            s.maxColumnFamily = maxCF
            s.minLogNumberToKeep = minLogToKeep
            s.prevLogNumber = prevLog
            s.dbID = dbID
        }
        if case .manifest(let n) = DBFileName.parse(name) {
            manifest.withLock { $0.number = n }
            markFileNumberUsed(n)
        }
        if reader.isTruncatedTail { try checkTornTail(path: path, end: reader.lastRecordOffset) }
    }

    /// A MANIFEST that ends in a partial record is normal after a crash
    /// during an append: that edit was never synced, so nothing acted on
    /// it. But damage to the length field of a synced last record looks
    /// the same, and that edit may have been acted on: after a flush's edit
    /// is synced, the WALs it made obsolete are deleted. So a torn tail is
    /// accepted only if the WAL of the oldest log number still needed
    /// exists (WALs are created before an edit names them and deleted only
    /// after an edit moves past them); otherwise the edit that moved past
    /// it is the one lost, and replaying without it would silently drop
    /// the writes that WAL held.
    private func checkTornTail(path: String, end: UInt64) throws {
        let needed = minLogNumberToKeep
        guard needed > 0 else { return }
        let wal = Path.join(directory, DBFileName.wal(needed))
        if !fileSystem.exists(wal) {
            throw StrataError.corruption(
                "MANIFEST ends in a damaged or torn record after the last intact one, and \(DBFileName.wal(needed)), which the intact records still need, is gone: the lost record is one the database acted on",
                file: path, offset: end)
        }
    }

    private func checkFilesExist() throws {
        for family in columnFamilies {
            for file in family.version.allFiles {
                let path = Path.join(directory, DBFileName.table(file.number))
                guard fileSystem.exists(path) else {
                    throw StrataError.corruption("table file listed in the MANIFEST is missing", file: path)
                }
                let size = try fileSystem.fileSize(path)
                guard size == file.fileSize else {
                    throw StrataError.corruption(
                        "table file size \(size) differs from the MANIFEST's \(file.fileSize)", file: path)
                }
            }
        }
    }

    /// Writes a new MANIFEST with the whole current state and points CURRENT at it.
    private func startNewManifest() throws {
        try manifest.withLock { m in
            let number = newFileNumber()
            let path = Path.join(directory, DBFileName.manifest(number))
            let file = try fileSystem.createWritable(path)
            let writer = LogWriter(file: file)
            var published = false
            do {
                let snapshot = state.withLock { s in (s.families, s.maxColumnFamily, s.minLogNumberToKeep, s.dbID) }
                var header = VersionEdit()
                header.comparator = Bytewise.name
                header.dbID = snapshot.3
                try writer.addRecord(header.encode())
                for family in snapshot.0.values.sorted(by: { $0.id < $1.id }) {
                    if family.id != 0 {
                        // As RocksDB writes it: the family is added by a
                        // record of its own (RocksDB ignores files in an
                        // add record), then its files follow.
                        var add = VersionEdit()
                        add.columnFamily = family.id
                        add.columnFamilyAdd = family.name
                        add.comparator = Bytewise.name
                        try writer.addRecord(add.encode())
                    }
                    var edit = VersionEdit()
                    edit.columnFamily = family.id
                    for (level, files) in family.version.levels.enumerated() {
                        for file in files { edit.newFiles.append((level, file.meta)) }
                    }
                    edit.logNumber = family.logNumber
                    try writer.addRecord(edit.encode())
                }
                var counters = VersionEdit()
                counters.nextFileNumber = nextFileNumber
                counters.lastSequence = lastSequence
                counters.maxColumnFamily = snapshot.1
                counters.minLogNumberToKeep = snapshot.2
                counters.prevLogNumber = 0
                try writer.addRecord(counters.encode())
                try writer.sync()
                try setCurrent(manifestNumber: number, renamed: &published)
            } catch {
                try? writer.close()
                // Once CURRENT names the new MANIFEST (even if the directory
                // sync after the rename failed), removing it would leave a
                // CURRENT that names a missing file.
                if !published { try? fileSystem.removeFile(path) }
                throw error
            }
            try? m.writer?.close()
            let oldNumber = m.number
            m.writer = writer
            m.number = number
            if oldNumber != 0 && oldNumber != number {
                try? fileSystem.removeFile(Path.join(directory, DBFileName.manifest(oldNumber)))
            }
        }
    }

    /// Replaces CURRENT atomically: temp file, fsync, rename, directory fsync.
    /// Sets `renamed` once CURRENT names the new MANIFEST.
    private func setCurrent(manifestNumber: UInt64, renamed: inout Bool) throws {
        let tempNumber = manifestNumber
        let temp = Path.join(directory, DBFileName.temp(tempNumber))
        let file = try fileSystem.createWritable(temp)
        do {
            try file.append(Array((DBFileName.manifest(manifestNumber) + "\n").utf8))
            try file.sync()
            try file.close()
            killPoint("CURRENT.rename")
            try fileSystem.rename(temp, to: Path.join(directory, DBFileName.current))
            renamed = true
            killPoint("CURRENT.renamed")
        } catch {
            try? fileSystem.removeFile(temp)
            throw error
        }
        try fileSystem.syncDirectory(directory)
    }

    // MARK: Changes

    /// Appends `edits` to the MANIFEST as one atomic group (one edit: a plain
    /// record), syncs, and installs the resulting versions. Each edit names
    /// its column family; `logNumber` in an edit moves that family's WAL
    /// horizon. Counters (next file number, last sequence) are added to the
    /// last edit. Files that leave the LSM are marked obsolete and deleted
    /// once no version references them.
    ///
    /// On a MANIFEST write or sync failure nothing is installed and the error
    /// is thrown; the caller must stop writing (background error). The edit
    /// may still be in the MANIFEST (replayed on reopen), so the caller must
    /// keep the files it adds. Every later call throws `.ioError` until the
    /// database is reopened.
    ///
    /// `recordingLastSequence`: a last sequence number to record if larger
    /// than `lastSequence` — for an edit whose files carry sequence numbers
    /// the database publishes only after the edit is installed (ingestion).
    package func logAndApply(_ edits: [VersionEdit], recordingLastSequence: UInt64? = nil) throws {
        precondition(!edits.isEmpty)
        try manifest.withLock { m in
            var edits = edits
            // Build the new versions first: a bad edit must not reach the MANIFEST.
            var newVersions: [UInt32: Version] = [:]
            var removed: [TableFile] = []
            var addedFamilies: [UInt32: String] = [:]
            var droppedFamilies: Set<UInt32> = []
            let families = state.withLock { $0.families }
            for edit in edits {
                let cf = edit.columnFamily
                if let name = edit.columnFamilyAdd {
                    addedFamilies[cf] = name
                    newVersions[cf] = .empty
                    continue
                }
                if edit.columnFamilyDrop {
                    droppedFamilies.insert(cf)
                    continue
                }
                guard let base = newVersions[cf] ?? families[cf]?.version else {
                    throw StrataError.invalidArgument("column family \(cf) does not exist")
                }
                var builder = VersionBuilder(base: base, makeFile: tableFile)
                try builder.apply(edit)
                let built = try builder.build()
                removed += builder.removedFiles(from: base)
                newVersions[cf] = built
            }
            edits[edits.count - 1].nextFileNumber = nextFileNumber
            let recorded = max(lastSequence, recordingLastSequence ?? 0, m.recordedLastSequence)
            edits[edits.count - 1].lastSequence = recorded
            if !addedFamilies.isEmpty {
                edits[edits.count - 1].maxColumnFamily = state.withLock { s in
                    max(s.maxColumnFamily, addedFamilies.keys.max() ?? 0)
                }
            }
            if edits.count > 1 {
                for i in edits.indices { edits[i].remainingInAtomicGroup = UInt32(edits.count - 1 - i) }
            }
            guard let writer = m.writer else {
                throw StrataError(.closed, "MANIFEST is closed")
            }
            if let failure = m.failure {
                throw StrataError.ioError("MANIFEST not written: an earlier write failed, reopen the database: \(failure.message)",
                                          file: failure.file ?? Path.join(directory, DBFileName.manifest(m.number)))
            }
            do {
                // Recorded from the first byte on: a failed write may still
                // have reached the file, and recovery would read it.
                m.recordedLastSequence = recorded
                for edit in edits { try writer.addRecord(edit.encode()) }
                try writer.sync()
            } catch {
                let failure = (error as? StrataError)
                    ?? StrataError.ioError("\(error)", file: Path.join(directory, DBFileName.manifest(m.number)))
                m.failure = failure
                throw failure
            }

            state.withLock { s in
                for (cf, name) in addedFamilies {
                    s.families[cf] = ColumnFamilyState(id: cf, name: name, version: .empty, logNumber: 0)
                    s.maxColumnFamily = max(s.maxColumnFamily, cf)
                }
                for (cf, version) in newVersions where s.families[cf] != nil {
                    s.families[cf]!.version = version
                }
                for edit in edits {
                    if let n = edit.logNumber, s.families[edit.columnFamily] != nil {
                        s.families[edit.columnFamily]!.logNumber = n
                    }
                    if let n = edit.minLogNumberToKeep { s.minLogNumberToKeep = max(s.minLogNumberToKeep, n) }
                }
                for cf in droppedFamilies {
                    if let family = s.families[cf] { removed += family.version.allFiles }
                    s.families[cf] = nil
                }
            }
            for file in removed { file.markObsolete() }
        }
    }

    /// Allocates an id for a new column family.
    package func newColumnFamilyID() -> UInt32 {
        state.withLock { s in max(s.maxColumnFamily, s.families.keys.max() ?? 0) + 1 }
    }

    /// Closes the MANIFEST writer.
    package func close() throws {
        try manifest.withLock { m in
            defer { m.writer = nil }
            try m.writer?.close()
        }
    }
}
