/// Opening a database: create or recover the MANIFEST, replay WALs, flush
/// what they held, start a fresh WAL and the background threads.
extension Database {
    /// Opens (or, with `options.createIfMissing`, creates) the database in
    /// directory `path`.
    ///
    /// Recovery replays every WAL at or above the MANIFEST's log number in
    /// number order; a torn or corrupt record ends the replay at the last
    /// intact record (point-in-time recovery), and what was recovered is
    /// flushed to L0 before the open returns.
    ///
    /// Throws `.invalidArgument` if an option is out of range
    /// (`Options.validate`; `.notSupported` for a compression Strata does
    /// not write), if the database is absent and `createIfMissing` is
    /// false, or present and `errorIfExists` is true;
    /// `.corruption` naming the file for a damaged MANIFEST or table, or
    /// when CURRENT is missing from a directory that holds tables or WALs
    /// (a lost CURRENT: creating a database there would delete them);
    /// `.busy` if the directory is locked by another open (this process or
    /// another, Strata or RocksDB).
    public static func open(at path: String, options: Options = Options()) throws -> Database {
        try ColumnFamilyOptions.checkWritable(formatVersion: options.formatVersion, family: "default")
        for (name, family) in options.columnFamilyOptions {
            try ColumnFamilyOptions.checkWritable(formatVersion: family.formatVersion, family: name)
        }
        try options.validate()
        let fs = options.fileSystem
        if options.createIfMissing { try fs.createDirectory(path) }
        guard fs.exists(path) else {
            throw StrataError.invalidArgument("\(path): does not exist (createIfMissing is false)")
        }
        let lock = try fs.lock(Path.join(path, DBFileName.lock))
        do {
            let versions: VersionSet
            let dbID: String
            if fs.exists(Path.join(path, DBFileName.current)) {
                if options.errorIfExists {
                    throw StrataError.invalidArgument("\(path): exists (errorIfExists is true)")
                }
                versions = try VersionSet.recover(directory: path, fileSystem: fs)
                dbID = (try? readIdentity(path, fs)) ?? Identity.uuid()
            } else {
                // Tables or WALs without CURRENT: a lost CURRENT, not an
                // absent database, whatever createIfMissing says.
                try refuseLostCurrent(path, fs)
                guard options.createIfMissing else {
                    throw StrataError.invalidArgument("\(path): does not exist (createIfMissing is false)")
                }
                dbID = Identity.uuid()
                try writeIdentity(path, fs, dbID)
                versions = try VersionSet.create(directory: path, fileSystem: fs, dbID: nil)
            }
            if !fs.exists(Path.join(path, DBFileName.identity)) { try writeIdentity(path, fs, dbID) }
            let db = Database(path: path, options: options, fileSystem: fs, versions: versions, lockFile: lock, dbID: dbID)
            try db.recoverWALs()
            db.deleteObsoleteFiles(orphans: true)
            db.writeOptionsFile()
            db.startBackgroundThreads()
            db.monitor.withLock { db.maybeScheduleWork() }
            return db
        } catch {
            lock.unlock()
            throw error
        }
    }

    /// Without CURRENT a directory is a new database — unless it holds
    /// tables or WALs, whose CURRENT was lost: creating a database there
    /// would delete every table as an orphan. Throws `.corruption` then
    /// (`Database.repair` rebuilds CURRENT and the MANIFEST). A MANIFEST
    /// alone is left by a creation cut short before CURRENT was written
    /// (no WAL or table exists before CURRENT), and is written over.
    static func refuseLostCurrent(_ path: String, _ fs: any FileSystem) throws {
        var found: [String] = []
        for name in try fs.listDirectory(path).sorted() {
            switch DBFileName.parse(name) {
            case .table, .wal: found.append(name)
            default: continue
            }
        }
        guard found.isEmpty else {
            throw StrataError.corruption(
                "CURRENT is missing but the directory holds a database's files (\(found.prefix(3).joined(separator: ", "))\(found.count > 3 ? ", …" : "")): not creating a new database over them; Database.repair (strata repair) rebuilds CURRENT",
                file: Path.join(path, DBFileName.current))
        }
    }

    static func readIdentity(_ path: String, _ fs: any FileSystem) throws -> String {
        let file = try fs.openRandomAccess(Path.join(path, DBFileName.identity))
        defer { file.close() }
        let text = String(decoding: try file.read(at: 0, count: Int(file.size)), as: UTF8.self)
        return text.trimmingNewlines()
    }

    static func writeIdentity(_ path: String, _ fs: any FileSystem, _ id: String) throws {
        let temp = Path.join(path, "IDENTITY.dbtmp")
        let file = try fs.createWritable(temp)
        try file.append(Array((id + "\n").utf8))
        try file.sync()
        try file.close()
        try fs.rename(temp, to: Path.join(path, DBFileName.identity))
    }

