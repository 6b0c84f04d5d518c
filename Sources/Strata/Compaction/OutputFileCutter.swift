/// Decides where a leveled compaction cuts its output into files, aligning
/// the cuts with the file boundaries of the level below the output (the
/// "grandparents") as RocksDB 7.8 does (`level_compaction_dynamic_file_size`,
/// on by default there). An output file that ends where a grandparent file
/// ends keeps the next compaction of it from dragging in the part of a
/// grandparent file it does not overlap; RocksDB measured about 10–14% less
/// compaction I/O on random writes.
///
/// The rules, checked only when the key being added crosses at least one
/// grandparent boundary (a grandparent file's first or last key):
/// * cut if the open file plus the grandparent bytes it overlaps exceeds
///   `maxCompactionBytes` (a later compaction of it would be too large);
/// * cut if the key skipped a whole grandparent file larger than 1/8 of the
///   target size (the next compaction can leave that file alone);
/// * cut once the file reaches 50% of the target size, plus 5% for every
///   boundary it has crossed so far (at most 90%): a file that has seen many
///   boundaries will likely see another soon, so it waits for a larger size.
/// Whatever the boundaries, a file is cut at `maxFileSize` (twice the target
/// when there are grandparents, so aligned files may grow past the target).
///
/// Ownership: one per compaction output; not thread-safe.
package struct OutputFileCutter {
    /// Grandparent files, sorted and disjoint: (smallest user key, largest
    /// user key, size).
    private let grandparents: [(smallest: [UInt8], largest: [UInt8], size: UInt64)]
    let targetFileSize: UInt64
    let maxFileSize: UInt64
    private let maxCompactionBytes: UInt64

    /// Index of the grandparent file the last key is in or before.
    private var index = 0
    /// The last key was in the gap before `grandparents[index]` (or past the end).
    private var inGap = true
    private var seenKey = false
    /// Grandparent bytes the open output file overlaps.
    private var overlappedBytes: UInt64 = 0
    /// Grandparent boundaries the open output file has crossed.
    private var boundariesCrossed = 0

    /// A cutter for an output with the given grandparents; with none it only
    /// cuts at `targetFileSize`.
    package init(grandparents: [TableFile], targetFileSize: UInt64, maxCompactionBytes: UInt64) {
        self.grandparents = grandparents.map { ($0.meta.smallestUserKey, $0.meta.largestUserKey, $0.fileSize) }
        self.targetFileSize = targetFileSize
        self.maxFileSize = grandparents.isEmpty ? targetFileSize : targetFileSize &* 2
        self.maxCompactionBytes = maxCompactionBytes
    }

    /// Advances past `userKey` (every key, in order) and says whether the
    /// open file of `fileSize` bytes should end before it. The caller still
    /// must not cut between two entries of one user key (a user key never
    /// spans two files); if it cuts, it starts a new file and calls
    /// `startedFile(at:)`.
    mutating func shouldCut(before userKey: UnsafeRawBufferPointer, fileSize: UInt64, hasOpenFile: Bool) -> Bool {
        let before = overlappedBytes
        let crossed = advance(userKey)
        guard hasOpenFile else { return false }
        if fileSize >= maxFileSize { return true }
        guard crossed > 0 else { return false }
        if overlappedBytes &+ fileSize > maxCompactionBytes { return true }
        // Skipping a whole grandparent file: from a gap past a file into
        // the next gap (2 boundaries), or from inside one file past the next.
        let skippable = inGap ? 2 : 3
        if crossed >= skippable && overlappedBytes &- before > targetFileSize / 8 { return true }
        let percent = UInt64(50 + min(boundariesCrossed * 5, 40))
        return fileSize >= (targetFileSize + 99) / 100 * percent
    }

    /// Resets the per-file counters for a file starting at `userKey`.
    mutating func startedFile(at userKey: UnsafeRawBufferPointer) {
        boundariesCrossed = 0
        overlappedBytes = currentOverlap(userKey)
    }

    /// Moves `index` to the grandparent file holding `userKey` (the last such
    /// file if several hold it) or the gap before the next one; returns the
    /// boundaries crossed.
    private mutating func advance(_ userKey: UnsafeRawBufferPointer) -> Int {
        var crossed = 0
        while index < grandparents.count {
            if inGap {
                if grandparents[index].smallest.withUnsafeBytes({ Bytewise.compare(userKey, $0) }) < 0 { break }
                if seenKey {
                    crossed += 1
                    boundariesCrossed += 1
                    overlappedBytes &+= grandparents[index].size
                }
                inGap = false
            } else {
                let c = grandparents[index].largest.withUnsafeBytes { Bytewise.compare(userKey, $0) }
                if c < 0 { break }
                if c == 0 && (index == grandparents.count - 1
                    || grandparents[index + 1].smallest.withUnsafeBytes({ Bytewise.compare(userKey, $0) }) < 0) { break }
                if seenKey {
                    crossed += 1
                    boundariesCrossed += 1
                }
                inGap = true
                index += 1
            }
        }
        if !seenKey && !inGap { overlappedBytes = currentOverlap(userKey) }
        seenKey = true
        return crossed
    }

    /// Bytes of the grandparent files holding `userKey` (0 in a gap).
    private func currentOverlap(_ userKey: UnsafeRawBufferPointer) -> UInt64 {
        guard !inGap, index < grandparents.count else { return 0 }
        var bytes: UInt64 = 0
        var i = index
        // Files before `index` may end with this same user key.
        while i >= 0 {
            let g = grandparents[i]
            let inside = g.smallest.withUnsafeBytes { Bytewise.compare(userKey, $0) } >= 0
                && g.largest.withUnsafeBytes { Bytewise.compare(userKey, $0) } <= 0
            if !inside { break }
            bytes &+= g.size
            i -= 1
        }
        return bytes
    }
}
