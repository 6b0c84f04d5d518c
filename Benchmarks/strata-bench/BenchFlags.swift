import Strata
import ToolSupport

/// db_bench's flags that strata-bench takes, with db_bench 7.8.3's defaults
/// unless noted. Unknown flags are an error, as in db_bench.
struct BenchFlags {
    var benchmarks = ["fillrandom", "readrandom"]
    var num = 1_000_000
    var reads = -1
    var keySize = 16
    var valueSize = 100
    var compression: CompressionType = .snappy
    var compressionRatio = 0.5
    var bloomBits = -1.0
    var writeBufferSize = 64 << 20
    var maxBytesForLevelBase: UInt64 = 256 << 20
    /// `--target_file_size_base`: compaction output file size (db_bench's default 64 MiB).
    var targetFileSizeBase: UInt64 = 64 << 20
    var maxBytesForLevelMultiplier = 10.0
    var compactionStyle = 0
    var maxBackgroundJobs = 2
    var universalSizeRatio = 1
    var universalMinMergeWidth = 2
    var universalMaxMergeWidth = Int.max
    var universalMaxSizeAmplificationPercent = 200
    var cacheSize = 8 << 20
    /// `--memtable_bloom_size_ratio` and `--memtable_whole_key_filtering`:
    /// the memtable's whole-key bloom (Strata has no prefix bloom, so it is
    /// on only with both). db_bench's defaults, 0 and false (RocksDB's),
    /// although Strata's own default is on (`Options.memtableBloomSizeRatio`).
    var memtableBloomSizeRatio = 0.0
    var memtableWholeKeyFiltering = false
    var db = "/tmp/strata-bench-db"
    var useExistingDB = false
    /// `--destroy_db`: start over in a non-empty `--db` that holds no
    /// database (only database files are ever removed).
    var destroyDB = false
    var sync = false
    /// `--mmap_read`: read tables through memory mappings
    /// (`Options.allowMmapReads`; db_bench's default false).
    var mmapRead = false
    var disableWAL = false
    var threads = 1
    /// `--level_compaction_dynamic_level_bytes` (db_bench's default: false,
    /// RocksDB 7.8's; Strata's own default is true).
    var dynamicLevelBytes = false
    /// `--merge_operator`: nil, "uint64add" or "stringappend" (db_bench's names).
    var mergeOperator: String? = nil
    /// `--report=json`: also write the figures to `--report_file` (default
    /// strata-bench-report.json) and an SVG chart beside it.
    var report: String? = nil
    var reportFile = "strata-bench-report.json"
    var histogram = false
    var seed: UInt64 = 0
    var duration = 0
    var statsInterval = 0
    /// `--defaults=db_bench|strata`: which defaults the engine options start
    /// from. `db_bench` (default): db_bench 7.8.3's (8 MiB block cache, no
    /// memtable bloom, static level targets ...), so a RocksDB peer gets the
    /// same configuration from the same flags. `strata`: Strata's own
    /// `Options()`, with only the flags given on the command line applied —
    /// how an engine compares with its own defaults against LevelDB's.
    var defaults = "db_bench"
    /// `--wait_for_background=1`: after each benchmark, wait (off the
    /// clock) until flushes and compactions are done, so every benchmark
    /// starts from a settled tree and its amplification lines include all
    /// the work it caused. Default 0: as db_bench 7.8.3, which has no such
    /// wait, work left over is paid inside the next benchmark — the mode
    /// comparisons with db_bench use.
    var waitForBackground = false

    static let known: Set<String> = [
        "benchmarks", "num", "reads", "key_size", "value_size", "compression_type", "compression_ratio",
        "bloom_bits", "write_buffer_size", "max_bytes_for_level_base", "max_bytes_for_level_multiplier", "target_file_size_base",
        "compaction_style", "max_background_jobs", "universal_size_ratio", "universal_min_merge_width",
        "universal_max_merge_width", "universal_max_size_amplification_percent", "cache_size", "db",
        "memtable_bloom_size_ratio", "memtable_whole_key_filtering",
        "use_existing_db", "destroy_db", "sync", "disable_wal", "threads", "merge_operator", "level_compaction_dynamic_level_bytes", "report", "report_file",
        "histogram", "seed", "duration", "help", "defaults", "wait_for_background", "mmap_read",
    ]

