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
// a directory holds no *.sst file; a usage error (unknown flag, missing or
// bad value) prints the error and the usage and exits 1. `sst-dump --help`
// lists the flags (ToolCommands/SSTDumpCommand.swift).
import Glibc
import Strata
import ToolCommands
import ToolSupport

// Raw argv bytes: --from/--to/--prefix are bytes, as sst_dump takes them
// (argumentStrings keeps invalid UTF-8 losslessly for the parser).
let parsed = ToolMain.parseOrExit(SSTDumpCommand.self, RawBytes.argumentStrings(), usageStatus: 1)
guard let flags = parsed as? SSTDumpCommand else { exit(1) }
let target = flags.file
let inputHex = flags.inputKeyHex.or(false)
@MainActor func keyFlag(_ name: String, _ argument: String?) -> [UInt8]? {
    guard let argument else { return nil }
    let raw = RawBytes.bytes(of: argument)
    if inputHex {
        let text = String(decoding: raw, as: UTF8.self)
        guard let bytes = HexCodec.decode(text) else {
            printError("--\(name) is not valid hex: \(text)")
            exit(1)
        }
        return bytes
    }
    return raw
}
let options = DumpOptions(
    command: flags.command, showProperties: flags.showProperties.or(false), outputHex: flags.outputHex.or(false),
    json: flags.json.or(false), from: keyFlag("from", flags.from), to: keyFlag("to", flags.to),
    prefix: keyFlag("prefix", flags.prefix), readNum: flags.readNum, probes: flags.probes)

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
