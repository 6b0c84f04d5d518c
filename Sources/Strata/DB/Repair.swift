/// What `Database.repair` found and did.
///
/// Value type; `Sendable`.
public struct RepairReport: Sendable, CustomStringConvertible {
    /// A table of the repaired database.
    public struct Table: Sendable {
        /// File number (`NNNNNN.sst`).
        public var number: UInt64
        /// Its column family's name.
        public var family: String
        /// Point entries (range tombstones not counted).
        public var entries: UInt64
        /// Bytes.
        public var fileSize: UInt64
        /// The newest sequence number it holds.
        public var largestSequence: UInt64
        /// The WAL it was made from, or nil for a table that was already there.
        public var fromWAL: UInt64?
        /// The damaged table whose intact blocks it holds, if it is one.
        public var salvagedFrom: UInt64? = nil
    }

    /// What was read from one WAL.
    public struct Log: Sendable {
        /// File number (`NNNNNN.log`).
        public var number: UInt64
        /// Write batches read (up to `stoppedAt`).
        public var batches: Int
        /// Updates written into the new tables.
        public var replayed: Int
        /// Updates skipped because a table already holds them (sequence at
        /// or below the largest of their family's tables, or a WAL older
        /// than the family's log number in an old MANIFEST).
        public var alreadyInTables: Int
        /// Updates of families that were dropped, or whose name no table
        /// and no MANIFEST record gives (they cannot be recreated).
        public var droppedFamily: Int
        /// Why reading stopped before the end (a damaged record): the
        /// records after it are not recovered.
        public var stoppedAt: StrataError?
    }

    /// A file moved to `lost/` because it could not be used as it was, and why.
    public struct Lost: Sendable {
        /// The file's name (now in `lost/`).
        public var name: String
        /// Why it could not be used as it was.
        public var reason: StrataError
        /// For a damaged table: data blocks whose entries were copied into
        /// a new table, and blocks that were lost.
        public var intactBlocks = 0
        public var damagedBlocks = 0
    }

    /// Every table of the repaired database, by number.
    public var tables: [Table] = []
    /// Every WAL read, by number (each moved to `lost/` afterwards).
    public var logs: [Log] = []
    /// Tables that could not be read (damaged, empty, or of a dropped
    /// family), moved to `lost/`.
    public var lost: [Lost] = []
    /// Column families of the repaired database, by id ("default" first).
    public var columnFamilies: [String] = []
    /// The last sequence number of the repaired database.
    public var lastSequence: UInt64 = 0
    /// The new MANIFEST's name.
    public var manifest = ""
    /// Old MANIFESTs moved to `lost/`.
    public var oldManifests: [String] = []
    /// Families compacted after the repair because some of their tables
    /// overlap in both key range and sequence numbers (see `Database.repair`).
    public var compactedFamilies: [String] = []

    /// A summary, then one line per table, WAL and lost file.
    public var description: String {
        var lines = ["repaired: \(tables.count) tables in \(columnFamilies.count) column families (\(columnFamilies.joined(separator: ", "))), last sequence \(lastSequence), new \(manifest)"]
        for t in tables {
            lines.append("table \(DBFileName.table(t.number)) \(t.family): \(t.entries) entries, \(t.fileSize) bytes"
                + (t.fromWAL.map { ", made from \(DBFileName.wal($0))" } ?? "")
                + (t.salvagedFrom.map { ", the intact blocks of \(DBFileName.table($0))" } ?? ""))
        }
        for log in logs {
            var line = "WAL \(DBFileName.wal(log.number)): \(log.batches) batches, \(log.replayed) updates replayed, \(log.alreadyInTables) already in tables"
            if log.droppedFamily > 0 { line += ", \(log.droppedFamily) of dropped or unknown families" }
            if let stop = log.stoppedAt { line += "; stopped at \(stop)" }
            lines.append(line)
        }
        for file in lost {
            let blocks = file.intactBlocks + file.damagedBlocks > 0
                ? " (\(file.intactBlocks) intact data blocks copied, \(file.damagedBlocks) lost)" : ""
            lines.append("lost \(file.name)\(blocks): \(file.reason)")
        }
        if !oldManifests.isEmpty { lines.append("old MANIFESTs moved to lost/: \(oldManifests.joined(separator: ", "))") }
        if !compactedFamilies.isEmpty { lines.append("compacted: \(compactedFamilies.joined(separator: ", "))") }
        return lines.joined(separator: "\n")
    }
}

