import Strata

extension StateBackendOptions {
    /// Throws `.invalidArgument` naming the first out-of-range option, its
    /// value and the allowed range: `maxParallelism` 1...32768 (Flink's
    /// limit), `writeBackCacheEntries` >= 1, and the engine's `Options`.
    /// `StateBackend.open` and `Pipeline.init` call it.
    public func validate() throws(StrataError) {
        try OptionCheck.range("maxParallelism", maxParallelism, 1...32_768)
        try OptionCheck.atLeast("writeBackCacheEntries", writeBackCacheEntries, 1)
        try engine.validate()
    }
}

extension PipelineOptions {
    /// Throws `.invalidArgument` naming the first out-of-range option, its
    /// value and the allowed range; `Pipeline.init` calls it, so a bad value
    /// fails before any thread starts or file is written.
    ///
    /// `partitions` 1...`maxParallelism`; `maxParallelism` 1...32768 (Flink's
    /// key-group limit); a checkpoint interval of at least 1 ms or 1 record
    /// (`.auto`: positive finite rates, 1 <= minimum <= maximum);
    /// `maxOutOfOrderness` >= 0; `watermarkEveryRecords`, `batchSize`,
    /// `queueBatches` >= 1; `watermarkInterval` >= 1 ms; `maxBatchDelay` >= 0;
    /// `outputCheckpointDelay`, when set, >= 1 ms;
    /// the backend's options (`StateBackendOptions.validate`).
    public func validate() throws(StrataError) {
        try OptionCheck.range("maxParallelism", maxParallelism, 1...32_768)
        try OptionCheck.range("partitions", partitions, 1...maxParallelism, note: "at most maxParallelism")
        switch checkpointInterval {
        case .every(let milliseconds):
            try OptionCheck.atLeast("checkpointInterval.every(milliseconds:)", milliseconds, 1)
        case .records(let records):
            try OptionCheck.atLeast("checkpointInterval.records", records, 1)
        case .auto(let failuresPerHour, let costPerSecond, let minimum, let maximum):
            try OptionCheck.finite("checkpointInterval.auto failuresPerHour", failuresPerHour,
                                   Double.leastNonzeroMagnitude...Double.greatestFiniteMagnitude)
            try OptionCheck.finite("checkpointInterval.auto costPerSecond", costPerSecond,
                                   Double.leastNonzeroMagnitude...Double.greatestFiniteMagnitude)
            try OptionCheck.atLeast("checkpointInterval.auto minimum", minimum, 1)
            try OptionCheck.atLeast("checkpointInterval.auto maximum", maximum, minimum, note: "must not be below minimum")
        }
        try OptionCheck.atLeast("maxOutOfOrderness", maxOutOfOrderness, 0)
        try OptionCheck.atLeast("watermarkEveryRecords", watermarkEveryRecords, 1)
        try OptionCheck.atLeast("batchSize", batchSize, 1)
        try OptionCheck.atLeast("watermarkInterval (ms)", watermarkInterval.wholeMilliseconds, 1)
        try OptionCheck.atLeast("maxBatchDelay (ms)", maxBatchDelay.wholeMilliseconds, 0)
        if let delay = outputCheckpointDelay {
            try OptionCheck.atLeast("outputCheckpointDelay (ms)", delay.wholeMilliseconds, 1)
        }
        try OptionCheck.atLeast("queueBatches", queueBatches, 1)
        try backend.validate()
    }
}
