/// One compaction to run: input files of a level, files of the levels
/// between it and the output level (universal compaction merges several
/// sorted runs at once), and the overlapping files of the output level.
package struct CompactionPlan: Sendable {
    /// Files of one level taking part in a compaction.
    package struct LevelInputs: Sendable {
        /// The level.
        package var level: Int
        /// Its input files.
        package var files: [TableFile]

        package init(level: Int, files: [TableFile]) {
            self.level = level
            self.files = files
        }
    }

    /// The level the inputs come from.
    package var level: Int
    /// The level outputs go to.
    package var outputLevel: Int
    /// Input files from `level`.
    package var inputs: [TableFile]
    /// Input files of levels strictly between `level` and `outputLevel`
    /// (universal compaction only; empty for leveled).
    package var middleInputs: [LevelInputs] = []
    /// Overlapping files of `outputLevel`.
    package var outputLevelInputs: [TableFile]
    /// True if no data older than the inputs exists for their key range
    /// outside the inputs, so deletions in the oldest snapshot stripe can be
    /// dropped and merge operands fully merged.
    package var bottommost: Bool
    /// Why it was picked (for stats and logs).
    package var reason: String
    /// Score that triggered it (≥ 1 for automatic compactions).
    package var score: Double

    package init(level: Int, outputLevel: Int, inputs: [TableFile], middleInputs: [LevelInputs] = [],
                outputLevelInputs: [TableFile], bottommost: Bool, reason: String, score: Double) {
        self.level = level
        self.outputLevel = outputLevel
        self.inputs = inputs
        self.middleInputs = middleInputs
        self.outputLevelInputs = outputLevelInputs
        self.bottommost = bottommost
        self.reason = reason
        self.score = score
    }

    /// Every input file.
    package var allInputs: [TableFile] { inputs + middleInputs.flatMap(\.files) + outputLevelInputs }

    /// Every input file with its level (for the VersionEdit that deletes them).
    package var inputsByLevel: [(level: Int, file: TableFile)] {
        inputs.map { (level, $0) } + middleInputs.flatMap { l in l.files.map { (l.level, $0) } }
            + outputLevelInputs.map { (outputLevel, $0) }
    }

    /// L0 files the picker chose to move as they are (RocksDB 7.8's
    /// `TryPickL0TrivialMove`): the oldest L0 files, disjoint from each
    /// other and from the output level. Other L0 plans are never moves: L0
    /// files may overlap each other.
    package var isLevel0Move = false

    /// Files with nothing to merge below (and no middle levels): move them
    /// without rewriting. From a level ≥ 1 the picker only builds such a
    /// plan from adjacent files whose whole range is empty in the output
    /// level, so the moved files stay disjoint there; from L0 only with
    /// `isLevel0Move`.
    package var isTrivialMove: Bool {
        level != outputLevel && !inputs.isEmpty && middleInputs.isEmpty && outputLevelInputs.isEmpty
            && (level > 0 || isLevel0Move)
    }

    /// The user-key range [smallest, largest] of every input.
    package var keyRange: (smallest: [UInt8], largest: [UInt8])? {
        let files = allInputs
        guard !files.isEmpty else { return nil }
        return CompactionPicker.range(files)
    }

    /// True if this compaction and `other` would write overlapping key
    /// ranges into the same level ≥ 1 (where files must not overlap), so
    /// they must not run at once. Outputs to L0 never conflict: L0 files
    /// may overlap and are ordered by sequence.
    package func outputConflicts(with other: CompactionPlan) -> Bool {
        guard outputLevel == other.outputLevel, outputLevel > 0,
              let a = keyRange, let b = other.keyRange else { return false }
        return Bytewise.compare(a.smallest, b.largest) <= 0 && Bytewise.compare(b.smallest, a.largest) <= 0
    }
}
