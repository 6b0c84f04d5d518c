/// Steps 1–4 of `Database.repair` (see its documentation for the steps and
/// their reasons), one method per step, over the state the steps share.
/// Used once: `run()` returns the report and the families step 5 must
/// compact. Not thread-safe; the caller holds the database's LOCK.
final class ManifestRebuild {
    let path: String
    let options: Options
    let fs: any FileSystem
    var report = RepairReport()

    // The directory listing.
    var tableNumbers: [UInt64] = []
    var walNumbers: [UInt64] = []
    var manifests: [(number: UInt64, name: String)] = []
    var highestFileNumber: UInt64 = 1

    // What the old MANIFESTs say (step 2).
    /// Column family names by id; "default" is always 0.
    var names: [UInt32: String] = [0: "default"]
    var dropped = Set<UInt32>()
    /// A MANIFEST records a family's log number only once its tables hold
    /// every update of the older WALs.
    var logHorizon: [UInt32: UInt64] = [:]
    var dbID: String?

    // What the new MANIFEST will list.
    var filesByFamily: [UInt32: [FileMetaData]] = [:]
    var lostTables: [String] = []
    var lastSequence: UInt64 = 0
    /// A WAL update is new only above the newest sequence its family's
    /// tables hold (flushes write a family's updates in sequence order).
    var tableHorizon: [UInt32: UInt64] = [:]

    private var versions: VersionSet!
    private var baseTableOptions = TableOptions()

    init(path: String, options: Options) {
        self.path = path
        self.options = options
        self.fs = options.fileSystem
    }

    func run() throws -> (RepairReport, [String]) {
        try listDirectory()
        readOldManifests()  // step 2 first: names and drops decide where tables belong
        versions = VersionSet.forRepair(directory: path, fileSystem: fs, nextFileNumber: highestFileNumber + 1)
        baseTableOptions.dbID = dbID ?? ""
        baseTableOptions.dbSessionID = SessionID.generate()
        baseTableOptions.dbHostID = SessionID.hostName()
        let salvaged = try scanTables()  // step 1
        try writeSalvagedTables(salvaged)
        for id in dropped { names[id] = nil }
        names = names.filter { !$0.value.isEmpty }
        for (id, files) in filesByFamily { tableHorizon[id] = files.map(\.largestSequence).max() ?? 0 }
        lastSequence = filesByFamily.values.flatMap { $0 }.map(\.largestSequence).max() ?? 0
        for number in walNumbers { report.logs.append(try replayLog(number)) }  // step 3
        let families = try publishManifest()  // step 4
        try archiveOldFiles()
        report.oldManifests = manifests.map(\.name)
        report.columnFamilies = families.map(\.name)
        report.lastSequence = lastSequence
        report.tables.sort { $0.number < $1.number }
        // Step 5's test: two tables of a family over common keys whose
        // sequence ranges interleave.
        return (report, families.filter { Database.interleave($0.files) }.map(\.name))
    }

    /// Sorts the directory's tables, WALs and MANIFESTs by number and finds
    /// the highest file number in use.
    func listDirectory() throws {
        for name in try fs.listDirectory(path) {
            switch DBFileName.parse(name) {
            case .table(let n): tableNumbers.append(n); highestFileNumber = max(highestFileNumber, n)
            case .wal(let n): walNumbers.append(n); highestFileNumber = max(highestFileNumber, n)
            case .manifest(let n): manifests.append((n, name)); highestFileNumber = max(highestFileNumber, n)
            case .options(let n), .temp(let n): highestFileNumber = max(highestFileNumber, n)
            default: break
            }
        }
        tableNumbers.sort()
        walNumbers.sort()
        manifests.sort { $0.number < $1.number }
        guard highestFileNumber < VersionEdit.maxFileNumber - 16 else {
            throw StrataError.invalidArgument("\(path): file number \(highestFileNumber) leaves no room for new files")
        }
    }

    /// Step 2: family names, drops, log numbers and the database identity,
    /// from every old MANIFEST as far as it is intact.
    func readOldManifests() {
        dbID = try? Database.readIdentity(path, fs)
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
    }

    /// The options of family `id`'s new tables.
    func tableOptions(_ id: UInt32) -> (Options, TableOptions) {
        let name = names[id] ?? ""
        let familyOptions = options.applying(options.familyOptions(named: name))
        var t = Database.tableOptions(familyOptions, base: baseTableOptions)
        t.columnFamilyName = name
        return (familyOptions, t)
    }

