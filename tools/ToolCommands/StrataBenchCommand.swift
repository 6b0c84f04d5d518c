// The command line of `strata-bench` (db_bench's flags and spellings).
import ArgumentParser

/// `strata-bench`: db_bench's flags, each optional so the tool knows which
/// were given (`--defaults=strata` keeps only those). The tool turns this
/// into its `BenchFlags` (defaults, engine options, `Options.validate`).
public struct StrataBenchCommand: ToolCommandLine {
    public static let configuration = CommandConfiguration(
        commandName: "strata-bench",
        abstract: "db_bench's flags and result lines over Strata, with an amplification report after every benchmark.",
        discussion: """
            Benchmarks: fillseq, fillrandom, overwrite, fillsync, readrandom, readmissing, readseq, \
            readreverse, seekrandom, deleterandom, mergerandom, readwhilewriting, ampsweep, stats.

            Flags and output lines are db_bench's (RocksDB 7.8.3); boolean flags take 0/1 (or \
            true/false; bare means 1). After each benchmark an amplification report follows. As \
            in db_bench, the next benchmark starts at once and pays for the flushes and \
            compactions the previous one left (--wait_for_background=1 waits for them off the \
            clock instead; db_bench 7.8.3 has no such mode, so comparisons leave it off). \
            --defaults=strata starts from Strata's own Options() and applies only the flags \
            given (each engine with its own defaults); the default, db_bench, starts from \
            db_bench 7.8.3's defaults. --seed=0 picks a seed from the clock and prints it.

            --threads=N runs fill*, overwrite, readrandom, readmissing, seekrandom, deleterandom, \
            mergerandom and the reads of readwhilewriting on N threads, each doing the whole \
            count (as db_bench does); readseq and readreverse run on one thread. Key numbers are \
            drawn as db_bench draws them (its per-thread MT19937-64 seeded from --seed), so with \
            the same flags both touch the same keys in the same order.

            A usage error (unknown flag, missing or bad value, a number out of range) prints the \
            error and the usage on standard error and exits 1.
            """)

