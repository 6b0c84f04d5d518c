// The command line of `strata` (RocksDB ldb's command words and flags):
//
//   strata --db=DIR [GLOBAL FLAGS] COMMAND [ARGS] [FLAGS]
//
// Flags may come before or after the command word, as ldb takes them:
// `prepare` moves the command word to the front, and each command word is a
// subcommand taking the global flags and its own (a flag the command does
// not take is an error, e.g. `--max_key=0`).
// Keys and values are bytes: the tool passes argv through
// `RawBytes.argumentStrings()`, which keeps invalid UTF-8 losslessly, and
// reads positionals back with `RawBytes.bytes(of:)`.
import ArgumentParser

/// Flags every `strata` command takes (before or after the command word).
public struct StrataGlobalOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("db"), help: ArgumentHelp("The database directory.", valueName: "DIR"))
    public var db: String?
    @Option(name: .customLong("hex"), help: ArgumentHelp("Keys and values in and out are 0x hex (bare --hex means 1).", valueName: "0|1"))
    public var hex: Flag01?
    @Option(name: .customLong("key_hex"), help: ArgumentHelp("Keys in and out are hex.", valueName: "0|1"))
    public var keyHex: Flag01?
    @Option(name: .customLong("value_hex"), help: ArgumentHelp("Values in and out are hex.", valueName: "0|1"))
    public var valueHex: Flag01?
    @Option(name: .customLong("create_if_missing"), help: ArgumentHelp("Create the database if it does not exist.", valueName: "0|1"))
    public var createIfMissing: Flag01?
    @Option(name: .customLong("bloom_bits"), help: ArgumentHelp("Bloom filter bits per key (>= 0).", valueName: "N"))
    public var bloomBits: Double?
    @Option(name: .customLong("write_buffer_size"), help: ArgumentHelp("Memtable size in bytes (>= 65536).", valueName: "N"))
    public var writeBufferSize: Int?
    @Option(name: .customLong("file_size"), help: ArgumentHelp("Target table file size in bytes (> 0).", valueName: "N"))
    public var fileSize: Int?
    @Option(name: .customLong("block_size"), help: ArgumentHelp("Table block size in bytes (> 0).", valueName: "N"))
    public var blockSize: Int?
    @Option(name: .customLong("compression_type"), help: ArgumentHelp("Table compression.", valueName: "snappy|no"))
    public var compressionType: String?
    @Option(name: .customLong("column_family"), help: ArgumentHelp("Run the command on this column family (default: default).", valueName: "NAME"))
    public var columnFamily: String?
    @Option(name: .customLong("merge_operator"), help: ArgumentHelp("Merge operator of every family.", valueName: "stringappend|int64add|none"))
    public var mergeOperator: String?
    @Option(name: .customLong("try_load_options"), help: ArgumentHelp("Take settings from the newest OPTIONS file (the default).", valueName: "0|1"))
    public var tryLoadOptions: Flag01?
    @Option(name: .customLong("no_try_load_options"), help: ArgumentHelp("Ignore the OPTIONS file.", valueName: "0|1"))
    public var noTryLoadOptions: Flag01?

    public init() {}

    /// `--hex` or `--key_hex`.
    public var keysAreHex: Bool { hex.or(false) || keyHex.or(false) }
    /// `--hex` or `--value_hex`.
    public var valuesAreHex: Bool { hex.or(false) || valueHex.or(false) }

    public static let mergeOperators = ["stringappend", "StringAppendOperator", "int64add", "uint64add", "UInt64AddOperator", "none"]

    public func validate() throws {
        try checkRange(bloomBits, "bloom_bits", 0...Double(Int32.max))
        try checkRange(writeBufferSize, "write_buffer_size", (64 << 10)...Int.max)
        try checkRange(fileSize, "file_size", 1...Int.max)
        try checkRange(blockSize, "block_size", 1...Int.max)
        try checkChoice(compressionType, "compression_type", ["snappy", "no", "none"])
        try checkChoice(mergeOperator, "merge_operator", Self.mergeOperators)
    }
}

