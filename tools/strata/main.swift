// strata: the whole-database tool, with ldb's command names, flags and output.
//
//   strata --db=DIR [--hex] [--key_hex] [--value_hex] [--create_if_missing] COMMAND [ARGS] [FLAGS]
//
// Commands (flags may come before or after the command, as ldb takes them):
//   load [--disable_wal] [--compact] [--stats]   read `KEY ==> VALUE` lines from stdin and
//                            put them; --stats prints the level layout and W-Amp afterwards
//   scan [--from=K] [--to=K] [--max_keys=N]   print `KEY : VALUE` lines
//   get KEY                  print the value (exit 1 if not found)
//   put KEY VALUE | delete KEY | deleterange BEGIN END | batchput K V [K V ...]   print OK
//   manifest_dump            print the MANIFEST's column families and files
//   dump_wal --walfile=F [--print_value] [--header]   print a WAL's write batches
//   compact [--from=K] [--to=K]   manual compaction
//   stats                    print the strata.stats property
//   list_column_families     print `Column families in DIR: ` and `{default, NAME, ...}`
//   create_column_family NAME | drop_column_family NAME   print OK
//   --column_family=NAME     run a data command (get, put, delete, batchput, scan, load,
//                            compact, stats) on that column family instead of "default"
//   verify                   check every file without opening the database (exit 1 if one is damaged)
//   repair                   rebuild the MANIFEST from the surviving tables and WALs (RepairDB)
//   write_sst --file=OUT [--hex] [--compression=snappy|none] [--checksum=xxh3|crc32c|xxhash|xxhash64]
//             [--bloom_bits=10] [--block_size=4096] [--format_version=5]
//                            read `KEY ==> VALUE` lines (sorted here, last one wins) into a new SST
//   ingest_extern_sst PATH [--move_files] [--snapshot_consistency] [--allow_global_seqno]
//             [--allow_blocking_flush] [--ingest_behind] [--write_global_seqno]
//                            ingest an external SST (ldb's command, flags and defaults)
import Glibc
import Strata
import ToolSupport

// Raw argv bytes: keys and values are bytes, as ldb takes them
// (CommandLine.arguments would repair invalid UTF-8 to U+FFFD).
let flags: ParsedFlags
do {
    flags = try ParsedFlags(rawArguments: RawBytes.arguments())
} catch {
    printError("Failed: \(error)")
    exit(1)
}
// Unknown flags are errors (a typo such as --max_key=0 for --max_keys=0
// used to be ignored and ran a full scan).
if let unknown = flags.unknownFlags(allowed: StrataTool.knownFlags).first {
    printError("Failed: unknown flag --\(unknown)\n\(StrataTool.usage)")
    exit(1)
}
guard let command = flags.positionals.first else {
    print(StrataTool.usage + "\n" + StrataTool.ingestUsage + "\n" + StrataTool.repairUsage + "\n" + StrataTool.checkpointUsage)
    exit(flags.bool("help") ? 0 : 1)
}
let args = Array(flags.positionalBytes.dropFirst())
do {
    let status = try StrataTool(flags: flags).run(command: command, args: args)
    RawBytes.flush()
    exit(status)
} catch {
    RawBytes.flush()
    // Failures go to standard error, as ldb prints them.
    printError("Failed: \(error)")
    exit(1)
}
