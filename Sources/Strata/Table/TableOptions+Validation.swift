extension TableOptions {
    /// Table format versions the builder writes. `TableBuilder.init` checks
    /// the same set; keep the two in step.
    package static let supportedFormatVersions: ClosedRange<UInt32> = 2...6

    /// Largest block size: block handles and the builder's bookkeeping are
    /// 32-bit. RocksDB: `BlockBasedTableFactory::ValidateOptions` refuses
    /// `block_size` of 4 GiB and more.
    package static let maximumBlockSize = Int(UInt32.max)

    /// Largest bloom bits per key. RocksDB caps `bits_per_key` at 100
    /// (`BloomLikeFilterPolicy`); more buys nothing measurable.
    package static let maximumBloomBitsPerKey = 100.0

    /// Throws `.invalidArgument` naming the first option outside its range
    /// (its value and the range allowed). Called by `TableBuilder.init`,
    /// hence by every table Strata writes.
    public func validate() throws(StrataError) {
        try OptionCheck.range("formatVersion", rocksDB: "format_version", formatVersion, Self.supportedFormatVersions)
        try OptionCheck.range("blockSize", rocksDB: "block_size", blockSize, 1...Self.maximumBlockSize)
        // RocksDB resets a deviation outside 0...100 to 0; Strata refuses it.
        try OptionCheck.range("blockSizeDeviation", rocksDB: "block_size_deviation", blockSizeDeviation, 0...100)
        try OptionCheck.range("blockRestartInterval", rocksDB: "block_restart_interval", blockRestartInterval,
                              1...Int(Int32.max))
        try OptionCheck.range("indexBlockRestartInterval", rocksDB: "index_block_restart_interval",
                              indexBlockRestartInterval, 1...Int(Int32.max))
        try OptionCheck.finite("bloomBitsPerKey", rocksDB: "filter_policy bits_per_key", bloomBitsPerKey,
                               0...Self.maximumBloomBitsPerKey, note: "0 writes no filter")
    }
}