/// `strata`: the root command. It runs nothing itself: without a command
/// word the tool prints the usage and exits 1.
public struct StrataCommand: ToolCommandLine {
    public static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "The database tool, with RocksDB ldb's command words, flags and output.",
        discussion: """
            Flags may come before or after the command word, as ldb takes them. Keys and values \
            are bytes (printed raw unless --hex). `strata COMMAND --help` describes a command. \
            A usage error (unknown flag, missing or bad value, unknown command) prints the \
            error and the usage on standard error and exits 1, as other failures do.
            """,
        subcommands: [
            Load.self, Scan.self, Get.self, Put.self, Delete.self, DeleteRange.self, Merge.self, BatchPut.self,
            ManifestDump.self, DumpWAL.self, Compact.self, Stats.self, ListColumnFamilies.self,
            CreateColumnFamily.self, DropColumnFamily.self, Verify.self, Repair.self, WriteSST.self,
            WriteExternSST.self, IngestExternSST.self, Checkpoint.self, CheckpointStore.self,
        ])

    public init() {}

    public static let booleanFlags: Set<String> = [
        "hex", "key_hex", "value_hex", "create_if_missing", "try_load_options", "no_try_load_options",
        "disable_wal", "compact", "stats", "verbose", "print_value", "header", "json", "wal", "link",
        "move_files", "snapshot_consistency", "allow_global_seqno", "allow_blocking_flush", "ingest_behind",
        "write_global_seqno",
    ]

    /// The command words (and ArgumentParser's `help`).
    public static var commandWords: Set<String> {
        Set(configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"])
    }

    /// Moves the command word (the first argument that is not a flag,
    /// before any `--`) to the front, so that flags before it reach the
    /// command too (`strata --from=a scan`), then spells bare booleans out.
    /// Without a command word only a help flag is kept (the tool prints the
    /// usage); an unknown command word is kept alone, so that the error
    /// names it rather than a flag the root does not take.
    public static func prepare(_ arguments: [String]) -> [String] {
        var args = arguments
        var word: String? = nil
        for (i, argument) in args.enumerated() {
            if argument == "--" { break }
            if !argument.hasPrefix("-") {
                word = argument
                args.remove(at: i)
                args.insert(argument, at: 0)
                break
            }
        }
        guard let word else { return args.filter { $0 == "--help" || $0 == "-h" }.prefix(1).map { $0 } }
        guard commandWords.contains(word) else { return [word] }
        return ToolArguments.prepare(args, booleanFlags: booleanFlags)
    }
}

