import Strata
import ToolCommands
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

    /// The flags of `command` (values range-checked by its `validate()`),
    /// over db_bench's defaults (or Strata's with `--defaults=strata`);
    /// throws if the engine options they make are out of range
    /// (`Options.validate` names the option and its range).
    init(command c: StrataBenchCommand) throws {
        defaults = c.defaults == "strata" ? "strata" : "db_bench"
        waitForBackground = c.waitForBackground.or(false)
        benchmarks = c.benchmarkList ?? benchmarks
        num = c.num ?? num
        reads = c.reads ?? reads
        keySize = c.keySize ?? keySize
        valueSize = c.valueSize ?? valueSize
        if c.compressionType?.lowercased() == "none" { compression = .none }
        compressionRatio = c.compressionRatio ?? compressionRatio
        bloomBits = c.bloomBits ?? bloomBits
        writeBufferSize = c.writeBufferSize ?? writeBufferSize
        maxBytesForLevelBase = c.maxBytesForLevelBase ?? maxBytesForLevelBase
        targetFileSizeBase = c.targetFileSizeBase ?? targetFileSizeBase
        maxBytesForLevelMultiplier = c.maxBytesForLevelMultiplier ?? maxBytesForLevelMultiplier
        compactionStyle = c.compactionStyle ?? compactionStyle
        maxBackgroundJobs = c.maxBackgroundJobs ?? maxBackgroundJobs
        universalSizeRatio = c.universalSizeRatio ?? universalSizeRatio
        universalMinMergeWidth = c.universalMinMergeWidth ?? universalMinMergeWidth
        universalMaxMergeWidth = c.universalMaxMergeWidth ?? universalMaxMergeWidth
        universalMaxSizeAmplificationPercent = c.universalMaxSizeAmplificationPercent ?? universalMaxSizeAmplificationPercent
        cacheSize = c.cacheSize ?? cacheSize
        memtableBloomSizeRatio = c.memtableBloomSizeRatio ?? memtableBloomSizeRatio
        memtableWholeKeyFiltering = c.memtableWholeKeyFiltering.or(memtableWholeKeyFiltering)
        db = c.db ?? db
        useExistingDB = c.useExistingDB.or(false)
        destroyDB = c.destroyDB.or(false)
        sync = c.sync.or(false)
        mmapRead = c.mmapRead.or(false)
        disableWAL = c.disableWAL.or(false)
        threads = c.threads ?? threads
        dynamicLevelBytes = c.dynamicLevelBytes.or(dynamicLevelBytes)
        switch c.mergeOperator {
        case "uint64add", "UInt64AddOperator": mergeOperator = "uint64add"
        case "stringappend", "StringAppendOperator": mergeOperator = "stringappend"
        default: mergeOperator = nil
        }
        report = c.report
        reportFile = c.reportFile ?? reportFile
        histogram = c.histogram.or(false)
        seed = c.seed ?? 0
        duration = c.duration ?? 0
        if defaults == "strata" { takeStrataDefaults(given: c.givenFlags) }
        // Engine limits (write buffer, bloom bits, triggers, ...) are the
        // library's own: Options.validate names the option and its range.
        do {
            try options.validate()
        } catch {
            throw ToolError("\(error.message)\nUsage: see 'strata-bench --help'")
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
