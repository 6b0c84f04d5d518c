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

    /// Options for a prefix scan: iterators visit exactly the keys that start
    /// with `prefix`, forward and backward, and `seek`/`seekForPrev` stay
    /// inside them. Sets `lowerBound` to `prefix` and `upperBound` to
    /// `ReadOptions.prefixUpperBound(prefix)` (nil, no upper bound, when
    /// `prefix` is empty or all 0xFF bytes); an empty prefix scans everything.
    ///
    /// RocksDB: what its users do with `iterate_upper_bound` (or
    /// `prefix_same_as_start` with a prefix extractor), without needing one.
    public init(prefix: [UInt8], snapshot: Snapshot? = nil, verifyChecksums: Bool = true, fillCache: Bool = true) {
        self.init(lowerBound: prefix.isEmpty ? nil : prefix, upperBound: ReadOptions.prefixUpperBound(prefix),
                  snapshot: snapshot, verifyChecksums: verifyChecksums, fillCache: fillCache)
    }

    /// The smallest key greater than every key that starts with `prefix`,
    /// the exclusive upper bound of a prefix scan: `prefix` with its last
    /// byte below 0xFF incremented and the bytes after it cut
    /// (`"user:"` → `"user;"`, `[0x61, 0xFF]` → `[0x62]`). Nil when no such
    /// key exists: `prefix` is empty or all 0xFF bytes, so every key after
    /// the prefix's start begins with it (then a scan needs no upper bound).
    public static func prefixUpperBound(_ prefix: [UInt8]) -> [UInt8]? {
        guard let last = prefix.lastIndex(where: { $0 != 0xFF }) else { return nil }
        var bound = Array(prefix[...last])
        bound[last] += 1
        return bound
    }
}
