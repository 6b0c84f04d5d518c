/// Level targets for leveled compaction (RocksDB `VersionStorageInfo::
/// CalculateBaseBytes`): with dynamic level bytes the last level's size sets
/// the targets of the levels above it, divided by the multiplier each step,
/// and L0 compacts into the first level whose target is at least
/// `maxBytesForLevelBase / multiplier` (the "base level").
package struct LevelTargets: Sendable {
    /// The level L0 compacts into.
    package var baseLevel: Int
    /// Target bytes per level (index = level; 0 unused; levels above the
    /// base level have target 0 and must stay empty).
    package var maxBytes: [UInt64]

    package init(version: Version, options: Options) {
        let levelCount = version.levels.count
        let base = options.maxBytesForLevelBase
        let multiplier = max(options.maxBytesForLevelMultiplier, 1.0001)
        var targets = [UInt64](repeating: 0, count: levelCount)
        guard options.levelCompactionDynamicLevelBytes else {
            var size = Double(base)
            for level in 1..<levelCount {
                targets[level] = UInt64(size)
                size *= multiplier
            }
            baseLevel = 1
            maxBytes = targets
            return
        }
        var firstNonEmpty = -1
        var maxLevelSize: UInt64 = 0
        for level in 1..<levelCount {
            let bytes = version.levelBytes(level)
            if bytes > 0 && firstNonEmpty < 0 { firstNonEmpty = level }
            maxLevelSize = max(maxLevelSize, bytes)
        }
        if maxLevelSize == 0 {
            // Empty LSM below L0: flushes go straight to the last level.
            baseLevel = levelCount - 1
            targets[levelCount - 1] = base
            maxBytes = targets
            return
        }
        let baseMin = Double(base) / multiplier
        var current = Double(maxLevelSize)
        var level = levelCount - 2
        while level >= firstNonEmpty {
            current /= multiplier
            level -= 1
        }
        var baseLevelSize: Double
        var baseLevelIndex = firstNonEmpty
        if current <= baseMin {
            baseLevelSize = baseMin + 1
        } else {
            while baseLevelIndex > 1 && current > Double(base) {
                baseLevelIndex -= 1
                current /= multiplier
            }
            baseLevelSize = min(current, Double(base))
        }
        var size = baseLevelSize
        for l in baseLevelIndex..<levelCount {
            if l > baseLevelIndex { size *= multiplier }
            // Never below the base target: an hourglass-shaped LSM would
            // starve L0 compactions (RocksDB's reasoning).
            targets[l] = UInt64(max(size, Double(base)))
        }
        baseLevel = baseLevelIndex
        maxBytes = targets
    }
}

