import Glibc
import Strata
import ToolSupport

/// The commands of the `strata` tool. Each returns the exit status.
struct StrataTool {
    let flags: ParsedFlags

    /// Every flag some command reads; anything else is an error.
    static let knownFlags: Set<String> = [
        "block_size", "bloom_bits", "checksum", "column_family", "compact", "compression", "compression_type",
        "create_if_missing", "db", "disable_wal", "file", "file_size", "format_version", "from", "header", "help", "hex",
        "json", "keep_last", "key_hex", "link", "max_keys", "merge_operator", "path", "print_value", "stats", "store", "to",
        "value_hex", "verbose", "wal", "walfile", "write_buffer_size",
        // ingest_extern_sst, write_sst, OPTIONS-file loading (ldb's spellings)
        "allow_blocking_flush", "allow_global_seqno", "column_family_id", "ingest_behind", "move_files",
        "no_try_load_options", "snapshot_consistency", "try_load_options", "write_global_seqno",
    ]

    static let usage = """
        strata --db=<database_path> [--hex] [--key_hex] [--value_hex] [--create_if_missing]
               [--bloom_bits=N] [--write_buffer_size=N] [--file_size=N] [--block_size=N]
               [--compression_type=snappy|no] [--column_family=NAME] COMMAND ...
          load [--disable_wal] [--compact] [--stats]   read `KEY ==> VALUE` lines from stdin
          scan [--from=K] [--to=K] [--max_keys=N]
          get KEY
          put KEY VALUE
          delete KEY
          deleterange BEGIN END
          merge KEY OPERAND [--merge_operator=stringappend|int64add|none]
              (stringappend joins with ':' as ldb reads; int64add takes 8-byte
              little-endian operands, e.g. --value_hex)
          batchput KEY VALUE [KEY VALUE ...]
          manifest_dump
          dump_wal --walfile=FILE [--print_value] [--header]
          compact [--from=K] [--to=K]
          stats
          list_column_families
          create_column_family NAME
          drop_column_family NAME
          write_sst --file=OUT [--compression=snappy|none] [--checksum=xxh3|crc32c|xxhash|xxhash64]
                    [--bloom_bits=10] [--block_size=4096] [--format_version=5] [--column_family_id=N|unknown]
        """

    var keyHex: Bool { flags.bool("hex") || flags.bool("key_hex") }
    var valueHex: Bool { flags.bool("hex") || flags.bool("value_hex") }

    /// A key argument: its bytes as given (ldb's reading), or hex with
    /// `--hex`/`--key_hex`.
    func parseKey(_ raw: [UInt8]) throws -> [UInt8] {
        if keyHex {
            let text = String(decoding: raw, as: UTF8.self)
            guard let bytes = HexCodec.decode(text) else { throw ToolError("invalid hex key: \(text)") }
            return bytes
        }
        return raw
    }

    /// A value argument: its bytes as given, or hex with `--hex`/`--value_hex`.
    func parseValue(_ raw: [UInt8]) throws -> [UInt8] {
        if valueHex {
            let text = String(decoding: raw, as: UTF8.self)
            guard let bytes = HexCodec.decode(text) else { throw ToolError("invalid hex value: \(text)") }
            return bytes
        }
        return raw
    }

    /// A key for output: its raw bytes (as ldb prints them), or `0x` hex.
    func showKey(_ bytes: [UInt8]) -> [UInt8] {
        keyHex ? Array(("0x" + HexCodec.encode(bytes, uppercase: true)).utf8) : bytes
    }

    /// A value for output: its raw bytes, or `0x` hex.
    func showValue(_ bytes: [UInt8]) -> [UInt8] {
        valueHex ? Array(("0x" + HexCodec.encode(bytes, uppercase: true)).utf8) : bytes
    }

    func openDatabase(create: Bool = false) throws -> Database {
        guard let path = flags.string("db") else { throw ToolError("--db=<database_path> is required") }
        return try Database.open(at: path, options: try databaseOptions(path: path, create: create))
    }

