import Testing
@testable import Strata

/// The universal compaction picker on hand-built versions: each rule in
/// RocksDB's order, output-level placement, busy runs and merge widths.
@Suite("Universal compaction picker")
struct UniversalPickerTests {
    /// A file of `size` bytes covering keys [lo, hi] with sequences around `sequence`.
    static func file(_ number: UInt64, size: UInt64, sequence: UInt64, lo: String = "a", hi: String = "z") -> TableFile {
        let meta = FileMetaData(number: number, fileSize: size,
                                smallest: InternalKey.make(Array(lo.utf8), sequence: sequence, type: ValueType.value.rawValue),
                                largest: InternalKey.make(Array(hi.utf8), sequence: sequence, type: ValueType.value.rawValue),
                                smallestSequence: sequence, largestSequence: sequence)
        return TableFile(meta: meta, onObsolete: { _ in })
    }

    /// A version with L0 files of `l0` sizes (newest first) and one file per
    /// entry of `levels` (level: size).
    static func version(l0: [UInt64], levels: [Int: UInt64] = [:]) -> Version {
        var lv = [[TableFile]](repeating: [], count: Version.levelCount)
        var number: UInt64 = 100
        for (i, size) in l0.enumerated() {
            lv[0].append(file(number, size: size, sequence: UInt64(1000 - i)))
            number += 1
        }
        for (level, size) in levels {
            lv[level].append(file(number, size: size, sequence: UInt64(10 - level)))
            number += 1
        }
        return Version(levels: lv)
    }

    static func options(trigger: Int = 2, configure: (inout Options) -> Void = { _ in }) -> Options {
        var o = Options()
        o.compactionStyle = .universal
        o.level0FileNumCompactionTrigger = trigger
        configure(&o)
        return o
    }

    static func numbers(_ plan: CompactionPlan) -> [UInt64] { plan.allInputs.map(\.number).sorted() }

    @Test("sorted runs are L0 files newest first, then each non-empty level")
    func sortedRuns() {
        let v = Self.version(l0: [5, 6], levels: [3: 50, 6: 500])
        let runs = SortedRun.runs(of: v, busy: [101])
        #expect(runs.map(\.level) == [0, 0, 3, 6])
        #expect(runs.map(\.size) == [5, 6, 50, 500])
        #expect(runs.map(\.beingCompacted) == [false, true, false, false])
    }

    @Test("fewer sorted runs than the trigger: nothing to do")
    func belowTrigger() {
        let v = Self.version(l0: [10], levels: [6: 1])
        #expect(UniversalCompactionPicker(options: Self.options(trigger: 3)).pick(version: v, busy: []) == nil)
    }