    /// Replays the WALs the MANIFEST still needs into memtables, flushes
    /// them to L0, and starts a new WAL. Runs before any other thread uses
    /// the database.
    ///
    /// Every column family has its own log number: a WAL record's update
    /// for a family is replayed only if the WAL is numbered at or above the
    /// family's log number (older ones are in its tables already), and
    /// updates for families the MANIFEST does not hold (dropped) are
    /// skipped; an update for an id above every id the MANIFEST assigned is
    /// `.corruption` (the MANIFEST lost the edit that created the family). Afterwards one atomic MANIFEST group records each family's
    /// new tables and moves every log number to the new WAL.
    func recoverWALs() throws {
        let minLog = versions.minLogNumberToKeep
        var logs: [UInt64] = []
        for name in try fileSystem.listDirectory(path) {
            switch DBFileName.parse(name) {
            case .wal(let n):
                versions.markFileNumberUsed(n)
                if n >= minLog { logs.append(n) }
            case .options(let n):
                // OPTIONS files take numbers from the same counter (RocksDB),
                // which the MANIFEST may not have recorded yet.
                versions.markFileNumberUsed(n)
            default:
                break
            }
        }
        logs.sort()
        let recovering = familyList
        let byID = Dictionary(uniqueKeysWithValues: recovering.map { ($0.id, $0) })
        var edits: [UInt32: VersionEdit] = [:]
        var memtables: [UInt32: MemTable] = [:]
        for family in recovering {
            var edit = VersionEdit()
            edit.columnFamily = family.id
            edits[family.id] = edit
            memtables[family.id] = family.makeMemTable()
        }
        func flushRecovered(_ family: ColumnFamilyData) throws {
            guard let table = memtables[family.id], !table.isEmpty else { return }
            if let meta = try writeLevel0Table(table, family: family, snapshots: [], reason: "recovery") {
                edits[family.id]!.newFiles.append((0, meta))
            }
            memtables[family.id] = family.makeMemTable()
        }
        var maxSequence = versions.lastSequence
        let maxFamily = versions.maxColumnFamily
        var stop = false
        for number in logs where !stop {
            let walPath = Path.join(path, DBFileName.wal(number))
            let file = try fileSystem.openRandomAccess(walPath)
            defer { file.close() }
            let reader = LogReader(file: file, logNumber: number)
            while true {
                let record: [UInt8]?
                do {
                    record = try reader.next()
                } catch let error as StrataError where error.kind == .corruption {
                    // Point-in-time recovery: everything before the damaged
                    // record is kept, nothing after it.
                    stop = true
                    break
                }
                guard let record else { break }
                let batch: WriteBatch
                do {
                    batch = try WriteBatch(encoded: record)
                } catch {
                    stop = true
                    break
                }
                var sequence = batch.sequence
                try batch.forEach { op in
                    if byID[op.columnFamily] == nil && op.columnFamily > maxFamily {
                        // Not a dropped family (those are at or below the
                        // largest id): the MANIFEST lost the edit that
                        // created it, and skipping would lose its writes.
                        throw StrataError.corruption(
                            "WAL has an update for column family \(op.columnFamily), which the MANIFEST never created (largest id \(maxFamily))",
                            file: walPath, offset: reader.lastRecordOffset)
                    }
                    if let family = byID[op.columnFamily], number >= family.logNumber {
                        memtables[op.columnFamily]!.add(sequence: sequence, type: op.type, key: op.key, value: op.value)
                    }
                    sequence += 1
                }
                if batch.count > 0 { maxSequence = max(maxSequence, batch.sequence + UInt64(batch.count) - 1) }
                for family in recovering where memtables[family.id]!.approximateMemoryUsage >= family.options.writeBufferSize {
                    try flushRecovered(family)
                }
            }
        }
        for family in recovering { try flushRecovered(family) }
        versions.setLastSequence(maxSequence)

        // Start the new WAL and record that older ones are no longer needed.
        let number = versions.newFileNumber()
        let file = try fileSystem.createWritable(Path.join(path, DBFileName.wal(number)))
        try fileSystem.syncDirectory(path)
        var group: [VersionEdit] = []
        for family in recovering {
            var edit = edits[family.id]!
            edit.logNumber = number
            group.append(edit)
        }
        try versions.logAndApply(group)
        monitor.withLock {
            wal = LogWriter(file: file)
            walNumber = number
            for family in recovering {
                family.mem = family.makeMemTable()
                family.logNumber = number
                installSuperVersion(family)
            }
        }
    }
}

extension String {
    /// The string without trailing newline characters.
    func trimmingNewlines() -> String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