    static let usage = """
        strata-bench --benchmarks=fillseq,fillrandom,overwrite,fillsync,readrandom,readmissing,readseq,readreverse,seekrandom,deleterandom,mergerandom,readwhilewriting,ampsweep,stats
            [--num=1000000] [--reads=-1] [--key_size=16] [--value_size=100]
            [--compression_type=snappy|none] [--compression_ratio=0.5] [--bloom_bits=-1]
            [--write_buffer_size=67108864] [--max_bytes_for_level_base=268435456] [--target_file_size_base=67108864]
            [--max_bytes_for_level_multiplier=10] [--compaction_style=0|1] [--max_background_jobs=2]
            [--universal_size_ratio=1] [--universal_min_merge_width=2] [--universal_max_merge_width=N]
            [--universal_max_size_amplification_percent=200] [--cache_size=8388608]
            [--memtable_bloom_size_ratio=0] [--memtable_whole_key_filtering=0]
            [--db=/tmp/strata-bench-db] [--use_existing_db=0] [--destroy_db] [--sync=0] [--disable_wal=0]
            [--threads=1] [--histogram=0] [--seed=0] [--duration=0]
            [--level_compaction_dynamic_level_bytes=false] [--merge_operator=uint64add|stringappend] [--report=json] [--report_file=strata-bench-report.json]
            [--defaults=db_bench|strata] [--wait_for_background=0] [--mmap_read=0]
        Flags and output lines are db_bench's (RocksDB 7.8.3); after each benchmark an
        amplification report follows. As in db_bench, the next benchmark starts at once
        and pays for the flushes and compactions the previous one left
        (--wait_for_background=1 waits for them off the clock instead; db_bench 7.8.3
        has no such mode, so comparisons leave it off). --defaults=strata starts from
        Strata's own Options() and applies only the flags given (each engine with its
        own defaults); the default, db_bench, starts from db_bench 7.8.3's defaults. --seed=0 picks a seed from the clock and prints it.
        --threads=N runs fill*, overwrite, readrandom, readmissing, seekrandom, deleterandom,
        mergerandom and the reads of readwhilewriting on N threads, each doing the whole
        count (as db_bench does); readseq and readreverse run on one thread. Key numbers
        are drawn as db_bench draws them (its per-thread MT19937-64 seeded from --seed),
        so with the same flags both touch the same keys in the same order ("found" counts
        add up every thread; db_bench prints one thread's).
        """