/// Picks the most urgent compaction. Leveled (RocksDB `LevelCompactionPicker`):
/// every level gets a score — L0 by file count over the trigger, deeper
/// levels by size over target — and the highest score ≥ 1 wins. Within a
/// level it picks the file whose overlap with the next level is smallest
/// relative to its size (RocksDB's default `kMinOverlappingRatio`).
///
/// When no level scores ≥ 1, files marked for compaction
/// (`FileMetaData.markedForCompaction`, set by `compactOnDeletion`) and then
/// files older than `periodicCompactionSeconds` are compacted one at a time
/// (RocksDB `PickFileToCompact` over `FilesMarkedForCompaction` and
/// `FilesMarkedForPeriodicCompaction`): with the overlapping files of the
/// next level (a trivial move if there are none), or in place when the file
/// is in the last level, so the deletions it holds are dropped.
package struct CompactionPicker {
    let options: Options
    /// Seconds since the Unix epoch, for `periodicCompactionSeconds`.
    /// Tests inject their own.
    package var clock: @Sendable () -> UInt64 = { UInt64(currentUnixTime()) }

    package init(options: Options) { self.options = options }

    /// Scores per level (index = level; the last level has none).
    package func scores(version: Version, busy: Set<UInt64> = []) -> [Double] {
        let targets = LevelTargets(version: version, options: options)
        var scores = [Double](repeating: 0, count: version.levels.count)
        let l0 = version.levels[0].filter { !busy.contains($0.number) }
        scores[0] = Double(l0.count) / Double(max(1, options.level0FileNumCompactionTrigger))
        for level in 1..<(version.levels.count - 1) {
            let bytes = version.levels[level].filter { !busy.contains($0.number) }.reduce(UInt64(0)) { $0 + $1.fileSize }
            if targets.maxBytes[level] == 0 {
                // Levels above the base level must drain into it.
                scores[level] = bytes > 0 ? 1.0 + Double(bytes) / Double(max(options.maxBytesForLevelBase, 1)) : 0
            } else {
                scores[level] = Double(bytes) / Double(targets.maxBytes[level])
            }
        }
        return scores
    }

    /// The compaction to run now, or nil if none is needed or every
    /// candidate is busy. Dispatches on `Options.compactionStyle` (universal:
    /// `UniversalCompactionPicker`). `busy` holds the numbers of files other
    /// compactions are reading; `running` are those compactions (a plan
    /// whose output would overlap theirs in the same level is not returned).
    package func pick(version: Version, busy: Set<UInt64>, running: [CompactionPlan] = []) -> CompactionPlan? {
        if options.compactionStyle == .universal {
            return UniversalCompactionPicker(options: options).pick(version: version, busy: busy, running: running)
        }
        let targets = LevelTargets(version: version, options: options)
        let levelScores = scores(version: version, busy: busy)
        let order = levelScores.indices.filter { levelScores[$0] >= 1 }.sorted { levelScores[$0] > levelScores[$1] }
        for level in order {
            if let plan = planFor(level: level, version: version, targets: targets, busy: busy, running: running,
                                  score: levelScores[level]) {
                return plan
            }
        }
        let marked = version.levels.indices.flatMap { level in
            version.levels[level].filter { $0.meta.markedForCompaction }.map { (level, $0) }
        }
        if let plan = planForSingleFiles(marked, version: version, targets: targets, busy: busy, running: running,
                                         reason: "marked for compaction") {
            return plan
        }
        if options.periodicCompactionSeconds > 0 {
            let now = clock()
            let old = version.levels.indices.flatMap { level in
                version.levels[level].filter { f in
                    f.meta.fileCreationTime > 0 && now >= f.meta.fileCreationTime
                        && now - f.meta.fileCreationTime >= options.periodicCompactionSeconds
                }.map { (level, $0) }
            }
            if let plan = planForSingleFiles(old, version: version, targets: targets, busy: busy, running: running,
                                             reason: "periodic compaction") {
                return plan
            }
        }
        return nil
    }

    /// The first plan compacting one of `candidates` (level, file): an L0
    /// file with every L0 file into the base level (L0 files may overlap);
    /// a file of the last level in place (`bottommost` if nothing lies
    /// below); any other with the overlapping files of its output level, a
    /// trivial move if there are none. Candidates that are busy, whose
    /// output-level files are busy, or whose output would overlap a running
    /// compaction's are passed over.
    private func planForSingleFiles(_ candidates: [(Int, TableFile)], version: Version, targets: LevelTargets,
                                    busy: Set<UInt64>, running: [CompactionPlan], reason: String) -> CompactionPlan? {
        let lastLevel = version.levels.count - 1
        for (level, file) in candidates where !busy.contains(file.number) {
            if level == 0 {
                guard var plan = planFor(level: 0, version: version, targets: targets, busy: busy, running: running,
                                         score: 0) else { continue }
                plan.reason = reason
                return plan
            }
            let lo = file.meta.smallestUserKey
            let hi = file.meta.largestUserKey
            if level == lastLevel {
                let plan = CompactionPlan(level: level, outputLevel: level, inputs: [file], outputLevelInputs: [],
                                          bottommost: true, reason: reason, score: 0)
                if running.contains(where: { plan.outputConflicts(with: $0) }) { continue }
                return plan
            }
            let output = targets.maxBytes[level] == 0 ? max(targets.baseLevel, level + 1) : level + 1
            let below = version.overlappingFiles(level: output, begin: lo, end: hi)
            if below.contains(where: { busy.contains($0.number) }) { continue }
            let (allLo, allHi) = Self.range([file] + below)
            let plan = CompactionPlan(level: level, outputLevel: output, inputs: [file], outputLevelInputs: below,
                                      bottommost: Self.isBottommost(version, output, allLo, allHi), reason: reason,
                                      score: 0)
            if running.contains(where: { plan.outputConflicts(with: $0) }) { continue }
            return plan
        }
        return nil
    }

    private func planFor(level: Int, version: Version, targets: LevelTargets, busy: Set<UInt64>,
                         running: [CompactionPlan], score: Double) -> CompactionPlan? {
        let levels = version.levels
        if level == 0 {
            let files = levels[0]
            guard !files.isEmpty, !files.contains(where: { busy.contains($0.number) }) else { return nil }
            let output = targets.baseLevel
            if let move = level0Move(version: version, output: output, running: running, score: score) { return move }
            let (lo, hi) = Self.range(files)
            let below = version.overlappingFiles(level: output, begin: lo, end: hi)
            if below.contains(where: { busy.contains($0.number) }) { return nil }
            let plan = CompactionPlan(level: 0, outputLevel: output, inputs: files, outputLevelInputs: below,
                                      bottommost: Self.isBottommost(version, output, lo, hi), reason: "L0 file count",
                                      score: score)
            return running.contains { plan.outputConflicts(with: $0) } ? nil : plan
        }
        // Levels above the base level drain straight into it.
        let output = targets.maxBytes[level] == 0 ? targets.baseLevel : level + 1
        guard output < levels.count, output > level else { return nil }
        var best: (file: TableFile, below: [TableFile], ratio: Double)? = nil
        for file in levels[level] where !busy.contains(file.number) {
            let below = version.overlappingFiles(level: output, begin: file.meta.smallestUserKey, end: file.meta.largestUserKey)
            if below.contains(where: { busy.contains($0.number) }) { continue }
            let candidate = CompactionPlan(level: level, outputLevel: output, inputs: [file], outputLevelInputs: below,
                                           bottommost: false, reason: "", score: 0)
            if running.contains(where: { candidate.outputConflicts(with: $0) }) { continue }
            let overlap = below.reduce(UInt64(0)) { $0 + $1.fileSize }
            let ratio = Double(overlap) / Double(max(file.fileSize, 1))
            if best == nil || ratio < best!.ratio { best = (file, below, ratio) }
        }
        guard let best else { return nil }
        var inputs = [best.file]
        if best.below.isEmpty {
            inputs = extendTrivialMove(from: best.file, level: level, output: output, version: version, busy: busy,
                                       running: running)
        }
        let lo = inputs[0].meta.smallestUserKey
        let hi = inputs[inputs.count - 1].meta.largestUserKey
        let allLo = ([lo] + best.below.map { $0.meta.smallestUserKey }).min { Bytewise.compare($0, $1) < 0 }!
        let allHi = ([hi] + best.below.map { $0.meta.largestUserKey }).max { Bytewise.compare($0, $1) < 0 }!
        return CompactionPlan(level: level, outputLevel: output, inputs: inputs, outputLevelInputs: best.below,
                              bottommost: Self.isBottommost(version, output, allLo, allHi),
                              reason: "L\(level) size", score: score)
    }

    /// A trivial move of the oldest L0 files into `output` (RocksDB 7.8's
    /// `TryPickL0TrivialMove`): from the oldest file towards newer ones,
    /// while each file lies wholly before or after the range taken so far
    /// and that range has nothing under it in `output`. Into an empty
    /// `output` only if every L0 file is taken (RocksDB's `IsTrivialMove`
    /// for L0 inputs that do not overlap each other; moving just the oldest
    /// few there would be surprising for little gain). Sequential loads
    /// (fillseq) then reach L1 without being rewritten. Newer L0 files left
    /// behind may overlap the moved ones: they are searched first, so that
    /// is safe.
    private func level0Move(version: Version, output: Int, running: [CompactionPlan], score: Double) -> CompactionPlan? {
        guard output >= 1 else { return nil }
        var taken: [TableFile] = []
        var lo: [UInt8] = []
        var hi: [UInt8] = []
        // levels[0] is newest first: walk it from the end.
        for file in version.levels[0].reversed() {
            let s = file.meta.smallestUserKey
            let l = file.meta.largestUserKey
            var newLo = lo
            var newHi = hi
            if taken.isEmpty {
                newLo = s
                newHi = l
            } else if Bytewise.compare(l, lo) < 0 {
                newLo = s
            } else if Bytewise.compare(s, hi) > 0 {
                newHi = l
            } else {
                break
            }
            if !version.overlappingFiles(level: output, begin: newLo, end: newHi).isEmpty { break }
            taken.append(file)
            lo = newLo
            hi = newHi
        }
        guard !taken.isEmpty else { return nil }
        if version.levels[output].isEmpty && taken.count < version.levels[0].count { return nil }
        taken.sort { Bytewise.compare($0.meta.smallestUserKey, $1.meta.smallestUserKey) < 0 }
        var plan = CompactionPlan(level: 0, outputLevel: output, inputs: taken, outputLevelInputs: [],
                                  bottommost: false, reason: "L0 trivial move", score: score)
        plan.isLevel0Move = true
        return running.contains { plan.outputConflicts(with: $0) } ? nil : plan
    }

    /// Files moved together with `first`, a file with nothing under it in
    /// `output`: the files after it in `level`, while the range from `first`
    /// to each still has nothing under it (RocksDB 7.8's
    /// `TryExtendNonL0TrivialMove`). One move of several files empties a
    /// level into an empty range below in one step — after the first
    /// overflow of L1 into an empty L2 the whole of L1 moves, instead of
    /// one file per compaction leaving L1 at its target, which made every
    /// later L0→L1 compaction rewrite a full L1.
    ///
    /// Stops at a busy file, at a file whose largest user key is the next
    /// file's smallest (they share a user key across the boundary and must
    /// move together or not at all), at four files, or past
    /// `maxCompactionBytes` (RocksDB's default `max_compaction_bytes`,
    /// 25 × target_file_size_base).
    private func extendTrivialMove(from first: TableFile, level: Int, output: Int, version: Version,
                                   busy: Set<UInt64>, running: [CompactionPlan]) -> [TableFile] {
        let maxFiles = 4
        let maxCompactionBytes = 25 * options.targetFileSizeBase
        let files = version.levels[level]
        guard let start = files.firstIndex(where: { $0.number == first.number }) else { return [first] }
        var inputs = [first]
        var total = first.fileSize
        var i = start + 1
        while i < files.count && inputs.count < maxFiles {
            let next = files[i]
            if busy.contains(next.number) { break }
            if !version.overlappingFiles(level: output, begin: first.meta.smallestUserKey,
                                         end: next.meta.largestUserKey).isEmpty { break }
            if i + 1 < files.count
                && Bytewise.compare(next.meta.largestUserKey, files[i + 1].meta.smallestUserKey) == 0 { break }
            total += next.fileSize
            if total > maxCompactionBytes { break }
            let candidate = CompactionPlan(level: level, outputLevel: output, inputs: inputs + [next],
                                           outputLevelInputs: [], bottommost: false, reason: "", score: 0)
            if running.contains(where: { candidate.outputConflicts(with: $0) }) { break }
            inputs.append(next)
            i += 1
        }
        return inputs
    }

    /// A manual compaction of everything in `level` overlapping [begin, end]
    /// into `outputLevel` (nil bounds = unbounded).
    package func manual(version: Version, level: Int, outputLevel: Int, begin: [UInt8]?, end: [UInt8]?) -> CompactionPlan? {
        let inputs = version.overlappingFiles(level: level, begin: begin, end: end)
        guard !inputs.isEmpty else { return nil }
        let (lo, hi) = Self.range(inputs)
        let below = outputLevel == level ? [] : version.overlappingFiles(level: outputLevel, begin: lo, end: hi)
        let all = inputs + below
        let (allLo, allHi) = Self.range(all)
        return CompactionPlan(level: level, outputLevel: outputLevel, inputs: inputs, outputLevelInputs: below,
                              bottommost: Self.isBottommost(version, outputLevel, allLo, allHi), reason: "manual",
                              score: 0)
    }

    static func range(_ files: [TableFile]) -> ([UInt8], [UInt8]) {
        var lo = files[0].meta.smallestUserKey
        var hi = files[0].meta.largestUserKey
        for f in files.dropFirst() {
            if Bytewise.compare(f.meta.smallestUserKey, lo) < 0 { lo = f.meta.smallestUserKey }
            if Bytewise.compare(f.meta.largestUserKey, hi) > 0 { hi = f.meta.largestUserKey }
        }
        return (lo, hi)
    }

    static func isBottommost(_ version: Version, _ outputLevel: Int, _ lo: [UInt8], _ hi: [UInt8]) -> Bool {
        for level in (outputLevel + 1)..<version.levels.count where !version.overlappingFiles(level: level, begin: lo, end: hi).isEmpty {
            return false
        }
        return true
    }
}
