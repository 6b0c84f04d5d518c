import Glibc
import ArgumentParser
import Strata
import ToolCommands
import ToolSupport

/// The commands of the `strata` tool. Each returns the exit status.
struct StrataTool {
    /// The flags every command takes.
    let global: StrataGlobalOptions

    var keyHex: Bool { global.keysAreHex }
    var valueHex: Bool { global.valuesAreHex }

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

    /// A key argument as the parser holds it (`RawBytes.argumentStrings`).
    func parseKey(_ argument: String) throws -> [UInt8] { try parseKey(RawBytes.bytes(of: argument)) }

    /// A value argument as the parser holds it.
    func parseValue(_ argument: String) throws -> [UInt8] { try parseValue(RawBytes.bytes(of: argument)) }

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

    /// `--db`, which every command but manifest_dump --path needs.
    func databasePath() throws -> String {
        guard let path = global.db else { throw ToolError("--db=<database_path> is required") }
        return path
    }

    func openDatabase(create: Bool = false) throws -> Database {
        let path = try databasePath()
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
        if !global.noTryLoadOptions.or(false), options.fileSystem.exists(Path.join(path, "CURRENT")),
           let loaded = try options.loadingLatestOptionsFile(inDatabase: path)
        {
            options = loaded.options
            if options.mergeOperator == nil { options.mergeOperator = StringAppendOperator(separator: ":") }
            for (name, family) in options.columnFamilyOptions where family.mergeOperator == nil {
                options.columnFamilyOptions[name]!.mergeOperator = StringAppendOperator(separator: ":")
            }
        }
        options.createIfMissing = create || global.createIfMissing.or(false)
        options.errorIfExists = false
        // Ranges are checked when parsing (StrataGlobalOptions.validate).
        if let bits = global.bloomBits { options.bloomBitsPerKey = bits }
        if let size = global.writeBufferSize { options.writeBufferSize = size }
        if let size = global.fileSize { options.targetFileSizeBase = UInt64(size) }
        if let size = global.blockSize { options.blockSize = size }
        switch global.compressionType {
        case nil: break
        case "snappy": options.compression = .snappy
        case "no", "none": options.compression = .none
        case let other?: throw ToolError("unsupported --compression_type=\(other) (snappy or no)")
        }
        if let name = global.mergeOperator {
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
        guard let name = global.columnFamily else { return db.defaultColumnFamily }
        guard let family = db.columnFamily(named: name) else {
            try? db.close()
            throw ToolError("Non-existing column family \(name)")
        }
        return family
    }

    /// Runs the command `parsed` (a subcommand of `StrataCommand`); returns
    /// the exit status.
    static func run(_ parsed: any ParsableCommand) throws -> Int32 {
        switch parsed {
        case let c as StrataCommand.WriteSST: return try StrataTool(global: c.global).writeSST(c)
        case let c as StrataCommand.IngestExternSST: return try StrataTool(global: c.global).ingestExternSST(c)
        case let c as StrataCommand.WriteExternSST: return try StrataTool(global: c.global).writeExternSST(c)
        case let c as StrataCommand.Put:
            let tool = StrataTool(global: c.global)
            let db = try tool.openDatabase()
            try tool.family(db).put(try tool.parseKey(c.key), try tool.parseValue(c.value))
            try db.close()
            print("OK")
        case let c as StrataCommand.Delete:
            let tool = StrataTool(global: c.global)
            let db = try tool.openDatabase()
            try tool.family(db).delete(try tool.parseKey(c.key))
            try db.close()
            print("OK")
        case let c as StrataCommand.Merge:
            let tool = StrataTool(global: c.global)
            let db = try tool.openDatabase()
            try tool.family(db).merge(try tool.parseKey(c.key), try tool.parseValue(c.operand))
            try db.close()
            print("OK")
        case let c as StrataCommand.DeleteRange:
            let tool = StrataTool(global: c.global)
            let db = try tool.openDatabase()
            try tool.family(db).deleteRange(from: try tool.parseKey(c.begin), to: try tool.parseKey(c.end))
            try db.close()
            print("OK")
        case let c as StrataCommand.BatchPut:
            let tool = StrataTool(global: c.global)
            let db = try tool.openDatabase()
            let target = try tool.family(db)
            var batch = WriteBatch()
            for i in stride(from: 0, to: c.pairs.count - 1, by: 2) {
                batch.put(try tool.parseKey(c.pairs[i]), try tool.parseValue(c.pairs[i + 1]), in: target)
            }
            try db.write(batch)
            try db.close()
            print("OK")
        case let c as StrataCommand.Get:
            let tool = StrataTool(global: c.global)
            let db = try tool.openDatabase()
            defer { try? db.close() }
            guard let value = try tool.family(db).get(try tool.parseKey(c.key)) else {
                printError("Failed: Get failed: NotFound: ")
                return 1
            }
            RawBytes.printLine(tool.showValue(value))
        case let c as StrataCommand.Scan: try StrataTool(global: c.global).scan(c)
        case let c as StrataCommand.Load: return try StrataTool(global: c.global).load(c)
        case let c as StrataCommand.Compact:
            let tool = StrataTool(global: c.global)
            let db = try tool.openDatabase()
            try tool.family(db).compactRange(from: try c.from.map(tool.parseKey), to: try c.to.map(tool.parseKey))
            try db.close()
        case let c as StrataCommand.Stats:
            let tool = StrataTool(global: c.global)
            let db = try tool.openDatabase()
            print(try tool.family(db).property("strata.stats") ?? "", terminator: "")
            try db.close()
        case let c as StrataCommand.ListColumnFamilies: try StrataTool(global: c.global).listColumnFamilies()
        case let c as StrataCommand.CreateColumnFamily: return try StrataTool(global: c.global).createColumnFamily(c.name)
        case let c as StrataCommand.DropColumnFamily: return try StrataTool(global: c.global).dropColumnFamily(c.name)
        case let c as StrataCommand.ManifestDump: try StrataTool(global: c.global).manifestDump(c)
        case let c as StrataCommand.DumpWAL: try StrataTool(global: c.global).dumpWAL(c)
        case let c as StrataCommand.Verify: return try StrataTool(global: c.global).verify()
        case let c as StrataCommand.Repair: return try StrataTool(global: c.global).repair()
        case let c as StrataCommand.Checkpoint: return try StrataTool(global: c.global).checkpoint(c)
        case let c as StrataCommand.CheckpointStore: return try StrataTool(global: c.global).checkpointStore(c)
        default:
            // The root without a command word.
            printError(StrataCommand.helpMessage())
            return 1
        }
        return 0
    }

    func scan(_ c: StrataCommand.Scan) throws {
        let db = try openDatabase()
        defer { try? db.close() }
        let target = try family(db)
        let from = try c.from.map(parseKey)
        let to = try c.to.map(parseKey)
        let maxKeys = c.maxKeys ?? -1
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

    func load(_ c: StrataCommand.Load) throws -> Int32 {
        let db = try openDatabase()
        defer { try? db.close() }
        let target = try family(db)
        var bad = 0
        var batch = WriteBatch()
        try RawBytes.forEachStandardInputLine { line in
            guard let (k, v) = LoadFormat.parseLine(bytes: line, hex: global.hex.or(false)) else {
                bad += 1
                return
            }
            batch.put(k, v, in: target)
            if batch.byteSize > 1 << 20 {
                try db.write(batch, options: WriteOptions(disableWAL: c.disableWAL.or(false)))
                batch.clear()
            }
        }
        if !batch.isEmpty { try db.write(batch, options: WriteOptions(disableWAL: c.disableWAL.or(false))) }
        if c.disableWAL.or(false) { try target.flush() }
        if c.compact.or(false) { try target.compactRange() }
        if bad > 0 { print("Warning: \(bad) bad lines ignored.") }
        if c.stats.or(false) {
            // Strata's addition: once background flushes and compactions have
            // settled, the level layout and the write amplification of this load.
            try db.waitForBackgroundWork()
            print(target.property("strata.stats") ?? "", terminator: "")
        }
        return 0
    }

    /// `write_sst`: ldb load-format lines → one SST through SSTFileWriter.
    func writeSST(_ c: StrataCommand.WriteSST) throws -> Int32 {
        // validate() checked the values and that one of --file / OUT is given.
        guard let out = c.file ?? c.output else { throw ToolError("write_sst needs --file=OUT") }
        var options = TableOptions()
        switch c.compression ?? "snappy" {
        case "none", "no", "kNoCompression": options.compression = .none
        default: options.compression = .snappy
        }
        switch (c.checksum ?? "xxh3").lowercased() {
        case "crc32c", "kcrc32c": options.checksum = .crc32c
        case "xxhash", "kxxhash": options.checksum = .xxHash
        case "xxhash64", "kxxhash64": options.checksum = .xxHash64
        default: options.checksum = .xxh3
        }
        if let bits = global.bloomBits { options.bloomBitsPerKey = bits }
        if let size = global.blockSize { options.blockSize = size }
        if let fv = c.formatVersion { options.formatVersion = UInt32(fv) }
        // The family the file is for (IngestExternalFile refuses it for
        // another one): an id, or "unknown" (any family, RocksDB's
        // kUnknownColumnFamily). Default 0, "default", as ldb write_extern_sst
        // on the default family.
        switch c.columnFamilyID {
        case nil: break
        case "unknown":
            options.columnFamilyID = UInt32(Int32.max)
            options.columnFamilyName = ""
        case let text?:
            guard let id = UInt32(text) else { throw ToolError("--column_family_id must be a number or 'unknown'") }
            options.columnFamilyID = id
            options.columnFamilyName = global.columnFamily ?? ""
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
            guard let (k, v) = LoadFormat.parseLine(bytes: line, hex: global.hex.or(false)) else {
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
