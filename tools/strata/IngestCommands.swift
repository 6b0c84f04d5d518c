import Strata
import ToolCommands
import ToolSupport

/// ldb's external-file commands, with its flags, defaults and messages.
extension StrataTool {
    /// `write_extern_sst PATH`: ldb's command: load-format lines from stdin
    /// into an external SST for the `--column_family` of `--db` (its id and
    /// name in the properties, the family's table settings from the
    /// database's OPTIONS file and the flags).
    func writeExternSST(_ c: StrataCommand.WriteExternSST) throws -> Int32 {
        let path = try databasePath()
        let options = try databaseOptions(path: path)
        let db = try Database.open(at: path, options: options)
        let target = try family(db)
        let (id, name) = (target.id, target.name)
        try db.close()
        let settings = name == "default" ? ColumnFamilyOptions(options) : options.columnFamilyOptions[name] ?? ColumnFamilyOptions(options)
        var table = TableOptions()
        table.formatVersion = settings.formatVersion
        table.checksum = settings.checksum
        table.compression = settings.compression
        table.blockSize = settings.blockSize
        table.bloomBitsPerKey = settings.bloomBitsPerKey
        table.columnFamilyID = id
        table.columnFamilyName = name
        return try writeSST(to: c.path, options: table)
    }

    /// `ingest_extern_sst PATH`: `Database.ingestExternalFiles` into the
    /// `--column_family` (default family without it); prints ldb's
    /// "external SST files ingested".
    func ingestExternSST(_ c: StrataCommand.IngestExternSST) throws -> Int32 {
        // Each flag as ldb reads it: bare or =true means true, absent its default.
        var options = IngestExternalFileOptions()
        options.moveFiles = c.moveFiles.or(false)
        options.snapshotConsistency = c.snapshotConsistency.or(true)
        options.allowGlobalSeqno = c.allowGlobalSeqno.or(true)
        options.allowBlockingFlush = c.allowBlockingFlush.or(true)
        options.ingestBehind = c.ingestBehind.or(false)
        options.writeGlobalSeqno = c.writeGlobalSeqno.or(true)
        if options.allowGlobalSeqno && !options.writeGlobalSeqno {
            printError("Warning: not writing global_seqno to the ingested SST can\n"
                + "prevent older versions of RocksDB from being able to open it")
        }
        if !options.allowGlobalSeqno && options.writeGlobalSeqno {
            throw ToolError("ldb cannot write global_seqno to the ingested SST when global_seqno is not allowed")
        }
        let db = try openDatabase()
        defer { try? db.close() }
        let target = try family(db)
        do {
            try db.ingestExternalFiles(paths: [c.path], options: options, columnFamily: target)
        } catch {
            throw ToolError("failed to ingest external SST: \(error)")
        }
        print("external SST files ingested")
        return 0
    }
}
