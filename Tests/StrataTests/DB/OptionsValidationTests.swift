import Foundation
import Testing
@testable import Strata

/// Options are validated where they are set (issue 24): `Database.open`,
/// `createColumnFamily` and `TableBuilder` refuse an out-of-range value with
/// `.invalidArgument` naming the option, the value and the allowed range —
/// before touching the directory — instead of hanging (a 1-byte write
/// buffer flushed on every write) or failing later.
@Suite("Options validation")
struct OptionsValidationTests {
    /// One bad setting: how to apply it, and the option name and value the
    /// message must carry.
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let value: String
        let apply: @Sendable (inout Options) -> Void
        var description: String { "\(name) = \(value)" }
    }

    static let cases: [Case] = [
        Case(name: "writeBufferSize", value: "0") { $0.writeBufferSize = 0 },
        Case(name: "writeBufferSize", value: "1") { $0.writeBufferSize = 1 },
        Case(name: "writeBufferSize", value: "-1") { $0.writeBufferSize = -1 },
        Case(name: "maxWriteBufferNumber", value: "0") { $0.maxWriteBufferNumber = 0 },
        Case(name: "memtableBloomSizeRatio", value: "-0.5") { $0.memtableBloomSizeRatio = -0.5 },
        Case(name: "bloomBitsPerKey", value: "-1.0") { $0.bloomBitsPerKey = -1 },
        Case(name: "bloomBitsPerKey", value: "nan") { $0.bloomBitsPerKey = .nan },
        Case(name: "bloomBitsPerKey", value: "1000.0") { $0.bloomBitsPerKey = 1000 },
        Case(name: "blockSize", value: "0") { $0.blockSize = 0 },
        Case(name: "formatVersion", value: "1") { $0.formatVersion = 1 },
        Case(name: "level0FileNumCompactionTrigger", value: "0") { $0.level0FileNumCompactionTrigger = 0 },
        Case(name: "level0SlowdownWritesTrigger", value: "0") { $0.level0SlowdownWritesTrigger = 0 },
        Case(name: "level0StopWritesTrigger", value: "10") {
            $0.level0SlowdownWritesTrigger = 20
            $0.level0StopWritesTrigger = 10
        },
        Case(name: "maxBytesForLevelBase", value: "0") { $0.maxBytesForLevelBase = 0 },
        Case(name: "maxBytesForLevelMultiplier", value: "0.0") { $0.maxBytesForLevelMultiplier = 0 },
        Case(name: "targetFileSizeBase", value: "0") { $0.targetFileSizeBase = 0 },
        Case(name: "blockCacheCapacity", value: "-1") { $0.blockCacheCapacity = -1 },
        Case(name: "memoryBudget", value: "0") { $0.memoryBudget = 0 },
        Case(name: "memoryBudgetWriteBufferRatio", value: "2.0") { $0.memoryBudgetWriteBufferRatio = 2 },
        Case(name: "universalMinMergeWidth", value: "1") { $0.universalMinMergeWidth = 1 },
        Case(name: "universalMaxMergeWidth", value: "2") {
            $0.universalMinMergeWidth = 3
            $0.universalMaxMergeWidth = 2
        },
        Case(name: "universalSizeRatio", value: "-1") { $0.universalSizeRatio = -1 },
        Case(name: "universalMaxSizeAmplificationPercent", value: "-1") { $0.universalMaxSizeAmplificationPercent = -1 },
        Case(name: "delayedWriteRate", value: "0") { $0.delayedWriteRate = 0 },
        Case(name: "maxBackgroundJobs", value: "0") { $0.maxBackgroundJobs = 0 },
        Case(name: "writeBufferSize", value: "2") {
            var family = ColumnFamilyOptions()
            family.writeBufferSize = 2
            $0.columnFamilyOptions["events"] = family
        },
    ]

    @Test("Database.open refuses each out-of-range option, naming it, its value and the range, before creating anything",
          arguments: cases)
    func openRefuses(_ bad: Case) throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        var options = Options()
        bad.apply(&options)
        let path = dir.file("db")
        do {
            _ = try Database.open(at: path, options: options)
            Issue.record("open accepted \(bad)")
        } catch let error as StrataError {
            #expect(error.kind == .invalidArgument, "\(error)")
            #expect(error.message.contains("invalid option \(bad.name)"), "\(error)")
            #expect(error.message.contains("= \(bad.value):"), "\(error)")
            #expect(error.message.contains("allowed"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: path), "open created the directory before validating")
    }

    @Test("the defaults and the settings tests rely on validate (a compaction trigger above the stall triggers, 4 KiB memtables)")
    func acceptedSettings() throws {
        try Options().validate()
        var options = Options()
        options.writeBufferSize = 4 << 10
        options.level0FileNumCompactionTrigger = 100
        options.level0SlowdownWritesTrigger = 2
        options.level0StopWritesTrigger = 3
        options.bloomBitsPerKey = 0
        options.memoryBudget = 8 << 20
        try options.validate()
    }

    @Test("a column family's options are checked at createColumnFamily, and the message names the family")
    func createColumnFamilyRefuses() throws {
        let dir = TestDirectory()
        defer { dir.remove() }
        let db = try Database.open(at: dir.file("db"))
        defer { try? db.close() }
        var family = ColumnFamilyOptions()
        family.level0StopWritesTrigger = 1
        #expect {
            try db.createColumnFamily(named: "events", options: family)
        } throws: { error in
            guard let error = error as? StrataError else { return false }
            return error.kind == .invalidArgument && error.message.contains("column family events")
                && error.message.contains("level0StopWritesTrigger")
        }
        #expect(db.columnFamilyNames.contains("events") == false)
    }

    @Test("TableBuilder refuses out-of-range table options, naming each")
    func tableBuilderRefuses() throws {
        let cases: [(String, @Sendable (inout TableOptions) -> Void)] = [
            ("blockSize", { $0.blockSize = -4 }),
            ("blockSizeDeviation", { $0.blockSizeDeviation = 101 }),
            ("blockRestartInterval", { $0.blockRestartInterval = 0 }),
            ("indexBlockRestartInterval", { $0.indexBlockRestartInterval = -1 }),
            ("bloomBitsPerKey", { $0.bloomBitsPerKey = .infinity }),
            ("formatVersion", { $0.formatVersion = 99 }),
        ]
        let dir = TestDirectory()
        defer { dir.remove() }
        for (name, apply) in cases {
            var options = TableOptions()
            apply(&options)
            #expect(throws: StrataError.self) { try options.validate() }
            do {
                _ = try TableBuilder(file: PosixFileSystem().createWritable(dir.file("t.sst")), options: options)
                Issue.record("TableBuilder accepted a bad \(name)")
            } catch let error as StrataError {
                #expect(error.kind == .invalidArgument, "\(error)")
                #expect(error.message.contains(name) || error.message.contains("format_version"), "\(name): \(error)")
            }
        }
        try TableOptions().validate()
    }
}
