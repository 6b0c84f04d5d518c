/// A range of user keys, [begin, end) in bytewise order: `begin` is the
/// first key in it (the empty key: from the start of the key space), `end`
/// the first key after it (nil: to the end of the key space). What
/// `Database.deleteFilesInRanges` and `Database.clip(keeping:)` take
/// (RocksDB's `RangeOpt` / the `begin`, `end` pair of `ClipColumnFamily`).
///
/// A value type; thread-safe as any `Sendable` value. The operations that
/// take a list of ranges require it sorted by `begin` and disjoint, each
/// range non-empty (`begin < end`), and only the last one unbounded; they
/// throw `.invalidArgument` naming the offending range otherwise.
public struct KeyRange: Sendable, Hashable {
    /// The first key of the range (inclusive); empty = the smallest key.
    public var begin: [UInt8]
    /// The first key after the range (exclusive); nil = unbounded.
    public var end: [UInt8]?

    /// The range [begin, end); `end` nil (the default) = to the end of the key space.
    public init(from begin: [UInt8], to end: [UInt8]? = nil) {
        self.begin = begin
        self.end = end
    }

    /// True if `key` is in the range ([begin, end), or [begin, end] with `includeEnd`).
    func contains(_ key: [UInt8], includeEnd: Bool = false) -> Bool {
        guard Bytewise.compare(begin, key) <= 0 else { return false }
        guard let end else { return true }
        let c = Bytewise.compare(key, end)
        return c < 0 || (includeEnd && c == 0)
    }

    /// The range in error messages: `[0x6162, 0x63)`, `[(empty), unbounded)`.
    var hexDescription: String {
        "[\(Self.hex(begin)), \(end.map(Self.hex) ?? "unbounded"))"
    }

    static func hex(_ key: [UInt8]) -> String {
        if key.isEmpty { return "(empty)" }
        let digits: [Character] = Array("0123456789abcdef")
        var s = "0x"
        s.reserveCapacity(2 + 2 * key.count)
        for b in key {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 0x0F)])
        }
        return s
    }

    /// Checks that `ranges` are sorted and disjoint, each non-empty and
    /// only the last one unbounded. With `includeEnd` the ranges are closed
    /// ([begin, end]), so touching ranges overlap in their shared key.
    /// `what` names the argument in the message ("range", "kept range").
    static func validate(_ ranges: [KeyRange], includeEnd: Bool, what: String) throws {
        for (i, r) in ranges.enumerated() {
            let name = "\(what) \(i) of \(ranges.count), \(r.hexDescription)"
            if let end = r.end {
                guard Bytewise.compare(r.begin, end) < 0 else {
                    throw StrataError.invalidArgument("\(name), is empty or inverted: its begin must be below its end")
                }
            } else if i != ranges.count - 1 {
                throw StrataError.invalidArgument(
                    "\(name), is unbounded but not the last: ranges must be sorted by begin and disjoint")
            }
            guard i > 0, let previousEnd = ranges[i - 1].end else { continue }
            let c = Bytewise.compare(previousEnd, r.begin)
            if c > 0 || (includeEnd && c == 0) {
                throw StrataError.invalidArgument(
                    "\(name), begins before \(what) \(i - 1), \(ranges[i - 1].hexDescription), ends"
                        + (includeEnd ? " (the ends are inclusive)" : "")
                        + ": ranges must be sorted by begin and disjoint")
            }
        }
    }

    /// The gaps between `ranges` (valid, sorted and disjoint): every key
    /// in none of them, as sorted disjoint ranges — from the empty key up
    /// to the first range, between neighbours that do not touch, and from
    /// the last range's end on (unbounded). No ranges: the whole key space.
    static func complement(of ranges: [KeyRange]) -> [KeyRange] {
        var gaps: [KeyRange] = []
        var from: [UInt8]? = []
        for r in ranges {
            if let f = from, Bytewise.compare(f, r.begin) < 0 { gaps.append(KeyRange(from: f, to: r.begin)) }
            from = r.end
        }
        if let f = from { gaps.append(KeyRange(from: f, to: nil)) }
        return gaps
    }
}