    /// Step 1: reads every table whole; keeps the intact ones, records the
    /// damaged ones as lost and returns what of them can be salvaged.
    func scanTables() throws -> [(number: UInt64, salvage: TableSalvage)] {
        var salvaged: [(number: UInt64, salvage: TableSalvage)] = []
        for number in tableNumbers {
            let name = DBFileName.table(number)
            let full = Path.join(path, name)
            do {
                try keepTable(number, at: full)
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
        return salvaged
    }

    /// Scans one table and keeps it for its family; throws why it cannot be kept.
    private func keepTable(_ number: UInt64, at full: String) throws {
        let scan = try TableScan.scan(path: full, fileSystem: fs)
        let id = scan.columnFamilyID ?? 0
        if dropped.contains(id) {
            throw StrataError.invalidArgument("table of column family \(id), which was dropped", file: full)
        }
        guard let meta = scan.fileMetaData(number: number) else {
            throw StrataError.corruption("table holds no entries and no range tombstones", file: full)
        }
        if names[id] == nil { names[id] = scan.columnFamilyName ?? "" }
        guard let family = names[id], !family.isEmpty else {
            throw StrataError.corruption("table of column family \(id), whose name neither the table nor a MANIFEST gives",
                                         file: full)
        }
        filesByFamily[id, default: []].append(meta)
        report.tables.append(RepairReport.Table(number: number, family: family, entries: scan.entries,
                                                fileSize: scan.fileSize, largestSequence: scan.largestSequence,
                                                fromWAL: nil))
    }

    /// The intact blocks of damaged tables, each into a new table (after
    /// the scan: a family may get its name from a later table).
    func writeSalvagedTables(_ salvaged: [(number: UInt64, salvage: TableSalvage)]) throws {
        for (number, salvage) in salvaged {
            let id = salvage.columnFamilyID ?? 0
            if names[id] == nil, let name = salvage.columnFamilyName, !name.isEmpty { names[id] = name }
            guard !dropped.contains(id), let family = names[id],
                  !salvage.entries.isEmpty || !salvage.rangeTombstones.isEmpty
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
                    number: meta.number, family: family, entries: UInt64(salvage.entries.count), fileSize: meta.fileSize,
                    largestSequence: meta.largestSequence, fromWAL: nil, salvagedFrom: number))
            }
        }
    }

    /// Step 3 for one WAL: replays it up to its first damaged record into
    /// per-family memtables, flushed into new L0 tables as they fill and at
    /// the end.
    func replayLog(_ number: UInt64) throws -> RepairReport.Log {
        let full = Path.join(path, DBFileName.wal(number))
        var log = RepairReport.Log(number: number, batches: 0, replayed: 0, alreadyInTables: 0, droppedFamily: 0,
                                   stoppedAt: nil)
        var memtables: [UInt32: MemTable] = [:]
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
            if let error = Database.batchError(record) {
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
                try flush(memtables.removeValue(forKey: id), family: id, fromWAL: number)
            }
        }
        for id in Array(memtables.keys) { try flush(memtables.removeValue(forKey: id), family: id, fromWAL: number) }
        return log
    }

    /// Writes a replayed memtable of family `id` into new L0 tables.
    private func flush(_ table: MemTable?, family id: UInt32, fromWAL number: UInt64) throws {
        guard let table, !table.isEmpty, let family = names[id] else { return }
        let output = TableOutput(directory: path, fileSystem: fs, versions: versions, options: tableOptions(id).1,
                                 level: 0, targetFileSize: .max, columnFamilyID: id)
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
                number: meta.number, family: family, entries: UInt64(table.entryCount),
                fileSize: meta.fileSize, largestSequence: meta.largestSequence, fromWAL: number))
        }
    }

    /// Step 4: a new MANIFEST listing every table in L0, with a new empty
    /// WAL as every family's horizon (a MANIFEST's oldest needed WAL must
    /// exist, see `VersionSet.checkTornTail`), named by a new CURRENT.
    func publishManifest() throws -> [(id: UInt32, name: String, files: [FileMetaData])] {
        let logNumber = versions.newFileNumber()
        let wal = try fs.createWritable(Path.join(path, DBFileName.wal(logNumber)))
        try wal.sync()
        try wal.close()
        let families = names.keys.sorted().map { id in
            (id: id, name: names[id] ?? "", files: filesByFamily[id] ?? [])
        }
        try versions.publishRepaired(families: families, logNumber: logNumber, lastSequence: lastSequence, dbID: dbID)
        report.manifest = DBFileName.manifest(versions.manifestNumber)
        try? versions.close()
        return families
    }

    /// Moves the damaged tables, the old WALs and the old MANIFESTs into
    /// `lost/` (nothing is deleted).
    func archiveOldFiles() throws {
        let lost = Path.join(path, Database.lostDirectory)
        try fs.createDirectory(lost)
        var archive = lostTables
        archive += walNumbers.map { DBFileName.wal($0) }
        archive += manifests.map(\.name)
        for name in archive {
            try fs.rename(Path.join(path, name), to: Path.join(lost, name))
        }
        try fs.syncDirectory(lost)
        try fs.syncDirectory(path)
    }
}
