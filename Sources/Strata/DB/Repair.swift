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

    /// Steps 1–4 of `repair` (`ManifestRebuild`); returns the report and
    /// the families step 5 must compact.
    static func rebuildManifest(_ path: String, _ options: Options) throws -> (RepairReport, [String]) {
        try ManifestRebuild(path: path, options: options).run()
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
