import ArgumentParser
import Testing
import ToolCommands
import ToolSupport

/// Every tool's command line through its ArgumentParser types (issue 24,
/// item 7): RocksDB's spellings keep working (the lines scripts and docs
/// use), unknown flags, typos, bad and out-of-range values are usage errors
/// naming the flag, db_bench booleans take 0/1/true/false or nothing, and
/// --help works for every tool and every strata command word.
@Suite("Tool command lines")
struct ToolCommandLineTests {
    /// Parses `arguments` as `Root`'s command line and returns the command
    /// as `C`; records an issue (and returns nil) if it does not parse.
    static func parse<Root: ToolCommandLine, C>(_ root: Root.Type, _ arguments: [String], as: C.Type,
                                               sourceLocation: SourceLocation = #_sourceLocation) -> C? {
        switch ToolMain.parse(root, arguments) {
        case .success(let command):
            guard let command = command as? C else {
                Issue.record("\(arguments) parsed as \(type(of: command)), not \(C.self)", sourceLocation: sourceLocation)
                return nil
            }
            return command
        case .failure(let failure):
            Issue.record("\(arguments) did not parse: \(failure.message)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// The usage error `arguments` give; records an issue if they parse.
    static func usageError<Root: ToolCommandLine>(_ root: Root.Type, _ arguments: [String],
                                                  sourceLocation: SourceLocation = #_sourceLocation) -> String {
        switch ToolMain.parse(root, arguments) {
        case .success(let command):
            Issue.record("\(arguments) parsed (as \(type(of: command))) but should be a usage error", sourceLocation: sourceLocation)
            return ""
        case .failure(let failure):
            #expect(!failure.isHelp, "\(arguments)", sourceLocation: sourceLocation)
            #expect(failure.message.contains("Usage:"), "\(arguments): \(failure.message)", sourceLocation: sourceLocation)
            return failure.message
        }
    }

    /// The help text `arguments` ask for; records an issue otherwise.
    static func help<Root: ToolCommandLine>(_ root: Root.Type, _ arguments: [String],
                                            sourceLocation: SourceLocation = #_sourceLocation) -> String {
        switch ToolMain.parse(root, arguments) {
        case .success(let command):
            Issue.record("\(arguments) parsed (as \(type(of: command))) instead of asking for help", sourceLocation: sourceLocation)
            return ""
        case .failure(let failure):
            #expect(failure.isHelp, "\(arguments): \(failure.message)", sourceLocation: sourceLocation)
            return failure.message
        }
    }

    @Test("Flag01 takes db_bench's booleans; a bare boolean flag means 1")
    func booleans() throws {
        for (text, value) in [("1", true), ("0", false), ("true", true), ("false", false), ("TRUE", true), ("yes", true),
                              ("no", false), ("on", true), ("off", false)] {
            #expect(Flag01(argument: text)?.value == value, "\(text)")
        }
        for text in ["", "2", "-1", "maybe", "01"] { #expect(Flag01(argument: text) == nil, "\(text)") }
        #expect(ToolArguments.prepare(["--sync", "--hex", "--sync=0", "--", "--sync"], booleanFlags: ["sync"])
            == ["--sync=1", "--hex", "--sync=0", "--", "--sync"])
        #expect(Seconds(argument: "2.5")?.value == 2.5)
        for text in ["abc", "-1", "nan", "inf", ""] { #expect(Seconds(argument: text) == nil, "\(text)") }
        #expect(GroupedInteger(argument: "10_000_000")?.value == 10_000_000)
    }

    @Test("RawBytes.escapedString is lossless and one-to-one")
    func rawBytes() {
        let cases: [[UInt8]] = [
            Array("plain --db=/x".utf8), [0x6B, 0xFF], [0x6B, 0xFE], [0xC3, 0x28], Array("é€😀".utf8),
            [0xED, 0xA0, 0x80],  // a UTF-8-encoded surrogate: not UTF-8
            [0xC0, 0xAF],  // overlong
            [0xF4, 0x8F, 0xBC, 0x81],  // U+10FF01, inside the escape range
            [0xF4, 0x8F, 0xBF, 0xBF], [0xE2, 0x82], [], [0x00, 0x80, 0xBF],
        ]
        var seen: Set<String> = []
        for bytes in cases {
            let text = RawBytes.escapedString(bytes)
            #expect(RawBytes.bytes(of: text) == bytes, "\(bytes)")
            #expect(seen.insert(text).inserted, "\(bytes) collides")
        }
        #expect(RawBytes.escapedString(Array("--db=/x".utf8)) == "--db=/x")
    }

    @Test("strata: ldb's command words and flags, before or after the word")
    func strata() throws {
        if let get = Self.parse(StrataCommand.self, ["--db=/d", "--hex", "get", "0x61"], as: StrataCommand.Get.self) {
            #expect(get.global.db == "/d" && get.global.keysAreHex && get.global.valuesAreHex && get.key == "0x61")
        }
        // Command-specific flags may come before the command word, global ones after it.
        for args in [["--db=/d", "scan", "--from=a", "--to=c", "--max_keys=3"], ["--from=a", "--db=/d", "--max_keys=3", "scan", "--to=c"]] {
            if let scan = Self.parse(StrataCommand.self, args, as: StrataCommand.Scan.self) {
                #expect(scan.global.db == "/d" && scan.from == "a" && scan.to == "c" && scan.maxKeys == 3, "\(args)")
            }
        }
        if let put = Self.parse(StrataCommand.self, ["--db=/d", "--create_if_missing", "--write_buffer_size=4194304", "put", "k", "v"],
                                as: StrataCommand.Put.self) {
            #expect(put.global.createIfMissing == Flag01(true) && put.global.writeBufferSize == 4 << 20 && put.key == "k" && put.value == "v")
        }
        if let load = Self.parse(StrataCommand.self, ["--db=/d", "--column_family=cf1", "load", "--disable_wal", "--stats=0"],
                                 as: StrataCommand.Load.self) {
            #expect(load.global.columnFamily == "cf1" && load.disableWAL.or(false) && !load.stats.or(true) && load.compact == nil)
        }
        // A key starting with '-' after `--`.
        if let put = Self.parse(StrataCommand.self, ["--db=/d", "put", "--", "-k", "v"], as: StrataCommand.Put.self) {
            #expect(put.key == "-k")
        }
        if let batch = Self.parse(StrataCommand.self, ["--db=/d", "batchput", "a", "1", "b", "2"], as: StrataCommand.BatchPut.self) {
            #expect(batch.pairs == ["a", "1", "b", "2"])
        }
        if let ingest = Self.parse(StrataCommand.self, ["--db=/d", "ingest_extern_sst", "/x.sst", "--move_files", "--write_global_seqno=false"],
                                   as: StrataCommand.IngestExternSST.self) {
            #expect(ingest.path == "/x.sst" && ingest.moveFiles.or(false) && !ingest.writeGlobalSeqno.or(true)
                    && ingest.allowGlobalSeqno.or(true))
        }
        if let store = Self.parse(StrataCommand.self, ["checkpoint_store", "--store=/s", "create", "--db=/d", "--wal", "--json"],
                                  as: StrataCommand.CheckpointStore.self) {
            #expect(store.store == "/s" && store.words == ["create"] && store.global.db == "/d" && store.wal.or(false) && store.json.or(false))
        }
        if let sst = Self.parse(StrataCommand.self, ["write_sst", "--file=/o.sst", "--hex", "--compression=none", "--format_version=6",
                                                     "--bloom_bits=10", "--column_family_id=unknown"], as: StrataCommand.WriteSST.self) {
            #expect(sst.file == "/o.sst" && sst.formatVersion == 6 && sst.global.bloomBits == 10 && sst.columnFamilyID == "unknown")
        }
        _ = Self.parse(StrataCommand.self, ["--db=/d", "dump_wal", "--walfile=/d/000003.log", "--print_value", "--header"],
                       as: StrataCommand.DumpWAL.self)
        _ = Self.parse(StrataCommand.self, ["--path=/d/MANIFEST-000001", "manifest_dump", "--verbose"], as: StrataCommand.ManifestDump.self)
        _ = Self.parse(StrataCommand.self, ["--db=/d", "checkpoint", "/c", "--wal"], as: StrataCommand.Checkpoint.self)
        // Without a command word: the root (the tool prints the usage and exits 1).
        _ = Self.parse(StrataCommand.self, [], as: StrataCommand.self)
        _ = Self.parse(StrataCommand.self, ["--db=/d", "--hex"], as: StrataCommand.self)
        #expect(Self.help(StrataCommand.self, ["--db=/d", "--help"]).contains("SUBCOMMANDS"))
    }

    @Test("strata: typos, unknown flags and commands, missing and bad values are usage errors naming the flag")
    func strataErrors() {
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "--max_key=0", "scan"]).contains("'--max_key'"))
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "get", "k", "--max_keys=3"]).contains("'--max_keys'"))
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "frobnicate"]).contains("frobnicate"))
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "put", "k"]).contains("<value>"))
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "get", "a", "b"]).contains("'b'"))
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "batchput", "a", "1", "b"]).contains("KEY VALUE pairs"))
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "--write_buffer_size=1", "scan"]).contains("--write_buffer_size=1"))
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "--block_size=0", "scan"]).contains("--block_size=0"))
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "--compression_type=zstd", "scan"]).contains("--compression_type=zstd"))
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "scan", "--max_keys=abc"]).contains("--max_keys"))
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "scan", "--max_keys=-2"]).contains("--max_keys=-2"))
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "--hex=2", "scan"]).contains("--hex"))
        #expect(Self.usageError(StrataCommand.self, ["write_sst", "--file=/o", "--format_version=7"]).contains("--format_version=7"))
        #expect(Self.usageError(StrataCommand.self, ["write_sst"]).contains("--file"))
        #expect(Self.usageError(StrataCommand.self, ["checkpoint_store", "--store=/s", "restore", "1"]).contains("restore"))
        #expect(Self.usageError(StrataCommand.self, ["checkpoint_store", "--store=/s", "explode"]).contains("explode"))
        #expect(Self.usageError(StrataCommand.self, ["--db=/d", "-x", "scan"]).contains("-x"))
    }

    @Test("strata: --help for the tool and every command word")
    func strataHelp() {
        #expect(Self.help(StrataCommand.self, ["--help"]).contains("scan"))
        for sub in StrataCommand.configuration.subcommands {
            let name = sub.configuration.commandName ?? ""
            #expect(Self.help(StrataCommand.self, ["--db=/d", name, "--help"]).contains("strata \(name)"), "\(name)")
            #expect(Self.help(StrataCommand.self, ["help", name]).contains("strata \(name)"), "\(name)")
        }
        #expect(Self.help(StrataCommand.self, ["scan", "--help"]).contains("--max_keys"))
    }

    @Test("sst-dump: sst_dump's flags; --probes and --read_num range-checked")
    func sstDump() {
        if let c = Self.parse(SSTDumpCommand.self, ["--file=/d/1.sst", "--command=scan", "--output_hex", "--read_num=5", "--from=a",
                                                    "--input_key_hex=0", "--show_properties"], as: SSTDumpCommand.self) {
            #expect(c.file == "/d/1.sst" && c.command == "scan" && c.outputHex.or(false) && c.readNum == 5 && c.from == "a"
                    && !c.inputKeyHex.or(true) && c.showProperties.or(false) && c.probes == 100_000)
        }
        if let c = Self.parse(SSTDumpCommand.self, ["--file=/d", "--command=filter", "--probes=0", "--json"], as: SSTDumpCommand.self) {
            #expect(c.probes == 0 && c.json.or(false))
        }
        #expect(Self.usageError(SSTDumpCommand.self, ["--file=/x", "--command=filter", "--probes=-1"]).contains("--probes=-1"))
        #expect(Self.usageError(SSTDumpCommand.self, ["--file=/x", "--read_num=-1"]).contains("--read_num=-1"))
        #expect(Self.usageError(SSTDumpCommand.self, ["--file=/x", "--command=bogus"]).contains("--command=bogus"))
        #expect(Self.usageError(SSTDumpCommand.self, ["--command=scan"]).contains("--file"))
        #expect(Self.usageError(SSTDumpCommand.self, ["--file=/x", "--output-hex"]).contains("--output-hex"))
        #expect(Self.help(SSTDumpCommand.self, ["--help"]).contains("--show_properties"))
    }

    @Test("strata-bench: peer-bench.sh's and bench-check.sh's flags; db_bench booleans; ranges")
    func strataBench() {
        // The exact lists ../shared/tools/peer-bench.sh passes (rocksdb peers, leveldb peer) and bench-check.sh.
        let common = ["--num=2000000", "--reads=500000", "--value_size=100", "--bloom_bits=10", "--histogram=1"]
        let rocks = ["--benchmarks=fillseq,readrandom"] + common + ["--key_size=16", "--compression_type=snappy",
            "--write_buffer_size=67108864", "--cache_size=8388608", "--sync=0", "--disable_wal=0", "--threads=1", "--seed=1",
            "--use_existing_db=0", "--compaction_style=1", "--sync=1", "--db=/tmp/peer/db-strata"]
        if let c = Self.parse(StrataBenchCommand.self, rocks, as: StrataBenchCommand.self) {
            #expect(c.benchmarkList == ["fillseq", "readrandom"] && c.num == 2_000_000 && c.histogram == Flag01(true)
                    && c.sync == Flag01(true) && c.useExistingDB == Flag01(false) && c.compactionStyle == 1 && c.seed == 1)
            #expect(c.givenFlags.isSuperset(of: ["num", "write_buffer_size", "sync", "db"]) && !c.givenFlags.contains("defaults"))
        }
        let own = ["--benchmarks=fillrandom, readrandom ,stats"] + common + ["--key_size=16", "--threads=1", "--seed=1",
                   "--use_existing_db=0", "--defaults=strata", "--db=/tmp/peer/db-strata"]
        if let c = Self.parse(StrataBenchCommand.self, own, as: StrataBenchCommand.self) {
            #expect(c.benchmarkList == ["fillrandom", "readrandom", "stats"] && c.defaults == "strata")
            #expect(!c.givenFlags.contains("write_buffer_size"))
        }
        _ = Self.parse(StrataBenchCommand.self, ["--benchmarks=mergerandom", "--merge_operator=stringappend", "--num=5000",
                                                 "--reads=3000", "--seed=11", "--key_size=16", "--value_size=100", "--threads=1",
                                                 "--compression_type=snappy"], as: StrataBenchCommand.self)
        if let c = Self.parse(StrataBenchCommand.self, ["--destroy_db", "--mmap_read=true", "--wait_for_background=1",
                                                        "--level_compaction_dynamic_level_bytes=false"], as: StrataBenchCommand.self) {
            #expect(c.destroyDB == Flag01(true) && c.mmapRead == Flag01(true) && c.waitForBackground == Flag01(true)
                    && c.dynamicLevelBytes == Flag01(false))
        }
        #expect(Self.usageError(StrataBenchCommand.self, ["--value_size=-1"]).contains("--value_size=-1"))
        #expect(Self.usageError(StrataBenchCommand.self, ["--threads=0"]).contains("--threads=0"))
        #expect(Self.usageError(StrataBenchCommand.self, ["--num=0"]).contains("--num=0"))
        #expect(Self.usageError(StrataBenchCommand.self, ["--sync=2"]).contains("--sync"))
        #expect(Self.usageError(StrataBenchCommand.self, ["--use_existing_db=maybe"]).contains("--use_existing_db"))
        #expect(Self.usageError(StrataBenchCommand.self, ["--compaction_style=2"]).contains("--compaction_style=2"))
        #expect(Self.usageError(StrataBenchCommand.self, ["--duration=abc"]).contains("--duration"))
        #expect(Self.usageError(StrataBenchCommand.self, ["--defaults=leveldb"]).contains("--defaults=leveldb"))
        #expect(Self.usageError(StrataBenchCommand.self, ["--benchmark=fillseq"]).contains("'--benchmark'"))
        #expect(Self.usageError(StrataBenchCommand.self, ["fillseq"]).contains("fillseq"))
        // peer-bench.sh looks for --defaults in the help to know the flag exists.
        #expect(Self.help(StrataBenchCommand.self, ["--help"]).contains("--defaults"))
    }

    @Test("strata-stress: the crash driver's and strata-crash-test's flags; every number range-checked")
    func strataStress() {
        // What CrashDriver passes to each run and verification.
        let run = ["--db=/t/db", "--expected_state=/t/db.expected", "--threads=4", "--keys=10000", "--sync_percent=5",
                   "--range_deletes=1", "--merges=0", "--checkpoints=1", "--column_families=2", "--reopen_seconds=0.7",
                   "--compaction_style=0", "--enable_compaction_filter=1", "--disable_wal", "--seed=7", "--duration=3600",
                   "--kill_point=WAL.sync", "--kill_odds=100"]
        if let c = Self.parse(StrataStressCommand.self, run, as: StrataStressCommand.self) {
            #expect(c.threads == 4 && c.merges == Flag01(false) && c.reopenSeconds == Seconds(0.7) && c.disableWAL == Flag01(true)
                    && c.duration == Seconds(3600) && c.killPoint == "WAL.sync" && c.enableCompactionFilter == Flag01(true))
        }
        if let c = Self.parse(StrataStressCommand.self, ["--db=/t/db", "--expected_state=/t/e", "--verify_only"], as: StrataStressCommand.self) {
            #expect(c.verifyOnly == Flag01(true))
        }
        _ = Self.parse(StrataStressCommand.self, ["--crash_test", "--cycles=20", "--max_seconds=50", "--kill_min_ms=200",
                                                  "--kill_max_ms=2000", "--kill_point=all"], as: StrataStressCommand.self)
        #expect(Self.usageError(StrataStressCommand.self, ["--db=/t", "--threads=0"]).contains("--threads=0"))
        #expect(Self.usageError(StrataStressCommand.self, ["--db=/t", "--threads=65"]).contains("--threads=65"))
        #expect(Self.usageError(StrataStressCommand.self, ["--db=/t", "--duration=abc"]).contains("--duration"))
        #expect(Self.usageError(StrataStressCommand.self, ["--db=/t", "--duration=-1"]).contains("--duration"))
        #expect(Self.usageError(StrataStressCommand.self, ["--db=/t", "--threads=8", "--keys=4"]).contains("--keys=4"))
        #expect(Self.usageError(StrataStressCommand.self, ["--db=/t", "--sync_percent=101"]).contains("--sync_percent=101"))
        #expect(Self.usageError(StrataStressCommand.self, ["--db=/t", "--column_families=9"]).contains("--column_families=9"))
        #expect(Self.usageError(StrataStressCommand.self, ["--db=/t", "--merges=yes please"]).contains("--merges"))
        #expect(Self.usageError(StrataStressCommand.self, ["--threads=2"]).contains("--db"))
        #expect(Self.help(StrataStressCommand.self, ["--help"]).contains("--crash_test"))
    }

    @Test("stream-bench, strata-demo, table-bench, checkpoint-bench: their scripts' and docs' flags; ranges")
    func otherTools() {
        if let c = Self.parse(StreamBenchCommand.self, ["--workload=nexmark-q5", "--events=200000", "--checkpoint-ms=100000000",
                                                        "--dir=/t/n", "--fresh", "--output=jsonl", "--disorder=0"], as: StreamBenchCommand.self) {
            #expect(c.isNexmark && c.events == GroupedInteger(200_000) && c.fresh == Flag01(true) && c.disorder == GroupedInteger(0))
        }
        if let c = Self.parse(StreamBenchCommand.self, ["--workload=session", "--events=3_000_000", "--keys=100", "--db=/t/w"],
                              as: StreamBenchCommand.self) {
            #expect(!c.isNexmark && c.events == GroupedInteger(3_000_000))
        }
        #expect(Self.usageError(StreamBenchCommand.self, ["--events=0"]).contains("--events=0"))
        #expect(Self.usageError(StreamBenchCommand.self, ["--workload=nexmark-q3"]).contains("--workload=nexmark-q3"))
        #expect(Self.usageError(StreamBenchCommand.self, ["--workload=tumbling", "--partitions=2"]).contains("--partitions"))
        #expect(Self.usageError(StreamBenchCommand.self, ["--workload=nexmark-q0", "--keys=2"]).contains("--keys"))
        #expect(Self.usageError(StreamBenchCommand.self, ["--watermark_every=5"]).contains("--watermark_every"))
        // --workload=spike (tools/run-tests.sh, docs/operations.md "Traffic spikes").
        if let c = Self.parse(StreamBenchCommand.self, ["--workload=spike", "--spike-seconds=2", "--spike-factor=10",
                                                        "--base-rate=20_000", "--keys=500", "--partitions=2"],
                              as: StreamBenchCommand.self) {
            #expect(c.isSpike && !c.isNexmark && c.spikeSeconds == GroupedInteger(2) && c.spikeFactor == GroupedInteger(10)
                    && c.baseRate == GroupedInteger(20_000) && c.keys == GroupedInteger(500))
        }
        if let c = Self.parse(StreamBenchCommand.self, ["--workload=spike"], as: StreamBenchCommand.self) {
            #expect(c.isSpike && c.spikeSeconds == nil && c.baseRate == nil)
        }
        for (bad, flag) in [("--spike-seconds=0", "--spike-seconds=0"), ("--spike-seconds=3601", "--spike-seconds=3601"),
                            ("--spike-factor=1", "--spike-factor=1"), ("--spike-factor=1001", "--spike-factor=1001"),
                            ("--base-rate=0", "--base-rate=0"), ("--base-rate=100_000_001", "--base-rate=100000001"),
                            ("--base-rate=abc", "--base-rate"), ("--partitions=65", "--partitions=65"), ("--keys=0", "--keys=0"),
                            ("--events=1000", "--events"), ("--rate=5", "--rate"), ("--db=/t/s", "--db")] {
            #expect(Self.usageError(StreamBenchCommand.self, ["--workload=spike", bad]).contains(flag), "\(bad)")
        }
        #expect(Self.usageError(StreamBenchCommand.self, ["--workload=tumbling", "--spike-seconds=2"]).contains("--spike-seconds"))
        #expect(Self.usageError(StreamBenchCommand.self, ["--workload=nexmark-q5", "--base-rate=2"]).contains("--base-rate"))

        // tools/exactly-once-check.sh and tools/run-demo.sh.
        if let c = Self.parse(StrataDemoCommand.self, ["--dir=/t/d", "--fresh", "--events=20000", "--seed=3", "--checkpoint_ms=300",
                                                       "--quiet"], as: StrataDemoCommand.self) {
            #expect(c.dir == "/t/d" && c.fresh == Flag01(true) && c.events == 20_000 && c.checkpointMilliseconds == 300 && c.quiet == Flag01(true))
        }
        _ = Self.parse(StrataDemoCommand.self, ["--dir=/t/d", "--dump"], as: StrataDemoCommand.self)
        #expect(Self.usageError(StrataDemoCommand.self, ["--events=-5"]).contains("--events=-5"))
        #expect(Self.usageError(StrataDemoCommand.self, ["--users=0"]).contains("--users=0"))
        #expect(Self.usageError(StrataDemoCommand.self, ["--partitions=0"]).contains("--partitions=0"))
        #expect(Self.usageError(StrataDemoCommand.self, ["--late_per_mille=1001"]).contains("--late_per_mille=1001"))

        if let c = Self.parse(TableBenchCommand.self, ["--num=1000", "--compression=none", "--checksum=crc32c", "--bloom_bits=0"],
                              as: TableBenchCommand.self) {
            #expect(c.num == 1000 && c.compression == "none" && c.checksum == "crc32c" && c.reads == 1_000_000)
        }
        #expect(Self.usageError(TableBenchCommand.self, ["--num=abc"]).contains("--num"))
        #expect(Self.usageError(TableBenchCommand.self, ["--key_size=0"]).contains("--key_size=0"))
        if let c = Self.parse(CheckpointBenchCommand.self, ["--sizes_mb=256,1024,4096", "--repeats=5"], as: CheckpointBenchCommand.self) {
            #expect(c.sizes == [256, 1024, 4096])
        }
        if let c = Self.parse(CheckpointBenchCommand.self, ["--bounded"], as: CheckpointBenchCommand.self) { #expect(c.sizes == [8, 32, 64]) }
        #expect(Self.usageError(CheckpointBenchCommand.self, ["--sizes_mb=1,,2"]).contains("--sizes_mb"))
        #expect(Self.usageError(CheckpointBenchCommand.self, ["--repeats=0"]).contains("--repeats=0"))
        // Values that would overflow an Int inside the benchmark (a trap) are usage errors.
        #expect(Self.usageError(CheckpointBenchCommand.self, ["--sizes_mb=1e300"]).contains("--sizes_mb"))
        #expect(Self.usageError(CheckpointBenchCommand.self, ["--sizes_mb=nan"]).contains("--sizes_mb"))
        #expect(Self.usageError(TableBenchCommand.self, ["--num=9223372036854775807"]).contains("--num"))
        #expect(Self.usageError(TableBenchCommand.self, ["--reads=9223372036854775807"]).contains("--reads"))
        if let c = Self.parse(CheckpointBenchCommand.self, ["--dir=/x", "--fresh", "--keep"], as: CheckpointBenchCommand.self) {
            #expect(c.dir == "/x" && c.fresh == Flag01(true) && c.keep == Flag01(true))
        }
        for help in [Self.help(StreamBenchCommand.self, ["--help"]), Self.help(StrataDemoCommand.self, ["-h"]),
                     Self.help(TableBenchCommand.self, ["--help"]), Self.help(CheckpointBenchCommand.self, ["--help"])] {
            #expect(help.contains("USAGE"))
        }
    }
}