    /// The options `openDatabase` opens `path` with: the newest OPTIONS
    /// file's, then the flags.
    func databaseOptions(path: String, create: Bool = false) throws -> Options {
        // Like ldb --try_load_options (its default): the newest OPTIONS file
        // gives each family its settings and merge operator; a family it
        // leaves without one gets ldb's ':' string-append operator, so merge
        // operands read (and compact) the same in both tools. Flags below
        // override the file, as ldb's do.
        var options = Options()
        options.mergeOperator = StringAppendOperator(separator: ":")
        if !flags.bool("no_try_load_options"), options.fileSystem.exists(Path.join(path, "CURRENT")),
           let loaded = try options.loadingLatestOptionsFile(inDatabase: path)
        {
            options = loaded.options
            if options.mergeOperator == nil { options.mergeOperator = StringAppendOperator(separator: ":") }
            for (name, family) in options.columnFamilyOptions where family.mergeOperator == nil {
                options.columnFamilyOptions[name]!.mergeOperator = StringAppendOperator(separator: ":")
            }
        }
        options.createIfMissing = create || flags.bool("create_if_missing")
        options.errorIfExists = false
        if let bits = try flags.int("bloom_bits") { options.bloomBitsPerKey = Double(bits) }
        if let size = try flags.int("write_buffer_size") {
            guard size >= 64 << 10 else { throw ToolError("--write_buffer_size must be at least 65536") }
            options.writeBufferSize = size
        }
        if let size = try flags.int("file_size") {
            guard size > 0 else { throw ToolError("--file_size must be positive") }
            options.targetFileSizeBase = UInt64(size)
        }
        if let size = try flags.int("block_size") {
            guard size > 0 else { throw ToolError("--block_size must be positive") }
            options.blockSize = size
        }
        switch flags.string("compression_type") {
        case nil: break
        case "snappy": options.compression = .snappy
        case "no", "none": options.compression = .none
        case let other?: throw ToolError("unsupported --compression_type=\(other) (snappy or no)")
        }
        if let name = flags.string("merge_operator") {
            // The flag overrides what the OPTIONS file says, in every family.
            let op: (any MergeOperator)?
            switch name {
            case "stringappend", "StringAppendOperator": op = StringAppendOperator(separator: ":")
            case "int64add", "uint64add", "UInt64AddOperator": op = Int64AddOperator()
            case "none": op = nil
            default: throw ToolError("unsupported --merge_operator=\(name) (stringappend, int64add or none)")
            }
            options.mergeOperator = op
            for name in options.columnFamilyOptions.keys { options.columnFamilyOptions[name]!.mergeOperator = op }
        }
        return options
    }

    /// The column family `--column_family=NAME` names (the default family
    /// without the flag); throws ldb's "Non-existing column family NAME".
    func family(_ db: Database) throws -> ColumnFamily {
        guard let name = flags.string("column_family") else { return db.defaultColumnFamily }
        guard let family = db.columnFamily(named: name) else {
            try? db.close()
            throw ToolError("Non-existing column family \(name)")
        }
        return family
    }