extension Database {
    /// Name of the directory (inside the database) that receives the files
    /// a repair sets aside, as RocksDB's RepairDB does: nothing is deleted.
    public static let lostDirectory = "lost"

    /// Rebuilds the MANIFEST of the database in `path` from the files that
    /// survive, like RocksDB's `RepairDB` — for a database that no longer
    /// opens (damaged or missing CURRENT or MANIFEST) or that holds a
    /// damaged table. The database must be closed (the LOCK is taken).
    ///
    /// 1. Every table is read whole (`TableScan.scan`); the ones that pass
    ///    keep their file, and their key range, sequence numbers and column
    ///    family (id and name from the table's properties) are recomputed.
    ///    A damaged table is moved to `lost/`, and the entries of its intact
    ///    data blocks are copied into a new table (as LevelDB's repairer
    ///    does; RocksDB's drops the whole table) — unless its footer, index
    ///    or properties are damaged, which loses the whole table.
    /// 2. The old MANIFESTs are read as far as they are intact for the names
    ///    of column families (kept even when they hold no table), the ids
    ///    of dropped ones (their tables go to `lost/`) and each family's
    ///    log number.
    /// 3. Every WAL is replayed into new L0 tables, up to its first damaged
    ///    record; an update is skipped if it is already in a table — its
    ///    sequence number is at or below the largest of its family's tables,
    ///    or its WAL is older than a log number a MANIFEST recorded for the
    ///    family (a WAL a crash left behind after its flush).
    /// 4. A new MANIFEST lists every table in L0 (as RocksDB's repair does)
    ///    with each family's WAL horizon past every old WAL, and a new
    ///    CURRENT names it (written, synced and renamed atomically: a crash
    ///    leaves the old CURRENT or the repaired state). The old MANIFESTs
    ///    and the WALs are then moved to `lost/`.
    /// 5. L0 is read newest table first, which is right only if tables that
    ///    share keys do not interleave in sequence numbers; tables from
    ///    different levels of the old tree can (an L2 table newer than an L1
    ///    table over the same keys). For such a family the repair opens the
    ///    database and compacts the whole family (`compactRange`), which
    ///    merges by sequence number, so no read returns an older value.
    ///
    /// What was in a damaged table or after a damaged WAL record is lost;
    /// everything else is kept. `options` supplies the file system and the
    /// table format of new tables (and the merge operator for step 5).
    /// Throws `.invalidArgument` if `path` does not exist, `.ioError` if
    /// the database is open elsewhere or the directory cannot be written.
    public static func repair(at path: String, options: Options = Options()) throws -> RepairReport {
        let fs = options.fileSystem
        guard fs.exists(path) else { throw StrataError.invalidArgument("\(path): does not exist") }
        let lock = try fs.lock(Path.join(path, DBFileName.lock))
        var report: RepairReport
        var toCompact: [String]
        do {
            (report, toCompact) = try rebuildManifest(path, options)
            lock.unlock()
        } catch {
            lock.unlock()
            throw error
        }
        if !toCompact.isEmpty {
            var open = options
            open.createIfMissing = false
            open.errorIfExists = false
            let db = try Database.open(at: path, options: open)
            do {
                for name in toCompact {
                    if name == "default" {
                        try db.compactRange()
                    } else if let family = db.columnFamily(named: name) {
                        try family.compactRange()
                    }
                }
                try db.close()
            } catch {
                try? db.close()
                throw error
            }
            report.compactedFamilies = toCompact
        }
        return report
    }

