import Testing
@testable import Strata

/// The model-based test with column families: the operations are spread
/// over three families (each with its own model), batches span families,
/// snapshots cover all of them, and families are flushed, compacted,
/// dropped and re-created independently; the database is reopened now
/// and then. One family has a merge operator, the others refuse merges.
@Suite("Database with column families against per-family models")
struct DatabaseModelFamilyTests {
    typealias Model = DatabaseModelTests.Model

    /// Appends operands with a "," (the model below does the same).
    struct Append: MergeOperator {
        var name: String { "ModelAppend" }
        func fullMerge(key: [UInt8], existing: [UInt8]?, operands: [[UInt8]]) -> [UInt8]? {
            Array(((existing.map { [$0] } ?? []) + operands).joined(separator: [UInt8(ascii: ",")]))
        }
    }

    struct Config: CustomStringConvertible {
        var name: String
        /// Memtable size per family (index 0 = default).
        var writeBufferSizes: [Int]
        var description: String { name }

        func options() -> Options {
            var o = DatabaseModelTests.configs[0].options()
            o.writeBufferSize = writeBufferSizes[0]
            for (i, name) in DatabaseModelFamilyTests.names.enumerated().dropFirst() {
                var f = ColumnFamilyOptions(o)
                f.writeBufferSize = writeBufferSizes[i]
                if name == "lists" { f.mergeOperator = Append() }
                if i == 2 {
                    f.bloomBitsPerKey = 0
                    f.compression = .none
                    f.blockSize = 1024
                }
                o.columnFamilyOptions[name] = f
            }
            return o
        }
    }

    static let names = ["default", "lists", "plain"]

    static let configs = [
        Config(name: "three families, tiny memtables", writeBufferSizes: [8 << 10, 8 << 10, 8 << 10]),
        Config(name: "one busy family, two that never fill", writeBufferSizes: [64 << 20, 8 << 10, 64 << 20]),
    ]

    static func merged(_ existing: [UInt8]?, _ operand: [UInt8]) -> [UInt8] {
        guard let existing else { return operand }
        return existing + [UInt8(ascii: ",")] + operand
    }

    @Test("random operations over three families agree with per-family models", arguments: configs)
    func randomOperations(config: Config) throws {
        for seed: UInt64 in 1...2 {
            print("config \(config.name), seed \(seed)")
            let dir = TestDirectory()
            defer { dir.remove() }
            var rng = TestRandom(seed: seed * 7919 + UInt64(config.writeBufferSizes[0]))
            var db = try Database.open(at: dir.path, options: config.options())
            for name in Self.names.dropFirst() { try db.createColumnFamily(named: name) }
            var families = Self.names.map { db.columnFamily(named: $0)! }
            var models = [Model](repeating: [:], count: Self.names.count)
            var snapshots: [(Snapshot, [Model])] = []
            for step in 0..<10_000 {
                let f = rng.int(0..<families.count)
                let family = families[f]
                let roll = rng.int(0..<1000)
                switch roll {
                case 0..<380:
                    let k = DatabaseModelTests.randomKey(&rng)
                    let v = rng.bytes(rng.int(0..<(rng.int(0..<20) == 0 ? 3000 : 60)))
                    try family.put(k, v)
                    models[f][k] = v
                case 380..<470:
                    let k = DatabaseModelTests.randomKey(&rng)
                    try family.delete(k)
                    models[f][k] = nil
                case 470..<480:
                    let a = DatabaseModelTests.randomKey(&rng)
                    let b = DatabaseModelTests.randomKey(&rng)
                    try family.deleteRange(from: a, to: b)
                    for k in models[f].keys where Bytewise.compare(k, a) >= 0 && Bytewise.compare(k, b) < 0 {
                        models[f][k] = nil
                    }
                case 480..<540:
                    let k = DatabaseModelTests.randomKey(&rng)
                    let operand = rng.bytes(rng.int(1..<8))
                    if Self.names[f] == "lists" {
                        try family.merge(k, operand)
                        models[f][k] = Self.merged(models[f][k], operand)
                    } else {
                        #expect(throws: StrataError.self, "step \(step): merge without operator") {
                            try family.merge(k, operand)
                        }
                    }
                case 540..<620:
                    // One atomic batch over several families.
                    var batch = WriteBatch()
                    var next = models
                    for _ in 0..<rng.int(1..<10) {
                        let g = rng.int(0..<families.count)
                        let k = DatabaseModelTests.randomKey(&rng)
                        switch rng.int(0..<4) {
                        case 0:
                            batch.delete(k, in: families[g])
                            next[g][k] = nil
                        case 1 where Self.names[g] == "lists":
                            let operand = rng.bytes(rng.int(1..<8))
                            batch.merge(k, operand, in: families[g])
                            next[g][k] = Self.merged(next[g][k], operand)
                        default:
                            let v = rng.bytes(rng.int(0..<40))
                            batch.put(k, v, in: families[g])
                            next[g][k] = v
                        }
                    }
                    try db.write(batch)
                    models = next
                case 620..<820:
                    let k = DatabaseModelTests.randomKey(&rng)
                    #expect(try family.get(k) == models[f][k], "step \(step): get in \(family.name)")
                case 820..<840:
                    if snapshots.count < 3 {
                        snapshots.append((db.snapshot(), models))
                    } else {
                        let i = rng.int(0..<snapshots.count)
                        let (snap, old) = snapshots[i]
                        for g in families.indices {
                            for _ in 0..<10 {
                                let k = DatabaseModelTests.randomKey(&rng)
                                #expect(try families[g].get(k, options: ReadOptions(snapshot: snap)) == old[g][k],
                                        "step \(step): snapshot get in \(families[g].name)")
                            }
                        }
                        try DatabaseModelTests.checkIterator(family, old[f], &rng, snapshot: snap)
                        snap.release()
                        snapshots.remove(at: i)
                    }
                case 840..<900:
                    try DatabaseModelTests.checkIterator(family, models[f], &rng)
                case 900..<950:
                    try family.flush()
                case 950..<975:
                    try family.compactRange(from: rng.int(0..<2) == 0 ? nil : DatabaseModelTests.randomKey(&rng), to: nil)
                case 975..<982 where f != 0:
                    // Drop and re-create: the family starts empty (snapshots
                    // of the dropped family's data go with it).
                    let name = Self.names[f]
                    try db.dropColumnFamily(named: name)
                    #expect(throws: StrataError.self) { try family.put([1], [2]) }
                    families[f] = try db.createColumnFamily(named: name)
                    models[f] = [:]
                    for i in snapshots.indices { snapshots[i].1[f] = [:] }
                default:
                    snapshots.removeAll()
                    try db.close()
                    db = try Database.open(at: dir.path, options: config.options())
                    #expect(Set(db.columnFamilyNames) == Set(Self.names))
                    families = Self.names.map { db.columnFamily(named: $0)! }
                }
            }
            for (f, family) in families.enumerated() {
                try DatabaseModelTests.checkIterator(family, models[f], &rng)
                for (k, v) in models[f] { #expect(try family.get(k) == v) }
            }
            try db.close()
            // Once more after a reopen: everything came back from the WAL and tables.
            db = try Database.open(at: dir.path, options: config.options())
            for (f, name) in Self.names.enumerated() {
                try DatabaseModelTests.checkIterator(db.columnFamily(named: name)!, models[f], &rng)
            }
            try db.close()
        }
    }
}