    init(arguments: [String]) throws {
        let flags = try ParsedFlags(arguments: arguments)
        for name in flags.names where !Self.known.contains(name) {
            throw ToolError("unknown flag --\(name)\n\(Self.usage)")
        }
        if !flags.positionals.isEmpty { throw ToolError("unexpected argument \(flags.positionals[0])") }
        let given = Set(flags.names)
        switch flags.string("defaults") ?? "db_bench" {
        case "db_bench", "rocksdb": defaults = "db_bench"
        case "strata": defaults = "strata"
        case let other: throw ToolError("--defaults=\(other): db_bench or strata")
        }
        waitForBackground = try flags.int("wait_for_background").map { $0 != 0 } ?? false
        if let list = flags.string("benchmarks") {
            benchmarks = list.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
        }
        num = try flags.int("num") ?? num
        reads = try flags.int("reads") ?? reads
        keySize = try flags.int("key_size") ?? keySize
        valueSize = try flags.int("value_size") ?? valueSize
        switch (flags.string("compression_type") ?? "snappy").lowercased() {
        case "snappy": compression = .snappy
        case "none": compression = .none
        case let other: throw ToolError("--compression_type=\(other): strata-bench supports snappy and none")
        }
        if let r = flags.string("compression_ratio") {
            guard let v = Double(r), v > 0, v <= 1 else { throw ToolError("--compression_ratio must be in (0, 1]") }
            compressionRatio = v
        }
        if let b = flags.string("bloom_bits") {
            guard let v = Double(b) else { throw ToolError("--bloom_bits must be a number") }
            bloomBits = v
        }
        writeBufferSize = try flags.int("write_buffer_size") ?? writeBufferSize
        maxBytesForLevelBase = try flags.unsigned("max_bytes_for_level_base") ?? maxBytesForLevelBase
        targetFileSizeBase = try flags.unsigned("target_file_size_base") ?? targetFileSizeBase
        if let m = flags.string("max_bytes_for_level_multiplier") {
            guard let v = Double(m), v > 1 else { throw ToolError("--max_bytes_for_level_multiplier must be > 1") }
            maxBytesForLevelMultiplier = v
        }
        compactionStyle = try flags.int("compaction_style") ?? compactionStyle
        guard compactionStyle == 0 || compactionStyle == 1 else {
            throw ToolError("--compaction_style=\(compactionStyle): 0 (leveled) or 1 (universal) expected; FIFO (2) is not supported")
        }
        maxBackgroundJobs = try flags.int("max_background_jobs") ?? maxBackgroundJobs
        universalSizeRatio = try flags.int("universal_size_ratio") ?? universalSizeRatio
        universalMinMergeWidth = try flags.int("universal_min_merge_width") ?? universalMinMergeWidth
        universalMaxMergeWidth = try flags.int("universal_max_merge_width") ?? universalMaxMergeWidth
        universalMaxSizeAmplificationPercent = try flags.int("universal_max_size_amplification_percent")
            ?? universalMaxSizeAmplificationPercent
        cacheSize = try flags.int("cache_size") ?? cacheSize
        if let r = flags.string("memtable_bloom_size_ratio") {
            guard let v = Double(r), v >= 0, v <= 0.25 else {
                throw ToolError("--memtable_bloom_size_ratio=\(r): expected 0...0.25")
            }
            memtableBloomSizeRatio = v
        }
        if let v = flags.string("memtable_whole_key_filtering") {
            memtableWholeKeyFiltering = v == "1" || v == "true"
        }
        db = flags.string("db") ?? db
        useExistingDB = try flags.int("use_existing_db").map { $0 != 0 } ?? false
        destroyDB = flags.bool("destroy_db")
        sync = try flags.int("sync").map { $0 != 0 } ?? false
        if let v = flags.string("mmap_read") { mmapRead = v == "1" || v == "true" }
        disableWAL = try flags.int("disable_wal").map { $0 != 0 } ?? false
        threads = try flags.int("threads") ?? threads
        if let v = flags.string("level_compaction_dynamic_level_bytes") {
            dynamicLevelBytes = v == "1" || v == "true"
        }
        switch flags.string("merge_operator") {
        case nil, "": mergeOperator = nil
        case "uint64add", "UInt64AddOperator": mergeOperator = "uint64add"
        case "stringappend", "StringAppendOperator": mergeOperator = "stringappend"
        case let other?: throw ToolError("--merge_operator=\(other): uint64add or stringappend")
        }
        report = flags.string("report")
        if let r = report, r != "json" { throw ToolError("--report=\(r): only json") }
        reportFile = flags.string("report_file") ?? reportFile
        guard (1...256).contains(threads) else { throw ToolError("--threads=\(threads): expected 1...256") }
        histogram = try flags.int("histogram").map { $0 != 0 } ?? false
        seed = try flags.unsigned("seed") ?? 0
        duration = try flags.int("duration") ?? 0
        if defaults == "strata" { takeStrataDefaults(given: given) }
        guard num > 0 else { throw ToolError("--num=\(num): expected a positive count") }
        guard keySize > 0 else { throw ToolError("--key_size=\(keySize): expected a positive size") }
        guard valueSize >= 0 else { throw ToolError("--value_size=\(valueSize): expected 0 or more") }
        guard duration >= 0 else { throw ToolError("--duration=\(duration): expected 0 (off) or seconds") }
        // Engine limits (write buffer, bloom bits, triggers, ...) are the
        // library's own: Options.validate names the option and its range.
        do {
            try options.validate()
        } catch {
            throw ToolError("\(error.message)\n\(Self.usage)")
        }
    }