    /// Steps 1–4 of `repair`; returns the report and the families step 5
    /// must compact.
    static func rebuildManifest(_ path: String, _ options: Options) throws -> (RepairReport, [String]) {
        let fs = options.fileSystem
        var report = RepairReport()
        var tableNumbers: [UInt64] = []
        var walNumbers: [UInt64] = []
        var manifests: [(number: UInt64, name: String)] = []
        var highest: UInt64 = 1
        for name in try fs.listDirectory(path) {
            switch DBFileName.parse(name) {
            case .table(let n): tableNumbers.append(n); highest = max(highest, n)
            case .wal(let n): walNumbers.append(n); highest = max(highest, n)
            case .manifest(let n): manifests.append((n, name)); highest = max(highest, n)
            case .options(let n), .temp(let n): highest = max(highest, n)
            default: break
            }
        }
        tableNumbers.sort()
        walNumbers.sort()
        manifests.sort { $0.number < $1.number }
        guard highest < VersionEdit.maxFileNumber - 16 else {
            throw StrataError.invalidArgument("\(path): file number \(highest) leaves no room for new files")
        }

        // Step 2 first: names and drops decide where tables belong.
        var names: [UInt32: String] = [0: "default"]
        var dropped = Set<UInt32>()
        // A MANIFEST records a family's log number only once its tables
        // hold every update of the older WALs.
        var logHorizon: [UInt32: UInt64] = [:]
        var dbID: String? = try? readIdentity(path, fs)
        for manifest in manifests {
            guard let file = try? fs.openRandomAccess(Path.join(path, manifest.name)) else { continue }
            defer { file.close() }
            let reader = LogReader(file: file)
            while let record = try? reader.next(), let edit = try? VersionEdit.decode(record) {
                if let log = edit.logNumber {
                    logHorizon[edit.columnFamily] = max(logHorizon[edit.columnFamily, default: 0], log)
                }
                if let added = edit.columnFamilyAdd {
                    names[edit.columnFamily] = added
                    dropped.remove(edit.columnFamily)
                } else if edit.columnFamilyDrop && edit.columnFamily != 0 {
                    dropped.insert(edit.columnFamily)
                }
                if dbID == nil, let id = edit.dbID { dbID = id }
            }
        }

        let versions = VersionSet.forRepair(directory: path, fileSystem: fs, nextFileNumber: highest + 1)
        var base = TableOptions()
        base.dbID = dbID ?? ""
        base.dbSessionID = SessionID.generate()
        base.dbHostID = SessionID.hostName()
        func tableOptions(_ id: UInt32) -> (Options, TableOptions) {
            let familyOptions = options.applying(options.familyOptions(named: names[id]!))
            var t = Database.tableOptions(familyOptions, base: base)
            t.columnFamilyName = names[id]!
            return (familyOptions, t)
        }

        // Step 1.
        var filesByFamily: [UInt32: [FileMetaData]] = [:]
        var lostTables: [String] = []
        var salvaged: [(number: UInt64, salvage: TableSalvage)] = []
        for number in tableNumbers {
            let name = DBFileName.table(number)
            let full = Path.join(path, name)
            do {
                let scan = try TableScan.scan(path: full, fileSystem: fs)
                let id = scan.columnFamilyID ?? 0
                if dropped.contains(id) {
                    throw StrataError.invalidArgument("table of column family \(id), which was dropped", file: full)
                }
                guard let meta = scan.fileMetaData(number: number) else {
                    throw StrataError.corruption("table holds no entries and no range tombstones", file: full)
                }
                if names[id] == nil { names[id] = scan.columnFamilyName ?? "" }
                if names[id]!.isEmpty {
                    throw StrataError.corruption("table of column family \(id), whose name neither the table nor a MANIFEST gives",
                                                 file: full)
                }
                filesByFamily[id, default: []].append(meta)
                report.tables.append(RepairReport.Table(number: number, family: names[id]!, entries: scan.entries,
                                                        fileSize: scan.fileSize, largestSequence: scan.largestSequence,
                                                        fromWAL: nil))
            } catch {
                let reason = (error as? StrataError)?.located(file: full) ?? StrataError.ioError("\(error)", file: full)
                guard reason.kind != .ioError || !fs.exists(full) else { throw reason }
                var lost = RepairReport.Lost(name: name, reason: reason)
                if reason.kind == .corruption, let salvage = try? TableSalvage.read(path: full, fileSystem: fs) {
                    lost.intactBlocks = salvage.intactBlocks
                    lost.damagedBlocks = salvage.damagedBlocks
                    salvaged.append((number, salvage))
                }
                report.lost.append(lost)
                lostTables.append(name)
            }
        }
        // The intact blocks of damaged tables, each into a new table (after
        // the scan: a family may get its name from a later table).
        for (number, salvage) in salvaged {
            let id = salvage.columnFamilyID ?? 0
            if names[id] == nil, let name = salvage.columnFamilyName, !name.isEmpty { names[id] = name }
            guard !dropped.contains(id), names[id] != nil, !salvage.entries.isEmpty || !salvage.rangeTombstones.isEmpty
            else { continue }
            let output = TableOutput(directory: path, fileSystem: fs, versions: versions, options: tableOptions(id).1,
                                     level: 0, targetFileSize: .max, columnFamilyID: id)
            for tombstone in salvage.rangeTombstones where tombstone.begin.count >= 8 {
                try output.addRangeTombstone(begin: tombstone.begin, end: tombstone.end)
            }
            for entry in salvage.entries {
                try entry.key.withUnsafeBytes { k in try entry.value.withUnsafeBytes { v in try output.add(key: k, value: v) } }
            }
            for meta in try output.finish() {
                filesByFamily[id, default: []].append(meta)
                report.tables.append(RepairReport.Table(
                    number: meta.number, family: names[id]!, entries: UInt64(salvage.entries.count), fileSize: meta.fileSize,
                    largestSequence: meta.largestSequence, fromWAL: nil, salvagedFrom: number))
            }
        }
        for id in dropped { names[id] = nil }
        names = names.filter { !$0.value.isEmpty }
        // A WAL update is new only above the newest sequence its family's
        // tables hold (flushes write a family's updates in sequence order).
        var tableHorizon: [UInt32: UInt64] = [:]
        for (id, files) in filesByFamily { tableHorizon[id] = files.map(\.largestSequence).max() ?? 0 }
        var lastSequence = filesByFamily.values.flatMap { $0 }.map(\.largestSequence).max() ?? 0

        // Step 3.
        for number in walNumbers {
            let full = Path.join(path, DBFileName.wal(number))
            var log = RepairReport.Log(number: number, batches: 0, replayed: 0, alreadyInTables: 0, droppedFamily: 0,
                                       stoppedAt: nil)
            var memtables: [UInt32: MemTable] = [:]
            func flush(_ id: UInt32) throws {
                guard let table = memtables.removeValue(forKey: id), !table.isEmpty else { return }
                let (_, t) = tableOptions(id)
                let output = TableOutput(directory: path, fileSystem: fs, versions: versions, options: t, level: 0,
                                         targetFileSize: .max, columnFamilyID: id)
                for tombstone in table.rangeTombstones() {
                    try output.addRangeTombstone(begin: tombstone.begin, end: tombstone.end)
                }
                let it = table.makeIterator()
                it.seekToFirst()
                while it.isValid {
                    try output.add(key: it.key, value: it.value)
                    it.next()
                }
                for meta in try output.finish() {
                    filesByFamily[id, default: []].append(meta)
                    report.tables.append(RepairReport.Table(
                        number: meta.number, family: names[id]!, entries: UInt64(table.entryCount),
                        fileSize: meta.fileSize, largestSequence: meta.largestSequence, fromWAL: number))
                }
            }
            let file = try fs.openRandomAccess(full)
            defer { file.close() }
            let reader = LogReader(file: file)
            while true {
                let record: [UInt8]?
                do {
                    record = try reader.next()
                } catch let error as StrataError where error.kind != .ioError {
                    log.stoppedAt = error.located(file: full)
                    break
                }
                guard let record else { break }
                if let error = batchError(record) {
                    log.stoppedAt = error.located(file: full, offset: reader.lastRecordOffset)
                    break
                }
                let batch = try WriteBatch(encoded: record)
                log.batches += 1
                var sequence = batch.sequence
                try batch.forEach { op in
                    defer { sequence += 1 }
                    guard names[op.columnFamily] != nil else {
                        log.droppedFamily += 1
                        return
                    }
                    guard sequence > tableHorizon[op.columnFamily, default: 0],
                          number >= logHorizon[op.columnFamily, default: 0]
                    else {
                        log.alreadyInTables += 1
                        return
                    }
                    let table = memtables[op.columnFamily] ?? MemTable()
                    memtables[op.columnFamily] = table
                    table.add(sequence: sequence, type: op.type, key: op.key, value: op.value)
                    log.replayed += 1
                }
                if batch.count > 0 { lastSequence = max(lastSequence, batch.sequence + UInt64(batch.count) - 1) }
                for (id, table) in memtables where table.approximateMemoryUsage >= tableOptions(id).0.writeBufferSize {
                    try flush(id)
                }
            }
            for id in Array(memtables.keys) { try flush(id) }
            report.logs.append(log)
        }

        // Step 4. The WAL horizon is a new, empty WAL: a MANIFEST's oldest
        // needed WAL must exist (see `VersionSet.checkTornTail`).
        let logNumber = versions.newFileNumber()
        let wal = try fs.createWritable(Path.join(path, DBFileName.wal(logNumber)))
        try wal.sync()
        try wal.close()
        let families = names.keys.sorted().map { id in
            (id: id, name: names[id]!, files: filesByFamily[id] ?? [])
        }
        try versions.publishRepaired(families: families, logNumber: logNumber, lastSequence: lastSequence, dbID: dbID)
        report.manifest = DBFileName.manifest(versions.manifestNumber)
        try? versions.close()
        let lost = Path.join(path, lostDirectory)
        try fs.createDirectory(lost)
        var archive = lostTables
        archive += walNumbers.map { DBFileName.wal($0) }
        archive += manifests.map(\.name)
        for name in archive {
            try fs.rename(Path.join(path, name), to: Path.join(lost, name))
        }
        try fs.syncDirectory(lost)
        try fs.syncDirectory(path)
        report.oldManifests = manifests.map(\.name)
        report.columnFamilies = families.map(\.name)
        report.lastSequence = lastSequence
        report.tables.sort { $0.number < $1.number }

        // Step 5's test: two tables of a family over common keys whose
        // sequence ranges interleave.
        var toCompact: [String] = []
        for family in families where interleave(family.files) { toCompact.append(family.name) }
        return (report, toCompact)
    }

    /// True if two of `files` overlap in user-key range and in sequence
    /// numbers, so reading L0 newest table first could return an older value.
    static func interleave(_ files: [FileMetaData]) -> Bool {
        for i in files.indices {
            for j in files.indices where j > i {
                let a = files[i], b = files[j]
                let keysOverlap = Bytewise.compare(a.smallestUserKey, b.largestUserKey) <= 0
                    && Bytewise.compare(b.smallestUserKey, a.largestUserKey) <= 0
                let sequencesOverlap = a.smallestSequence <= b.largestSequence && b.smallestSequence <= a.largestSequence
                if keysOverlap && sequencesOverlap { return true }
            }
        }
        return false
    }
}
