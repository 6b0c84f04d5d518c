import Testing
@testable import Strata

/// The worked example of docs/compaction.md: 1 MiB flushes into a universal
/// LSM (trigger 4, size ratio 1 %, max space amplification 200 %), each
/// compaction applied at once, sizes added (no overwrites). The printed
/// trace is the table in the docs; the test pins it.
@Suite("Universal compaction worked example")
struct UniversalWorkedExampleTests {
    static func describe(_ v: Version) -> String {
        SortedRun.runs(of: v, busy: []).map { "\($0.size >> 20)@L\($0.level)" }.joined(separator: " ")
    }

    @Test("the docs' flush-by-flush trace")
    func trace() {
        var options = Options()
        options.compactionStyle = .universal
        options.level0FileNumCompactionTrigger = 4
        let picker = UniversalCompactionPicker(options: options)
        var levels = [[TableFile]](repeating: [], count: Version.levelCount)
        var number: UInt64 = 1
        var lines: [String] = []
        func file(_ size: UInt64) -> TableFile {
            defer { number += 1 }
            return UniversalPickerTests.file(number, size: size, sequence: number)
        }
        for flush in 1...12 {
            levels[0].insert(file(1 << 20), at: 0)
            var version = Version(levels: levels)
            var line = "flush \(flush): \(Self.describe(version))"
            while let plan = picker.pick(version: version, busy: []) {
                let size = plan.allInputs.reduce(UInt64(0)) { $0 + $1.fileSize }
                for (level, f) in plan.inputsByLevel { levels[level].removeAll { $0.number == f.number } }
                levels[plan.outputLevel].append(file(size))
                version = Version(levels: levels)
                line += " → \(plan.reason.replacingOccurrences(of: "universal ", with: "")) → \(Self.describe(version))"
            }
            lines.append(line)
        }
        for l in lines { print(l) }
        #expect(lines == Self.expected)
    }

    static let expected: [String] = [
        "flush 1: 1@L0",
        "flush 2: 1@L0 1@L0",
        "flush 3: 1@L0 1@L0 1@L0",
        "flush 4: 1@L0 1@L0 1@L0 1@L0 → space amplification → 4@L6",
        "flush 5: 1@L0 4@L6",
        "flush 6: 1@L0 1@L0 4@L6",
        "flush 7: 1@L0 1@L0 1@L0 4@L6 → size ratio → 3@L5 4@L6",
        "flush 8: 1@L0 3@L5 4@L6",
        "flush 9: 1@L0 1@L0 3@L5 4@L6 → size ratio → 2@L4 3@L5 4@L6",
        "flush 10: 1@L0 2@L4 3@L5 4@L6",
        "flush 11: 1@L0 1@L0 2@L4 3@L5 4@L6 → size ratio → 11@L6",
        "flush 12: 1@L0 11@L6",
    ]
}