    /// Runs `command`; `args` are its arguments as bytes (keys and values
    /// stay bytes; names and paths are read as UTF-8 text).
    func run(command: String, args: [[UInt8]]) throws -> Int32 {
        let textArgs = args.map { String(decoding: $0, as: UTF8.self) }
        switch command {
        case "write_sst": return try writeSST()
        case "ingest_extern_sst": return try ingestExternSST(textArgs)
        case "write_extern_sst": return try writeExternSST(textArgs)
        case "put":
            guard args.count == 2 else { throw ToolError("put needs KEY VALUE") }
            let db = try openDatabase()
            try family(db).put(try parseKey(args[0]), try parseValue(args[1]))
            try db.close()
            print("OK")
        case "delete":
            guard args.count == 1 else { throw ToolError("delete needs KEY") }
            let db = try openDatabase()
            try family(db).delete(try parseKey(args[0]))
            try db.close()
            print("OK")
        case "merge":
            guard args.count == 2 else { throw ToolError("merge needs KEY OPERAND") }
            let db = try openDatabase()
            try family(db).merge(try parseKey(args[0]), try parseValue(args[1]))
            try db.close()
            print("OK")
        case "deleterange":
            guard args.count == 2 else { throw ToolError("begin and end keys must be specified for the delete command") }
            let db = try openDatabase()
            try family(db).deleteRange(from: try parseKey(args[0]), to: try parseKey(args[1]))
            try db.close()
            print("OK")
        case "batchput":
            guard !args.isEmpty, args.count % 2 == 0 else { throw ToolError("batchput needs KEY VALUE pairs") }
            let db = try openDatabase()
            let target = try family(db)
            var batch = WriteBatch()
            for i in stride(from: 0, to: args.count, by: 2) {
                batch.put(try parseKey(args[i]), try parseValue(args[i + 1]), in: target)
            }
            try db.write(batch)
            try db.close()
            print("OK")
        case "get":
            guard args.count == 1 else { throw ToolError("get needs KEY") }
            let db = try openDatabase()
            defer { try? db.close() }
            guard let value = try family(db).get(try parseKey(args[0])) else {
                printError("Failed: Get failed: NotFound: ")
                return 1
            }
            RawBytes.printLine(showValue(value))
        case "scan": try scan()
        case "load": return try load()
        case "compact":
            let db = try openDatabase()
            try family(db).compactRange(from: try flags.bytes("from").map(parseKey),
                                        to: try flags.bytes("to").map(parseKey))
            try db.close()
        case "stats":
            let db = try openDatabase()
            print(try family(db).property("strata.stats") ?? "", terminator: "")
            try db.close()
        case "list_column_families": try listColumnFamilies()
        case "create_column_family": return try createColumnFamily(textArgs)
        case "drop_column_family": return try dropColumnFamily(textArgs)
        case "manifest_dump": try manifestDump()
        case "dump_wal": try dumpWAL()
        case "verify": return try verify()
        case "repair": return try repair()
        case "checkpoint": return try checkpoint(args: textArgs)
        case "checkpoint_store": return try checkpointStore(args: textArgs)
        default:
            print("Unknown command: \(command)\n\(Self.usage)\n\(Self.ingestUsage)\n\(Self.repairUsage)\n\(Self.checkpointUsage)")
            return 1
        }
        return 0
    }

    func scan() throws {
        let db = try openDatabase()
        defer { try? db.close() }
        let target = try family(db)
        let from = try flags.bytes("from").map(parseKey)
        let to = try flags.bytes("to").map(parseKey)
        let maxKeys = try flags.int("max_keys") ?? -1
        let it = try target.makeIterator(options: ReadOptions(lowerBound: nil, upperBound: to))
        if let from { it.seek(from) } else { it.seekToFirst() }
        var n = 0
        while it.isValid && (maxKeys < 0 || n < maxKeys) {
            RawBytes.printLine(showKey(it.key) + Array(" : ".utf8) + showValue(it.value))
            n += 1
            it.next()
        }
        try it.status()
    }

    func load() throws -> Int32 {
        let db = try openDatabase()
        defer { try? db.close() }
        let target = try family(db)
        var bad = 0
        var batch = WriteBatch()
        try RawBytes.forEachStandardInputLine { line in
            guard let (k, v) = LoadFormat.parseLine(bytes: line, hex: flags.bool("hex")) else {
                bad += 1
                return
            }
            batch.put(k, v, in: target)
            if batch.byteSize > 1 << 20 {
                try db.write(batch, options: WriteOptions(disableWAL: flags.bool("disable_wal")))
                batch.clear()
            }
        }
        if !batch.isEmpty { try db.write(batch, options: WriteOptions(disableWAL: flags.bool("disable_wal"))) }
        if flags.bool("disable_wal") { try target.flush() }
        if flags.bool("compact") { try target.compactRange() }
        if bad > 0 { print("Warning: \(bad) bad lines ignored.") }
        if flags.bool("stats") {
            // Strata's addition: once background flushes and compactions have
            // settled, the level layout and the write amplification of this load.
            try db.waitForBackgroundWork()
            print(target.property("strata.stats") ?? "", terminator: "")
        }
        return 0
    }

