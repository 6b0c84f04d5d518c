/// Range checks of the database and column-family options, run by
/// `Database.open` and `createColumnFamily` before anything is touched, so a
/// value that cannot work (a 1-byte write buffer that flushes on every
/// write, a stop trigger below the slowdown trigger) fails at once with
/// `.invalidArgument` naming the option, its value and the allowed range,
/// instead of hanging or failing later in a background thread.
///
/// The limits are RocksDB's (`ValidateOptions`, `SanitizeOptions`) where
/// RocksDB has them; where RocksDB silently adjusts a value, Strata refuses
/// it, and the deviations are noted at each check.
extension ColumnFamilyOptions {
    /// Smallest `writeBufferSize`. RocksDB raises anything below 64 KiB to
    /// 64 KiB; Strata accepts down to one 4 KiB block so tests can force
    /// flushes with a handful of keys. Below it every write would flush an
    /// almost empty memtable (issue 24: 0 or 1 hung strata-bench).
    public static let minimumWriteBufferSize = 4 << 10

    /// Largest `writeBufferSize`: 64 GiB, RocksDB's ceiling on 64-bit
    /// platforms (`SanitizeOptions` clamps `write_buffer_size` to it).
    public static let maximumWriteBufferSize = 64 << 30

    /// Throws `.invalidArgument` naming the first out-of-range setting of
    /// the column family called `family` (used in the message).
    public func validate(family: String = "default") throws(StrataError) {
        do throws(StrataError) {
            try OptionCheck.range("writeBufferSize", rocksDB: "write_buffer_size", writeBufferSize,
                                  Self.minimumWriteBufferSize...Self.maximumWriteBufferSize,
                                  note: "RocksDB raises values below 65536 to 65536")
            // RocksDB raises max_write_buffer_number below 2 to 2; with one
            // memtable every flush would stop writes until it ends.
            try OptionCheck.range("maxWriteBufferNumber", rocksDB: "max_write_buffer_number", maxWriteBufferNumber,
                                  1...Int(Int32.max))
            try OptionCheck.finite("memtableBloomSizeRatio", rocksDB: "memtable_prefix_bloom_size_ratio",
                                   memtableBloomSizeRatio, 0...1, note: "values above 0.25 count as 0.25")
            var table = TableOptions()
            table.formatVersion = formatVersion
            table.blockSize = blockSize
            table.bloomBitsPerKey = bloomBitsPerKey
            try table.validate()
            guard compression == .none || compression == .snappy else {
                throw StrataError.notSupported(
                    "compression \(compression.rocksDBName): Strata writes Snappy or none (option compression)")
            }
            try OptionCheck.range("level0FileNumCompactionTrigger", rocksDB: "level0_file_num_compaction_trigger",
                                  level0FileNumCompactionTrigger, 1...Int(Int32.max))
            try OptionCheck.range("level0SlowdownWritesTrigger", rocksDB: "level0_slowdown_writes_trigger",
                                  level0SlowdownWritesTrigger, 1...Int(Int32.max))
            // RocksDB raises the stop trigger to the slowdown trigger. (It
            // also raises the slowdown trigger to the compaction trigger;
            // Strata keeps a compaction trigger above them, the setting
            // that leaves L0 to `compactRange` in tests of backpressure.)
            try OptionCheck.range("level0StopWritesTrigger", rocksDB: "level0_stop_writes_trigger",
                                  level0StopWritesTrigger, level0SlowdownWritesTrigger...Int(Int32.max),
                                  note: "the stop trigger must not be below level0SlowdownWritesTrigger")
            try OptionCheck.atLeast("maxBytesForLevelBase", rocksDB: "max_bytes_for_level_base",
                                    maxBytesForLevelBase, 1)
            // RocksDB turns a multiplier <= 0 into 1.
            try OptionCheck.finite("maxBytesForLevelMultiplier", rocksDB: "max_bytes_for_level_multiplier",
                                   maxBytesForLevelMultiplier, Double.leastNonzeroMagnitude...1e9)
            try OptionCheck.atLeast("targetFileSizeBase", rocksDB: "target_file_size_base", targetFileSizeBase, 1)
            try compactOnDeletion?.validate()
        } catch {
            throw family == "default" ? error
                : StrataError(error.kind, "column family \(family): \(error.message)", file: error.file, offset: error.offset)
        }
    }
}

extension Options {
    /// Throws `.invalidArgument` naming the first out-of-range option (its
    /// value and the allowed range), checking the default family's settings,
    /// the database-wide ones and every entry of `columnFamilyOptions`.
    /// `Database.open` calls it first; tools call it to report bad flags.
    public func validate() throws(StrataError) {
        try ColumnFamilyOptions(self).validate()
        for (name, family) in columnFamilyOptions.sorted(by: { $0.key < $1.key }) {
            try family.validate(family: name)
        }
        try OptionCheck.atLeast("blockCacheCapacity", rocksDB: "block_cache capacity", blockCacheCapacity, 0)
        if let memoryBudget {
            try OptionCheck.atLeast("memoryBudget", rocksDB: "WriteBufferManager buffer_size", memoryBudget, 1,
                                    note: "budgets below \(MemoryBudget.minimumCapacity) count as \(MemoryBudget.minimumCapacity)")
        }
        try OptionCheck.finite("memoryBudgetWriteBufferRatio", memoryBudgetWriteBufferRatio, 0.05...0.9)
        try OptionCheck.atLeast("universalSizeRatio", rocksDB: "compaction_options_universal.size_ratio",
                                universalSizeRatio, 0)
        try OptionCheck.atLeast("universalMinMergeWidth", rocksDB: "compaction_options_universal.min_merge_width",
                                universalMinMergeWidth, 2)
        try OptionCheck.atLeast("universalMaxMergeWidth", rocksDB: "compaction_options_universal.max_merge_width",
                                universalMaxMergeWidth, universalMinMergeWidth,
                                note: "must not be below universalMinMergeWidth")
        try OptionCheck.atLeast("universalMaxSizeAmplificationPercent",
                                rocksDB: "compaction_options_universal.max_size_amplification_percent",
                                universalMaxSizeAmplificationPercent, 0)
        // RocksDB reads 0 as "16 MiB/s"; Strata's default is that value.
        try OptionCheck.atLeast("delayedWriteRate", rocksDB: "delayed_write_rate", delayedWriteRate, 1)
        try OptionCheck.atLeast("maxBackgroundJobs", rocksDB: "max_background_jobs", maxBackgroundJobs, 1,
                                note: "values below 2 count as 2")
    }
}
