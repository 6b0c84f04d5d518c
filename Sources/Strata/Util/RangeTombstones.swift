/// Range tombstones cut into non-overlapping fragments, so "which tombstones
/// cover this user key?" is a binary search, however many there are
/// (RocksDB `FragmentedRangeTombstoneList`).
///
/// A tombstone [begin, end) at sequence s deletes every entry of a user key
/// in the range whose sequence is below s. After fragmentation each fragment
/// [start, end) carries the sequences of every tombstone that covers it,
/// newest first.
///
/// Thread safety: immutable after init; share freely.
package final class RangeTombstoneList: Sendable {
    /// One fragment: user keys [start, end) and covering sequences, descending.
    package struct Fragment: Sendable {
        package var start: [UInt8]
        package var end: [UInt8]
        package var sequences: [UInt64]
    }

    /// The fragments, sorted by start, non-overlapping.
    package let fragments: [Fragment]
    /// The tombstones as given (begin, end, sequence).
    package let tombstones: [(begin: [UInt8], end: [UInt8], sequence: UInt64)]

    /// An empty list.
    package static let empty = RangeTombstoneList(tombstones: [])

    /// Fragments `tombstones` (begin user key, end user key, sequence);
    /// empty ranges are ignored.
    package init(tombstones: [(begin: [UInt8], end: [UInt8], sequence: UInt64)]) {
        let valid = tombstones.filter { Bytewise.compare($0.begin, $0.end) < 0 }
        self.tombstones = valid
        guard !valid.isEmpty else {
            fragments = []
            return
        }
        // Every begin and end is a boundary; between two consecutive
        // boundaries the set of covering tombstones is constant.
        var bounds = Set<[UInt8]>()
        for t in valid {
            bounds.insert(t.begin)
            bounds.insert(t.end)
        }
        let points = bounds.sorted { Bytewise.compare($0, $1) < 0 }
        let byBegin = valid.sorted { Bytewise.compare($0.begin, $1.begin) < 0 }
        var result: [Fragment] = []
        var active: [(end: [UInt8], sequence: UInt64)] = []
        var next = 0
        for i in 0..<(points.count - 1) {
            let start = points[i]
            let end = points[i + 1]
            active.removeAll { Bytewise.compare($0.end, start) <= 0 }
            while next < byBegin.count && Bytewise.compare(byBegin[next].begin, start) <= 0 {
                active.append((byBegin[next].end, byBegin[next].sequence))
                next += 1
            }
            if !active.isEmpty {
                let sequences = active.map(\.sequence).sorted(by: >)
                result.append(Fragment(start: start, end: end, sequences: sequences))
            }
        }
        fragments = result
    }

    /// Makes a list from internal-key tombstones as stored in tables and
    /// memtables: begin = internal key (user key ‖ seq ‖ 0x0F), end = user key.
    package convenience init(internalTombstones: [(begin: [UInt8], end: [UInt8])]) {
        self.init(tombstones: internalTombstones.compactMap { t in
            t.begin.withUnsafeBytes { raw in
                ParsedInternalKey(raw).map { (Array($0.userKey), t.end, $0.sequence) }
            }
        })
    }

    /// True if there are no tombstones.
    package var isEmpty: Bool { fragments.isEmpty }

    /// The sequence of the newest tombstone covering `userKey` that is
    /// visible at `snapshot` (sequence ≤ snapshot), or 0 if none. Entries of
    /// `userKey` with a smaller sequence are deleted.
    package func maxCoveringSequence(_ userKey: UnsafeRawBufferPointer, snapshot: UInt64) -> UInt64 {
        guard !fragments.isEmpty else { return 0 }
        // Last fragment whose start ≤ userKey.
        var lo = 0
        var hi = fragments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if fragments[mid].start.withUnsafeBytes({ Bytewise.compare($0, userKey) <= 0 }) {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        guard lo > 0 else { return 0 }
        let fragment = fragments[lo - 1]
        guard fragment.end.withUnsafeBytes({ Bytewise.compare(userKey, $0) < 0 }) else { return 0 }
        return fragment.sequences.first { $0 <= snapshot } ?? 0
    }

    /// Array overload.
    package func maxCoveringSequence(_ userKey: [UInt8], snapshot: UInt64) -> UInt64 {
        userKey.withUnsafeBytes { maxCoveringSequence($0, snapshot: snapshot) }
    }
}
