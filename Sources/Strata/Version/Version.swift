/// An immutable view of one column family's LSM: the table files of each
/// level. Level 0 files may overlap and are kept newest first; in every
/// other level files are disjoint and sorted by smallest key.
///
/// Thread safety: immutable; share freely. Readers keep the version they
/// read from alive (pin it) for the duration of a get or an iterator, which
/// keeps its files from being deleted.
package final class Version: Sendable {
    /// Number of levels (RocksDB's `num_levels` default).
    package static let levelCount = 7

    /// Files per level.
    package let levels: [[TableFile]]

    /// A version with these files; sorts each level as the invariants require.
    package init(levels: [[TableFile]]) {
        var sorted = levels
        while sorted.count < Version.levelCount { sorted.append([]) }
        // L0: newest first (larger largest-sequence first, then larger number).
        sorted[0].sort {
            $0.meta.largestSequence != $1.meta.largestSequence
                ? $0.meta.largestSequence > $1.meta.largestSequence
                : $0.number > $1.number
        }
        // Deeper levels: by smallest key; ties (only in a damaged MANIFEST,
        // which `VersionBuilder.build` then rejects) by largest key and
        // number, so the order — and that verdict — never depends on the
        // order the files were listed or hashed in.
        for level in 1..<sorted.count {
            sorted[level].sort {
                let bySmallest = InternalKey.compare($0.meta.smallest, $1.meta.smallest)
                if bySmallest != 0 { return bySmallest < 0 }
                let byLargest = InternalKey.compare($0.meta.largest, $1.meta.largest)
                if byLargest != 0 { return byLargest < 0 }
                return $0.number < $1.number
            }
        }
        self.levels = sorted
    }

    /// An empty version.
    package static let empty = Version(levels: [])

    /// Total bytes of the files in `level`.
    package func levelBytes(_ level: Int) -> UInt64 {
        levels[level].reduce(0) { $0 + $1.fileSize }
    }

    /// Every file, level by level.
    package var allFiles: [TableFile] { levels.flatMap { $0 } }

    /// True if `userKey` is within `file`'s key range.
    func overlaps(_ file: TableFile, _ userKey: UnsafeRawBufferPointer) -> Bool {
        file.meta.smallest.withUnsafeBytes { s in
            Bytewise.compare(InternalKey.userKey(s), userKey) <= 0
        } && !Version.endsBefore(file, userKey)
    }

    /// True if every key of `file` is below `userKey`: its largest user key
    /// is smaller, or equal and an exclusive range-tombstone end
    /// ((key, max sequence, 0x0F): the file's tombstone stops just before
    /// the key, where the next file of the level begins).
    static func endsBefore(_ file: TableFile, _ userKey: UnsafeRawBufferPointer) -> Bool {
        file.meta.largest.withUnsafeBytes { l in
            let c = Bytewise.compare(InternalKey.userKey(l), userKey)
            return c < 0 || (c == 0 && FileMetaData.isExclusiveEnd(l))
        }
    }

    /// The file of a level ≥ 1 whose key range contains `userKey`, if any
    /// (binary search on the largest keys).
    package func findFile(level: Int, userKey: UnsafeRawBufferPointer) -> TableFile? {
        let files = levels[level]
        var lo = 0
        var hi = files.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Version.endsBefore(files[mid], userKey) { lo = mid + 1 } else { hi = mid }
        }
        guard lo < files.count, overlaps(files[lo], userKey) else { return nil }
        return files[lo]
    }

    /// Files of `level` overlapping the user-key range [begin, end] (nil =
    /// unbounded). For level 0 the range is widened transitively, as an L0
    /// compaction must take every file overlapping the ones it takes.
    package func overlappingFiles(level: Int, begin: [UInt8]?, end: [UInt8]?) -> [TableFile] {
        var lo = begin
        var hi = end
        var result: [TableFile] = []
        var changed = true
        while changed {
            changed = false
            result = []
            for file in levels[level] {
                let fileLo = file.meta.smallestUserKey
                let fileHi = file.meta.largestUserKey
                if let hi, Bytewise.compare(fileLo, hi) > 0 { continue }
                if let lo, Bytewise.compare(fileHi, lo) < 0 { continue }
                result.append(file)
                if level == 0 {
                    if let l = lo, Bytewise.compare(fileLo, l) < 0 { lo = fileLo; changed = true }
                    if let h = hi, Bytewise.compare(fileHi, h) > 0 { hi = fileHi; changed = true }
                }
            }
        }
        return result
    }
}
