import Glibc

/// Creating a column family from existing tables (RocksDB
/// `CreateColumnFamilyWithImport`, db/import_column_family_job.cc).
extension Database {
    /// Creates the column family `name` (options as `createColumnFamily`)
    /// holding exactly the tables `files`, each at its given level with its
    /// given sequence numbers — the tables of a family exported from this
    /// or another database (any Strata or RocksDB table with a bytewise
    /// comparator, not only external files).
    ///
    /// The files are hard-linked (`moveFiles`; falling back to a copy
    /// where links are impossible) or copied into the database and synced,
    /// then one synced MANIFEST record adds them; the database's last
    /// sequence number is raised to the files' largest, so later writes
    /// are newer than every imported entry. With `moveFiles` the caller's
    /// links are removed afterwards.
    ///
    /// Throws `.invalidArgument` for an empty list, a level outside 0…6,
    /// files of one level ≥ 1 whose ranges overlap ("Files have
    /// overlapping ranges"), an empty file or a name `createColumnFamily`
    /// refuses; `.corruption` for a damaged file; `.ioError`. On failure
    /// the family is dropped again and the copied files are removed.
    /// Thread-safe; writes wait while the files are installed.
    @discardableResult
    public func createColumnFamilyWithImport(named name: String, options familyOptions: ColumnFamilyOptions? = nil,
                                             files: [ImportedTableFile], moveFiles: Bool = false) throws -> ColumnFamily {
        try checkOpen()
        guard !files.isEmpty else { throw StrataError.invalidArgument("The list of files is empty") }
        var infos: [ExternalTableInfo] = []
        for f in files {
            guard (0..<Version.levelCount).contains(f.level) else {
                throw StrataError.invalidArgument("level \(f.level) is outside 0…\(Version.levelCount - 1)", file: f.path)
            }
            guard f.smallestSequence <= f.largestSequence, f.largestSequence <= maxSequenceNumber else {
                throw StrataError.invalidArgument(
                    "sequence range \(f.smallestSequence)…\(f.largestSequence) is inverted or too large", file: f.path)
            }
            var info = try ExternalTableInfo.read(path: f.path, number: versions.newFileNumber(), fileSystem: fileSystem,
                                                  external: false, verifyChecksums: false,
                                                  knownLargestSequence: f.largestSequence)
            info.level = f.level
            guard info.entries > 0 || info.rangeDeletions > 0 else {
                throw StrataError.invalidArgument("File contain no entries", file: f.path)
            }
            infos.append(info)
        }
        for level in 1..<Version.levelCount {
            let sorted = infos.filter { $0.level == level }.sorted { InternalKey.compare($0.smallest, $1.smallest) < 0 }
            if zip(sorted, sorted.dropFirst()).contains(where: { InternalKey.compare($0.largest, $1.smallest) >= 0 }) {
                throw StrataError.invalidArgument("Files have overlapping ranges (level \(level))")
            }
        }
        let handle = try createColumnFamily(named: name, options: familyOptions)
        let family = handle.data
        var manifestWritten = false
        do {
            for i in infos.indices {
                try infos[i].transfer(into: path, fileSystem: fileSystem, link: moveFiles, fallBackToCopy: true)
            }
            try fileSystem.syncDirectory(path)
            var edit = VersionEdit()
            edit.columnFamily = family.id
            let now = UInt64(max(0, time(nil)))
            for (info, f) in zip(infos, files) {
                var meta = FileMetaData(number: info.number, fileSize: info.fileSize, smallest: info.smallest,
                                        largest: info.largest, smallestSequence: f.smallestSequence,
                                        largestSequence: f.largestSequence)
                meta.oldestAncesterTime = now
                meta.fileCreationTime = now
                edit.newFiles.append((info.level, meta))
            }
            let largest = files.map(\.largestSequence).max() ?? 0
            try monitor.withLock {
                try atWriterQueueHead {
                    if family.dropped { throw StrataError.invalidArgument("column family \(name) was dropped") }
                    try installExternalFiles(edit, family: family, lastSequence: largest,
                                             manifestWritten: &manifestWritten)
                }
            }
        } catch {
            if !manifestWritten {
                for f in infos { if let p = f.internalPath { try? fileSystem.removeFile(p) } }
                try? dropColumnFamily(named: name)
            }
            throw error
        }
        if moveFiles {
            for f in files { try? fileSystem.removeFile(f.path) }
        }
        return handle
    }
}