extension StrataCommand {
    /// `load`: `KEY ==> VALUE` lines from standard input.
    public struct Load: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "load", abstract: "Read `KEY ==> VALUE` lines from standard input and put them.")
        @OptionGroup public var global: StrataGlobalOptions
        @Option(name: .customLong("disable_wal"), help: ArgumentHelp("Write without the WAL (then flush).", valueName: "0|1"))
        public var disableWAL: Flag01?
        @Option(name: .customLong("compact"), help: ArgumentHelp("Compact the whole range afterwards.", valueName: "0|1"))
        public var compact: Flag01?
        @Option(name: .customLong("stats"), help: ArgumentHelp("Print the level layout and W-Amp afterwards.", valueName: "0|1"))
        public var stats: Flag01?
        public init() {}
    }

    /// `scan`: `KEY : VALUE` lines.
    public struct Scan: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "scan", abstract: "Print `KEY : VALUE` for the keys in [--from, --to).")
        @OptionGroup public var global: StrataGlobalOptions
        @Option(name: .customLong("from"), help: ArgumentHelp("First key.", valueName: "K")) public var from: String?
        @Option(name: .customLong("to"), help: ArgumentHelp("End key (not included).", valueName: "K")) public var to: String?
        @Option(name: .customLong("max_keys"), help: ArgumentHelp("Print at most N keys (-1: all).", valueName: "N"))
        public var maxKeys: Int?
        public init() {}
        public func validate() throws { try checkRange(maxKeys, "max_keys", -1...Int.max) }
    }

    /// `get KEY`.
    public struct Get: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "get", abstract: "Print the value of KEY (exit 1 if not found).")
        @OptionGroup public var global: StrataGlobalOptions
        @Argument(help: "The key.") public var key: String
        public init() {}
    }

    /// `put KEY VALUE`.
    public struct Put: ParsableCommand {
        public static let configuration = CommandConfiguration(commandName: "put", abstract: "Write KEY = VALUE; prints OK.")
        @OptionGroup public var global: StrataGlobalOptions
        @Argument(help: "The key.") public var key: String
        @Argument(help: "The value.") public var value: String
        public init() {}
    }

    /// `delete KEY`.
    public struct Delete: ParsableCommand {
        public static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete KEY; prints OK.")
        @OptionGroup public var global: StrataGlobalOptions
        @Argument(help: "The key.") public var key: String
        public init() {}
    }

    /// `deleterange BEGIN END`.
    public struct DeleteRange: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "deleterange", abstract: "Delete the keys in [BEGIN, END); prints OK.")
        @OptionGroup public var global: StrataGlobalOptions
        @Argument(help: "First key deleted.") public var begin: String
        @Argument(help: "End key (kept).") public var end: String
        public init() {}
    }

    /// `merge KEY OPERAND`.
    public struct Merge: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "merge",
            abstract: "Merge OPERAND into KEY; prints OK.",
            discussion: """
                stringappend (the default) joins with ':' as ldb reads; int64add takes 8-byte \
                little-endian operands (e.g. with --value_hex).
                """)
        @OptionGroup public var global: StrataGlobalOptions
        @Argument(help: "The key.") public var key: String
        @Argument(help: "The merge operand.") public var operand: String
        public init() {}
    }

    /// `batchput K V [K V ...]`.
    public struct BatchPut: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "batchput", abstract: "Write KEY VALUE pairs in one batch; prints OK.")
        @OptionGroup public var global: StrataGlobalOptions
        @Argument(help: ArgumentHelp("KEY VALUE pairs.", valueName: "KEY VALUE")) public var pairs: [String] = []
        public init() {}
        public func validate() throws {
            guard !pairs.isEmpty, pairs.count % 2 == 0 else { throw ValidationError("batchput needs KEY VALUE pairs") }
        }
    }

    /// `manifest_dump`.
    public struct ManifestDump: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "manifest_dump", abstract: "Print the MANIFEST's column families and files.")
        @OptionGroup public var global: StrataGlobalOptions
        @Option(name: .customLong("path"), help: ArgumentHelp("A MANIFEST file instead of --db's.", valueName: "FILE"))
        public var path: String?
        @Option(name: .customLong("verbose"), help: ArgumentHelp("Print every version edit.", valueName: "0|1"))
        public var verbose: Flag01?
        public init() {}
    }

    /// `dump_wal --walfile=F`.
    public struct DumpWAL: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "dump_wal", abstract: "Print a WAL's write batches.")
        @OptionGroup public var global: StrataGlobalOptions
        @Option(name: .customLong("walfile"), help: ArgumentHelp("The WAL file.", valueName: "FILE"))
        public var walfile: String
        @Option(name: .customLong("print_value"), help: ArgumentHelp("Print values too.", valueName: "0|1"))
        public var printValue: Flag01?
        @Option(name: .customLong("header"), help: ArgumentHelp("Print a header line first.", valueName: "0|1"))
        public var header: Flag01?
        public init() {}
    }

    /// `compact [--from=K] [--to=K]`.
    public struct Compact: ParsableCommand {
        public static let configuration = CommandConfiguration(commandName: "compact", abstract: "Manual compaction of [--from, --to].")
        @OptionGroup public var global: StrataGlobalOptions
        @Option(name: .customLong("from"), help: ArgumentHelp("First key.", valueName: "K")) public var from: String?
        @Option(name: .customLong("to"), help: ArgumentHelp("Last key.", valueName: "K")) public var to: String?
        public init() {}
    }

    /// `stats`.
    public struct Stats: ParsableCommand {
        public static let configuration = CommandConfiguration(commandName: "stats", abstract: "Print the strata.stats property.")
        @OptionGroup public var global: StrataGlobalOptions
        public init() {}
    }

    /// `list_column_families`.
    public struct ListColumnFamilies: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "list_column_families", abstract: "Print the column families of --db.")
        @OptionGroup public var global: StrataGlobalOptions
        public init() {}
    }

    /// `create_column_family NAME`.
    public struct CreateColumnFamily: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "create_column_family", abstract: "Create a column family; prints OK.")
        @OptionGroup public var global: StrataGlobalOptions
        @Argument(help: "The family's name.") public var name: String
        public init() {}
    }

    /// `drop_column_family NAME`.
    public struct DropColumnFamily: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "drop_column_family", abstract: "Drop a column family; prints OK.")
        @OptionGroup public var global: StrataGlobalOptions
        @Argument(help: "The family's name.") public var name: String
        public init() {}
    }

    /// `verify`.
    public struct Verify: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check every file without opening the database.",
            discussion: """
                Checks CURRENT, the MANIFEST, tables, WALs, IDENTITY and OPTIONS; one line per file \
                (OK, WARNING, LEFTOVER, DAMAGED); exit 1 if any is damaged (leftovers of a crash \
                are not damage).
                """)
        @OptionGroup public var global: StrataGlobalOptions
        public init() {}
    }

    /// `repair`.
    public struct Repair: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "repair",
            abstract: "Rebuild the MANIFEST from the surviving tables and WALs (RepairDB).",
            discussion: "Unusable files move to DIR/lost/; prints what was kept and lost.")
        @OptionGroup public var global: StrataGlobalOptions
        public init() {}
    }

    /// `write_sst --file=OUT`.
    public struct WriteSST: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "write_sst",
            abstract: "Read `KEY ==> VALUE` lines into a new SST (sorted here, last one wins).")
        @OptionGroup public var global: StrataGlobalOptions
        @Option(name: .customLong("file"), help: ArgumentHelp("The SST to write.", valueName: "OUT")) public var file: String?
        @Argument(help: ArgumentHelp("The SST to write (instead of --file).", valueName: "OUT")) public var output: String?
        @Option(name: .customLong("compression"), help: ArgumentHelp("Block compression (default snappy).", valueName: "snappy|none"))
        public var compression: String?
        @Option(name: .customLong("checksum"), help: ArgumentHelp("Block checksum (default xxh3).", valueName: "xxh3|crc32c|xxhash|xxhash64"))
        public var checksum: String?
        @Option(name: .customLong("format_version"), help: ArgumentHelp("Table format version 2...6 (default 5).", valueName: "N"))
        public var formatVersion: Int?
        @Option(name: .customLong("column_family_id"), help: ArgumentHelp("The family the file is for (default 0).", valueName: "N|unknown"))
        public var columnFamilyID: String?
        public init() {}

        public func validate() throws {
            guard file != nil || output != nil else { throw ValidationError("write_sst needs --file=OUT") }
            try checkChoice(compression, "compression", ["snappy", "kSnappyCompression", "none", "no", "kNoCompression"])
            try checkChoice(checksum?.lowercased(), "checksum",
                            ["xxh3", "kxxh3", "crc32c", "kcrc32c", "xxhash", "kxxhash", "xxhash64", "kxxhash64"])
            guard formatVersion.map({ (2...6).contains($0) }) ?? true else {
                throw rangeError("format_version", formatVersion!, expected: "2...6 (6: RocksDB 8.6+ reads it, 7.8.3 does not)")
            }
            if let id = columnFamilyID, id != "unknown", UInt32(id) == nil {
                throw rangeError("column_family_id", id, expected: "a number 0...\(UInt32.max) or 'unknown'")
            }
        }
    }

    /// `write_extern_sst PATH`.
    public struct WriteExternSST: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "write_extern_sst",
            abstract: "Read `KEY ==> VALUE` lines into an external SST for --column_family of --db.")
        @OptionGroup public var global: StrataGlobalOptions
        @Argument(help: ArgumentHelp("The SST to write.", valueName: "output_sst_path")) public var path: String
        public init() {}
    }

    /// `ingest_extern_sst PATH`.
    public struct IngestExternSST: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "ingest_extern_sst",
            abstract: "Ingest an external SST (ldb's command, flags and defaults).",
            discussion: "Each flag bare or =true/false; snapshot_consistency, allow_global_seqno, allow_blocking_flush and write_global_seqno default to true.")
        @OptionGroup public var global: StrataGlobalOptions
        @Argument(help: ArgumentHelp("The SST to ingest.", valueName: "input_sst_path")) public var path: String
        @Option(name: .customLong("move_files"), help: ArgumentHelp("Move (link) instead of copy.", valueName: "0|1"))
        public var moveFiles: Flag01?
        @Option(name: .customLong("snapshot_consistency"), help: ArgumentHelp(valueName: "0|1")) public var snapshotConsistency: Flag01?
        @Option(name: .customLong("allow_global_seqno"), help: ArgumentHelp(valueName: "0|1")) public var allowGlobalSeqno: Flag01?
        @Option(name: .customLong("allow_blocking_flush"), help: ArgumentHelp(valueName: "0|1")) public var allowBlockingFlush: Flag01?
        @Option(name: .customLong("ingest_behind"), help: ArgumentHelp(valueName: "0|1")) public var ingestBehind: Flag01?
        @Option(name: .customLong("write_global_seqno"), help: ArgumentHelp(valueName: "0|1")) public var writeGlobalSeqno: Flag01?
        public init() {}
    }

    /// `checkpoint DEST`.
    public struct Checkpoint: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "checkpoint", abstract: "Write a checkpoint of --db into the new directory DEST.")
        @OptionGroup public var global: StrataGlobalOptions
        @Argument(help: ArgumentHelp("The new directory.", valueName: "DEST")) public var dest: String
        @Option(name: .customLong("wal"), help: ArgumentHelp("Copy the WAL instead of flushing.", valueName: "0|1"))
        public var wal: Flag01?
        @Option(name: .customLong("json"), help: ArgumentHelp("Print JSON.", valueName: "0|1")) public var json: Flag01?
        public init() {}
    }

    /// `checkpoint_store --store=S SUBCOMMAND ...`.
    public struct CheckpointStore: ParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "checkpoint_store",
            abstract: "Manage a checkpoint store (docs/checkpoints.md).",
            discussion: """
                checkpoint_store --store=S create --db=DIR [--wal] [--keep_last=N] [--json]
                checkpoint_store --store=S list [--json]
                checkpoint_store --store=S verify [ID] [--json]
                checkpoint_store --store=S restore ID DEST [--link]
                checkpoint_store --store=S delta FROM_ID TO_ID [--json]   (FROM_ID "-" = none)
                checkpoint_store --store=S delete ID | keep_last N
                """)
        @OptionGroup public var global: StrataGlobalOptions
        @Option(name: .customLong("store"), help: ArgumentHelp("The store directory.", valueName: "S")) public var store: String
        @Argument(help: ArgumentHelp("What to do, and its arguments.", valueName: "SUBCOMMAND ARGS")) public var words: [String] = []
        @Option(name: .customLong("keep_last"), help: ArgumentHelp("Keep at most N checkpoints.", valueName: "N"))
        public var keepLast: Int?
        @Option(name: .customLong("json"), help: ArgumentHelp("Print JSON.", valueName: "0|1")) public var json: Flag01?
        @Option(name: .customLong("wal"), help: ArgumentHelp("create: copy the WAL instead of flushing.", valueName: "0|1"))
        public var wal: Flag01?
        @Option(name: .customLong("link"), help: ArgumentHelp("restore: hard-link tables.", valueName: "0|1"))
        public var link: Flag01?
        public init() {}

        /// The store subcommands and how many arguments each takes.
        public static let arities: [String: ClosedRange<Int>] = [
            "create": 0...0, "list": 0...0, "verify": 0...1, "restore": 2...2, "delta": 2...2, "delete": 1...1, "keep_last": 1...1,
        ]

        public func validate() throws {
            try checkRange(keepLast, "keep_last", 0...Int.max)
            guard let sub = words.first else { throw ValidationError("checkpoint_store needs a subcommand") }
            guard let arity = Self.arities[sub] else {
                throw ValidationError("unknown checkpoint_store subcommand '\(sub)' (\(Self.arities.keys.sorted().joined(separator: ", ")))")
            }
            guard arity.contains(words.count - 1) else {
                throw ValidationError("checkpoint_store \(sub) takes \(arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound)...\(arity.upperBound)") arguments")
            }
            if sub == "keep_last", Int(words[1]).map({ $0 < 0 }) ?? true {
                throw ValidationError("keep_last needs N >= 0, got '\(words[1])'")
            }
        }
    }
}