    @Test("space amplification over the limit merges everything into the last level")
    func spaceAmplification() throws {
        // 10 + 10 = 20 ≥ 200% of 5.
        let v = Self.version(l0: [10, 10], levels: [6: 5])
        let plan = try #require(UniversalCompactionPicker(options: Self.options()).pick(version: v, busy: []))
        #expect(plan.reason == "universal space amplification")
        #expect(plan.outputLevel == 6)
        #expect(plan.bottommost)
        #expect(Self.numbers(plan) == [100, 101, 102])
        // 1 + 50 ≥ 200% of 25: everything. At 500% the size-ratio rule
        // takes over: 1 cannot take 50, but 50 takes 25.
        let v2 = Self.version(l0: [1, 50], levels: [6: 25])
        #expect(UniversalCompactionPicker(options: Self.options()).pick(version: v2, busy: []).map(Self.numbers)
            == [100, 101, 102])
        let relaxed = Self.options { $0.universalMaxSizeAmplificationPercent = 500 }
        let other = try #require(UniversalCompactionPicker(options: relaxed).pick(version: v2, busy: []))
        #expect(other.reason == "universal size ratio")
        #expect(Self.numbers(other) == [101, 102])
        #expect(other.outputLevel == 6)
        #expect(other.bottommost)
    }

    @Test("size ratio: runs no larger than the window's total (+ratio%) join it")
    func sizeRatio() throws {
        // Window 1 → 1 (≤ 1.01) → 1 (≤ 2.02) → 100 (> 3.03) stops: 3 runs, output above L6.
        let v = Self.version(l0: [1, 1, 1], levels: [6: 100])
        let plan = try #require(UniversalCompactionPicker(options: Self.options()).pick(version: v, busy: []))
        #expect(plan.reason == "universal size ratio")
        #expect(Self.numbers(plan) == [100, 101, 102])
        #expect(plan.level == 0)
        #expect(plan.outputLevel == 5)
        #expect(!plan.bottommost)
        // A window ending before an L0 run outputs to L0; before a level-N run, to N-1.
        let v2 = Self.version(l0: [1, 1, 50], levels: [3: 1000])
        let plan2 = try #require(UniversalCompactionPicker(options: Self.options(trigger: 4)).pick(version: v2, busy: []))
        #expect(Self.numbers(plan2) == [100, 101])
        #expect(plan2.outputLevel == 0)
        let v3 = Self.version(l0: [1, 1], levels: [3: 1000])
        let plan3 = try #require(UniversalCompactionPicker(options: Self.options(trigger: 3)).pick(version: v3, busy: []))
        #expect(plan3.outputLevel == 2)
        // The ratio widens the window: 10 then 11 fits only with ratio ≥ 10%.
        let v4 = Self.version(l0: [10, 11], levels: [6: 10_000])
        #expect(UniversalCompactionPicker(options: Self.options(trigger: 4)).pick(version: v4, busy: []) == nil)
        let wide = Self.options(trigger: 3) { $0.universalSizeRatio = 10 }
        #expect(UniversalCompactionPicker(options: wide).pick(version: v4, busy: []).map(Self.numbers) == [100, 101])
    }

    @Test("a window starts at a later run when the first cannot grow")
    func laterStart() throws {
        // 1 cannot take 100; 100 takes 100 (≤ 101).
        let v = Self.version(l0: [1, 100, 100], levels: [6: 100_000])
        let plan = try #require(UniversalCompactionPicker(options: Self.options(trigger: 3)).pick(version: v, busy: []))
        #expect(Self.numbers(plan) == [101, 102])
        #expect(plan.outputLevel == 5)
    }

    @Test("min and max merge width bound the window")
    func mergeWidths() throws {
        let v = Self.version(l0: [1, 1, 1, 1], levels: [6: 100_000])
        let narrow = Self.options(trigger: 5) { $0.universalMaxMergeWidth = 2 }
        // 5 runs ≥ trigger 5; the ratio window stops at 2 runs.
        let plan = try #require(UniversalCompactionPicker(options: narrow).pick(version: v, busy: []))
        #expect(Self.numbers(plan) == [100, 101])
        #expect(plan.outputLevel == 0)
        let v2 = Self.version(l0: [1, 1, 1000], levels: [6: 100_000])
        let wideMin = Self.options(trigger: 4) { $0.universalMinMergeWidth = 3 }
        #expect(UniversalCompactionPicker(options: wideMin).pick(version: v2, busy: []) == nil)
    }

    @Test("too many sorted runs: the newest count - trigger + 1 are merged regardless of size")
    func sortedRunCount() throws {
        let v = Self.version(l0: [1, 10, 100, 1000], levels: [6: 10_000])
        let plan = try #require(UniversalCompactionPicker(options: Self.options(trigger: 3)).pick(version: v, busy: []))
        #expect(plan.reason == "universal sorted-run count")
        #expect(Self.numbers(plan) == [100, 101, 102])
        #expect(plan.outputLevel == 0)
        // At exactly the trigger nothing is forced.
        let v2 = Self.version(l0: [1, 10], levels: [6: 10_000])
        #expect(UniversalCompactionPicker(options: Self.options(trigger: 3)).pick(version: v2, busy: []) == nil)
    }

    @Test("runs being compacted are skipped, and block rules that need them")
    func busyRuns() throws {
        let v = Self.version(l0: [1, 1, 1], levels: [6: 100])
        let plan = try #require(UniversalCompactionPicker(options: Self.options()).pick(version: v, busy: [100]))
        #expect(Self.numbers(plan) == [101, 102])
        // The oldest run busy: no space-amplification pick; with every
        // newer run idle the ratio rule still works.
        let v2 = Self.version(l0: [10, 10], levels: [6: 5])
        let plan2 = try #require(UniversalCompactionPicker(options: Self.options()).pick(version: v2, busy: [102]))
        #expect(plan2.reason == "universal size ratio")
        #expect(Self.numbers(plan2) == [100, 101])
        #expect(plan2.outputLevel == 5)
    }

    @Test("plans spanning several levels list each level's files; the dispatcher picks universal")
    func multiLevelPlan() throws {
        let v = Self.version(l0: [10], levels: [2: 10, 4: 10, 6: 5])
        let plan = try #require(CompactionPicker(options: Self.options()).pick(version: v, busy: []))
        #expect(plan.level == 0 && plan.outputLevel == 6)
        #expect(plan.middleInputs.map(\.level) == [2, 4])
        #expect(plan.inputsByLevel.map(\.level) == [0, 2, 4, 6])
        #expect(!plan.isTrivialMove)
        let manual = try #require(UniversalCompactionPicker(options: Self.options()).manual(version: v))
        #expect(manual.allInputs.count == 4 && manual.outputLevel == 6 && manual.bottommost)
    }

    @Test("output ranges in the same level ≥ 1 conflict; L0 outputs never do")
    func outputConflicts() {
        let a = CompactionPlan(level: 1, outputLevel: 2, inputs: [Self.file(1, size: 1, sequence: 1, lo: "a", hi: "f")],
                               outputLevelInputs: [], bottommost: false, reason: "", score: 1)
        let b = CompactionPlan(level: 1, outputLevel: 2, inputs: [Self.file(2, size: 1, sequence: 1, lo: "f", hi: "k")],
                               outputLevelInputs: [], bottommost: false, reason: "", score: 1)
        let c = CompactionPlan(level: 1, outputLevel: 2, inputs: [Self.file(3, size: 1, sequence: 1, lo: "g", hi: "k")],
                               outputLevelInputs: [], bottommost: false, reason: "", score: 1)
        var d = a
        d.outputLevel = 0
        #expect(a.outputConflicts(with: b))
        #expect(!a.outputConflicts(with: c))
        #expect(!d.outputConflicts(with: d))
    }
}

extension CompactionPlan: Equatable {
    public static func == (a: CompactionPlan, b: CompactionPlan) -> Bool {
        a.level == b.level && a.outputLevel == b.outputLevel && a.allInputs.map(\.number) == b.allInputs.map(\.number)
    }
}
