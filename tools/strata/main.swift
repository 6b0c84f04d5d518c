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
// `strata COMMAND --help` describes each command (ToolCommands/StrataCommand.swift).
// A usage error (unknown flag, missing or bad value, unknown command) prints
// the error and the usage on standard error and exits 1.
import Glibc
import Strata
import ToolCommands
import ToolSupport

// Raw argv bytes: keys and values are bytes, as ldb takes them
// (CommandLine.arguments would repair invalid UTF-8 to U+FFFD);
// argumentStrings keeps them losslessly for the parser.
let parsed = ToolMain.parseOrExit(StrataCommand.self, RawBytes.argumentStrings(), usageStatus: 1)
do {
    let status = try StrataTool.run(parsed)
    RawBytes.flush()
    exit(status)
} catch {
    RawBytes.flush()
    // Failures go to standard error, as ldb prints them.
    printError("Failed: \(error)")
    exit(1)
}