    @Option(name: .customLong("benchmarks"), help: ArgumentHelp("Comma-separated benchmarks, run in order (default fillrandom,readrandom).", valueName: "LIST"))
    public var benchmarks: String?
    @Option(name: .customLong("num"), help: ArgumentHelp("Number of keys (> 0; default 1000000).", valueName: "N"))
    public var num: Int?
    @Option(name: .customLong("reads"), help: ArgumentHelp("Number of reads (-1: --num).", valueName: "N"))
    public var reads: Int?
    @Option(name: .customLong("key_size"), help: ArgumentHelp("Key size in bytes (> 0; default 16).", valueName: "N"))
    public var keySize: Int?
    @Option(name: .customLong("value_size"), help: ArgumentHelp("Value size in bytes (>= 0; default 100).", valueName: "N"))
    public var valueSize: Int?
    @Option(name: .customLong("compression_type"), help: ArgumentHelp("Block compression (default snappy).", valueName: "snappy|none"))
    public var compressionType: String?
    @Option(name: .customLong("compression_ratio"), help: ArgumentHelp("Fraction a value compresses to, (0, 1] (default 0.5).", valueName: "R"))
    public var compressionRatio: Double?
    @Option(name: .customLong("bloom_bits"), help: ArgumentHelp("Bloom bits per key (< 0: no filter; default -1).", valueName: "N"))
    public var bloomBits: Double?
    @Option(name: .customLong("write_buffer_size"), help: ArgumentHelp("Memtable size in bytes (default 67108864).", valueName: "N"))
    public var writeBufferSize: Int?
    @Option(name: .customLong("max_bytes_for_level_base"), help: ArgumentHelp("Level-1 target size (default 268435456).", valueName: "N"))
    public var maxBytesForLevelBase: UInt64?
    @Option(name: .customLong("target_file_size_base"), help: ArgumentHelp("Compaction output file size (default 67108864).", valueName: "N"))
    public var targetFileSizeBase: UInt64?
    @Option(name: .customLong("max_bytes_for_level_multiplier"), help: ArgumentHelp("Level size multiplier (> 1; default 10).", valueName: "X"))
    public var maxBytesForLevelMultiplier: Double?
    @Option(name: .customLong("compaction_style"), help: ArgumentHelp("0 leveled, 1 universal (FIFO, 2, is not supported).", valueName: "0|1"))
    public var compactionStyle: Int?
    @Option(name: .customLong("max_background_jobs"), help: ArgumentHelp("Background flush and compaction threads (default 2).", valueName: "N"))
    public var maxBackgroundJobs: Int?
    @Option(name: .customLong("universal_size_ratio"), help: ArgumentHelp("Universal compaction size ratio (default 1).", valueName: "N"))
    public var universalSizeRatio: Int?
    @Option(name: .customLong("universal_min_merge_width"), help: ArgumentHelp("Universal compaction min merge width (default 2).", valueName: "N"))
    public var universalMinMergeWidth: Int?
    @Option(name: .customLong("universal_max_merge_width"), help: ArgumentHelp("Universal compaction max merge width (default unlimited).", valueName: "N"))
    public var universalMaxMergeWidth: Int?
    @Option(name: .customLong("universal_max_size_amplification_percent"), help: ArgumentHelp("Universal size amplification limit (default 200).", valueName: "N"))
    public var universalMaxSizeAmplificationPercent: Int?
    @Option(name: .customLong("cache_size"), help: ArgumentHelp("Block cache bytes (default 8388608).", valueName: "N"))
    public var cacheSize: Int?
    @Option(name: .customLong("memtable_bloom_size_ratio"), help: ArgumentHelp("Memtable bloom size ratio 0...0.25 (default 0).", valueName: "R"))
    public var memtableBloomSizeRatio: Double?
    @Option(name: .customLong("memtable_whole_key_filtering"), help: ArgumentHelp("Memtable whole-key bloom (default 0).", valueName: "0|1"))
    public var memtableWholeKeyFiltering: Flag01?
    @Option(name: .customLong("db"), help: ArgumentHelp("Database directory (default /tmp/strata-bench-db).", valueName: "DIR"))
    public var db: String?
    @Option(name: .customLong("use_existing_db"), help: ArgumentHelp("Keep the database of an earlier run (default 0).", valueName: "0|1"))
    public var useExistingDB: Flag01?
    @Option(name: .customLong("destroy_db"), help: ArgumentHelp("Start over in a non-empty --db that holds no database (only database files are removed).", valueName: "0|1"))
    public var destroyDB: Flag01?
    @Option(name: .customLong("sync"), help: ArgumentHelp("fsync every write (default 0).", valueName: "0|1"))
    public var sync: Flag01?
    @Option(name: .customLong("disable_wal"), help: ArgumentHelp("Write without the WAL (default 0).", valueName: "0|1"))
    public var disableWAL: Flag01?
    @Option(name: .customLong("mmap_read"), help: ArgumentHelp("Read tables through memory mappings (default 0).", valueName: "0|1"))
    public var mmapRead: Flag01?
    @Option(name: .customLong("threads"), help: ArgumentHelp("Threads, 1...256 (default 1).", valueName: "N"))
    public var threads: Int?
    @Option(name: .customLong("merge_operator"), help: ArgumentHelp("Merge operator for mergerandom.", valueName: "uint64add|stringappend"))
    public var mergeOperator: String?
    @Option(name: .customLong("level_compaction_dynamic_level_bytes"), help: ArgumentHelp("Dynamic level targets (default 0).", valueName: "0|1"))
    public var dynamicLevelBytes: Flag01?
    @Option(name: .customLong("report"), help: ArgumentHelp("Also write a JSON report and an SVG chart.", valueName: "json"))
    public var report: String?
    @Option(name: .customLong("report_file"), help: ArgumentHelp("The JSON report's path (default strata-bench-report.json).", valueName: "FILE"))
    public var reportFile: String?
    @Option(name: .customLong("histogram"), help: ArgumentHelp("Print latency percentiles after each benchmark (default 0).", valueName: "0|1"))
    public var histogram: Flag01?
    @Option(name: .customLong("seed"), help: ArgumentHelp("Random seed (0: from the clock, printed).", valueName: "N"))
    public var seed: UInt64?
    @Option(name: .customLong("duration"), help: ArgumentHelp("Seconds per benchmark (0: off, run --num/--reads).", valueName: "SECONDS"))
    public var duration: Int?
    @Option(name: .customLong("defaults"), help: ArgumentHelp("Which defaults the engine options start from (default db_bench).", valueName: "db_bench|strata"))
    public var defaults: String?
    @Option(name: .customLong("wait_for_background"), help: ArgumentHelp("Wait for flushes and compactions after each benchmark, off the clock (default 0).", valueName: "0|1"))
    public var waitForBackground: Flag01?

    public init() {}

    public static let booleanFlags: Set<String> = ["memtable_whole_key_filtering", "use_existing_db", "destroy_db", "sync", "disable_wal", "mmap_read", "level_compaction_dynamic_level_bytes", "histogram", "wait_for_background"]

