/// Options for reads (`get`, iterators).
///
/// Value type; `Sendable`.
public struct ReadOptions: Sendable {
    /// Read as of this snapshot; nil reads the latest state. Default nil.
    /// RocksDB: `ReadOptions::snapshot`.
    public var snapshot: Snapshot?
    /// Iterators stop before keys < this (inclusive lower bound); nil = none.
    /// RocksDB: `ReadOptions::iterate_lower_bound`.
    public var lowerBound: [UInt8]?
    /// Iterators stop at keys ≥ this (exclusive upper bound); nil = none.
    /// RocksDB: `ReadOptions::iterate_upper_bound`.
    public var upperBound: [UInt8]?
    /// Verify block checksums of blocks read from disk. Default true.
    /// RocksDB: `ReadOptions::verify_checksums`.
    public var verifyChecksums: Bool
    /// Put blocks read by this operation into the block cache. Default true.
    /// RocksDB: `ReadOptions::fill_cache`.
    public var fillCache: Bool

    /// Options with the given fields.
    public init(lowerBound: [UInt8]? = nil, upperBound: [UInt8]? = nil, snapshot: Snapshot? = nil,
                verifyChecksums: Bool = true, fillCache: Bool = true) {
        self.snapshot = snapshot
        self.lowerBound = lowerBound
        self.upperBound = upperBound
        self.verifyChecksums = verifyChecksums
        self.fillCache = fillCache
    }
}