    /// `write_sst`: ldb load-format lines → one SST through SSTFileWriter.
    func writeSST() throws -> Int32 {
        guard let out = flags.string("file") ?? flags.positionals.dropFirst().first else {
            throw ToolError("write_sst needs --file=OUT")
        }
        var options = TableOptions()
        switch flags.string("compression") ?? "snappy" {
        case "snappy", "kSnappyCompression": options.compression = .snappy
        case "none", "no", "kNoCompression": options.compression = .none
        case let other: throw ToolError("unsupported --compression=\(other) (snappy or none)")
        }
        switch (flags.string("checksum") ?? "xxh3").lowercased() {
        case "xxh3", "kxxh3": options.checksum = .xxh3
        case "crc32c", "kcrc32c": options.checksum = .crc32c
        case "xxhash", "kxxhash": options.checksum = .xxHash
        case "xxhash64", "kxxhash64": options.checksum = .xxHash64
        case let other: throw ToolError("unsupported --checksum=\(other)")
        }
        if let bits = flags.string("bloom_bits") {
            guard let b = Double(bits), b >= 0 else { throw ToolError("--bloom_bits must be a number >= 0") }
            options.bloomBitsPerKey = b
        }
        if let size = try flags.int("block_size") {
            guard size > 0 else { throw ToolError("--block_size must be positive") }
            options.blockSize = size
        }
        if let fv = try flags.int("format_version") {
            guard (2...6).contains(fv) else { throw ToolError("--format_version must be 2..6 (6: RocksDB 8.6+ reads it, 7.8.3 does not)") }
            options.formatVersion = UInt32(fv)
        }
        // The family the file is for (IngestExternalFile refuses it for
        // another one): an id, or "unknown" (any family, RocksDB's
        // kUnknownColumnFamily). Default 0, "default", as ldb write_extern_sst
        // on the default family.
        switch flags.string("column_family_id") {
        case nil: break
        case "unknown":
            options.columnFamilyID = UInt32(Int32.max)
            options.columnFamilyName = ""
        case let text?:
            guard let id = UInt32(text) else { throw ToolError("--column_family_id must be a number or 'unknown'") }
            options.columnFamilyID = id
            options.columnFamilyName = flags.string("column_family") ?? ""
        }
        return try writeSST(to: out, options: options)
    }

    /// Reads load-format lines from stdin into one SST at `out` (sorted
    /// here; the last value of a key wins).
    func writeSST(to out: String, options: TableOptions) throws -> Int32 {
        // Read everything, keep the last value of each key, sort bytewise.
        var entries: [[UInt8]: [UInt8]] = [:]
        var bad = 0
        try RawBytes.forEachStandardInputLine { line in
            guard let (k, v) = LoadFormat.parseLine(bytes: line, hex: flags.bool("hex")) else {
                bad += 1
                return
            }
            entries[k] = v
        }
        if bad > 0 { print("Warning: \(bad) bad lines ignored.") }
        guard !entries.isEmpty else { throw ToolError("no input lines: nothing to write") }
        let sorted = entries.keys.sorted { Bytewise.compare($0, $1) < 0 }
        let writer = SSTFileWriter(options: options)
        try writer.open(out)
        for k in sorted { try writer.put(k, entries[k]!) }
        let info = try writer.finish()
        print("external SST file written to \(out): \(info.entryCount) entries, \(info.fileSize) bytes")
        return 0
    }
}
