// sst-dump: inspect SST files, with RocksDB sst_dump's flags and output.
//
//   sst-dump --file=FILE_OR_DIR [--command=check|scan|raw|verify|none|identify|blocks|filter|summary]
//            [--show_properties] [--verify_checksum] [--from=KEY] [--to=KEY] [--prefix=KEY]
//            [--input_key_hex] [--output_hex] [--read_num=N] [--json]
//
// The scan lines are sst_dump's: 'KEY' seq:S, type:T => VALUE. Beyond
// sst_dump: --json, --command=blocks (block map), --command=filter (filter
// statistics: measured false positives vs the formula) and --command=summary
// (key, sequence and type summaries). Exit status: 0 if every file was read
// cleanly, 1 if any file is missing, not an SST, or damaged (the message names
// the block and offset; --command=blocks: any block whose checksum is bad), or
// a directory holds no *.sst file; bad flags print the usage and exit 1.
import Glibc
import Strata
import ToolSupport

let allowedFlags: Set<String> = [
    "file", "command", "show_properties", "verify_checksum", "from", "to", "prefix", "input_key_hex",
    "output_hex", "read_num", "json", "help", "probes",
]

func usage() -> String {
    """
    sst-dump --file=<data_dir_OR_sst_file> [--command=check|scan|raw|verify|none|identify|blocks|filter|summary]
        --file=<data_dir_OR_sst_file>  an SST file, or a directory: every *.sst in it
        --command=check     read every entry, print nothing unless there is an error (default)
                  scan      print every entry: 'KEY' seq:S, type:T => VALUE
                  raw       write <file>_dump.txt with the footer, meta blocks, index and every data block
                  verify    read every block verifying its checksum
                  none      open the file only
                  identify  say whether each file is a valid SST
                  blocks    block map: offset, size, stored size, compression, checksum, entries, first/last key
                  filter    filter statistics: bits/key, probes, measured false-positive rate vs the formula
                  summary   key, value, sequence and type summaries
        --show_properties   print the table properties after the command
        --verify_checksum   verify block checksums (Strata always verifies; accepted for compatibility)
        --from=KEY --to=KEY scan/check keys in [from, to)
        --prefix=KEY        scan/check keys starting with KEY
        --input_key_hex     --from/--to/--prefix are hex
        --output_hex        print keys and values in hex
        --read_num=N        stop after N entries
        --json              print one JSON object per file instead of text
        --probes=N          absent keys tried by --command=filter (default 100000)
    """
}

let flags: ParsedFlags
do {
    // Raw argv bytes: --from/--to/--prefix are bytes, as sst_dump takes them.
    flags = try ParsedFlags(rawArguments: RawBytes.arguments())
} catch {
    printError("\(error)\n\(usage())")
    exit(1)
}
if flags.bool("help") {
    print(usage())
    exit(0)
}
let unknown = flags.unknownFlags(allowed: allowedFlags)
if !unknown.isEmpty {
    printError("Unrecognized flag(s): \(unknown.joined(separator: ", "))\n\(usage())")
    exit(1)
}
guard let target = flags.string("file") else {
    printError("--file is required\n\(usage())")
    exit(1)
}
let command = flags.string("command") ?? "check"
let validCommands = ["check", "scan", "raw", "verify", "none", "identify", "blocks", "filter", "summary"]
guard validCommands.contains(command) else {
    printError("Unknown command '\(command)'\n\(usage())")
    exit(1)
}
let inputHex = flags.bool("input_key_hex")
@MainActor func keyFlag(_ name: String) -> [UInt8]? {
    guard let raw = flags.bytes(name) else { return nil }
    let text = String(decoding: raw, as: UTF8.self)
    if inputHex {
        guard let bytes = HexCodec.decode(text) else {
            printError("--\(name) is not valid hex: \(text)")
            exit(1)
        }
        return bytes
    }
    return raw
}
@MainActor func intFlag(_ name: String, _ range: ClosedRange<Int>) -> Int? {
    do {
        return try flags.int(name, in: range)
    } catch {
        printError("\(error)")
        exit(1)
    }
}
let options = DumpOptions(
    command: command, showProperties: flags.bool("show_properties"), outputHex: flags.bool("output_hex"),
    json: flags.bool("json"), from: keyFlag("from"), to: keyFlag("to"), prefix: keyFlag("prefix"),
    readNum: intFlag("read_num", 0...Int.max), probes: intFlag("probes", 0...1_000_000_000) ?? 100_000)

let fs = PosixFileSystem.shared
var files: [String] = []
var isDirectory = false
var st = stat()
if stat(target, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
    isDirectory = true
    files = ((try? fs.listDirectory(target)) ?? []).filter { $0.hasSuffix(".sst") }.map { Path.join(target, $0) }
} else {
    files = [target]
}
if !fs.exists(target) {
    print("NotFound: \(target): No such file or directory")
    exit(1)
}
if isDirectory && files.isEmpty {
    print("No SST files (*.sst) in directory \(target)")
    exit(1)
}

var failed = false
for file in files {
    if !dump(file: file, options: options) { failed = true }
    RawBytes.flush()
}
exit(failed ? 1 : 0)
