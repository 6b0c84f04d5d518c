import Strata
import ToolSupport

/// ldb's external-file commands, with its flags, defaults and messages.
extension StrataTool {
    static let ingestUsage = """
          write_extern_sst <output_sst_path>   read `KEY ==> VALUE` lines from stdin into an external
              SST for --column_family of --db (ldb's command; sorted here, last value wins)
          ingest_extern_sst <input_sst_path> [--move_files] [--snapshot_consistency] [--allow_global_seqno]
                    [--allow_blocking_flush] [--ingest_behind] [--write_global_seqno]
              (each flag bare or =true/false; defaults as ldb's: snapshot_consistency,
              allow_global_seqno, allow_blocking_flush and write_global_seqno true)
        """

    /// `write_extern_sst PATH`: ldb's command: load-format lines from stdin
    /// into an external SST for the `--column_family` of `--db` (its id and
    /// name in the properties, the family's table settings from the
    /// database's OPTIONS file and the flags).
    func writeExternSST(_ args: [String]) throws -> Int32 {
        guard args.count == 1 else { throw ToolError("output SST file path must be specified") }
        guard let path = flags.string("db") else { throw ToolError("--db=<database_path> is required") }
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
        return try writeSST(to: args[0], options: table)
    }

    /// A boolean flag as ldb reads it: present bare or with a true value
    /// means true, `=false` (or another value) false, absent `default`.
    func ldbBool(_ name: String, default value: Bool) -> Bool {
        flags.string(name) == nil ? value : flags.bool(name)
    }

    /// `ingest_extern_sst PATH`: `Database.ingestExternalFiles` into the
    /// `--column_family` (default family without it); prints ldb's
    /// "external SST files ingested".
    func ingestExternSST(_ args: [String]) throws -> Int32 {
        guard args.count == 1 else { throw ToolError("input SST path must be specified") }
        var options = IngestExternalFileOptions()
        options.moveFiles = ldbBool("move_files", default: false)
        options.snapshotConsistency = ldbBool("snapshot_consistency", default: true)
        options.allowGlobalSeqno = ldbBool("allow_global_seqno", default: true)
        options.allowBlockingFlush = ldbBool("allow_blocking_flush", default: true)
        options.ingestBehind = ldbBool("ingest_behind", default: false)
        options.writeGlobalSeqno = ldbBool("write_global_seqno", default: true)
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
            try db.ingestExternalFiles(paths: [args[0]], options: options, columnFamily: target)
        } catch {
            throw ToolError("failed to ingest external SST: \(error)")
        }
        print("external SST files ingested")
        return 0
    }
}
