/// One sorted run of a universal-compaction LSM: a single L0 file, or a
/// whole non-empty level ≥ 1.
package struct SortedRun: Sendable {
    /// The level (0 for an L0 file).
    package var level: Int
    /// The files (one for L0, the whole level otherwise).
    package var files: [TableFile]
    /// Total bytes.
    package var size: UInt64
    /// True if any of its files is being compacted.
    package var beingCompacted: Bool

    /// The sorted runs of `version`, newest first: L0 files newest first,
    /// then each non-empty level from L1 down (RocksDB
    /// `UniversalCompactionBuilder::CalculateSortedRuns`).
    package static func runs(of version: Version, busy: Set<UInt64>) -> [SortedRun] {
        var runs: [SortedRun] = []
        for file in version.levels[0] {
            runs.append(SortedRun(level: 0, files: [file], size: file.fileSize, beingCompacted: busy.contains(file.number)))
        }
        for level in 1..<version.levels.count where !version.levels[level].isEmpty {
            let files = version.levels[level]
            runs.append(SortedRun(level: level, files: files, size: files.reduce(0) { $0 + $1.fileSize },
                                  beingCompacted: files.contains { busy.contains($0.number) }))
        }
        return runs
    }
}

/// Picks universal (size-tiered) compactions, as RocksDB's
/// `UniversalCompactionPicker` does. The LSM is a list of sorted runs,
/// newest first; nothing is picked while there are fewer than
/// `level0FileNumCompactionTrigger` runs. Then, in this order:
///
/// 1. **Space amplification**: if the runs other than the oldest add up to
///    at least `universalMaxSizeAmplificationPercent` % of the oldest run,
///    everything (from the newest run not being compacted) is merged into
///    the last level.
/// 2. **Size ratio**: starting from the newest run, a window grows over the
///    next (older) run while that run is no larger than the window's total
///    size × (100 + `universalSizeRatio`) / 100, up to
///    `universalMaxMergeWidth` runs; the first window of at least
///    `universalMinMergeWidth` runs is merged. If none is found at one start,
///    the next start is tried.
/// 3. **Sorted-run count**: if more than `level0FileNumCompactionTrigger`
///    runs remain, the newest `count - trigger + 1` runs are merged
///    regardless of size.
///
/// The output goes to the last level if the oldest run is included;
/// otherwise to the level just above the next older run (L0 if that run is
/// an L0 file), so the runs keep their newest-to-oldest order down the
/// levels. Runs being compacted are never included.
///
/// 4. **Marked files**: when no rule above applies (whatever the run
///    count), the newest sorted run holding a file marked for compaction
///    (`compactOnDeletion`) is merged with every older run into the last
///    level, so its deletions meet what they delete and are dropped there
///    (RocksDB `PickDeleteTriggeredCompaction` does this for a single-level
///    universal LSM; with several levels it merges into the next non-empty
///    level only — Strata always goes to the bottom, where deletions go).
package struct UniversalCompactionPicker {
    let options: Options

    package init(options: Options) { self.options = options }

    /// The compaction to run now, or nil.
    package func pick(version: Version, busy: Set<UInt64>, running: [CompactionPlan] = []) -> CompactionPlan? {
        let runs = SortedRun.runs(of: version, busy: busy)
        let trigger = max(1, options.level0FileNumCompactionTrigger)
        guard !runs.isEmpty else { return nil }
        if runs.count >= trigger {
            let candidates = [
                pickForSpaceAmplification(runs, version: version),
                pickForSizeRatio(runs, version: version, ratio: options.universalSizeRatio, maxRuns: .max,
                                 reason: "universal size ratio"),
                pickForRunCount(runs, version: version, trigger: trigger),
            ]
            for case let plan? in candidates where !running.contains(where: { plan.outputConflicts(with: $0) }) {
                return plan
            }
        }
        if let plan = pickForMarkedFiles(runs, version: version),
           !running.contains(where: { plan.outputConflicts(with: $0) }) {
            return plan
        }
        return nil
    }

    /// Rule 4: the newest run with a marked file, and every older run, into
    /// the last level; nil if none or if any of those runs is busy.
    func pickForMarkedFiles(_ runs: [SortedRun], version: Version) -> CompactionPlan? {
        guard let start = runs.firstIndex(where: { run in run.files.contains { $0.meta.markedForCompaction } }),
              !runs[start...].contains(where: \.beingCompacted) else { return nil }
        return plan(runs, start..<runs.count, version: version, reason: "universal marked for compaction", score: 0)
    }

    /// Rule 1 (RocksDB `PickCompactionToReduceSizeAmp`).
    func pickForSpaceAmplification(_ runs: [SortedRun], version: Version) -> CompactionPlan? {
        guard runs.count >= 2, !runs[runs.count - 1].beingCompacted else { return nil }
        guard let start = runs.indices.dropLast().first(where: { !runs[$0].beingCompacted }) else { return nil }
        var candidateSize: UInt64 = 0
        for run in runs[start..<(runs.count - 1)] {
            if run.beingCompacted { return nil }
            candidateSize += run.size
        }
        let oldest = runs[runs.count - 1].size
        let percent = UInt64(max(0, options.universalMaxSizeAmplificationPercent))
        if candidateSize.multipliedReportingOverflow(by: 100).partialValue < percent * oldest { return nil }
        let amplification = oldest == 0 ? Double.infinity : Double(candidateSize) * 100 / Double(oldest)
        return plan(runs, start..<runs.count, version: version, reason: "universal space amplification",
                    score: amplification / Double(max(1, percent)))
    }

    /// Rule 2 and, with `ratio` = unbounded, rule 3 (RocksDB
    /// `PickCompactionToReduceSortedRuns`).
    func pickForSizeRatio(_ runs: [SortedRun], version: Version, ratio: Int, maxRuns: Int,
                          reason: String) -> CompactionPlan? {
        let minWidth = max(2, options.universalMinMergeWidth)
        let maxWidth = min(max(2, options.universalMaxMergeWidth), maxRuns)
        var start = 0
        while start < runs.count {
            // Skip runs being compacted.
            while start < runs.count && runs[start].beingCompacted { start += 1 }
            guard start < runs.count else { break }
            var count = 1
            var total = runs[start].size
            var i = start + 1
            while count < maxWidth && i < runs.count {
                let next = runs[i]
                if next.beingCompacted { break }
                if ratio != .max {
                    let limit = Double(total) * (100.0 + Double(ratio)) / 100.0
                    if limit < Double(next.size) { break }
                }
                total += next.size
                count += 1
                i += 1
            }
            if count >= minWidth {
                return plan(runs, start..<(start + count), version: version, reason: reason,
                            score: Double(runs.count) / Double(max(1, options.level0FileNumCompactionTrigger)))
            }
            start += 1
        }
        return nil
    }

    /// Rule 3: too many sorted runs.
    func pickForRunCount(_ runs: [SortedRun], version: Version, trigger: Int) -> CompactionPlan? {
        let idle = runs.filter { !$0.beingCompacted }.count
        guard idle > trigger else { return nil }
        return pickForSizeRatio(runs, version: version, ratio: .max, maxRuns: idle - trigger + 1,
                                reason: "universal sorted-run count")
    }

    /// The plan merging `runs[range]`, with RocksDB's output level rule.
    func plan(_ runs: [SortedRun], _ range: Range<Int>, version: Version, reason: String,
              score: Double) -> CompactionPlan {
        let lastLevel = version.levels.count - 1
        let outputLevel: Int
        if range.upperBound == runs.count {
            outputLevel = lastLevel
        } else if runs[range.upperBound].level == 0 {
            outputLevel = 0
        } else {
            outputLevel = runs[range.upperBound].level - 1
        }
        return Self.plan(merging: Array(runs[range]), outputLevel: outputLevel,
                         bottommost: range.upperBound == runs.count, reason: reason, score: score)
    }

    /// A plan merging `runs` (newest first, contiguous) into `outputLevel`.
    static func plan(merging runs: [SortedRun], outputLevel: Int, bottommost: Bool, reason: String,
                     score: Double) -> CompactionPlan {
        var byLevel: [Int: [TableFile]] = [:]
        for run in runs { byLevel[run.level, default: []] += run.files }
        let firstLevel = runs[0].level
        let inputs = byLevel[firstLevel] ?? []
        let outputInputs = outputLevel == firstLevel ? [] : (byLevel[outputLevel] ?? [])
        let middle = byLevel.keys.sorted().filter { $0 != firstLevel && $0 != outputLevel }
            .map { CompactionPlan.LevelInputs(level: $0, files: byLevel[$0]!) }
        return CompactionPlan(level: firstLevel, outputLevel: outputLevel, inputs: inputs, middleInputs: middle,
                              outputLevelInputs: outputInputs, bottommost: bottommost, reason: reason, score: score)
    }

    /// A manual compaction: every file of every run merged into the last
    /// level (RocksDB compacts all files to the last level for a universal
    /// `CompactRange` with more than one level, whatever the range).
    /// Nil if the LSM is empty.
    package func manual(version: Version) -> CompactionPlan? {
        let runs = SortedRun.runs(of: version, busy: [])
        guard !runs.isEmpty else { return nil }
        return Self.plan(merging: runs, outputLevel: version.levels.count - 1, bottommost: true, reason: "manual",
                         score: 0)
    }
}