    /// The number of reads: `--reads`, or `--num` when negative (db_bench's rule).
    var readCount: Int { reads < 0 ? num : reads }

    /// Engine options for these flags.
    var options: Options {
        var o = Options()
        o.createIfMissing = true
        o.writeBufferSize = writeBufferSize
        o.compression = compression
        o.bloomBitsPerKey = max(0, bloomBits)
        o.blockCacheCapacity = cacheSize
        o.allowMmapReads = mmapRead
        o.memtableBloomSizeRatio = memtableWholeKeyFiltering ? memtableBloomSizeRatio : 0
        o.maxBytesForLevelBase = maxBytesForLevelBase
        o.targetFileSizeBase = targetFileSizeBase
        o.maxBytesForLevelMultiplier = maxBytesForLevelMultiplier
        o.compactionStyle = compactionStyle == 1 ? .universal : .leveled
        o.levelCompactionDynamicLevelBytes = dynamicLevelBytes
        switch mergeOperator {
        case "uint64add": o.mergeOperator = Int64AddOperator()
        case "stringappend": o.mergeOperator = StringAppendOperator(separator: ",")
        default: break
        }
        o.maxBackgroundJobs = maxBackgroundJobs
        o.universalSizeRatio = universalSizeRatio
        o.universalMinMergeWidth = universalMinMergeWidth
        o.universalMaxMergeWidth = universalMaxMergeWidth
        o.universalMaxSizeAmplificationPercent = universalMaxSizeAmplificationPercent
        return o
    }

    /// `--defaults=strata`: every engine setting whose flag was not given
    /// takes `Options()`'s value instead of db_bench's default.
    private mutating func takeStrataDefaults(given: Set<String>) {
        let o = Options()
        let keep = { (flag: String) in given.contains(flag) }
        if !keep("write_buffer_size") { writeBufferSize = o.writeBufferSize }
        if !keep("compression_type") { compression = o.compression }
        if !keep("bloom_bits") { bloomBits = o.bloomBitsPerKey }
        if !keep("cache_size") { cacheSize = o.blockCacheCapacity }
        if !keep("mmap_read") { mmapRead = o.allowMmapReads }
        if !keep("memtable_bloom_size_ratio") && !keep("memtable_whole_key_filtering") {
            memtableBloomSizeRatio = o.memtableBloomSizeRatio
            memtableWholeKeyFiltering = o.memtableBloomSizeRatio > 0
        }
        if !keep("max_bytes_for_level_base") { maxBytesForLevelBase = o.maxBytesForLevelBase }
        if !keep("target_file_size_base") { targetFileSizeBase = o.targetFileSizeBase }
        if !keep("max_bytes_for_level_multiplier") { maxBytesForLevelMultiplier = o.maxBytesForLevelMultiplier }
        if !keep("compaction_style") { compactionStyle = o.compactionStyle == .universal ? 1 : 0 }
        if !keep("level_compaction_dynamic_level_bytes") { dynamicLevelBytes = o.levelCompactionDynamicLevelBytes }
        if !keep("max_background_jobs") { maxBackgroundJobs = o.maxBackgroundJobs }
        if !keep("universal_size_ratio") { universalSizeRatio = o.universalSizeRatio }
        if !keep("universal_min_merge_width") { universalMinMergeWidth = o.universalMinMergeWidth }
        if !keep("universal_max_merge_width") { universalMaxMergeWidth = o.universalMaxMergeWidth }
        if !keep("universal_max_size_amplification_percent") {
            universalMaxSizeAmplificationPercent = o.universalMaxSizeAmplificationPercent
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