    /// The long names of the flags given.
    public var givenFlags: Set<String> {
        var names: Set<String> = []
        if benchmarks != nil { names.insert("benchmarks") }
        if num != nil { names.insert("num") }
        if reads != nil { names.insert("reads") }
        if keySize != nil { names.insert("key_size") }
        if valueSize != nil { names.insert("value_size") }
        if compressionType != nil { names.insert("compression_type") }
        if compressionRatio != nil { names.insert("compression_ratio") }
        if bloomBits != nil { names.insert("bloom_bits") }
        if writeBufferSize != nil { names.insert("write_buffer_size") }
        if maxBytesForLevelBase != nil { names.insert("max_bytes_for_level_base") }
        if targetFileSizeBase != nil { names.insert("target_file_size_base") }
        if maxBytesForLevelMultiplier != nil { names.insert("max_bytes_for_level_multiplier") }
        if compactionStyle != nil { names.insert("compaction_style") }
        if maxBackgroundJobs != nil { names.insert("max_background_jobs") }
        if universalSizeRatio != nil { names.insert("universal_size_ratio") }
        if universalMinMergeWidth != nil { names.insert("universal_min_merge_width") }
        if universalMaxMergeWidth != nil { names.insert("universal_max_merge_width") }
        if universalMaxSizeAmplificationPercent != nil { names.insert("universal_max_size_amplification_percent") }
        if cacheSize != nil { names.insert("cache_size") }
        if memtableBloomSizeRatio != nil { names.insert("memtable_bloom_size_ratio") }
        if memtableWholeKeyFiltering != nil { names.insert("memtable_whole_key_filtering") }
        if db != nil { names.insert("db") }
        if useExistingDB != nil { names.insert("use_existing_db") }
        if destroyDB != nil { names.insert("destroy_db") }
        if sync != nil { names.insert("sync") }
        if disableWAL != nil { names.insert("disable_wal") }
        if mmapRead != nil { names.insert("mmap_read") }
        if threads != nil { names.insert("threads") }
        if mergeOperator != nil { names.insert("merge_operator") }
        if dynamicLevelBytes != nil { names.insert("level_compaction_dynamic_level_bytes") }
        if report != nil { names.insert("report") }
        if reportFile != nil { names.insert("report_file") }
        if histogram != nil { names.insert("histogram") }
        if seed != nil { names.insert("seed") }
        if duration != nil { names.insert("duration") }
        if defaults != nil { names.insert("defaults") }
        if waitForBackground != nil { names.insert("wait_for_background") }
        return names
    }

    /// The benchmark names of `--benchmarks`, in order (spaces trimmed, empty ones dropped).
    public var benchmarkList: [String]? {
        benchmarks.map { list in
            list.split(separator: ",").map { $0.trimmingEdges(" ") }.filter { !$0.isEmpty }
        }
    }

    public func validate() throws {
        try checkChoice(defaults, "defaults", ["db_bench", "rocksdb", "strata"])
        try checkChoice(compressionType?.lowercased(), "compression_type", ["snappy", "none"])
        if let r = compressionRatio, !(r > 0 && r <= 1) { throw rangeError("compression_ratio", r, expected: "(0, 1]") }
        if let m = maxBytesForLevelMultiplier, !(m > 1 && m.isFinite) {
            throw rangeError("max_bytes_for_level_multiplier", m, expected: "a number > 1")
        }
        if let b = bloomBits, !b.isFinite { throw rangeError("bloom_bits", b, expected: "a number") }
        try checkRange(compactionStyle, "compaction_style", 0...1)
        try checkRange(memtableBloomSizeRatio, "memtable_bloom_size_ratio", 0...0.25)
        try checkChoice(mergeOperator, "merge_operator", ["", "uint64add", "UInt64AddOperator", "stringappend", "StringAppendOperator"])
        try checkChoice(report, "report", ["json"])
        try checkRange(threads, "threads", 1...256)
        try checkRange(num, "num", 1...Int.max)
        try checkRange(reads, "reads", -1...Int.max)
        try checkRange(keySize, "key_size", 1...Int.max)
        try checkRange(valueSize, "value_size", 0...Int.max)
        try checkRange(duration, "duration", 0...Int.max)
        try checkRange(cacheSize, "cache_size", 0...Int.max)
        // Engine limits (write buffer, background jobs, universal widths ...)
        // are the library's: the tool runs Options.validate on the result.
    }
}

extension StringProtocol {
    /// The string without leading and trailing `character`s.
    func trimmingEdges(_ character: Character) -> String {
        var s = Substring(self)
        while s.first == character { s = s.dropFirst() }
        while s.last == character { s = s.dropLast() }
        return String(s)
    }
}
