// The command line of `sst-dump` (RocksDB sst_dump's flags).
import ArgumentParser

/// `sst-dump --file=FILE_OR_DIR [--command=...] ...`. `--from`, `--to` and
/// `--prefix` are bytes: the tool parses `RawBytes.argumentStrings()` and
/// reads them back with `RawBytes.bytes(of:)`.
public struct SSTDumpCommand: ToolCommandLine {
    public static let configuration = CommandConfiguration(
        commandName: "sst-dump",
        abstract: "Inspect SST files, with RocksDB sst_dump's flags and output.",
        discussion: """
            --command=check     read every entry, print errors only (default)
                      scan      print every entry: 'KEY' seq:S, type:T => VALUE
                      raw       write <file>_dump.txt: footer, meta blocks, index, blocks
                      verify    read every block verifying its checksum
                      none      open the file only
                      identify  say whether each file is a valid SST
                      blocks    block map: offsets, sizes, compression, checksums, keys
                      filter    filter statistics: measured false positives vs formula
                      summary   key, value, sequence and type summaries

            Boolean flags may be given bare (--json) or as --json=0|1. Exit status: 0 if every file was read cleanly; 1 if a file is missing, not an SST or damaged, a directory holds no *.sst, or on a usage error (unknown flag, missing or bad value: printed with the usage).
            """)

    /// The values `--command` takes.
    public static let commands = ["check", "scan", "raw", "verify", "none", "identify", "blocks", "filter", "summary"]

    @Option(name: .customLong("file"), help: ArgumentHelp("An SST file, or a directory: every *.sst in it.", valueName: "data_dir_OR_sst_file"))
    public var file: String
    @Option(name: .customLong("command"), help: ArgumentHelp("What to do (default check; see below).", valueName: "COMMAND"))
    public var command: String = "check"
    @Option(name: .customLong("show_properties"), help: ArgumentHelp("Print the table properties after the command.", valueName: "0|1"))
    public var showProperties: Flag01?
    @Option(name: .customLong("verify_checksum"), help: ArgumentHelp("Verify block checksums (Strata always does; accepted for compatibility).", valueName: "0|1"))
    public var verifyChecksum: Flag01?
    @Option(name: .customLong("from"), help: ArgumentHelp("scan/check keys from KEY.", valueName: "KEY")) public var from: String?
    @Option(name: .customLong("to"), help: ArgumentHelp("scan/check keys before KEY.", valueName: "KEY")) public var to: String?
    @Option(name: .customLong("prefix"), help: ArgumentHelp("scan/check keys starting with KEY.", valueName: "KEY")) public var prefix: String?
    @Option(name: .customLong("input_key_hex"), help: ArgumentHelp("--from/--to/--prefix are hex.", valueName: "0|1"))
    public var inputKeyHex: Flag01?
    @Option(name: .customLong("output_hex"), help: ArgumentHelp("Print keys and values in hex.", valueName: "0|1"))
    public var outputHex: Flag01?
    @Option(name: .customLong("read_num"), help: ArgumentHelp("Stop after N entries (>= 0).", valueName: "N"))
    public var readNum: Int?
    @Option(name: .customLong("json"), help: ArgumentHelp("Print one JSON object per file instead of text.", valueName: "0|1"))
    public var json: Flag01?
    @Option(name: .customLong("probes"), help: ArgumentHelp("Absent keys tried by --command=filter (0...1000000000, default 100000).", valueName: "N"))
    public var probes: Int = 100_000

    public init() {}

    public static let booleanFlags: Set<String> = ["show_properties", "verify_checksum", "input_key_hex", "output_hex", "json"]

    public func validate() throws {
        try checkChoice(command, "command", Self.commands)
        try checkRange(readNum, "read_num", 0...Int.max)
        try checkRange(probes, "probes", 0...1_000_000_000)
    }
}
